"""Job queue of ``nmfaudio serve``: worker threads, one folder per job, expiry and cleanup.

A :class:`Job` is created (with its own folder) when an upload starts, queued once
its inputs are checked, run by one of ``jobs`` worker threads, and forgotten —
folder and all — ``ttl`` seconds after it ended, or when the queue closes. Job
ids are random (:func:`secrets.token_urlsafe`), so one job's URLs cannot be
guessed from another's.
"""

from __future__ import annotations

import collections
import logging
import secrets
import shutil
import tempfile
import threading
import time
from pathlib import Path

from ..exceptions import NmfAudioError, ParameterError

__all__ = ["Job", "JobQueue", "Cancelled"]

log = logging.getLogger("nmfaudio.web")

#: States a job goes through; the last three are final.
STATES = ("queued", "running", "done", "failed", "cancelled")


class Cancelled(Exception):
    """Raised inside a running job when its cancel button was pressed."""


class Job:
    """One separation request: its folder, settings, progress and results.

    Attributes
    ----------
    id : str
        Random URL-safe id.
    folder : pathlib.Path
        The job's private folder (inputs and outputs).
    spec : dict
        What to do (mode, options, input paths); set by :meth:`JobQueue.submit`.
    state : str
        One of :data:`STATES`.
    stage, fraction : str, float
        Human-readable step and overall progress in [0, 1].
    message : str or None
        Why the job failed, in one line.
    results : dict or None
        What the page shows when done (see ``nmfaudio.web.tasks``).
    files : dict[str, pathlib.Path]
        The only files the job's URLs can serve, by URL name.
    """

    def __init__(self, folder: Path):
        self.id = folder.name
        self.folder = folder
        self.spec = None
        self.state = "queued"
        self.stage = "waiting"
        self.fraction = 0.0
        self.message = None
        self.results = None
        self.files = {}
        self.ended = None
        self._cancel = threading.Event()

    @property
    def cancel_requested(self) -> bool:
        return self._cancel.is_set()

    def progress(self, fraction, stage=None):
        """Record progress; raises :class:`Cancelled` once a cancel was requested."""
        if self._cancel.is_set():
            raise Cancelled()
        self.fraction = min(1.0, max(self.fraction, float(fraction)))
        if stage is not None:
            self.stage = stage

    def callback(self, start, span, total, stage=None):
        """An nmfaudio ``callback(iteration, loss)`` mapping iterations onto ``[start, start+span]``.

        It returns True (stop) once a cancel was requested, which ends the solver early.
        """
        total = max(1, int(total or 1))

        def report(iteration, loss):
            if self._cancel.is_set():
                return True
            if stage is not None:
                self.stage = stage
            self.fraction = min(1.0, max(self.fraction, start + span * min(1.0, int(iteration) / total)))
            return False

        return report


