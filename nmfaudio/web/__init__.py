"""A local web page to separate, denoise and listen: the server behind ``nmfaudio serve``.

Needs the optional ``web`` extra (``pip install "nmfaudio[web]"``: Starlette,
uvicorn and python-multipart). Everything the page uses is shipped in this
package (``nmfaudio/web/static``); nothing is fetched from the network.

Each upload becomes a job with its own temporary folder and a random id. Jobs
run one at a time by default (``jobs``), the rest wait with their queue position
shown; a job's files are removed ``ttl`` seconds after it ended and when the
server stops. Results (one WAV and spectrogram per source, the mixture, a zip)
are served only from the job's own list of files.

Examples
--------
>>> from nmfaudio.web import create_app          # doctest: +SKIP
>>> app = create_app(max_upload_mb=50, jobs=1)   # an ASGI app: run it with uvicorn  # doctest: +SKIP
"""

from __future__ import annotations

import ipaddress
import os
import sys

from .._checks import check_finite_float
from ..exceptions import NmfAudioError, ParameterError

__all__ = ["create_app", "serve", "is_loopback", "MissingExtraError"]

_EXTRA_HINT = 'the web page needs the "web" extra: pip install "nmfaudio[web]"'


class MissingExtraError(NmfAudioError, ImportError):
    """Starlette, uvicorn or python-multipart is not installed."""


def _require():
    import importlib.util

    missing = [dist for dist, modules in (("starlette", ["starlette"]), ("uvicorn", ["uvicorn"]),
                                          ("python-multipart", ["python_multipart", "multipart"]))
               if not any(_installed(importlib.util, m) for m in modules)]
    if missing:
        raise MissingExtraError(f"{_EXTRA_HINT} (missing: {', '.join(missing)})")


def _installed(util, module) -> bool:
    if sys.modules.get(module, False) is None:  # blocked (tests do this)
        return False
    try:
        return util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def create_app(*, max_upload_mb=200, jobs=1, workdir=None, ttl=3600.0):
    """Build the ASGI application of the page.

    Parameters
    ----------
    max_upload_mb : float > 0
        Largest accepted upload (all files of one request together), in MiB;
        larger ones get HTTP 413.
    jobs : int > 0
        Jobs that run at the same time; the others wait in a queue.
    workdir : str, os.PathLike or None
        Where job folders are created (default: a new temporary folder, removed
        at shutdown).
    ttl : float > 0
        Seconds a finished job's files are kept (default one hour).

    Returns
    -------
    starlette.applications.Starlette
        ``app.state.queue`` is its :class:`nmfaudio.web.jobs.JobQueue`; the queue
        is closed (jobs cancelled, folders removed) at the app's shutdown.

    Raises
    ------
    MissingExtraError
        The ``web`` extra is not installed (the message says how to install it).
    ParameterError
        A bad ``max_upload_mb``, ``jobs`` or ``ttl``.

    Examples
    --------
    >>> from nmfaudio.web import create_app                  # doctest: +SKIP
    >>> from starlette.testclient import TestClient          # doctest: +SKIP
    >>> with TestClient(create_app()) as client:             # doctest: +SKIP
    ...     client.get("/api/config").json()["max_upload_mb"]
    200
    """
    from .jobs import check_jobs

    max_upload_mb = check_finite_float(max_upload_mb, "max_upload_mb", low=0.0, low_open=True)
    jobs = check_jobs(jobs)
    ttl = check_finite_float(ttl, "ttl", low=0.0, low_open=True)
    _require()
    if "matplotlib" not in sys.modules:  # spectrograms are drawn off the main thread: no GUI backend
        os.environ.setdefault("MPLBACKEND", "Agg")
    from .app import build_app

    return build_app(max_upload_mb=max_upload_mb, jobs=jobs, workdir=workdir, ttl=ttl)


def is_loopback(host) -> bool:
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ::1)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(str(host).strip("[]")).is_loopback
    except ValueError:
        return False


def serve(*, host="127.0.0.1", port=8765, open_browser=False, max_upload_mb=200, jobs=1,
          workdir=None, ttl=3600.0, log=print):
    """Serve the page until interrupted (Ctrl+C), then remove every job folder.

    Parameters
    ----------
    host : str
        Interface to listen on; loopback by default. Another host makes the page
        reachable from other machines (no authentication): a warning is printed.
    port : int
        TCP port (0 picks a free one).
    open_browser : bool
        Open the page in the default browser once the server listens.
    max_upload_mb, jobs, workdir, ttl
        As in :func:`create_app`.
    log : callable
        Where the start-up lines go (default ``print``; warnings go to stderr).

    Returns
    -------
    None

    Examples
    --------
    >>> from nmfaudio.web import serve   # doctest: +SKIP
    >>> serve(port=8765, open_browser=True)  # doctest: +SKIP
    """
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise ParameterError(f"port={port!r} must be a whole number from 0 to 65535")
    _require()
    os.environ["MPLBACKEND"] = "Agg"
    import uvicorn

    _bind(host, port).close()  # a busy port or unknown host fails here, in one line, before any set-up
    app = create_app(max_upload_mb=max_upload_mb, jobs=jobs, workdir=workdir, ttl=ttl)
    if not is_loopback(host):
        print(f"nmfaudio: warning: listening on {host}, not only on this computer: anyone who can "
              f"reach it on port {port} can upload files and use this machine's CPU (there is no "
              "password); use --host 127.0.0.1 to keep it local", file=sys.stderr, flush=True)
    sock = _bind(host, port)
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning",
                                           access_log=False, lifespan="on"))
    _announce_when_started(server, host, open_browser, log)
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:  # Ctrl+C is the normal way to stop: uvicorn re-raises it after shutdown
        log("nmfaudio serve: stopped")
    finally:
        app.state.queue.close()


def _bind(host, port):
    """A listening-ready socket bound to ``(host, port)``, or NmfAudioError saying why not."""
    import socket

    bare = str(host).strip("[]")
    family = socket.AF_INET6 if ":" in bare else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((bare, port))
    except OSError as exc:
        sock.close()
        reason = exc.strerror or str(exc)
        hint = "; choose another with --port (0 = any free port)" if exc.errno in (98, 48, 10048) else ""
        raise NmfAudioError(f"cannot listen on {host} port {port}: {reason}{hint}") from None
    return sock


def _announce_when_started(server, host, open_browser, log):
    import threading
    import time

    def wait():
        while not server.started:
            if server.should_exit:
                return
            time.sleep(0.05)
        port = server.servers[0].sockets[0].getsockname()[1]
        shown = f"[{host}]" if ":" in host else host
        url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else shown}:{port}/"
        log(f"nmfaudio serve: {url}  (Ctrl+C to stop)")
        sys.stdout.flush()
        if open_browser:
            import webbrowser

            webbrowser.open(url)

    threading.Thread(target=wait, name="nmfaudio-announce", daemon=True).start()
