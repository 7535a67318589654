"""The ASGI application of ``nmfaudio serve`` (Starlette).

Routes
------
``GET /``                          the page (``static/index.html``)
``GET /static/...``                its CSS and JavaScript (shipped in the package; no CDN)
``GET /api/config``                upload limit, modes and bundled instruments
``POST /api/jobs``                 multipart form → 202 and the job's status; 413 over the
                                   size limit, 415 for a file that is not audio, 400 for a bad field
``GET /api/jobs/{id}``             state, stage, progress, queue position, results
``POST /api/jobs/{id}/cancel``     stop it
``GET /jobs/{id}/files/{name}``    one of the job's result files (only those; else 404)
"""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path

from ..exceptions import NmfAudioError, ParameterError

log = logging.getLogger("nmfaudio.web")

STATIC = Path(__file__).resolve().parent / "static"
_MEDIA = {".wav": "audio/wav", ".png": "image/png", ".zip": "application/zip"}
_CSP = ("default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; "
        "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'")
# A body declared too large is read and thrown away up to this size before the 413
# goes out, so that the browser sees the answer instead of a reset connection.
_DRAIN_LIMIT = 256 * 2 ** 20


class _TooLarge(Exception):
    pass


def _error(status, message):
    from starlette.responses import JSONResponse

    return JSONResponse({"error": message}, status_code=status, headers={"Cache-Control": "no-store"})


def _too_large(limit_mb):
    return _error(413, f"the upload is larger than the server's limit of {limit_mb:g} MB "
                       "(start it with a larger --max-upload-mb)")


async def _drain(receive, cap):
    seen = 0
    while seen <= cap:
        message = await receive()
        if message["type"] != "http.request":
            return
        seen += len(message.get("body", b""))
        if not message.get("more_body", False):
            return


def _counting(receive, limit):
    seen = 0

    async def wrapped():
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise _TooLarge()
        return message

    return wrapped


def status(job, queue) -> dict:
    """What the page polls: state, stage, progress, queue position, message, results."""
    doc = {"id": job.id, "state": job.state, "stage": job.stage, "progress": round(job.fraction, 4),
           "position": queue.position(job), "message": job.message, "results": None}
    if job.state == "done" and job.results is not None:
        base = f"/jobs/{job.id}/files/"
        res = dict(job.results)
        res["mixture"] = dict(res["mixture"], audio=base + res["mixture"]["audio"],
                              image=base + res["mixture"]["image"])
        res["sources"] = [dict(s, audio=base + s["audio"], image=base + s["image"]) for s in res["sources"]]
        res["zip"] = base + res["zip"]
        doc["results"] = res
    return doc


async def _create(request, queue, limit_mb, instruments):
    """``POST /api/jobs``: check the size, parse the form, store and check the files, queue the job."""
    from starlette.concurrency import run_in_threadpool
    from starlette.requests import Request
    from starlette.responses import JSONResponse

    from .uploads import NotAudioError, build_spec

    limit = int(limit_mb * 2 ** 20)
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        await _drain(request.receive, _DRAIN_LIMIT)
        return _too_large(limit_mb)
    if not request.headers.get("content-type", "").startswith(
            ("multipart/form-data", "application/x-www-form-urlencoded")):
        return _error(400, "expected a form upload (multipart/form-data) with the recording in 'audio'")
    try:
        form = await Request(request.scope, _counting(request.receive, limit)).form(
            max_files=64, max_fields=256)
    except _TooLarge:
        return _too_large(limit_mb)
    except Exception as exc:  # malformed multipart body
        return _error(400, f"could not read the upload ({type(exc).__name__})")
    try:
        job = queue.new_job()
    except NmfAudioError as exc:
        await form.close()
        return _error(503, str(exc))
    try:
        spec = await run_in_threadpool(build_spec, form, job.folder, [m["name"] for m in instruments])
    except NotAudioError as exc:
        queue.discard(job)
        return _error(415, str(exc))
    except ParameterError as exc:
        queue.discard(job)
        return _error(400, str(exc))
    except Exception:
        queue.discard(job)
        log.exception("could not store an upload")
        return _error(500, "internal error while storing the upload; see the server log")
    finally:
        await form.close()
    try:
        queue.submit(job, spec)
    except NmfAudioError as exc:
        return _error(503, str(exc))
    return JSONResponse(status(job, queue), status_code=202, headers={"Cache-Control": "no-store"})


def _routes(queue, limit_mb, instruments):
    from starlette.responses import FileResponse, JSONResponse
    from starlette.routing import Mount, Route
    from starlette.staticfiles import StaticFiles

    limit = int(limit_mb * 2 ** 20)

    async def index(request):
        return FileResponse(STATIC / "index.html", headers={"Content-Security-Policy": _CSP,
                                                            "Cache-Control": "no-store"})

    async def config(request):
        from .. import __version__

        return JSONResponse({"max_upload_mb": limit_mb, "max_upload_bytes": limit, "version": __version__,
                             "instruments": instruments})

    async def create(request):
        return await _create(request, queue, limit_mb, instruments)

    def _job(request):
        return queue.get(request.path_params["job_id"])

    async def show(request):
        job = _job(request)
        if job is None or job.state == "receiving":
            return _error(404, "no such job (finished jobs are removed after a while)")
        return JSONResponse(status(job, queue), headers={"Cache-Control": "no-store"})

    async def cancel(request):
        job = _job(request)
        if job is None:
            return _error(404, "no such job")
        queue.cancel(job)
        return JSONResponse(status(job, queue), headers={"Cache-Control": "no-store"})

    async def result_file(request):
        job = _job(request)
        entry = job.files.get(request.path_params["name"]) if job is not None else None
        if entry is None:
            return _error(404, "no such file")
        path, download = entry
        path = Path(path).resolve()
        if not path.is_relative_to(job.folder.resolve()) or not path.is_file():
            return _error(404, "no such file")
        attach = request.query_params.get("download") is not None
        return FileResponse(path, media_type=_MEDIA.get(path.suffix, "application/octet-stream"),
                            filename=download if attach else None,
                            headers={"X-Content-Type-Options": "nosniff"})

    return [
        Route("/", index),
        Route("/api/config", config),
        Route("/api/jobs", create, methods=["POST"]),
        Route("/api/jobs/{job_id}", show),
        Route("/api/jobs/{job_id}/cancel", cancel, methods=["POST"]),
        Route("/jobs/{job_id}/files/{name:path}", result_file),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]


def build_app(*, max_upload_mb, jobs, workdir, ttl):
    """The Starlette app and its :class:`~nmfaudio.web.jobs.JobQueue` (see :func:`create_app`)."""
    from starlette.applications import Starlette

    from ..models import list_models
    from .jobs import JobQueue
    from .tasks import run_job

    instruments = [{"name": m["name"], "kind": m["kind"]} for m in list_models() if m["kind"] == "instrument"]
    queue = JobQueue(run_job, jobs=jobs, workdir=workdir, ttl=ttl)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        try:
            yield
        finally:
            queue.close()

    app = Starlette(routes=_routes(queue, max_upload_mb, instruments), lifespan=lifespan)
    app.state.queue = queue
    app.state.max_upload_mb = max_upload_mb
    return app
