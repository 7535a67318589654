"""Streaming STFT and overlap-add: feed blocks of any size, get frames / final samples.

The frames are those of :func:`nmfaudio.stft` on the whole signal, bit for bit, and the
overlap-add is :func:`nmfaudio.istft`'s up to float rounding. Buffers are kept and grown
(×2), so the block processors' steady state allocates nothing
(:mod:`nmfaudio._stream_kernels`). Spectra are ``(..., n_freq, n_frames)`` in
:meth:`~StreamingSTFT.push` / :meth:`~StreamingISTFT.push`; the frame-major methods
(:meth:`~StreamingSTFT.push_frames`, :meth:`~StreamingISTFT.push_frames`, …) work on
``(..., n_frames, n_freq)`` buffers that they own or that the caller passes, for processors
that must not allocate per block (:class:`nmfaudio.BlockProcessor`).
"""

from __future__ import annotations

import numpy as np

from . import _stft_blocks as _blocks
from ._checks import check_positive_int
from .exceptions import ParameterError
from .stft import _params, window

__all__ = ["StreamingSTFT", "StreamingISTFT"]


class StreamingSTFT:
    """Block-wise analysis: feed samples in blocks of any size, get each frame once complete.

    The frames are those of :func:`stft` on the whole signal, bit for bit: frame ``t`` covers
    samples ``[t·hop − n_fft//2, t·hop + n_fft//2)`` (``center=True``, zeros before the
    start), computed with the same arithmetic. :meth:`finish` adds the end padding and
    returns the last frames.

    Parameters
    ----------
    params : STFTParams
    channels : int > 0
        Channels of the signal; blocks are ``(channels, n)``.
    dtype : np.float32 or np.float64
        Sample precision; spectra are complex64 or complex128.

    Examples
    --------
    >>> import numpy as np, nmfaudio
    >>> p = nmfaudio.STFTParams(n_fft=256)
    >>> y = np.random.default_rng(0).standard_normal((1, 3000)).astype(np.float32)
    >>> an = nmfaudio.StreamingSTFT(p, channels=1)
    >>> S = np.concatenate([an.push(y[:, :1000]), an.push(y[:, 1000:]), an.finish()], axis=-1)
    >>> bool(np.array_equal(S, nmfaudio.stft(y, stft_params=p)))
    True
    """

    def __init__(self, params, *, channels=1, dtype=np.float32):
        self.params = _params(params, None, None, None, None, None)
        self.channels = check_positive_int(channels, "channels")
        self.dtype = np.dtype(dtype)
        if self.dtype not in (np.float32, np.float64):
            raise ParameterError(f"dtype={self.dtype} must be float32 or float64")
        self._cdt = np.complex64 if self.dtype == np.float32 else np.complex128
        self._win = window(self.params)
        self.reset()

    def reset(self):
        """Forget the signal: the next block starts a new one."""
        p = self.params
        pad = p.n_fft // 2 if p.center else 0
        self._buf = np.zeros((self.channels, max(4 * p.n_fft, pad)), self.dtype)
        self._len = pad        # valid samples in _buf (the leading zeros of a centred STFT)
        self._n_in = 0         # signal samples received
        self._frames = 0       # frames emitted; frame t starts at padded index t*hop
        self._start = 0        # padded index of _buf[:, 0]
        if not hasattr(self, "_spec"):
            self._reserve(4)

    def _reserve(self, nt):
        """Room for ``nt`` frames in the frame buffers (kept across streams, grown ×2)."""
        C, N, F = self.channels, self.params.n_fft, self.params.n_freq
        cap = max(nt, 2 * getattr(self, "_cap", 0))
        self._cap = cap
        self._fr64 = np.empty((C, cap, N), np.float64)       # windowed frames
        self._c128 = np.empty((C, cap, F), np.complex128)    # their spectra
        self._spec = self._c128 if self._cdt == np.complex128 else np.empty((C, cap, F), self._cdt)

    @property
    def frames_emitted(self):
        """Frames returned so far."""
        return self._frames

    def _append(self, x):
        need = self._len + x.shape[1]
        self._buf = _blocks.grown(self._buf, self._len, need)
        self._buf[:, self._len:need] = x
        self._len = need

    def emit_frames(self, n_max=None):
        """Analyse the complete frames (at most up to frame ``n_max`` in all); returns ``nt``,
        their spectra being ``self.frames[:, :nt]``. Allocates nothing once the buffers are
        large enough."""
        p = self.params
        N, hop = p.n_fft, p.hop_length
        avail = self._start + self._len  # padded samples received
        nt = 0 if avail < self._frames * hop + N else (avail - N) // hop + 1 - self._frames
        if n_max is not None:
            nt = min(nt, n_max - self._frames)
        if nt <= 0:
            return 0
        if nt > self._cap:
            self._reserve(nt)
        a = self._frames * hop - self._start
        # librosa's arithmetic (float64 window product, numpy's FFT, rounded to the signal's
        # precision): the same bits per frame as stft() on the whole signal
        from ._stream_kernels import window_frames

        window_frames(self._buf, a, hop, nt, self._win, self._fr64)
        np.fft.rfft(self._fr64[:, :nt], axis=-1, out=self._c128[:, :nt])
        if self._spec is not self._c128:
            self._spec[:, :nt] = self._c128[:, :nt]
        self._frames += nt
        # drop the samples no later frame needs
        drop = self._frames * hop - self._start
        if drop > 0:
            from ._stream_kernels import shift_left

            keep = self._len - drop
            shift_left(self._buf, drop, self._len)
            self._len, self._start = keep, self._start + drop
        return nt

    @property
    def frames(self):
        """The frame buffer ``(channels, ≥ nt, n_freq)`` (frame-major): its first ``nt`` rows
        hold the spectra of the last :meth:`push_frames` / :meth:`emit_frames` call
        (``nt`` being that call's result), overwritten by the next call."""
        return self._spec

    def _copy(self, nt):
        """The first ``nt`` spectra of the frame buffer as a new ``(channels, n_freq, nt)`` array."""
        # a copy (C order): np.ascontiguousarray would return a view of the internal buffer
        # when it happens to be contiguous (one channel, one frame), which the next call overwrites
        return np.swapaxes(self._spec[:, :nt], -1, -2).copy()

    def _check_block(self, x):
        if x.ndim != 2 or x.shape[0] != self.channels:
            raise ParameterError(f"block has shape {x.shape}; expected ({self.channels}, n)")

    def push(self, x):
        """Append ``x (channels, n)``; returns the newly complete frames ``(channels, n_freq, nt)``."""
        x = np.asarray(x)
        self._check_block(x)
        return self._copy(self.push_frames(x))

    def push_frames(self, x):
        """As :meth:`push` (``x (channels, n)``, not checked), frame-major into the frame
        buffer: returns ``nt``, the new spectra being ``self.frames[:, :nt]`` until the next
        call. Allocates nothing once the buffers are large enough."""
        self._append(x)
        self._n_in += x.shape[1]
        return self.emit_frames()

    def finish_frames(self):
        """As :meth:`finish`, frame-major: the end padding's frames into the frame buffer;
        returns their count ``nt`` (``self.frames[:, :nt]``). Does not reset: the caller
        reads the frames, then calls :meth:`reset`."""
        return self.emit_frames(n_max=self._finish_pad())

    def _finish_pad(self):
        """Append the end padding; returns the number of frames the signal has in all."""
        p = self.params
        T = p.n_frames(self._n_in)
        end = (T - 1) * p.hop_length + p.n_fft  # padded samples the last frame reaches
        missing = end - (self._start + self._len)
        if missing > 0:
            self._append(np.zeros((self.channels, missing), self.dtype))
        return T

    def finish(self):
        """The remaining frames (end padding included), ``(channels, n_freq, nt)``; then reset."""
        S = self._copy(self.finish_frames())
        self.reset()
        return S


