"""Sound-file formats: what nmfaudio writes, how a file is described, WAV header details.

Private room behind :mod:`nmfaudio.io` (which re-exports :func:`audio_info`,
:class:`AudioInfo` and :func:`subtype_for`).
"""

from __future__ import annotations

import dataclasses
import os
import struct
from pathlib import Path

import numpy as np

from .exceptions import AudioFileError, ParameterError

#: Writable extensions and their libsndfile container. ``.opus`` is OGG with the Opus codec.
EXTENSIONS = {".wav": "WAV", ".flac": "FLAC", ".aiff": "AIFF", ".aif": "AIFF", ".ogg": "OGG",
            ".oga": "OGG", ".opus": "OGG", ".mp3": "MP3"}
#: Format names accepted by ``subtype_for`` / the CLI's ``--format``, with their extension.
FORMATS = {"wav": ".wav", "flac": ".flac", "aiff": ".aiff", "ogg": ".ogg", "opus": ".opus", "mp3": ".mp3"}
#: Bit depths for the PCM containers; 32 means 32-bit float (WAV, AIFF).
BIT_DEPTHS = (16, 24, 32)
DEFAULT_SUBTYPE = {"WAV": "FLOAT", "FLAC": "PCM_24", "AIFF": "FLOAT", "OGG": "VORBIS", "MP3": "MPEG_LAYER_III"}
LOSSY = {"VORBIS", "OPUS", "MPEG_LAYER_I", "MPEG_LAYER_II", "MPEG_LAYER_III"}
RATES = {  # what the lossy encoders accept (libsndfile refuses other rates with a raw message)
    "OPUS": (8000, 12000, 16000, 24000, 48000),
    "MPEG_LAYER_III": (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000),
}
SUBTYPE_BITS = {"PCM_S8": 8, "PCM_U8": 8, "PCM_16": 16, "PCM_24": 24, "PCM_32": 32, "FLOAT": 32, "DOUBLE": 64}


def check_wav_complete(path: Path) -> None:
    """Raise AudioFileError if a RIFF/WAVE file's data chunk is cut short.

    libsndfile silently reads what is there, so a file truncated by an interrupted
    copy or download would load as a shorter clip without any sign of damage.
    """
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


def libsndfile_reason(exc) -> str:
    """First line of a soundfile error without its "Error opening 'path': " prefix (the
    caller's message names the path already)."""
    import re

    msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return re.sub(r"^Error opening .*?: (?=\S)", "", msg).strip() or msg


def format_of(path: Path) -> str:
    """libsndfile format name for a destination path (``.part`` temporaries use the inner suffix)."""
    suffix = Path(path.stem).suffix if path.suffix == ".part" else path.suffix
    fmt = EXTENSIONS.get(suffix.lower())
    if fmt is None:
        raise ParameterError(
            f"cannot write {str(path)!r}: extension {suffix!r} is not supported; use one of "
            f"{', '.join(sorted(EXTENSIONS))}"
        )
    return fmt


def subtype_for(path, *, bit_depth=None):
    """libsndfile subtype for writing ``path`` at ``bit_depth`` (``None``: the format's default).

    Parameters
    ----------
    path : str or os.PathLike
        Destination file (its extension picks the format).
    bit_depth : {16, 24, 32} or None
        16/24: integer PCM; 32: 32-bit float (WAV, AIFF only).

    Returns
    -------
    subtype : str

    Examples
    --------
    >>> from nmfaudio.io import subtype_for
    >>> subtype_for("a.flac", bit_depth=16), subtype_for("a.wav"), subtype_for("a.opus")
    ('PCM_16', 'FLOAT', 'OPUS')
    """
    path = Path(os.fspath(path))
    fmt = format_of(path)
    if bit_depth is None:
        return "OPUS" if suffix(path) == ".opus" else DEFAULT_SUBTYPE[fmt]
    if isinstance(bit_depth, bool) or bit_depth not in BIT_DEPTHS:
        raise ParameterError(f"bit_depth={bit_depth!r} is not supported; expected one of {BIT_DEPTHS}")
    if fmt in ("OGG", "MP3"):
        raise ParameterError(f"bit_depth={bit_depth} does not apply to {str(path)!r}: {fmt} is a lossy "
                             "format without a bit depth; use .wav, .flac or .aiff")
    if bit_depth == 32 and fmt == "FLAC":
        raise ParameterError(f"bit_depth=32 (float) is not possible in FLAC ({str(path)!r}); "
                             "use 16 or 24, or a .wav file")
    return {16: "PCM_16", 24: "PCM_24", 32: "FLOAT"}[bit_depth]


