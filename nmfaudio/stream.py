"""Block-wise supervised separation of long recordings with bounded memory.

With fixed templates (trained dictionaries, no free components) the activations
of different frames are independent: every frame starts from its own
:func:`~nmfaudio.supervised.frame_init` activations and runs the same fixed number
of multiplicative updates, and the soft masks are per time-frequency bin. So a
file can be read, separated and written a block of frames at a time, and the
result equals the offline :func:`nmfaudio.separate` (same settings) up to float
rounding — there are no seams at block boundaries:

- the STFT frames of a block are computed from the samples they cover (the
  ``n_fft // 2`` zero padding of a centred STFT is added at the file's ends only);
- the inverse STFT is an overlap-add into a rolling buffer: a sample is written
  once no later frame can touch it, divided by the same window sum-square as the
  offline inverse.

Memory is O(block) whatever the duration.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import numpy as np

from ._checks import check_finite_float
from .exceptions import AudioFileError, ParameterError

__all__ = ["separate_stream"]


def _window(params, dtype):
    import librosa

    win = librosa.filters.get_window(params.window, params.win_length, fftbins=True)
    return librosa.util.pad_center(win, size=params.n_fft).astype(dtype)


class _Reader:
    """Sequential access to ``y_pad = [zeros(n_fft//2), y, zeros(n_fft//2)]`` of a sound file."""

    def __init__(self, sf_file, pad, n):
        self.f, self.pad, self.n = sf_file, pad, n
        self.C = sf_file.channels
        self.buf = np.zeros((self.C, 0), np.float32)
        self.start = 0  # padded index of buf[:, 0]

    def get(self, a, b):
        """``y_pad[:, a:b]``; requests must not go backwards before ``a`` of the previous call."""
        # drop what is no longer needed
        if a > self.start:
            drop = min(a - self.start, self.buf.shape[1])
            self.buf = self.buf[:, drop:]
            self.start += drop
        have = self.start + self.buf.shape[1]
        if b > have:
            # padded [have, b) = file samples [have - pad, b - pad), zeros outside [0, n)
            lo, hi = have - self.pad, b - self.pad
            chunk = np.zeros((self.C, hi - lo), np.float32)
            r0, r1 = max(lo, 0), min(hi, self.n)
            if r1 > r0:
                if self.f.tell() != r0:
                    self.f.seek(r0)
                data = self.f.read(r1 - r0, dtype="float32", always_2d=True)
                chunk[:, r0 - lo:r0 - lo + data.shape[0]] = data.T
            self.buf = np.concatenate([self.buf, chunk], axis=1)
        return self.buf[:, a - self.start:b - self.start]


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
    on the whole file up to float rounding (tested to 1e-4 with blocks a few frames
    long). Resample the file to the dictionaries' rate first if it differs.

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
    from .dictionary import check_dictionaries as _check_dictionaries
    from .supervised import separate_supervised_spectrogram, supervised_settings as _supervised_settings

    dicts = _check_dictionaries(dictionaries)
    block_seconds = check_finite_float(block_seconds, "block_seconds", low=0.0, low_open=True)
    max_iter, accelerate = _supervised_settings(dicts, max_iter=max_iter, accelerate=accelerate)
    mask_power = check_finite_float(mask_power, "mask_power", low=0.0, low_open=True)
    path = Path(os.fspath(path))
    try:
        f = sf.SoundFile(str(path))
    except Exception as exc:
        raise AudioFileError(f"cannot read {str(path)!r}: {exc}") from None
    out_dir = Path(os.fspath(out_dir))
    names = [d.name for d in dicts]
    targets = {n: out_dir / f"{n}.wav" for n in names}
    with f, contextlib.ExitStack() as stack:
        sr, n, C = f.samplerate, f.frames, f.channels
        d0 = dicts[0]
        if sr != d0.sr:
            raise ParameterError(
                f"{str(path)!r} is at {sr} Hz but the dictionaries were trained at {d0.sr} Hz; "
                "resample the file first (streaming does not resample)"
            )
        if n == 0:
            raise AudioFileError(f"{str(path)!r} has no samples")
        p = d0.stft
        if not p.center:
            raise ParameterError("streaming needs dictionaries with a centred STFT (center=True)")
        N, hop = p.n_fft, p.hop_length
        pad = N // 2
        T = p.n_frames(n)
        bf = max(1, int(round(block_seconds * sr / hop)))  # frames per block
        win = _window(p, np.float32)
        win_sq = win.astype(np.float64) ** 2
        tiny = np.finfo(np.float32).tiny

        temps = {name: stack.enter_context(atomic_write(t, overwrite=overwrite))
                 for name, t in targets.items()}
        writers = {name: stack.enter_context(sf.SoundFile(str(tmp), "w", samplerate=sr, channels=C,
                                                          format="WAV", subtype="FLOAT"))
                   for name, tmp in temps.items()}
        reader = _Reader(f, pad, n)
        S_src = len(names)
        # overlap-add state (padded coordinates): acc[:, :, j - ola_start]
        ola_start = 0
        acc = np.zeros((S_src, C, 0), np.float64)
        wss = np.zeros(0, np.float64)
        written = 0  # output samples written (output sample i = padded index i + pad)

        for t0 in range(0, T, bf):
            t1 = min(T, t0 + bf)
            seg = reader.get(t0 * hop, (t1 - 1) * hop + N)  # (C, L)
            frames = np.lib.stride_tricks.sliding_window_view(seg, N, axis=-1)[:, ::hop]
            frames = frames[:, : t1 - t0]  # (C, nt, N)
            S = np.fft.rfft(frames * win, axis=-1).astype(np.complex64)  # (C, nt, F)
            S = np.ascontiguousarray(np.swapaxes(S, -1, -2))  # (C, F, nt)
            if C == 1:
                S = S[0]
            sep = separate_supervised_spectrogram(S, dicts, mask_power=mask_power, max_iter=max_iter,
                                                  accelerate=accelerate)
            Ssrc = sep.S_sources.reshape(S_src, C, p.n_freq, t1 - t0)
            ytmp = np.fft.irfft(Ssrc, n=N, axis=-2) * win[:, None]  # (S, C, N, nt)
            # grow the buffers to cover frames up to t1
            end = (t1 - 1) * hop + N
            grow = end - (ola_start + acc.shape[-1])
            if grow > 0:
                acc = np.concatenate([acc, np.zeros((S_src, C, grow))], axis=-1)
                wss = np.concatenate([wss, np.zeros(grow)])
            for i, t in enumerate(range(t0, t1)):
                j = t * hop - ola_start
                acc[:, :, j:j + N] += ytmp[:, :, :, i]
                wss[j:j + N] += win_sq
            # samples before t1 * hop are final (the last block: everything)
            final_end = t1 * hop if t1 < T else ola_start + acc.shape[-1]
            lo = pad + written  # padded index of the next output sample
            hi = min(final_end, pad + n)
            if hi > lo:
                a, b = lo - ola_start, hi - ola_start
                out = acc[:, :, a:b].copy()
                w = wss[a:b]
                nz = w > tiny
                out[:, :, nz] /= w[nz]
                for s, name in enumerate(names):
                    writers[name].write(out[s].T.astype(np.float32))
                written += hi - lo
            # drop what is final
            keep_from = min(final_end, pad + written) - ola_start
            if keep_from > 0:
                acc = acc[:, :, keep_from:]
                wss = wss[keep_from:]
                ola_start += keep_from
        if written < n:  # only if the frames did not reach the end (cannot happen with centred frames)
            for name in names:
                writers[name].write(np.zeros((n - written, C), np.float32))
    return targets
