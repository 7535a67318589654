"""Block-wise supervised separation of long recordings with bounded memory.

The file is read a block at a time and fed to a :class:`nmfaudio.StreamSeparator`, the
same engine as real-time use: STFT frames bit-equal to the offline ones, a frame-local
solve whose result for a frame does not depend on the others, per-bin masks and an
overlap-add that writes each sample once it is final. So the result equals the offline
:func:`nmfaudio.separate` (same settings) up to float rounding of the overlap-add —
there are no seams at block boundaries — and memory is O(block) whatever the duration.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import numpy as np

from ._checks import check_finite_float
from .exceptions import AudioFileError, ParameterError

__all__ = ["separate_stream"]


def separate_stream(path, out_dir, dictionaries, *, block_seconds=30.0, max_iter=None,
                    accelerate=None, mask_power=2.0, overwrite=False):
    """Separate an audio file block by block with trained dictionaries; memory stays bounded.

    Parameters
    ----------
    path : str or os.PathLike
        Mixture file (any format libsndfile reads), at the dictionaries' sample rate.
    out_dir : str or os.PathLike
        Directory receiving ``<source name>.wav`` (32-bit float, the input's channels).
    dictionaries : list of SourceDictionary
        One per source; templates fixed (no free components, so that frames stay
        independent).
    block_seconds : float > 0
        Audio per block. Peak memory grows with it, not with the file's duration.
    max_iter : int > 0 or None
    accelerate : bool or None
        Multiplicative updates per frame (fixed count) and whether they are the
        accelerated frame-wise ones, as in :func:`nmfaudio.separate_supervised_spectrogram`
        (defaults: 20 accelerated iterations unless the dictionaries' β is 2).
    mask_power : float > 0
        Soft-mask exponent on magnitudes (2 = Wiener).
    overwrite : bool
        Replace existing outputs; otherwise an existing output raises before anything
        is read. Outputs are written to temporary files renamed at the end.

    Returns
    -------
    paths : dict[str, pathlib.Path]
        Source name → written file.

    Notes
    -----
    The result equals ``nmfaudio.separate(y, sr, dictionaries=..., max_iter=...)``
    on the whole file up to float rounding of the overlap-add (tested to 1e-5 with blocks
    from a few samples to several seconds). Resample the file to the dictionaries' rate first if it differs.

    Examples
    --------
    >>> import nmfaudio
    >>> piano = nmfaudio.SourceDictionary.load("piano.npz")               # doctest: +SKIP
    >>> flute = nmfaudio.SourceDictionary.load("flute.npz")               # doctest: +SKIP
    >>> nmfaudio.separate_stream("concert.wav", "out", [piano, flute],
    ...                          block_seconds=30)                         # doctest: +SKIP
    {'piano': PosixPath('out/piano.wav'), 'flute': PosixPath('out/flute.wav')}
    """
    import soundfile as sf

    from .io import atomic_write
    from .realtime import StreamSeparator

    block_seconds = check_finite_float(block_seconds, "block_seconds", low=0.0, low_open=True)
    proc = StreamSeparator(dictionaries=dictionaries, mask_power=mask_power, max_iter=max_iter,
                           accelerate=accelerate, n_threads="auto")
    path = Path(os.fspath(path))
    try:
        f = sf.SoundFile(str(path))
    except Exception as exc:
        raise AudioFileError(f"cannot read {str(path)!r}: {exc}") from None
    out_dir = Path(os.fspath(out_dir))
    targets = {n: out_dir / f"{n}.wav" for n in proc.names}
    with f, contextlib.ExitStack() as stack:
        sr, n, C = f.samplerate, f.frames, f.channels
        if sr != proc.sr:
            raise ParameterError(
                f"{str(path)!r} is at {sr} Hz but the dictionaries were trained at {proc.sr} Hz; "
                "resample the file first (streaming does not resample)"
            )
        if n == 0:
            raise AudioFileError(f"{str(path)!r} has no samples")
        block = max(1, int(round(block_seconds * sr)))
        temps = {name: stack.enter_context(atomic_write(t, overwrite=overwrite))
                 for name, t in targets.items()}
        writers = {name: stack.enter_context(sf.SoundFile(str(tmp), "w", samplerate=sr, channels=C,
                                                          format="WAV", subtype="FLOAT"))
                   for name, tmp in temps.items()}
        skip = proc.latency  # leading output samples that precede the signal

        def write(parts):
            nonlocal skip
            for name, x in parts.items():
                x = x[:, skip:] if x.ndim == 2 else x[skip:]
                writers[name].write(np.ascontiguousarray(x.T))
            skip = max(0, skip - next(iter(parts.values())).shape[-1])

        while f.tell() < n:
            data = f.read(min(block, n - f.tell()), dtype="float32", always_2d=True)
            if not np.isfinite(data).all():
                raise ParameterError(f"{str(path)!r} holds NaN/Inf samples near {f.tell() / sr:.2f} s")
            write(proc.process(np.ascontiguousarray(data.T)))
        write(proc.flush())
    return targets