class StreamingISTFT:
    """Block-wise overlap-add: feed frames as they come, get each sample once final.

    The inverse of :class:`StreamingSTFT`, with :func:`istft`'s normalisation (division by
    the window's sum-square where it is not tiny). A sample is returned once no later frame
    overlaps it; :meth:`finish` returns the rest up to the signal's length. Sums are kept in
    float64; the result equals :func:`istft` of the whole spectrogram up to float rounding.

    Parameters
    ----------
    params : STFTParams
    lead_shape : tuple of int
        Leading axes of the spectra (e.g. ``(n_sources, channels)``); frames are
        ``(*lead_shape, n_freq, nt)``, samples come back as ``(*lead_shape, n)``.
    dtype : np.float32 or np.float64
        Output precision.

    Examples
    --------
    >>> import numpy as np, nmfaudio
    >>> p = nmfaudio.STFTParams(n_fft=256)
    >>> y = np.random.default_rng(0).standard_normal((1, 3000)).astype(np.float32)
    >>> S = nmfaudio.stft(y, stft_params=p)
    >>> syn = nmfaudio.StreamingISTFT(p, lead_shape=(1,))
    >>> y2 = np.concatenate([syn.push(S[..., :5]), syn.push(S[..., 5:]), syn.finish(3000)], axis=-1)
    >>> y2.shape, bool(np.max(np.abs(y2 - y)) < 1e-5)
    ((1, 3000), True)
    """

    def __init__(self, params, *, lead_shape=(), dtype=np.float32):
        self.params = _params(params, None, None, None, None, None)
        self.lead_shape = tuple(int(n) for n in lead_shape)
        self.dtype = np.dtype(dtype)
        self._win = window(self.params)
        self._win_sq = self._win ** 2
        self._tiny = float(np.finfo(self.dtype).tiny)
        self._L = int(np.prod(self.lead_shape, dtype=np.int64))
        self._cap = 0
        self.reset()

    def reset(self):
        """Forget the signal."""
        N = self.params.n_fft
        if not hasattr(self, "_acc"):
            self._acc = np.zeros((self._L, 2 * N), np.float64)
            self._wss = np.zeros(2 * N, np.float64)
        else:
            self._acc[...] = 0.0
            self._wss[...] = 0.0
        self._start = 0    # padded index of _acc[:, 0]
        self._frames = 0   # frames received
        self._emitted = 0  # samples returned

    def _grow(self, end):
        size = end - self._start
        if size > self._acc.shape[-1]:
            self._acc = _blocks.grown(self._acc, self._acc.shape[-1], size)
            self._wss = _blocks.grown(self._wss, self._wss.size, size)

    def _pad(self):
        return self.params.n_fft // 2 if self.params.center else 0

    def _final(self, upto):
        """Samples final up to padded index ``upto`` (exclusive) not yet returned."""
        return max(0, upto - (self._pad() + self._emitted))

    def take_into(self, m, out, o):
        """The next ``m`` final samples (``m`` at most what :meth:`push_frames` or
        :meth:`end` returned, less those taken since), normalised, into ``out[:, o:o + m]``
        (``out (L, ·)``, L the product of ``lead_shape``); dropped from the buffer."""
        from ._stream_kernels import take_final

        if not m:
            return
        a = self._pad() + self._emitted - self._start  # the first sample not returned
        if a > 0:  # the leading padding of a centred STFT (final once a sample is): dropped
            self._drop(a)
        take_final(self._acc, self._wss, m, self._tiny, out, o, True)
        self._start += m
        self._emitted += m

    def _drop(self, n):
        from ._stream_kernels import take_final

        take_final(self._acc, self._wss, n, self._tiny, self._acc, 0, False)
        self._start += n

    def _take(self, upto):
        m = self._final(upto)
        out = np.empty((self._L, m), self.dtype)
        self.take_into(m, out, 0)
        return out.reshape(self.lead_shape + (m,))

    def push_frames(self, S, y):
        """Add the frame-major spectra ``S (L, nt, n_freq)``, using ``y (L, ≥ nt, n_fft)``
        (real, S's precision) as scratch for their inverse FFT; returns how many samples are
        now final and not yet taken (read them with :meth:`take_into`). Allocates nothing once
        the accumulator is large enough."""
        from ._stream_kernels import overlap_add

        p = self.params
        N, hop = p.n_fft, p.hop_length
        nt = S.shape[1]
        if nt:
            np.fft.irfft(S, n=N, axis=-1, out=y[:, :nt])
            t0 = self._frames
            self._grow((t0 + nt - 1) * hop + N)
            overlap_add(self._acc, self._wss, y, nt, self._win, self._win_sq, t0 * hop - self._start,
                        hop)
            self._frames += nt
        return self._final(self._frames * hop)

    def push(self, S):
        """Add frames ``S (*lead_shape, n_freq, nt)``; returns the samples now final, ``(*lead_shape, m)``."""
        p = self.params
        S = np.asarray(S)
        if S.shape[:-1] != self.lead_shape + (p.n_freq,):
            raise ParameterError(f"frames have shape {S.shape}; expected {self.lead_shape + (p.n_freq,)} + (nt,)")
        nt = S.shape[-1]
        Sf = np.ascontiguousarray(np.swapaxes(S.reshape((self._L,) + S.shape[-2:]), -1, -2))
        rdt = np.float32 if Sf.dtype == np.complex64 else np.float64
        self.push_frames(Sf, np.empty((self._L, nt, p.n_fft), rdt))
        return self._take(self._frames * p.hop_length)

    def end(self, length):
        """The signal has ``length`` samples in all: returns how many of them are not yet
        taken (all final now; read them with :meth:`take_into`, then :meth:`reset`)."""
        length = check_positive_int(length, "length")
        self._grow(self._pad() + length)
        return self._final(self._pad() + length)

    def finish(self, length):
        """The remaining samples up to ``length`` signal samples in all; then reset."""
        self.end(length)  # checks the length and makes room for the last samples
        out = self._take(self._pad() + int(length))
        self.reset()
        return out
