"""Planning of :func:`nmfaudio.separate_many` (private module; public names re-exported by ``batch``).

Everything decided in the calling process before any file is processed: the input files
(:func:`expand_inputs`), their output folder names (:func:`output_names`), the model that every
task shares (:func:`make_model`: mode, options, dictionaries, with the fingerprint that decides
what a manifest counts as done), which files still need work (:func:`plan_jobs`, from the
manifest), and the manifest itself (:func:`read_manifest`, :class:`Manifest`). Running the jobs is
``_batch_exec.py``'s; ``batch.py`` holds the public entry point and the report.
"""

from __future__ import annotations

import collections
import glob
import hashlib
import json
import os
import time
from pathlib import Path

from ._batch_exec import _Model
from ._checks import check_positive_int, show
from .exceptions import AudioFileError, ParameterError

__all__ = ["expand_inputs", "output_names", "read_manifest", "AUDIO_EXTENSIONS", "MANIFEST_NAME",
           "Manifest", "make_model", "plan_jobs", "load_dictionaries", "noise_dictionary", "file_sha1"]

#: File extensions picked up when a folder is given as input (case-insensitive).
AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".oga", ".mp3", ".aif", ".aiff", ".au", ".w64", ".caf")

#: File name of the manifest inside the output folder.
MANIFEST_NAME = "manifest.jsonl"

_GLOB_CHARS = set("*?[")


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


class Manifest:
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


def load_dictionaries(dictionaries):
    from .dictionary import SourceDictionary
    from .dictionary import check_dictionaries

    if isinstance(dictionaries, (SourceDictionary, str, os.PathLike)):
        dictionaries = [dictionaries]
    dicts = [d if isinstance(d, SourceDictionary) else SourceDictionary.load(d) for d in dictionaries]
    return tuple(check_dictionaries(dicts))


def noise_dictionary(noise, random_state):
    from .dictionary import SourceDictionary

    if noise is None or isinstance(noise, SourceDictionary):
        return noise
    if not isinstance(noise, (str, os.PathLike)):
        raise ParameterError(f"noise={show(noise)} must be a path to a noise sample or a SourceDictionary")
    return noise_sample(noise, random_state)[0]


def noise_sample(path, random_state):
    """``(dictionary, samples)`` of a noise sample file, read once: the dictionary as
    denoise(noise=...) learns it (it checks the sample once for the whole batch)."""
    from .denoise import learn_noise_dictionary
    from .io import load

    y, sr = load(path)
    return learn_noise_dictionary(y, sr, random_state=random_state), y


def file_sha1(path):
    path = Path(os.fspath(path))
    try:
        with open(path, "rb") as fh:
            return hashlib.file_digest(fh, "sha1").hexdigest() if hasattr(hashlib, "file_digest") \
                else hashlib.sha1(fh.read()).hexdigest()
    except FileNotFoundError:
        raise AudioFileError(f"{str(path)!r}: no such file") from None
    except IsADirectoryError:
        raise AudioFileError(f"{str(path)!r} is a directory, expected an audio file") from None


def make_model(*, dictionaries, denoise, noise, n_sources, n_free, n_components, n_fft, hop_length,
               max_iter, random_state):
    """The task model of one batch: its mode, resolved options and dictionaries.

    ``n_free``, ``max_iter`` and ``random_state`` are already checked by the caller; the
    mode's own options are checked here. A noise sample given by path is only fingerprinted
    (by content): its templates are learned later, and only if some file needs them.
    """
    if dictionaries is not None:
        from .supervised import supervised_settings

        dicts = load_dictionaries(dictionaries)
        # resolved here so that the fingerprint names the solver actually run (a manifest
        # written with other defaults does not count as done)
        n_iter, accelerate = supervised_settings(dicts, n_free=n_free, max_iter=max_iter)
        return _Model("supervised", {"n_free": n_free, "max_iter": n_iter, "accelerate": accelerate,
                                     "random_state": random_state}, dictionaries=dicts)
    if denoise:
        opts = {"max_iter": max_iter, "random_state": random_state}
        if isinstance(noise, (str, os.PathLike)):
            opts["noise_sample_sha1"] = file_sha1(noise)
            return _Model("denoise", opts)
        return _Model("denoise", opts, noise=noise_dictionary(noise, random_state))
    opts = {"n_sources": check_positive_int(2 if n_sources is None else n_sources, "n_sources"),
            "n_components": check_positive_int(n_components, "n_components", allow_none=True),
            "n_fft": check_positive_int(n_fft, "n_fft", allow_none=True),
            "hop_length": check_positive_int(hop_length, "hop_length", allow_none=True),
            "max_iter": max_iter, "random_state": random_state}
    return _Model("unsupervised", opts)


def plan_jobs(files, names, out_dir, model, *, overwrite):
    """``(jobs, skipped)``: one job per file still to do; skipped = inputs the manifest records as done.

    The last manifest record of each (input, name) decides: a file is skipped when it is
    recorded as done with the same settings fingerprint and all its outputs exist.
    """
    settings = model.fingerprint()
    sources = model.source_names()
    last = {}
    for rec in read_manifest(out_dir / MANIFEST_NAME):
        last[(rec.get("input"), rec["name"])] = rec
    jobs, skipped = [], []
    for i, (f, name) in enumerate(zip(files, names)):
        rec = last.get((str(f), name))
        if (rec is not None and rec["status"] == "done" and rec.get("settings") == settings
                and all(model.output_file(out_dir / name, s).exists() for s in sources)):
            skipped.append(str(f))
            continue
        jobs.append({"index": i, "input": str(f), "name": name, "out_dir": str(out_dir),
                     "overwrite": bool(overwrite), "settings": settings})
    return jobs, skipped
