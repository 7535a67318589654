"""Execution engines of :func:`nmfaudio.separate_many` (private module).

One file's job (load → separate/denoise → staged, atomic output folder), the
local process pool (fork server, 1 BLAS thread per worker, retries when a worker
dies) and the Dask path (dictionaries scattered once). ``_batch_plan.py`` decides
what to run (inputs, output names, the task model, the manifest); ``batch.py`` keeps the
public entry point and the report.
"""

from __future__ import annotations

import dataclasses
import collections
import glob
import hashlib
import json
import os
import shutil
import socket
import time
import uuid
from pathlib import Path

from .exceptions import AudioFileError, NmfAudioError, ParameterError

#: How long to wait for a Dask scheduler before giving up.
_CONNECT_TIMEOUT = "10s"


@dataclasses.dataclass
class _Model:
    """What every task needs besides its file: shipped to each worker once."""

    mode: str                     # "supervised" | "unsupervised" | "denoise"
    options: dict
    dictionaries: tuple = ()
    noise: object = None          # SourceDictionary learned from a noise sample, or None
    noise_sample: object = None   # that sample (at the dictionary's rate), or None

    def output_file(self, folder, source):
        """``folder/<source>.<ext>`` in the model's output format."""
        from .files import output_extension

        return Path(folder) / f"{source}{output_extension(self.options.get('format'))}"

    def source_names(self):
        if self.mode == "supervised":
            return [d.name for d in self.dictionaries] + (["residual"] if self.options["n_free"] else [])
        if self.mode == "denoise":
            return ["clean", "noise"]
        return [f"source{i + 1}" for i in range(self.options["n_sources"])]

    def fingerprint(self):
        """Short hash of everything that changes the outputs (skip only on a match)."""

        def dsig(d):
            return {"name": d.name, "sr": d.sr, "stft": d.stft.to_dict(), "beta": d.beta,
                    "power": d.power, "W": hashlib.sha1(d.W.tobytes()).hexdigest()}

        doc = {"mode": self.mode, "options": self.options,
               "dictionaries": [dsig(d) for d in self.dictionaries],
               "noise": dsig(self.noise) if self.noise is not None else None}
        return hashlib.sha1(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:16]


def _separate_file(path, model):
    """Load ``path`` and separate it; returns ``(sources, sr, seconds of audio)``."""
    from .denoise import DENOISE_ITER, denoise_sources
    from ._rate import at_rate
    from .io import load
    from .separate import separate

    opts = model.options
    y0, file_sr = load(path)
    if model.mode == "unsupervised":
        sources = separate(y0, file_sr, n_sources=opts["n_sources"], n_components=opts["n_components"],
                           n_fft=opts["n_fft"], hop_length=opts["hop_length"],
                           max_iter=opts["max_iter"], random_state=opts["random_state"])
        return sources, file_sr, y0.shape[-1] / file_sr
    ref = model.dictionaries[0] if model.mode == "supervised" else model.noise

    def run(y, sr):
        if model.mode == "supervised":
            return separate(y, sr, dictionaries=list(model.dictionaries), n_free=opts["n_free"],
                            max_iter=opts["max_iter"], random_state=opts["random_state"])
        noise = {"noise_dictionary": model.noise} if model.noise_sample is None else {"noise": model.noise_sample}
        return denoise_sources(y, sr, **noise, max_iter=opts["max_iter"] or DENOISE_ITER,
                               random_state=opts["random_state"])

    sources = at_rate(run, y0, file_sr, None if ref is None else ref.sr)[2]  # back at the file's rate
    return sources, file_sr, y0.shape[-1] / file_sr


def _remove_staging(out_dir, name):
    # exactly the 8 hex digits of _write_outputs, so that the staging folder of another
    # output named like "<name>.part-x" is not matched
    for stale in Path(out_dir).glob(f".{glob.escape(name)}.part-" + "[0-9a-f]" * 8):
        shutil.rmtree(stale, ignore_errors=True)


def _write_outputs(out_dir, name, sources, sr, model, *, overwrite, commit=True):
    """Write ``out_dir/name/<source>.<ext>`` all-or-nothing (format and depth: ``model.options``).

    Returns ``(paths, staging)``: with ``commit=False`` the files are left in the
    hidden staging folder ``staging`` for :func:`_commit` (the local pool's parent
    renames them into place once the worker has reported, so that a worker killed
    after writing never leaves outputs the manifest calls failed); otherwise
    ``staging`` is None.
    """
    from .io import save_many

    target = out_dir / name
    depth = {"bit_depth": model.options.get("bit_depth")}
    _remove_staging(out_dir, name)  # left by a worker that died
    if target.exists():
        # Replace files inside an existing folder (save_many refuses without overwrite).
        return save_many({model.output_file(target, k): (v, sr) for k, v in sources.items()},
                         overwrite=overwrite, **depth), None
    staging = out_dir / f".{name}.part-{uuid.uuid4().hex[:8]}"
    paths = [model.output_file(target, k) for k in sources]
    try:
        save_many({model.output_file(staging, k): (v, sr) for k, v in sources.items()}, **depth)
        if not commit:
            return paths, staging
        _commit(out_dir, name, staging)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return paths, None