def suffix(path: Path) -> str:
    return (Path(path.stem).suffix if path.suffix == ".part" else path.suffix).lower()


def check_mask(mask, channels, fmt, path):
    if isinstance(mask, bool) or not isinstance(mask, (int, np.integer)) or not 0 < mask < 2**32:
        raise ParameterError(f"channel_mask={mask!r} must be a positive 32-bit speaker mask")
    if fmt != "WAV":
        raise ParameterError(f"channel_mask applies to WAV files only, not {str(path)!r}")
    if bin(int(mask)).count("1") != channels:
        raise ParameterError(f"channel_mask={int(mask):#x} names {bin(int(mask)).count('1')} speakers "
                             f"but the audio has {channels} channels")
    return int(mask)


def fmt_chunk(fh, size):
    """Offset of the ``fmt `` chunk body of an open RIFF/WAVE file, and its length (or ``None``)."""
    head = fh.read(12)
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return None
    pos = 12
    while pos + 8 <= size:
        fh.seek(pos)
        chunk, length = struct.unpack("<4sI", fh.read(8))
        if chunk == b"fmt ":
            return pos + 8, length
        pos += 8 + length + (length & 1)
    return None


def patch_mask(path: Path, mask: int) -> None:
    """Set dwChannelMask of a WAVE_FORMAT_EXTENSIBLE file (libsndfile writes a default one)."""
    with open(path, "r+b") as fh:
        found = fmt_chunk(fh, path.stat().st_size)
        if found is None or found[1] < 40:
            raise AudioFileError(f"{str(path)!r} has no extensible WAVE header for a channel mask")
        fh.seek(found[0] + 20)  # tag, channels, rate, byte rate, align, bits, cbSize, valid bits
        fh.write(struct.pack("<I", mask))


@dataclasses.dataclass(frozen=True)
class AudioInfo:
    """What :func:`audio_info` reports about a sound file.

    Attributes
    ----------
    format : str
        libsndfile container (``"WAV"``, ``"FLAC"``, ``"OGG"``, ``"MP3"``, ...).
    subtype : str
        libsndfile sample format (``"PCM_16"``, ``"FLOAT"``, ``"VORBIS"``, ...).
    sr : int
        Sample rate.
    channels : int
    frames : int
        Samples per channel.
    bit_depth : int or None
        Bits per sample of PCM/float data; ``None`` for the lossy codecs.
    channel_mask : int or None
        WAVE_FORMAT_EXTENSIBLE speaker mask, if the file has one.
    """

    format: str
    subtype: str
    sr: int
    channels: int
    frames: int
    bit_depth: int | None
    channel_mask: int | None

    def writable(self):
        """``(extension, bit_depth)`` to write outputs like this file, where nmfaudio can write it."""
        ext = {"WAV": ".wav", "WAVEX": ".wav", "RF64": ".wav", "FLAC": ".flac", "AIFF": ".aiff",
               "OGG": ".opus" if self.subtype == "OPUS" else ".ogg", "MP3": ".mp3"}.get(self.format, ".wav")
        depth = self.bit_depth if self.bit_depth in BIT_DEPTHS else None
        if ext == ".flac" and depth == 32 or ext in (".ogg", ".opus", ".mp3"):
            depth = None
        if self.bit_depth is not None and self.bit_depth < 16 and ext != ".wav":
            depth = 16
        return ext, depth


def audio_info(path):
    """Describe a sound file without reading its samples.

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    info : AudioInfo

    Raises
    ------
    AudioFileError
        The file is missing or not audio.

    Examples
    --------
    >>> import nmfaudio.io
    >>> nmfaudio.io.audio_info("audio_fixtures/music/mix.wav").subtype
    'PCM_16'
    """
    import soundfile as sf

    path = Path(os.fspath(path))
    if not path.is_file():
        raise AudioFileError(f"{str(path)!r}: no such file")
    try:
        info = sf.info(str(path))
    except Exception as exc:
        raise AudioFileError(f"{str(path)!r} cannot be read as audio: {libsndfile_reason(exc)}") from None
    mask = None
    with open(path, "rb") as fh:
        found = fmt_chunk(fh, path.stat().st_size)
        if found is not None and found[1] >= 40:
            fh.seek(found[0])
            if struct.unpack("<H", fh.read(2))[0] == 0xFFFE:
                fh.seek(found[0] + 20)
                mask = struct.unpack("<I", fh.read(4))[0] or None
    return AudioInfo(format=info.format, subtype=info.subtype, sr=int(info.samplerate),
                     channels=int(info.channels), frames=int(info.frames),
                     bit_depth=SUBTYPE_BITS.get(info.subtype), channel_mask=mask)
