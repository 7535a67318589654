"""Audio file input and output.

``load`` reads any format libsndfile knows (WAV, FLAC, OGG, ...) into float32
arrays shaped like librosa's: ``(n,)`` for mono, ``(channels, n)`` otherwise.
``save`` writes WAV or FLAC atomically (temporary file + rename) and refuses to
replace an existing file unless ``overwrite=True``.
"""

from __future__ import annotations

import contextlib
import os
import warnings
from pathlib import Path

import numpy as np

from ._checks import check_positive_int, valid_audio
from .exceptions import AudioFileError, ParameterError

__all__ = ["load", "save", "save_many", "atomic_write", "resample", "output_format"]

_FORMATS = {".wav": "WAV", ".flac": "FLAC"}
_DEFAULT_SUBTYPE = {"WAV": "FLOAT", "FLAC": "PCM_24"}


def load(path, *, sr=None, mono=False):
    """Load an audio file as float32.

    Parameters
    ----------
    path : str or os.PathLike
        Audio file (any format libsndfile reads: WAV, FLAC, OGG, MP3, ...).
    sr : int > 0 or None
        Target sample rate. ``None`` (default) keeps the file's rate; otherwise the
        audio is resampled with soxr (high quality) when the rates differ.
    mono : bool
        Average the channels into one.

    Returns
    -------
    y : np.ndarray [shape=(n,) or (channels, n), dtype=float32]
        Samples in [-1, 1] for PCM files. One-channel files give shape ``(n,)``.
    sr : int
        Sample rate of ``y``.

    Raises
    ------
    AudioFileError
        The file is missing, a directory, empty, or not decodable audio.
    ParameterError
        ``sr`` is invalid or the file holds NaN/Inf samples.

    Examples
    --------
    >>> import nmfaudio
    >>> y, sr = nmfaudio.load("audio_fixtures/music/mix.wav")  # doctest: +SKIP
    """
    import soundfile as sf

    sr = check_positive_int(sr, "sr", allow_none=True)
    path = Path(os.fspath(path))
    if not path.exists():
        raise AudioFileError(f"{str(path)!r}: no such file")
    if path.is_dir():
        raise AudioFileError(f"{str(path)!r} is a directory, expected an audio file")
    if path.stat().st_size == 0:
        raise AudioFileError(f"{str(path)!r} is empty (0 bytes), not an audio file")
    try:
        _check_wav_complete(path)
    except OSError as exc:
        if isinstance(exc, AudioFileError):
            raise
        raise AudioFileError(f"{str(path)!r} cannot be read: {exc.strerror or exc}") from None
    try:
        data, file_sr = sf.read(str(path), dtype="float32", always_2d=True)
    except Exception as exc:  # libsndfile reports many kinds of error
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise AudioFileError(f"{str(path)!r} cannot be read as audio: {msg}") from None
    if data.shape[0] == 0:
        raise AudioFileError(f"{str(path)!r} contains no audio samples")
    if not np.all(np.isfinite(data)):
        raise ParameterError(f"{str(path)!r} contains NaN or Inf samples; audio must be finite")
    y = np.ascontiguousarray(data.T)  # (channels, n)
    if mono and y.shape[0] > 1:
        y = y.mean(axis=0, dtype=np.float32)
    if sr is not None and sr != file_sr:
        y = resample(y, file_sr, sr)
        file_sr = sr
    if y.ndim == 2 and y.shape[0] == 1:
        y = y[0]
    return y, int(file_sr)


def _check_wav_complete(path: Path) -> None:
    """Raise AudioFileError if a RIFF/WAVE file's data chunk is cut short.

    libsndfile silently reads what is there, so a file truncated by an interrupted
    copy or download would load as a shorter clip without any sign of damage.
    """
    import struct

    size = path.stat().st_size
    with open(path, "rb") as fh:
        head = fh.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return
        pos = 12
        for _ in range(256):  # a handful of chunks precede the data in practice
            if pos + 8 > size:
                return
            fh.seek(pos)
            chunk, length = struct.unpack("<4sI", fh.read(8))
            if chunk == b"data":
                if length in (0, 0xFFFFFFFF):  # placeholders of streaming writers
                    return
                present = size - pos - 8
                if length > present:
                    raise AudioFileError(
                        f"{str(path)!r} is truncated: its header announces {length} bytes of "
                        f"audio data but only {present} are present"
                    )
                return
            pos += 8 + length + (length & 1)


def output_format(path) -> str:
    """The libsndfile format ``path`` would be written in; ParameterError for other extensions.

    Examples
    --------
    >>> from nmfaudio.io import output_format
    >>> output_format("out.flac")
    'FLAC'
    """
    return _format_of(Path(path))