def _commit(out_dir, name, staging):
    """Rename a complete staging folder to ``out_dir/name`` (atomic)."""
    target = Path(out_dir) / name
    try:
        os.rename(staging, target)  # fails if target appeared meanwhile
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)
        raise AudioFileError(
            f"{str(target)!r} was created by someone else during the batch; "
            "pass overwrite=True (CLI: --overwrite) to replace it") from None


def _finish(rec, job):
    """Parent side of a local-pool record: move the worker's staged outputs into place."""
    staging = rec.pop("staging", None)
    if staging is not None:
        try:
            _commit(job["out_dir"], job["name"], staging)
        except AudioFileError as exc:
            rec.update(status="failed", outputs=[], error=_one_line(exc))
    return rec


def _one_line(exc):
    msg = str(exc).splitlines()[0] if str(exc) else ""
    if isinstance(exc, NmfAudioError):
        return msg or type(exc).__name__
    return f"{type(exc).__name__}: {msg}" if msg else type(exc).__name__


def _run_job(job, model, worker, commit=True):
    """Process one file; never raises for a bad file (the error goes in the record).
    ``commit=False``: outputs stay staged, the record's ``staging`` says where (see
    :func:`_finish`)."""
    t0 = time.perf_counter()
    rec = {"input": job["input"], "name": job["name"], "status": "failed", "outputs": [],
           "error": None, "audio_seconds": None, "settings": job["settings"], "worker": worker}
    try:
        out_dir = Path(job["out_dir"])
        from .io import refuse_existing

        outputs = [model.output_file(out_dir / job["name"], s) for s in model.source_names()]
        refuse_existing(outputs, overwrite=job["overwrite"])
        if "format" in model.options or "bit_depth" in model.options:
            from .io import audio_info, check_output

            sr = audio_info(job["input"]).sr  # a rate the format cannot take fails before the work
            for p in outputs:
                check_output(p, sr=sr, bit_depth=model.options.get("bit_depth"))
        sources, sr, seconds = _separate_file(job["input"], model)
        paths, staging = _write_outputs(out_dir, job["name"], sources, sr, model,
                                        overwrite=job["overwrite"], commit=commit)
        rec.update(status="done", audio_seconds=round(seconds, 4),
                   outputs=[str(Path(p).relative_to(out_dir)) for p in paths])
        if staging is not None:
            rec["staging"] = str(staging)
    except Exception as exc:  # a broken file is reported, the batch goes on
        rec["error"] = _one_line(exc)
    rec["seconds"] = round(time.perf_counter() - t0, 4)
    return rec


# Local pool: the model is installed in each worker process once, by the initializer.
_WORKER_MODEL = None
_WORKER_LIMITS = None

_BLAS_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS",
             "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")


def _init_worker(model):
    global _WORKER_MODEL, _WORKER_LIMITS
    for var in _BLAS_ENV:  # for libraries loaded from now on
        os.environ[var] = "1"
    try:  # for the BLAS numpy already loaded
        from threadpoolctl import threadpool_limits

        _WORKER_LIMITS = threadpool_limits(limits=1)
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        pass
    _single_core_caps()
    _WORKER_MODEL = model


def _single_core_caps():
    """One core per worker: the single-process threaded paths (supervised solve, long STFTs,
    nmf's worker threads) would oversubscribe the cores the pool or cluster already uses."""
    from ._threads import set_cap

    set_cap(1)


def _pool_job(job):
    return _run_job(job, _WORKER_MODEL, f"{socket.gethostname()}:{os.getpid()}", commit=False)


def _dask_job(job, model):
    import multiprocessing

    if multiprocessing.parent_process() is not None:  # a worker process, not the user's own
        _single_core_caps()  # each task runs on one of the worker's threads
    try:
        from distributed import get_worker

        worker = get_worker().address
    except Exception:  # pragma: no cover - outside a worker
        worker = f"{socket.gethostname()}:{os.getpid()}"
    return _run_job(job, model, worker)


#: Imported once in the fork server: librosa's (numba) and scikit-learn's first imports are
#: the slowest part of a worker's start.
_PRELOAD = ["nmfaudio.batch", "nmfaudio._batch_exec", "librosa.core.spectrum", "librosa.util.utils", "librosa.filters",
            "sklearn.cluster", "scipy.fft", "soundfile", "soxr"]


