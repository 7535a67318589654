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

import collections
import dataclasses
import glob
import hashlib
import json
import os
import sys
import time
from pathlib import Path

from ._checks import check_nonneg_int, check_positive_int, show
from ._options import check_batch_options
from .exceptions import AudioFileError, ParameterError, UsageError
from ._batch_exec import _Model, _run_dask, _run_local

__all__ = ["separate_many", "BatchReport", "expand_inputs", "output_names", "read_manifest",
           "AUDIO_EXTENSIONS", "MANIFEST_NAME"]

#: File extensions picked up when a folder is given as input (case-insensitive).
AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".oga", ".mp3", ".aif", ".aiff", ".au", ".w64", ".caf")

#: File name of the manifest inside the output folder.
MANIFEST_NAME = "manifest.jsonl"

_GLOB_CHARS = set("*?[")

#: How long to wait for a Dask scheduler given by address.


# --------------------------------------------------------------------------- inputs


def expand_inputs(inputs):
    """Resolve files, folders and glob patterns into a sorted list of audio files.

    Parameters
    ----------
    inputs : str, os.PathLike or iterable of them
        Each is a file (taken as is, even if it does not exist or is not audio:
        it is then reported as failed when processed), a folder (searched
        recursively for files with an extension in :data:`AUDIO_EXTENSIONS`) or a
        glob pattern (``**`` recurses).

    Returns
    -------
    paths : list of pathlib.Path
        Absolute paths, each file once, in the order given (folders and
        patterns sorted).

    Raises
    ------
    ParameterError
        ``inputs`` is empty, or a folder or pattern matches no file.
    """
    if isinstance(inputs, (str, os.PathLike)):
        inputs = [inputs]
    inputs = list(inputs)
    if not inputs:
        raise ParameterError("inputs is empty; give audio files, folders or glob patterns")
    seen, out = set(), []

    def add(p):
        p = Path(os.path.abspath(p))
        if p not in seen:
            seen.add(p)
            out.append(p)

    for item in inputs:
        text = os.fspath(item)
        if os.path.isdir(text):
            found = sorted(p for p in Path(text).rglob("*")
                           if p.suffix.lower() in AUDIO_EXTENSIONS and p.is_file())
            if not found:
                raise ParameterError(
                    f"folder {text!r} holds no audio file ({', '.join(AUDIO_EXTENSIONS)})")
            for p in found:
                add(p)
        elif _GLOB_CHARS & set(text) and not os.path.exists(text):
            found = sorted(p for p in glob.glob(text, recursive=True) if os.path.isfile(p))
            if not found:
                raise ParameterError(f"pattern {text!r} matches no file")
            for p in found:
                add(p)
        else:
            add(text)
    return out


def output_names(paths, *, unique_names=False):
    """Output folder name of each input: its stem, or a disambiguated name.

    Parameters
    ----------
    paths : list of pathlib.Path
        Absolute input paths, each once (see :func:`expand_inputs`).
    unique_names : bool
        On a collision, name the colliding files after their parent folders
        (``a__take``, ``b__take``) instead of raising.

    Returns
    -------
    names : list of str

    Raises
    ------
    ParameterError
        Two inputs share a name and ``unique_names`` is False, or a name is
        reserved (the manifest's).
    """
    paths = [Path(p) for p in paths]
    groups = collections.defaultdict(list)
    for i, p in enumerate(paths):
        groups[p.stem].append(i)
    names = [p.stem for p in paths]
    for stem, idx in groups.items():
        if len(idx) < 2:
            continue
        if not unique_names:
            a, b = (str(paths[i]) for i in idx[:2])
            more = f" (and {len(idx) - 2} more)" if len(idx) > 2 else ""
            raise ParameterError(
                f"{a!r} and {b!r}{more} would both write to <out>/{stem}/; rename one, give them "
                "in separate batches, or pass unique_names=True (CLI: --unique-names) to name "
                "outputs after their parent folders")
        depth_max = max(len(paths[i].parent.parts) - 1 for i in idx)  # without the root
        tries = [(d, False) for d in range(1, depth_max + 1)] + [(d, True) for d in range(0, depth_max + 1)]
        for depth, with_ext in tries:
            cand = ["__".join((list(paths[i].parent.parts[1:])[-depth:] if depth else [])
                              + [paths[i].name if with_ext else paths[i].stem]) for i in idx]
            if len(set(cand)) == len(cand):
                break
        for i, c in zip(idx, cand):
            names[i] = c
    for n, p in zip(names, paths):
        if n == MANIFEST_NAME or n.startswith("."):
            raise ParameterError(f"{str(p)!r} gives the output name {show(n)}, which is reserved; rename it")
    if len(set(names)) != len(names):  # a disambiguated name equals another plain stem
        dup = next(n for n, c in collections.Counter(names).items() if c > 1)
        raise ParameterError(f"two inputs would both write to <out>/{dup}/; rename one of them")
    return names


# The work itself (one file's job, the process pool, Dask) is in _batch_exec.py.


