"""Progress bars, ``--json``/``--quiet``/``--plot`` options and summaries for the subcommands (private).

The API reports progress through ``callback(iteration, loss)``; only this module
turns it into tqdm bars, and only when stderr is a terminal and ``--quiet`` is
not given. With ``--json`` the command writes exactly one JSON document on stdout
(paths and bars never go to stdout).
"""

from __future__ import annotations

from ._common import refuse_existing

import json
import sys
import time

__all__ = ["add_ux_args", "Progress", "Summary", "show_progress", "audio_info",
           "check_plot_target", "output_settings"]


def add_ux_args(p, *, plot=True):
    """Add ``--json``, ``--quiet`` (and ``--plot FILE.png``) to a subcommand parser."""
    g = p.add_argument_group("output and reporting")
    g.add_argument("--json", action="store_true",
                   help="print a machine-readable JSON summary on stdout (and nothing else)")
    g.add_argument("-q", "--quiet", action="store_true",
                   help="nothing on stderr on success (no progress bars, notices or warnings) "
                        "and no list of written files")
    if plot:
        g.add_argument("--plot", metavar="FILE.png", default=None,
                       help="also save a figure of the result (spectrograms, templates, activations)")


def show_progress(args, stream=None) -> bool:
    """True when bars should be drawn: not ``--quiet`` and ``stream`` (stderr) is a terminal."""
    stream = sys.stderr if stream is None else stream
    if getattr(args, "quiet", False):
        return False
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


class Progress:
    """A tqdm bar driven by nmfaudio's ``callback(iteration, loss)`` (no-op when disabled).

    Parameters
    ----------
    total : int or None
        Expected number of iterations (the bar's length).
    desc : str
        Label in front of the bar.
    enabled : bool
        Draw the bar (see :func:`show_progress`); disabled bars cost nothing.

    Attributes
    ----------
    iteration, loss
        The last values reported to :meth:`callback` (``None`` before the first).
    """

    def __init__(self, total=None, *, desc="NMF", enabled=True, unit="it"):
        self.iteration = None
        self.loss = None
        self._bar = None
        if enabled:
            from tqdm import tqdm

            self._bar = tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, leave=False,
                             dynamic_ncols=True)

    def callback(self, iteration, loss):
        """Record and display ``(iteration, loss)``; never asks the solver to stop."""
        self.iteration, self.loss = int(iteration), float(loss)
        if self._bar is not None:
            self._bar.update(max(0, self.iteration - self._bar.n))
            self._bar.set_postfix(loss=f"{self.loss:.4g}", refresh=False)
        return None

    def steps(self, done, total):
        """``callback(done, total)`` of work counted in steps (segments, passes)."""
        if self._bar is not None:
            if self._bar.total != total:
                self._bar.total = total
            self._bar.update(max(0, int(done) - self._bar.n))
        return None

    def iterate(self, items):
        """Yield from ``items``, advancing the bar by one per item (files, blocks)."""
        for item in items:
            yield item
            if self._bar is not None:
                self._bar.update(1)

    def close(self):
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


def _jsonable(value):
    import numpy as np

    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if hasattr(value, "__fspath__"):
        return str(value)
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


class Summary:
    """Collects what a command did and prints it: JSON with ``--json``, else the paths.

    Parameters
    ----------
    command : str
        Subcommand name.
    args : argparse.Namespace
        Parsed arguments (``json`` and ``quiet`` are read).
    """

    def __init__(self, command, args):
        from .. import __version__

        self.args = args
        self.start = time.perf_counter()
        self.doc = {"command": command, "nmfaudio_version": __version__, "inputs": {}, "outputs": {},
                    "settings": {}}

    def finish(self, paths=(), *, elapsed=True):
        """Print the summary (JSON) or the written paths (one per line, unless ``--quiet``)."""
        if elapsed or "elapsed_seconds" not in self.doc:
            self.doc["elapsed_seconds"] = round(time.perf_counter() - self.start, 3)
        if getattr(self.args, "json", False):
            sys.stdout.write(json.dumps(_jsonable(self.doc), indent=2, allow_nan=False) + "\n")
        elif not getattr(self.args, "quiet", False):
            for p in paths:
                print(p)
        sys.stdout.flush()


