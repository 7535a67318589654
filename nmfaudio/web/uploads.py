"""Turn the page's form into a job spec: save the uploaded files, check every field.

Everything the client sends is treated as untrusted: file names are used only for
display (sanitised), files are stored under fixed names in the job's folder, audio
is opened with :func:`nmfaudio.load` before the job is queued, and every field is
checked with a message naming the value and what was expected.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from ..exceptions import NmfAudioError, ParameterError
from .tasks import MODES

__all__ = ["NotAudioError", "build_spec", "display_name"]

_NOISE_METHODS = ("blind", "sample", "region")


class NotAudioError(ParameterError):
    """An uploaded file that is not audio nmfaudio can read (HTTP 415)."""


def display_name(filename, default="mix") -> str:
    """A safe short name from a client's file name: its stem, letters, digits, ``._-`` only."""
    stem = Path(str(filename or "").replace("\\", "/")).stem
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", stem).strip("._")[:60]
    return stem or default


def _suffix(filename) -> str:
    suffix = Path(str(filename or "")).suffix.lower()
    return suffix if re.fullmatch(r"\.[a-z0-9]{1,5}", suffix) else ""


def _is_file(value) -> bool:
    return hasattr(value, "filename") and hasattr(value, "file") and bool(value.filename)


def _store(upload, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    upload.file.seek(0)
    with open(path, "wb") as fh:
        shutil.copyfileobj(upload.file, fh, 1 << 20)
    return path


def _audio(upload, path: Path, what: str) -> Path:
    from ..io import load

    _store(upload, path)
    try:
        load(path, duration=0.25)
    except NmfAudioError:
        raise NotAudioError(f"{what} {upload.filename!r} is not an audio file nmfaudio can read "
                            "(expected WAV, FLAC, OGG or MP3)") from None
    return path


def _dictionary(upload, path: Path) -> Path:
    from ..dictionary import SourceDictionary

    _store(upload, path)
    try:
        SourceDictionary.load(path)
    except NmfAudioError:
        raise ParameterError(f"{upload.filename!r} is not an nmfaudio dictionary (expected an .npz "
                             "written by 'nmfaudio train' or SourceDictionary.save)") from None
    return path


def _text(form, key, default=""):
    value = form.get(key)
    if value is None or hasattr(value, "file"):
        return default
    return str(value).strip() or default


def _int(form, key, low, high, default):
    text = _text(form, key)
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or not low <= value <= high:
        raise ParameterError(f"{key}={text!r}: expected a whole number from {low} to {high}")
    return value


def _seconds(form, key):
    text = _text(form, key)
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value >= 0 or value == float("inf"):
        raise ParameterError(f"{key}={text!r}: expected a time in seconds (a number >= 0)")
    return value


def _choice(value, allowed, key):
    if value not in allowed:
        raise ParameterError(f"{key}={value!r}: expected one of {', '.join(allowed)}")
    return value


def _files(form, key):
    return [f for f in form.getlist(key) if _is_file(f)]


def build_spec(form, folder: Path, instruments) -> dict:
    """Check the form, store its files in ``folder/upload``; returns the job spec.

    Raises
    ------
    NotAudioError
        An audio field holds something that is not audio.
    ParameterError
        A missing file or a bad field (the message names it).
    """
    up = Path(folder) / "upload"
    mode = _choice(_text(form, "mode", "unsupervised"), MODES, "mode")
    audio = form.get("audio")
    if not _is_file(audio):
        raise ParameterError("no audio file: choose or drop a recording first")
    spec = {"mode": mode, "track": display_name(audio.filename),
            "audio": _audio(audio, up / f"mixture{_suffix(audio.filename)}", "the recording"),
            "iterations": _int(form, "iterations", 1, 2000, None)}
    if mode == "unsupervised":
        spec["sources"] = _int(form, "sources", 2, 10, 2)
    elif mode == "instruments":
        names = [str(n) for n in form.getlist("instruments") if not _is_file(n)]
        for n in names:
            _choice(n, list(instruments), "instruments")
        if not names:
            raise ParameterError("choose at least one instrument")
        spec["instruments"] = list(dict.fromkeys(names))
        spec["residual"] = _int(form, "residual", 0, 64, 0)
    elif mode == "dictionaries":
        spec.update(_dictionary_inputs(form, up))
        spec["residual"] = _int(form, "residual", 0, 64, 0)
    elif mode == "denoise":
        spec.update(_noise_inputs(form, up))
    return spec


def _dictionary_inputs(form, up):
    dicts = [_dictionary(f, up / f"dictionary-{i}.npz") for i, f in enumerate(_files(form, "dictionaries"))]
    clips, used = [], set()
    for i, f in enumerate(_files(form, "clips")):
        name = display_name(f.filename, default=f"source{i + 1}")
        base, k = name, 2
        while name in used:
            name, k = f"{base}-{k}", k + 1
        used.add(name)
        clips.append((name, _audio(f, up / f"clip-{i}{_suffix(f.filename)}", "the training clip")))
    if not dicts and not clips:
        raise ParameterError("the dictionaries mode needs at least one .npz dictionary or training clip")
    return {"dictionaries": dicts, "clips": clips}


def _noise_inputs(form, up):
    method = _choice(_text(form, "noise_method", "blind"), _NOISE_METHODS, "noise_method")
    if method == "sample":
        files = _files(form, "noise")
        if not files:
            raise ParameterError("noise_method='sample' needs a noise sample file")
        return {"noise": _audio(files[0], up / f"noise{_suffix(files[0].filename)}", "the noise sample")}
    if method == "region":
        start, end = _seconds(form, "noise_start"), _seconds(form, "noise_end")
        if end <= start:
            raise ParameterError(f"noise region {start:g}–{end:g} s: the end must come after the start")
        return {"region": (start, end)}
    return {}