def read_manifest(path):
    """Records of a batch manifest, in the order written.

    Lines that are not valid JSON objects (e.g. a line cut short by a crash)
    are ignored.

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    records : list of dict
        Keys: ``input``, ``name``, ``status`` (``"done"`` or ``"failed"``),
        ``outputs`` (relative to the output folder), ``error``, ``seconds``
        (processing time), ``audio_seconds``, ``attempts``, ``worker``,
        ``settings`` (fingerprint), ``finished`` (UTC time).
    """
    path = Path(os.fspath(path))
    if not path.exists():
        return []
    records = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            if isinstance(rec, dict) and "name" in rec and "status" in rec:
                records.append(rec)
    return records


class _Manifest:
    """Append-only JSON-lines log, written by the coordinating process only."""

    def __init__(self, path):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "ab+") as fh:  # end a last line cut short by a crash
            if fh.seek(0, os.SEEK_END) > 0:
                fh.seek(-1, os.SEEK_END)
                if fh.read(1) != b"\n":
                    fh.write(b"\n")
        self._fh = open(path, "a", encoding="utf-8")

    def append(self, rec):
        rec = dict(rec, finished=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
        self._fh.write(json.dumps(rec, sort_keys=True) + "\n")
        self._fh.flush()
        os.fsync(self._fh.fileno())

    def close(self):
        self._fh.close()


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


def _load_dictionaries(dictionaries):
    from .dictionary import SourceDictionary
    from .dictionary import check_dictionaries

    if isinstance(dictionaries, (SourceDictionary, str, os.PathLike)):
        dictionaries = [dictionaries]
    dicts = [d if isinstance(d, SourceDictionary) else SourceDictionary.load(d) for d in dictionaries]
    return tuple(check_dictionaries(dicts))


def _noise_dictionary(noise, random_state):
    from .denoise import learn_noise_dictionary
    from .dictionary import SourceDictionary
    from .io import load

    if noise is None or isinstance(noise, SourceDictionary):
        return noise
    if not isinstance(noise, (str, os.PathLike)):
        raise ParameterError(f"noise={show(noise)} must be a path to a noise sample or a SourceDictionary")
    y, sr = load(noise)
    # As denoise(noise=...) does per call, but once for the whole batch.
    return learn_noise_dictionary(y, sr, random_state=random_state)


def _file_sha1(path):
    path = Path(os.fspath(path))
    try:
        with open(path, "rb") as fh:
            return hashlib.file_digest(fh, "sha1").hexdigest() if hasattr(hashlib, "file_digest") \
                else hashlib.sha1(fh.read()).hexdigest()
    except FileNotFoundError:
        raise AudioFileError(f"{str(path)!r}: no such file") from None
    except IsADirectoryError:
        raise AudioFileError(f"{str(path)!r} is a directory, expected an audio file") from None


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
        models the noise from each file's quietest frames.
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

    if dictionaries is not None:
        from .supervised import supervised_settings

        dicts = _load_dictionaries(dictionaries)
        # resolved here so that the fingerprint names the solver actually run (a manifest
        # written with other defaults does not count as done)
        n_iter, accelerate = supervised_settings(dicts, n_free=n_free, max_iter=max_iter)
        model = _Model("supervised", {"n_free": n_free, "max_iter": n_iter, "accelerate": accelerate,
                                      "random_state": random_state}, dictionaries=dicts)
    elif denoise:
        opts = {"max_iter": max_iter, "random_state": random_state}
        if isinstance(noise, (str, os.PathLike)):
            # Identified by its content; its templates are learned only if a file needs them.
            opts["noise_sample_sha1"] = _file_sha1(noise)
            model = _Model("denoise", opts)
        else:
            model = _Model("denoise", opts, noise=_noise_dictionary(noise, random_state))
    else:
        opts = {"n_sources": check_positive_int(2 if n_sources is None else n_sources, "n_sources"),
                "n_components": check_positive_int(n_components, "n_components", allow_none=True),
                "n_fft": check_positive_int(n_fft, "n_fft", allow_none=True),
                "hop_length": check_positive_int(hop_length, "hop_length", allow_none=True),
                "max_iter": max_iter, "random_state": random_state}
        model = _Model("unsupervised", opts)

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
        raise UsageError(f"out_dir={str(out_dir)!r} exists and is not a folder")
    settings = model.fingerprint()
    manifest_path = out_dir / MANIFEST_NAME
    sources = model.source_names()

    # Resume: the last record of each name decides.
    last = {}
    for rec in read_manifest(manifest_path):
        last[(rec.get("input"), rec["name"])] = rec
    jobs_list, skipped = [], []
    for i, (f, name) in enumerate(zip(files, names)):
        rec = last.get((str(f), name))
        if (rec is not None and rec["status"] == "done" and rec.get("settings") == settings
                and all(model.output_file(out_dir / name, s).exists() for s in sources)):
            skipped.append(str(f))
            continue
        jobs_list.append({"index": i, "input": str(f), "name": name, "out_dir": str(out_dir),
                          "overwrite": bool(overwrite), "settings": settings})

    if jobs_list and "noise_sample_sha1" in model.options:
        model.noise = _noise_dictionary(noise, random_state)
    records = []
    manifest = _Manifest(manifest_path)
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
