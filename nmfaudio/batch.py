"""Batch separation of a corpus: a local process pool, or a Dask cluster.

:func:`separate_many` runs one separation per input file and writes
``OUT_DIR/<name>/<source>.wav``, where ``<name>`` is the input's file name
without its extension. Every finished file (done or failed) is appended to a
JSON-lines manifest, ``OUT_DIR/manifest.jsonl``; running the same batch again
skips the files the manifest records as done with the same settings, so an
interrupted run resumes where it stopped.

Engines
-------
*Local* (default): a pool of ``jobs`` worker processes started from a fork
server (``spawn`` where there is none), with one BLAS thread each. The
dictionaries go to each worker once, when it starts. A worker that dies
(killed, out of memory, crashed) breaks the pool, and with it the files in
flight (one per worker): the pool is rebuilt and those files are tried again, up to ``max_attempts`` times
in all, then recorded as failed. As with any ``multiprocessing`` code, a script
that calls :func:`separate_many` must do so under ``if __name__ == "__main__":``.

*Dask* (``client=`` a :class:`distributed.Client` or a scheduler address such
as ``"tcp://host:8786"``): the same per-file task runs on the cluster. The
dictionaries are scattered to every worker once (``broadcast=True``), not sent
with each file. Dask reschedules the tasks of a worker that dies; a file whose
task keeps killing workers is recorded as failed (``KilledWorker``). Input and
output paths are used as they are by the workers, so on a multi-machine
cluster they must live on a shared filesystem, and nmfaudio must be installed
on the workers (``pip install "nmfaudio[dask]"``).

Output safety
-------------
Outputs are written with :func:`nmfaudio.io.save_many` into a hidden staging
folder ``OUT_DIR/.<name>.part-*`` that is renamed to ``OUT_DIR/<name>`` only when
every source is written, so a killed worker never leaves a partial
``<name>`` folder; stale staging folders are removed when their file is
processed again. Existing outputs are never replaced unless ``overwrite=True``.

Name collisions
---------------
Two inputs with the same name (``a/take.wav`` and ``b/take.wav``, or
``take.wav`` and ``take.flac``) would write to the same folder. By default this
raises :class:`ParameterError` before any work starts, naming both files. With
``unique_names=True`` the colliding files are named after as many parent
folders as needed to tell them apart, joined with ``__`` (``a__take`` and
``b__take``; ``take.wav`` and ``take.flac`` become ``take.wav`` and
``take.flac``); files without a collision keep their plain name.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import time
from pathlib import Path

from ._checks import check_nonneg_int, check_positive_int, show
from ._options import check_batch_options
from .exceptions import AudioFileError, ParameterError
from ._batch_exec import _run_dask, _run_local
from ._batch_plan import (AUDIO_EXTENSIONS, MANIFEST_NAME, Manifest, expand_inputs, make_model,
                          noise_sample, output_names, plan_jobs, read_manifest)

__all__ = ["separate_many", "BatchReport", "expand_inputs", "output_names", "read_manifest",
           "AUDIO_EXTENSIONS", "MANIFEST_NAME"]

# Planning (inputs, output names, the task model, the manifest) is in _batch_plan.py, the work
# itself (one file's job, the process pool, Dask) in _batch_exec.py.


# --------------------------------------------------------------------------- public API


@dataclasses.dataclass
class BatchReport:
    """What :func:`separate_many` did.

    Attributes
    ----------
    records : list of dict
        One manifest record per file processed in this run (done or failed).
    skipped : list of str
        Inputs skipped because the manifest records them as done.
    manifest : pathlib.Path
    seconds : float
        Wall-clock time of the run.

    Examples
    --------
    >>> report = nmfaudio.separate_many("audio_fixtures/music/*.wav", "separated",
    ...                                 n_sources=2)  # doctest: +SKIP
    >>> if not report.ok:  # doctest: +SKIP
    ...     for rec in report.failed:
    ...         print(rec["input"], rec["error"])
    """

    records: list
    skipped: list
    manifest: Path
    seconds: float

    @property
    def done(self):
        """Records of the files separated in this run."""
        return [r for r in self.records if r["status"] == "done"]

    @property
    def failed(self):
        """Records of the files that failed (``error`` says why)."""
        return [r for r in self.records if r["status"] != "done"]

    @property
    def ok(self) -> bool:
        """True when no file failed."""
        return not self.failed

    @property
    def audio_seconds(self) -> float:
        """Seconds of audio separated in this run."""
        return float(sum(r["audio_seconds"] or 0.0 for r in self.done))


def _default_jobs():
    from ._threads import usable_cores

    return usable_cores()


def _progress_bar(total, initial, enabled):
    if enabled is None:
        enabled = sys.stderr.isatty()
    if enabled:
        try:
            from tqdm import tqdm
        except ImportError:
            tqdm = None
        if tqdm is not None:
            return tqdm(total=total, initial=initial, unit="file", desc="nmfaudio batch", file=sys.stderr)
    return None


def separate_many(paths, out_dir, *, dictionaries=None, n_sources=None, denoise=False, noise=None,
                  n_free=0, n_components=None, n_fft=None, hop_length=None, max_iter=None,
                  random_state=0, jobs=None, client=None, overwrite=False, unique_names=False,
                  max_attempts=2, progress=None, callback=None, format=None, bit_depth=None):
    """Separate many files, on a local process pool or a Dask cluster.

    Writes ``out_dir/<name>/<source>.wav`` for each input (``<name>`` is the
    file name without extension) and appends one record per file to
    ``out_dir/manifest.jsonl``. Files that the manifest records as done with the
    same settings, and whose outputs exist, are skipped. A file that cannot be
    read or separated is recorded as failed with its error and the others go
    on. See the module documentation for engines, output safety and name
    collisions.

    Parameters
    ----------
    paths : str, os.PathLike or iterable of them
        Audio files, folders (searched recursively) or glob patterns; see
        :func:`expand_inputs`.
    out_dir : str or os.PathLike
        Output folder (created if needed).
    dictionaries : list of SourceDictionary or of paths to ``.npz`` files, or None
        Supervised separation with these dictionaries; outputs are named after
        them. Files at another sample rate are resampled to the dictionaries'
        rate and the outputs back to the file's rate.
    n_sources : int > 0 or None
        Unsupervised separation into this many sources (``source1.wav``, ...).
        The default, when neither ``dictionaries`` nor ``denoise`` is given, is 2.
    denoise : bool
        Denoise each file instead (``clean.wav``, ``noise.wav``); see
        :func:`nmfaudio.denoise`.
    noise : str, os.PathLike, SourceDictionary or None
        With ``denoise``: a sample of the noise alone (its templates are learned
        once for the whole batch) or a trained noise dictionary. ``None``
        models the noise from each file's noise floor.
    n_free : int >= 0
        Supervised only: free components returned as ``residual.wav``.
    n_components : int > 0 or None
        Unsupervised only: NMF components (default 8 per source).
    n_fft, hop_length : int > 0 or None
        Unsupervised only: STFT settings (default 2048, n_fft / 4).
    max_iter : int > 0 or None
        NMF iterations (default 200 unsupervised, 100 supervised and denoise).
    random_state : int
        Seed; the same seed gives the same outputs.
    jobs : int > 0 or None
        Local worker processes (default: the CPUs available). Ignored with ``client``.
    client : distributed.Client, str or None
        Run on this Dask cluster (a client, or a scheduler address such as
        ``"tcp://10.0.0.5:8786"``) instead of the local pool.
    overwrite : bool
        Replace existing outputs. Without it a file whose outputs exist (and
        that the manifest does not record as done) fails with an error.
    unique_names : bool
        Disambiguate inputs that share a name instead of raising.
    max_attempts : int > 0
        Local pool: times a file is tried when its worker process dies.
    progress : bool or None
        Show a progress bar over files (tqdm, if installed); ``None`` shows it
        only when stderr is a terminal.
    callback : callable or None
        Called in the calling process with each file's record as it finishes.
    format : {"wav", "flac", "aiff", "ogg", "opus", "mp3"} or None
        Output format (default ``"wav"``): ``<source>.flac``, ...
    bit_depth : {16, 24, 32} or None
        Output sample format (see :func:`nmfaudio.save`).

    Returns
    -------
    BatchReport
        ``report.ok`` is False when any file failed.

    Raises
    ------
    ParameterError
        Invalid options, inputs matching nothing, or a name collision.
    AudioFileError
        A dictionary or noise file cannot be read.

    Examples
    --------
    >>> import nmfaudio
    >>> report = nmfaudio.separate_many(["audio_fixtures/music"], "separated", n_sources=2,
    ...                                 jobs=2)  # doctest: +SKIP
    >>> report.ok, len(report.done), report.manifest  # doctest: +SKIP
    (True, 3, PosixPath('separated/manifest.jsonl'))
    """
    t_start = time.perf_counter()
    modes = [m for m, on in (("dictionaries", dictionaries is not None),
                             ("n_sources", n_sources is not None), ("denoise", bool(denoise))) if on]
    if len(modes) > 1:
        raise ParameterError(f"give only one of dictionaries, n_sources and denoise; got {', '.join(modes)}")
    check_batch_options({"dictionaries": dictionaries, "denoise": denoise, "noise": noise,
                         "n_free": n_free, "n_components": n_components, "n_fft": n_fft,
                         "hop_length": hop_length})
    n_free = check_nonneg_int(n_free, "n_free")
    max_iter = check_positive_int(max_iter, "max_iter", allow_none=True)
    max_attempts = check_positive_int(max_attempts, "max_attempts")
    if not isinstance(random_state, int) or isinstance(random_state, bool):
        raise ParameterError(f"random_state={show(random_state)} must be an integer")
    if client is None:
        jobs = _default_jobs() if jobs is None else check_positive_int(jobs, "jobs")
    if callback is not None and not callable(callback):
        raise ParameterError(f"callback={show(callback)} is not callable")

    model = make_model(dictionaries=dictionaries, denoise=denoise, noise=noise, n_sources=n_sources,
                       n_free=n_free, n_components=n_components, n_fft=n_fft, hop_length=hop_length,
                       max_iter=max_iter, random_state=random_state)

    if format is not None or bit_depth is not None:
        from .files import output_extension
        from .io import subtype_for

        subtype_for(f"<source>{output_extension(format)}", bit_depth=bit_depth)  # fails before any work
        # recorded only when given, so that manifests written before these options still match
        if output_extension(format) != ".wav":
            model.options["format"] = str(format).lower().lstrip(".")
        if bit_depth is not None:
            model.options["bit_depth"] = bit_depth
    files = expand_inputs(paths)
    names = output_names(files, unique_names=unique_names)
    out_dir = Path(os.path.abspath(os.fspath(out_dir)))
    if out_dir.exists() and not out_dir.is_dir():
        raise AudioFileError(f"out_dir={str(out_dir)!r} exists and is not a folder")
    manifest_path = out_dir / MANIFEST_NAME
    jobs_list, skipped = plan_jobs(files, names, out_dir, model, overwrite=overwrite)

    if jobs_list and "noise_sample_sha1" in model.options:
        # each file as denoise(noise=...), second pass included; the dictionary gives the rate
        model.noise, model.noise_sample = noise_sample(noise, random_state)
    records = []
    manifest = Manifest(manifest_path)
    bar = _progress_bar(len(files), len(skipped), progress) if jobs_list else None
    n_failed = 0

    def on_record(rec):
        nonlocal n_failed
        manifest.append(rec)
        records.append(rec)
        if rec["status"] != "done":
            n_failed += 1
        if bar is not None:
            bar.update(1)
            if n_failed:
                bar.set_postfix(failed=n_failed, refresh=False)
        if callback is not None:
            callback(rec)

    try:
        if jobs_list:
            if client is not None:
                _run_dask(jobs_list, model, client, on_record)
            else:
                _run_local(jobs_list, model, jobs, max_attempts, on_record)
    finally:
        manifest.close()
        if bar is not None:
            bar.close()
    return BatchReport(records=records, skipped=skipped, manifest=manifest_path,
                       seconds=time.perf_counter() - t_start)
