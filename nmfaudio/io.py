"""Audio file input and output.

``load`` reads any format libsndfile knows (WAV, FLAC, OGG, ...) into float32
arrays shaped like librosa's: ``(n,)`` for mono, ``(channels, n)`` otherwise.
``save`` writes WAV, FLAC, AIFF, OGG (Vorbis or Opus) or MP3 — what libsndfile
writes — atomically (temporary file + rename) and refuses to replace an existing
file unless ``overwrite=True``. ``audio_info`` describes a file (format, sample
format, bit depth, channel mask), so outputs can keep the input's format.
"""

from __future__ import annotations

import contextlib
import os
import warnings
from pathlib import Path

import numpy as np

from ._checks import check_finite_float, check_positive_int, valid_audio
from .exceptions import AudioFileError, ParameterError, UsageError

from ._formats import (BIT_DEPTHS, FORMATS, RATES, AudioInfo, audio_info, check_mask,
                       check_wav_complete, format_of, libsndfile_reason, patch_mask, subtype_for)

__all__ = ["load", "save", "save_many", "atomic_write", "resample", "audio_info", "AudioInfo",
           "subtype_for", "FORMATS", "BIT_DEPTHS", "output_format", "refuse_existing", "check_output"]


def load(path, *, sr=None, mono=False, offset=0.0, duration=None):
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
    offset : float >= 0
        Start reading this many seconds into the file (as in ``librosa.load``).
    duration : float > 0 or None
        Read at most this many seconds; ``None`` reads to the end.

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
        ``sr``, ``offset`` or ``duration`` is invalid (``offset`` at or past the end
        of the file), or the file holds NaN/Inf samples.

    Examples
    --------
    >>> import nmfaudio
    >>> y, sr = nmfaudio.load("audio_fixtures/music/mix.wav")  # doctest: +SKIP
    """
    import soundfile as sf

    sr = check_positive_int(sr, "sr", allow_none=True)
    offset = check_finite_float(offset, "offset", low=0.0)
    if duration is not None:
        duration = check_finite_float(duration, "duration", low=0.0, low_open=True)
    path = Path(os.fspath(path))
    if not path.exists():
        raise AudioFileError(f"{str(path)!r}: no such file")
    if path.is_dir():
        raise AudioFileError(f"{str(path)!r} is a directory, expected an audio file")
    if path.stat().st_size == 0:
        raise AudioFileError(f"{str(path)!r} is empty (0 bytes), not an audio file")
    try:
        check_wav_complete(path)
    except OSError as exc:
        if isinstance(exc, AudioFileError):
            raise
        raise AudioFileError(f"{str(path)!r} cannot be read: {exc.strerror or exc}") from None
    try:
        with sf.SoundFile(str(path)) as f:
            file_sr = f.samplerate
            start = int(round(offset * file_sr))
            if offset > 0 and start >= f.frames:
                raise ParameterError(f"offset={offset:g} s is at or past the end of {str(path)!r} "
                                     f"({f.frames / file_sr:.3f} s long)")
            frames = -1 if duration is None else max(1, int(round(duration * file_sr)))
            if start:
                f.seek(start)
            data = f.read(frames, dtype="float32", always_2d=True)
    except ParameterError:
        raise
    except Exception as exc:  # libsndfile reports many kinds of error
        raise AudioFileError(f"{str(path)!r} cannot be read as audio: {libsndfile_reason(exc)}") from None
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


def output_format(path) -> str:
    """The libsndfile format ``path`` would be written in; ParameterError for other extensions.

    Examples
    --------
    >>> from nmfaudio.io import output_format
    >>> output_format("out.flac")
    'FLAC'
    """
    return format_of(Path(path))


def check_output(path, *, sr=None, bit_depth=None, source=None):
    """Check, before any work, that audio can be written to ``path``.

    Parameters
    ----------
    path : str or os.PathLike
        Destination file (its extension picks the format, see :func:`save`).
    sr : int or None
        Sample rate it will be written at (checked against what Opus/MP3 take).
    bit_depth : {16, 24, 32} or None
        As for :func:`save`.
    source : str, os.PathLike or None
        The input file: ``path`` must not be it.

    Raises
    ------
    UsageError
        ``path`` is the input file, is a folder, or lies under an existing regular file.
    ParameterError
        Unsupported extension, bit depth or rate for the format.
    AudioFileError
        The folder it would go in cannot be written.

    Examples
    --------
    >>> from nmfaudio.io import check_output
    >>> check_output("out/a.flac", sr=44100, bit_depth=16)
    """
    path = Path(os.fspath(path))
    subtype = subtype_for(path, bit_depth=bit_depth)  # also checks the extension
    if sr is not None and subtype in RATES and int(sr) not in RATES[subtype]:
        raise ParameterError(f"cannot write {str(path)!r} at sr={sr}: {subtype} takes "
                             f"{', '.join(map(str, RATES[subtype]))} Hz; use another --format or .flac")
    if source is not None and os.path.realpath(path) == os.path.realpath(os.fspath(source)):
        raise UsageError(f"output {str(path)!r} is the input file; write the result elsewhere")
    if path.is_dir():
        raise UsageError(f"output {str(path)!r} is a folder; expected a file path to write")
    d = path.parent
    while not d.exists() and d != d.parent:
        d = d.parent
    if not d.is_dir():
        raise AudioFileError(f"cannot write {str(path)!r}: {str(d)!r} is a file, not a folder")
    if not os.access(d, os.W_OK | os.X_OK):
        raise AudioFileError(f"cannot write {str(path)!r}: no write permission in {str(d)!r}")


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


def save(path, y, sr, *, overwrite=False, subtype=None, bit_depth=None, channel_mask=None):
    """Write audio to a file, atomically; the format follows the extension.

    Parameters
    ----------
    path : str or os.PathLike
        Destination: ``.wav``, ``.flac``, ``.aiff``/``.aif``, ``.ogg``/``.oga`` (Vorbis),
        ``.opus`` (Opus in OGG) or ``.mp3``. Missing parent directories are created.
    y : np.ndarray [shape=(n,) or (channels, n)]
        Audio samples (float, or integer PCM).
    sr : int > 0
        Sample rate. Opus takes 8, 12, 16, 24 or 48 kHz; MP3 8 to 48 kHz (the MPEG rates).
    overwrite : bool
        Replace an existing file. Default ``False``: an existing file raises.
    subtype : str or None
        libsndfile subtype (e.g. ``"PCM_16"``). Default ``"FLOAT"`` for WAV and AIFF
        (lossless for any float signal), ``"PCM_24"`` for FLAC, the codec for OGG/MP3.
    bit_depth : {16, 24, 32} or None
        Shortcut for the PCM subtype: 16- or 24-bit integer PCM, 32 = 32-bit float
        (WAV, AIFF). Not with ``subtype``, and not for the lossy formats.
    channel_mask : int or None
        WAVE_FORMAT_EXTENSIBLE speaker mask (e.g. ``0x60F`` for 5.1 with side
        speakers, as :func:`audio_info` reports it for an input file). WAV only; it
        must name as many speakers as ``y`` has channels.

    Returns
    -------
    path : pathlib.Path
        The written file.

    Notes
    -----
    The data go to a temporary file in the same directory that is renamed over
    ``path`` only once complete, so an interrupted write never leaves a
    truncated file. For integer subtypes and the lossy codecs, samples beyond
    [-1, 1] are clipped (never wrapped) with a warning that gives the peak; no
    dither is added (24-bit output leaves rounding ~144 dB down; for 16-bit output
    of quiet material prefer 24 bits or float).

    Examples
    --------
    >>> import numpy as np, nmfaudio
    >>> nmfaudio.save("/tmp/tone.flac", np.zeros(100, np.float32), 8000, bit_depth=16,
    ...               overwrite=True)  # doctest: +SKIP
    """
    path = Path(os.fspath(path))
    enc = _encode(path, y, sr, subtype, bit_depth, channel_mask)
    with atomic_write(path, overwrite=overwrite) as tmp:
        _write(tmp, enc, path)
    return path


def _encode(path, y, sr, subtype, bit_depth=None, channel_mask=None):
    """Validate one output and prepare it: ``(data (n, channels), sr, format, subtype, mask)``.

    Messages and the clipping warning name ``path``, the real destination.
    """
    import soundfile as sf

    fmt = format_of(path)
    sr = check_positive_int(sr, "sr")
    if sr > 2**31 - 1:
        raise ParameterError(f"sr={sr} is too large for an audio file; expected at most {2**31 - 1}")
    y = valid_audio(y)
    if subtype is not None and bit_depth is not None:
        raise ParameterError(f"give subtype={subtype!r} or bit_depth={bit_depth!r}, not both")
    subtype = subtype or subtype_for(path, bit_depth=bit_depth)
    if not sf.check_format(fmt, subtype):
        raise ParameterError(f"subtype={subtype!r} is not valid for {fmt} files")
    if subtype in RATES and sr not in RATES[subtype]:
        raise ParameterError(f"cannot write {str(path)!r} at sr={sr}: {subtype} takes "
                             f"{', '.join(map(str, RATES[subtype]))} Hz; resample first or use .flac")
    data = y.T if y.ndim == 2 else y
    channels = 1 if data.ndim == 1 else data.shape[1]
    if channel_mask is not None:
        channel_mask = check_mask(channel_mask, channels, fmt, path)
    if not subtype.startswith("FLOAT") and not subtype.startswith("DOUBLE"):
        peak = float(np.max(np.abs(data)))
        if peak > 1.0:
            warnings.warn(
                f"{str(path)!r}: samples up to {peak:.3f} ({20 * np.log10(peak):+.1f} dBFS) exceed "
                f"[-1, 1] and are clipped for {subtype}; write 32-bit float WAV to keep them",
                stacklevel=3,
            )
            data = np.clip(data, -1.0, 1.0)
    return data, sr, fmt, subtype, channel_mask


def _write(tmp, enc, path):
    """Write prepared samples ``enc`` (from :func:`_encode`) to ``tmp``, standing in for ``path``."""
    import soundfile as sf

    data, sr, fmt, subtype, mask = enc
    try:
        sf.write(str(tmp), data, sr, format="WAVEX" if mask is not None else fmt, subtype=subtype)
        if mask is not None:
            patch_mask(Path(tmp), mask)
    except Exception as exc:
        raise AudioFileError(f"cannot write {str(path)!r}: {exc}") from None


def refuse_existing(paths, *, overwrite, hint="pass overwrite=True (CLI: --overwrite)"):
    """Raise AudioFileError naming the first of ``paths`` that exists, unless ``overwrite``.

    ``hint`` says how to allow it (the CLI passes ``"pass --overwrite"``). Called before any
    work, so that nothing is computed for outputs that would be refused.
    """
    if overwrite:
        return
    for p in paths:
        if Path(p).exists():
            raise AudioFileError(f"{str(p)!r} already exists; {hint} to replace it")


def save_many(items, *, overwrite=False, subtype=None, bit_depth=None, channel_mask=None):
    """Write several audio files all-or-nothing.

    Parameters
    ----------
    items : dict[path, (y, sr)]
        Destination path → (samples, sample rate).
    overwrite : bool
        Replace existing files. Without it, any existing destination raises
        before anything is written.
    subtype, bit_depth, channel_mask
        As for :func:`save`, applied to every file.

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
        format_of(p)  # unsupported extensions fail before anything is written
        if p.is_dir():
            raise AudioFileError(f"{str(p)!r} is a directory; expected a file path to write")
    refuse_existing(paths, overwrite=overwrite)
    encoded = [_encode(p, y, sr, subtype, bit_depth, channel_mask) for p, (y, sr) in zip(paths, items.values())]
    staged, created = [], []
    ok = False
    try:
        for p, enc in zip(paths, encoded):
            _make_parent(p, created)
            tmp = _create_temp(p, p.suffix, staged)
            _write(tmp, enc, p)
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