def _format_of(path: Path) -> str:
    """libsndfile format name for a destination path (``.part`` temporaries use the inner suffix)."""
    suffix = Path(path.stem).suffix if path.suffix == ".part" else path.suffix
    fmt = _FORMATS.get(suffix.lower())
    if fmt is None:
        raise ParameterError(
            f"cannot write {str(path)!r}: extension {suffix!r} is not supported; use .wav or .flac"
        )
    return fmt


def _make_parent(path: Path, created: list) -> None:
    """Create ``path``'s missing parent directories, recording them (outermost first) in ``created``."""
    missing = []
    d = path.parent
    while not d.exists() and d != d.parent:
        missing.append(d)
        d = d.parent
    created.extend(reversed(missing))  # recorded first: an interrupt after mkdir still undoes it
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise AudioFileError(
            f"cannot create directory {str(path.parent)!r}: {exc.strerror or exc}"
        ) from None


def _create_temp(path: Path, suffix: str, staged: list) -> Path:
    """Create an empty ``.part`` file next to ``path`` and return its path.

    The name is appended to ``staged`` *before* the file is created, so a signal
    arriving at any point leaves nothing the caller's cleanup does not know about
    (``tempfile.mkstemp`` returns the name only after creating the file). The
    file gets the usual permissions (0666 less the umask), unlike mkstemp's 0600.
    """
    import secrets

    for _ in range(100):
        tmp = path.parent / f".{path.name}.{secrets.token_hex(4)}{suffix}.part"
        staged.append(tmp)
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            staged.pop()
            continue
        except OSError as exc:
            staged.pop()
            raise AudioFileError(f"cannot write in {str(path.parent)!r}: {exc.strerror or exc}") from None
        os.close(fd)
        return tmp
    raise AudioFileError(f"cannot create a temporary file in {str(path.parent)!r}")  # pragma: no cover


def _remove_empty_dirs(created: list) -> None:
    """Undo :func:`_make_parent` after a failed write (only directories still empty)."""
    for d in reversed(created):
        with contextlib.suppress(OSError):
            d.rmdir()


def resample(y, sr_from, sr_to, *, length=None):
    """Resample audio with soxr (high quality).

    Parameters
    ----------
    y : np.ndarray [shape=(n,) or (channels, n)]
    sr_from, sr_to : int > 0
        Current and target sample rates.
    length : int or None
        Trim the result to at most this many samples (e.g. the length of the
        original signal when resampling back).

    Returns
    -------
    y_resampled : np.ndarray [shape=(..., m)]
        C-contiguous, same float dtype as ``y`` (float32 for float32).

    Examples
    --------
    >>> import numpy as np, nmfaudio.io
    >>> nmfaudio.io.resample(np.zeros(16000, np.float32), 16000, 8000).shape
    (8000,)
    """
    import soxr

    out = soxr.resample(np.asarray(y).T, sr_from, sr_to, quality="HQ").T
    if length is not None:
        out = out[..., :length]
    return np.ascontiguousarray(out.astype(np.asarray(y).dtype, copy=False))


@contextlib.contextmanager
def atomic_write(path, *, overwrite=False, suffix=None):
    """Context manager yielding a temporary path that replaces ``path`` on success.

    The temporary file lives in the destination directory (created if needed), so
    the final ``os.replace`` is atomic: readers see the old file or the complete
    new one, never a partial write. On error the temporary file is removed.
    Without ``overwrite`` an existing ``path`` raises :class:`AudioFileError`.
    """
    path = Path(os.fspath(path))
    if path.is_dir():
        raise AudioFileError(f"{str(path)!r} is a directory; expected a file path to write")
    if path.exists() and not overwrite:
        raise AudioFileError(
            f"{str(path)!r} already exists; pass overwrite=True (CLI: --overwrite) to replace it"
        )
    created, staged = [], []
    ok = False
    try:
        _make_parent(path, created)
        tmp = _create_temp(path, suffix if suffix is not None else path.suffix, staged)
        yield tmp
        if not overwrite:
            # Link instead of replace so a file created meanwhile is not clobbered.
            try:
                os.link(tmp, path)
            except FileExistsError:
                raise AudioFileError(
                    f"{str(path)!r} already exists; pass overwrite=True (CLI: --overwrite) to replace it"
                ) from None
            except OSError:
                if path.exists():
                    raise AudioFileError(f"{str(path)!r} already exists") from None
                os.replace(tmp, path)
        else:
            os.replace(tmp, path)
        ok = True
    finally:
        for tmp in staged:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
        if not ok:
            _remove_empty_dirs(created)