def audio_info(y, sr) -> dict:
    """Sample rate, channels and duration of a waveform, for summaries."""
    return {"sample_rate": int(sr), "channels": 1 if y.ndim == 1 else int(y.shape[0]),
            "duration_seconds": round(y.shape[-1] / sr, 6)}


def output_settings(args) -> dict:
    """The ``settings`` keys every audio-writing command reports: format, depth, excerpt."""
    out = {"format": args.format or "wav", "bit_depth": args.bit_depth}
    if hasattr(args, "start"):
        out.update(start_seconds=args.start, max_duration_seconds=args.duration)
    return out


def check_plot_target(args):
    """Refuse an existing ``--plot`` file (without --overwrite) and bad extensions before any work."""
    if getattr(args, "plot", None):
        check_image_target(args.plot, "--plot", args.overwrite)


def check_image_target(path, what, overwrite):
    """A figure file must be .png, .svg or .pdf and (without --overwrite) not exist yet."""
    from pathlib import Path

    from ..exceptions import ParameterError

    if Path(path).suffix.lower() not in (".png", ".svg", ".pdf"):
        raise ParameterError(f"{what} {path!r} must end in .png, .svg or .pdf")
    refuse_existing([path], overwrite)


#: Commands whose first run compiles numba kernels (batch compiles in its worker processes).
COMPILING_COMMANDS = ("separate", "denoise", "train", "drums")


class CompileNotice:
    """One line on stderr when numba spends more than ``after`` seconds compiling kernels.

    Kernels are cached on disk, so this happens on the first run only (a cache hit sends
    no compile event). Used as a context manager around a command; disabled it costs nothing.
    """

    def __init__(self, *, enabled=True, after=1.0, stream=None):
        self.enabled, self.after = enabled, after
        self.stream = stream
        self.shown = False
        self._depth, self._spent, self._since = 0, 0.0, None
        self._stop = None
        self._listener = None

    def _on_start(self, event):
        if self._depth == 0:
            self._since = time.perf_counter()
        self._depth += 1

    def _on_end(self, event):
        self._depth = max(0, self._depth - 1)
        if self._depth == 0 and self._since is not None:
            self._spent += time.perf_counter() - self._since
            self._since = None

    def _watch(self):
        while not self._stop.wait(0.1):
            since = self._since
            if since is not None and self._spent + time.perf_counter() - since > self.after:
                self.shown = True
                _write_line("nmfaudio: compiling numba kernels (first run only; they are cached "
                            "for the next runs)...", self.stream)
                return

    def __enter__(self):
        if not self.enabled:
            return self
        import threading

        from numba.core import event

        notice = self

        class _Listener(event.Listener):
            def on_start(self, ev):
                notice._on_start(ev)

            def on_end(self, ev):
                notice._on_end(ev)

        self._listener = _Listener()
        event.register("numba:compile", self._listener)
        self._stop = threading.Event()
        threading.Thread(target=self._watch, name="nmfaudio-compile-notice", daemon=True).start()
        return self

    def __exit__(self, *exc):
        if self._listener is not None:
            from numba.core import event

            event.unregister("numba:compile", self._listener)
            self._listener = None
            self._stop.set()
        return False


def _write_line(text, stream=None):
    """A line on stderr that does not break a tqdm bar being drawn."""
    stream = sys.stderr if stream is None else stream
    try:
        from tqdm import tqdm

        tqdm.write(text, file=stream)
    except ImportError:  # pragma: no cover - tqdm is a dependency
        print(text, file=stream, flush=True)