def _mp_context():
    """Fresh interpreters for the workers (no fork of a threaded parent).

    forkserver (Unix) imports nmfaudio once in the server and forks ready workers
    from it, so rebuilding the pool after a worker died costs little; spawn elsewhere.
    """
    import multiprocessing as mp

    if "forkserver" in mp.get_all_start_methods():
        ctx = mp.get_context("forkserver")
        ctx.set_forkserver_preload(_PRELOAD)
        return ctx
    return mp.get_context("spawn")


def _run_local(jobs, model, n_workers, max_attempts, on_record):
    import concurrent.futures as cf
    from concurrent.futures.process import BrokenProcessPool

    ctx = _mp_context()
    pending = collections.deque(jobs)
    attempts = collections.Counter()

    def new_pool():
        return cf.ProcessPoolExecutor(max_workers=min(n_workers, max(1, len(pending))), mp_context=ctx,
                                      initializer=_init_worker, initargs=(model,))

    pool = new_pool()
    inflight = {}
    try:
        while pending or inflight:
            # Keep one file per worker in flight, so that a dying worker only takes
            # down files that were really running.
            broken = False
            while pending and len(inflight) < n_workers:
                try:
                    fut = pool.submit(_pool_job, pending[0])
                except BrokenProcessPool:  # a worker died since the last wait
                    broken = True
                    break
                job = pending.popleft()
                attempts[job["name"]] += 1
                inflight[fut] = job
            done = () if broken else cf.wait(inflight, return_when=cf.FIRST_COMPLETED)[0]
            for fut in done:
                job = inflight.pop(fut)
                try:
                    rec = fut.result()
                except BrokenProcessPool:
                    broken = True
                    inflight[fut] = job  # handled with the others below
                    continue
                rec = _finish(rec, job)
                rec["attempts"] = attempts[job["name"]]
                on_record(rec)
            if broken:
                # A worker died: every file still in flight is lost with the pool.
                pool.shutdown(wait=True, cancel_futures=True)
                lost = []
                for fut, job in inflight.items():
                    if fut.exception() is None:  # finished just before the pool broke
                        rec = _finish(fut.result(), job)
                        rec["attempts"] = attempts[job["name"]]
                        on_record(rec)
                    else:
                        lost.append(job)
                lost.sort(key=lambda j: j["index"])
                inflight = {}
                retry = [j for j in lost if attempts[j["name"]] < max_attempts]
                pending.extendleft(reversed(retry))
                for job in (j for j in lost if attempts[j["name"]] >= max_attempts):
                    _remove_staging(job["out_dir"], job["name"])
                    on_record({"input": job["input"], "name": job["name"], "status": "failed",
                               "outputs": [], "audio_seconds": None, "settings": job["settings"],
                               "worker": None, "seconds": None, "attempts": attempts[job["name"]],
                               "error": f"the worker process died while processing it "
                                        f"({attempts[job['name']]} attempts)"})
                if pending:
                    pool = new_pool()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _connect(client):
    try:
        import distributed
    except ImportError:
        raise NmfAudioError(
            "a Dask cluster needs dask.distributed: pip install \"nmfaudio[dask]\"") from None
    if isinstance(client, distributed.Client):
        return client, False
    if isinstance(client, str):
        try:
            return distributed.Client(client, timeout=_CONNECT_TIMEOUT, set_as_default=False), True
        except Exception as exc:
            raise ParameterError(
                f"cannot connect to the Dask scheduler at {client!r}: {_one_line(exc)}") from None
    raise ParameterError(
        f"client={client!r} must be a dask.distributed.Client or a scheduler address like "
        "'tcp://host:8786'")


def _run_dask(jobs, model, client, on_record):
    import distributed

    client, own = _connect(client)
    try:
        # One copy of the dictionaries on every worker, referenced by all tasks.
        model_future = client.scatter(model, broadcast=True, hash=False)
        futures = {}
        for job in jobs:
            fut = client.submit(_dask_job, job, model_future, pure=False,
                                key=f"nmfaudio-batch-{job['index']}-{uuid.uuid4().hex[:8]}")
            futures[fut] = job
        for fut in distributed.as_completed(list(futures), loop=client.loop):
            job = futures.pop(fut)
            if fut.status == "finished":
                rec = fut.result()
            else:
                exc = fut.exception()
                _remove_staging(job["out_dir"], job["name"])
                rec = {"input": job["input"], "name": job["name"], "status": "failed", "outputs": [],
                       "audio_seconds": None, "settings": job["settings"], "worker": None,
                       "seconds": None, "error": f"the cluster could not run it: {_one_line(exc)}"}
            fut.release()
            rec["attempts"] = None  # Dask retries dead workers' tasks itself
            on_record(rec)
        model_future.release()
    finally:
        if own:
            client.close()


# --------------------------------------------------------------------------- manifest