class JobQueue:
    """Runs jobs on ``jobs`` worker threads, oldest first, and cleans up after them.

    Parameters
    ----------
    run : callable
        ``run(job)`` does the work (kept as the ``runner`` attribute) (raises :class:`Cancelled`, an NmfAudioError with a
        message for the page, or anything else for an internal error).
    jobs : int > 0
        Jobs running at the same time.
    workdir : str, os.PathLike or None
        Where job folders go (default: a new temporary folder, removed by :meth:`close`).
    ttl : float > 0
        Seconds a finished job (and its files) is kept.
    """

    def __init__(self, run, *, jobs=1, workdir=None, ttl=3600.0):
        self.runner = run
        self.ttl = float(ttl)
        self._own_dir = workdir is None
        self.workdir = Path(tempfile.mkdtemp(prefix="nmfaudio-serve-") if workdir is None else workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._jobs = {}
        self._pending = collections.deque()
        self._cond = threading.Condition()
        self._closed = False
        self._threads = [threading.Thread(target=self._work, name=f"nmfaudio-job-{i}", daemon=True)
                         for i in range(int(jobs))]
        self._threads.append(threading.Thread(target=self._sweep, name="nmfaudio-janitor", daemon=True))
        for t in self._threads:
            t.start()

    # -- creating and finding jobs -------------------------------------------------
    def new_job(self) -> Job:
        """A job with its own empty folder, not queued yet (inputs are being received)."""
        with self._cond:
            if self._closed:
                raise NmfAudioError("the server is shutting down")
            while True:
                job_id = secrets.token_urlsafe(16)
                if job_id not in self._jobs:
                    break
            folder = self.workdir / job_id
            folder.mkdir()
            job = Job(folder)
            job.state = "receiving"
            self._jobs[job_id] = job
            return job

    def submit(self, job: Job, spec: dict) -> Job:
        """Queue ``job`` to run with ``spec``."""
        with self._cond:
            if self._closed:
                shutil.rmtree(job.folder, ignore_errors=True)
                raise NmfAudioError("the server is shutting down")
            job.spec = spec
            job.state = "queued"
            self._pending.append(job)
            self._cond.notify_all()
        return job

    def discard(self, job: Job) -> None:
        """Forget a job that was never queued (bad upload) and remove its folder."""
        with self._cond:
            self._jobs.pop(job.id, None)
        shutil.rmtree(job.folder, ignore_errors=True)

    def get(self, job_id) -> Job | None:
        with self._cond:
            return self._jobs.get(job_id) if isinstance(job_id, str) else None

    def position(self, job: Job) -> int | None:
        """1 for the next job to start, 2 for the one after, ...; None when not waiting."""
        with self._cond:
            try:
                return self._pending.index(job) + 1
            except ValueError:
                return None

    def cancel(self, job: Job) -> None:
        """Stop a job: a queued one never starts, a running one stops at its next progress report."""
        with self._cond:
            if job.state == "queued" and job in self._pending:
                self._pending.remove(job)
                self._end(job, "cancelled")
                shutil.rmtree(job.folder / "out", ignore_errors=True)
            elif job.state in ("running", "receiving"):
                job._cancel.set()
                job.stage = "cancelling"

    # -- the workers ---------------------------------------------------------------
    def _end(self, job, state, message=None):
        job.state, job.message, job.ended = state, message, time.monotonic()
        if state != "done":
            job.files, job.results = {}, None

    def _work(self):
        while True:
            with self._cond:
                while not self._pending and not self._closed:
                    self._cond.wait()
                if self._closed:
                    return
                job = self._pending.popleft()
                job.state, job.stage = "running", "starting"
            state, message = "done", None
            try:
                if job.cancel_requested:
                    raise Cancelled()
                self.runner(job)
                if job.cancel_requested:  # a step that could not be interrupted finished late
                    raise Cancelled()
            except Cancelled:
                state = "cancelled"
            except NmfAudioError as exc:
                state, message = "failed", _one_line(exc)
            except MemoryError:
                state, message = "failed", "not enough memory for this file; try a shorter one"
            except Exception as exc:  # never reaches the page as a traceback
                log.exception("job %s failed", job.id)
                state, message = "failed", f"internal error ({type(exc).__name__}); see the server log"
            with self._cond:
                self._end(job, state, message)
                if state != "done":
                    shutil.rmtree(job.folder / "out", ignore_errors=True)
                if self._closed:
                    return

    def _sweep(self):
        period = min(60.0, max(0.05, self.ttl / 4))
        while True:
            with self._cond:
                if self._cond.wait_for(lambda: self._closed, timeout=period):
                    return
            self.expire()

    def expire(self, now=None) -> list:
        """Remove jobs that ended more than ``ttl`` seconds ago; returns their ids."""
        now = time.monotonic() if now is None else now
        with self._cond:
            old = [j for j in self._jobs.values() if j.ended is not None and now - j.ended > self.ttl]
            for j in old:
                del self._jobs[j.id]
        for j in old:
            shutil.rmtree(j.folder, ignore_errors=True)
        return [j.id for j in old]

    def close(self, timeout=5.0) -> None:
        """Cancel everything, stop the workers and remove every job folder (idempotent)."""
        with self._cond:
            if self._closed:
                return
            self._closed = True
            for job in list(self._jobs.values()):
                job._cancel.set()
            self._pending.clear()
            self._cond.notify_all()
        deadline = time.monotonic() + timeout
        for t in self._threads:
            t.join(max(0.0, deadline - time.monotonic()))
        with self._cond:
            jobs, self._jobs = list(self._jobs.values()), {}
        for job in jobs:
            shutil.rmtree(job.folder, ignore_errors=True)
        if self._own_dir:
            shutil.rmtree(self.workdir, ignore_errors=True)


def _one_line(exc) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def check_jobs(jobs) -> int:
    """``jobs`` as a positive int, else ParameterError."""
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ParameterError(f"jobs={jobs!r} must be a whole number >= 1")
    return jobs