def save(path, y, sr, *, overwrite=False, subtype=None):
    """Write audio to a WAV or FLAC file, atomically.

    Parameters
    ----------
    path : str or os.PathLike
        Destination; the format follows the extension (``.wav`` or ``.flac``).
        Missing parent directories are created.
    y : np.ndarray [shape=(n,) or (channels, n)]
        Audio samples (float, or integer PCM).
    sr : int > 0
        Sample rate.
    overwrite : bool
        Replace an existing file. Default ``False``: an existing file raises.
    subtype : str or None
        libsndfile subtype. Default ``"FLOAT"`` for WAV (lossless for any float
        signal) and ``"PCM_24"`` for FLAC.

    Returns
    -------
    path : pathlib.Path
        The written file.

    Notes
    -----
    The data go to a temporary file in the same directory that is renamed over
    ``path`` only once complete, so an interrupted write never leaves a
    truncated file. For integer subtypes, samples beyond [-1, 1] are clipped
    with a warning.

    Examples
    --------
    >>> import numpy as np, nmfaudio
    >>> nmfaudio.save("/tmp/tone.wav", np.zeros(100, np.float32), 8000, overwrite=True)  # doctest: +SKIP
    """
    path = Path(os.fspath(path))
    data, sr, fmt, subtype = _encode(path, y, sr, subtype)
    with atomic_write(path, overwrite=overwrite) as tmp:
        _write(tmp, data, sr, fmt, subtype, path)
    return path


def _encode(path, y, sr, subtype):
    """Validate one output and prepare its samples: ``(data (n, channels), sr, format, subtype)``.

    Messages and the clipping warning name ``path``, the real destination.
    """
    import soundfile as sf

    fmt = _format_of(path)
    sr = check_positive_int(sr, "sr")
    if sr > 2**31 - 1:
        raise ParameterError(f"sr={sr} is too large for an audio file; expected at most {2**31 - 1}")
    y = valid_audio(y)
    subtype = subtype or _DEFAULT_SUBTYPE[fmt]
    if not sf.check_format(fmt, subtype):
        raise ParameterError(f"subtype={subtype!r} is not valid for {fmt} files")
    data = y.T if y.ndim == 2 else y
    if not subtype.startswith("FLOAT") and not subtype.startswith("DOUBLE"):
        peak = float(np.max(np.abs(data)))
        if peak > 1.0:
            warnings.warn(
                f"{str(path)!r}: samples up to {peak:.3f} exceed [-1, 1] and are clipped for "
                f"{subtype}; use a .wav file (float) to keep them",
                stacklevel=3,
            )
            data = np.clip(data, -1.0, 1.0)
    return data, sr, fmt, subtype


def _write(tmp, data, sr, fmt, subtype, path):
    """Write prepared samples to the temporary file ``tmp`` standing in for ``path``."""
    import soundfile as sf

    try:
        sf.write(str(tmp), data, sr, format=fmt, subtype=subtype)
    except Exception as exc:
        raise AudioFileError(f"cannot write {str(path)!r}: {exc}") from None


def save_many(items, *, overwrite=False, subtype=None):
    """Write several audio files all-or-nothing.

    Parameters
    ----------
    items : dict[path, (y, sr)]
        Destination path → (samples, sample rate).
    overwrite : bool
        Replace existing files. Without it, any existing destination raises
        before anything is written.

    Returns
    -------
    paths : list of pathlib.Path

    Notes
    -----
    Every file is first written to a temporary file next to its destination;
    only when all succeeded are they renamed into place. On failure the
    temporaries are removed and no destination is created or changed.
    """
    paths = [Path(os.fspath(p)) for p in items]
    if len(set(paths)) != len(paths):
        raise ParameterError("two outputs would be written to the same path")
    for p in paths:
        _format_of(p)  # unsupported extensions fail before anything is written
        if p.is_dir():
            raise AudioFileError(f"{str(p)!r} is a directory; expected a file path to write")
    if not overwrite:
        existing = [str(p) for p in paths if p.exists()]
        if existing:
            raise AudioFileError(
                f"{existing[0]!r} already exists; pass overwrite=True (CLI: --overwrite) to replace it"
            )
    encoded = [_encode(p, y, sr, subtype) for p, (y, sr) in zip(paths, items.values())]
    staged, created = [], []
    ok = False
    try:
        for p, (data, sr, fmt, sub) in zip(paths, encoded):
            _make_parent(p, created)
            tmp = _create_temp(p, p.suffix, staged)
            _write(tmp, data, sr, fmt, sub, p)
        for tmp, p in zip(staged, paths):
            os.replace(tmp, p)
        ok = True
    finally:
        for tmp in staged:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
        if not ok:
            _remove_empty_dirs(created)
    return paths
