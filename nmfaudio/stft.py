"""STFT front end: complex spectrograms ``(..., n_freq, n_frames)`` and back.

Frequency comes first, then time (frames), as in librosa and the NMF literature:
``V = |stft(y)|`` has shape ``(n_freq, n_frames)`` with ``n_freq = 1 + n_fft // 2``.
"""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np

from . import _stft_blocks as _blocks
from ._checks import check_finite_array, check_positive_int, renamed_keywords, valid_audio, show
from .exceptions import ParameterError

__all__ = ["STFTParams", "stft", "istft", "magnitude", "window", "StreamingSTFT", "StreamingISTFT"]

_WINDOWS = ("hann", "hamming", "blackman", "boxcar", "bartlett", "blackmanharris", "nuttall")


@dataclasses.dataclass(frozen=True)
class STFTParams:
    """Frozen STFT settings; travels with trained dictionaries.

    Parameters
    ----------
    n_fft : int > 0
        FFT size; ``n_freq = 1 + n_fft // 2`` bins.
    hop_length : int > 0 or None
        Frame advance in samples. ``None`` means ``win_length // 4``.
    win_length : int > 0 or None
        Window length (≤ ``n_fft``); ``None`` means ``n_fft``.
    window : str
        Window name understood by ``scipy.signal.get_window`` (e.g. ``"hann"``).
    center : bool
        Pad the signal so that frame ``t`` is centred at sample ``t * hop_length``.

    The resolved values (``hop_length`` and ``win_length`` never ``None``) are
    stored, so two parameter objects compare equal exactly when they produce
    the same transform.

    Examples
    --------
    >>> from nmfaudio import STFTParams
    >>> STFTParams(n_fft=1024).hop_length
    256
    """

    n_fft: int = 2048
    hop_length: int | None = None
    win_length: int | None = None
    window: str = "hann"
    center: bool = True

    def __post_init__(self):
        n_fft = check_positive_int(self.n_fft, "n_fft")
        if n_fft < 2:
            raise ParameterError(f"n_fft={n_fft} must be at least 2")
        win_length = check_positive_int(self.win_length, "win_length", allow_none=True)
        if win_length is None:
            win_length = n_fft
        if win_length > n_fft:
            raise ParameterError(f"win_length={win_length} must be <= n_fft={n_fft}")
        hop = check_positive_int(self.hop_length, "hop_length", allow_none=True)
        if hop is None:
            hop = max(1, win_length // 4)
        if hop > win_length:
            raise ParameterError(
                f"hop_length={hop} must be <= win_length={win_length}, or the inverse STFT "
                "cannot reconstruct the signal"
            )
        if not isinstance(self.window, str) or self.window not in _WINDOWS:
            raise ParameterError(f"window={show(self.window)} is not supported; choose one of {_WINDOWS}")
        object.__setattr__(self, "n_fft", n_fft)
        object.__setattr__(self, "win_length", win_length)
        object.__setattr__(self, "hop_length", hop)
        object.__setattr__(self, "center", bool(self.center))

    @property
    def n_freq(self) -> int:
        """Number of frequency bins, ``1 + n_fft // 2``."""
        return 1 + self.n_fft // 2

    def to_dict(self) -> dict:
        """Plain-JSON representation."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "STFTParams":
        """Inverse of :meth:`to_dict`; unknown keys raise ParameterError."""
        fields = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - fields
        if unknown:
            raise ParameterError(f"unknown STFT parameter(s): {sorted(unknown)}")
        return cls(**d)

    def n_frames(self, n_samples: int) -> int:
        """Number of frames the STFT of ``n_samples`` samples has."""
        if self.center:
            return 1 + n_samples // self.hop_length
        return 1 + max(0, n_samples - self.n_fft) // self.hop_length


def _params(params, n_fft, hop_length, win_length, window, center) -> STFTParams:
    if params is not None:
        if not isinstance(params, STFTParams):
            raise ParameterError(f"stft_params must be an STFTParams, got {type(params).__name__}")
        return params
    return STFTParams(n_fft=n_fft, hop_length=hop_length, win_length=win_length, window=window,
                      center=center)


def window(params):
    """The analysis/synthesis window of ``params``, zero-padded (centred) to ``n_fft``.

    Parameters
    ----------
    params : STFTParams

    Returns
    -------
    win : np.ndarray [shape=(n_fft,), dtype=float64]
        float64 as in librosa: every transform here multiplies frames by it in float64
        and rounds the spectrum to the signal's precision, which makes the STFT of a
        frame the same bits whichever code path (short, long, streaming) computes it.

    Examples
    --------
    >>> from nmfaudio.stft import STFTParams, window
    >>> w = window(STFTParams(n_fft=8, win_length=4))
    >>> w.shape, float(w[0]), float(w.max())
    ((8,), 0.0, 1.0)
    """
    return _blocks.window(_params(params, None, None, None, None, None))


@renamed_keywords(params="stft_params")
def stft(y, *, n_fft=2048, hop_length=None, win_length=None, window="hann", center=True,
         stft_params=None):
    """Short-time Fourier transform.

    Parameters
    ----------
    y : np.ndarray [shape=(..., n)]
        Real audio. Leading axes (channels) are kept. Integer PCM is scaled to [-1, 1).
    n_fft, hop_length, win_length, window, center
        See :class:`STFTParams`.
    stft_params : STFTParams or None
        If given, overrides the individual settings. (``params=`` is its deprecated old name.)

    Returns
    -------
    S : np.ndarray [shape=(..., n_freq, n_frames), dtype=complex64 or complex128]
        C-contiguous complex spectrogram; complex64 for float32 input.

    Notes
    -----
    With ``center=False`` a signal shorter than ``n_fft`` raises ParameterError;
    with ``center=True`` (default) any non-empty signal works.

    Examples
    --------
    >>> import numpy as np, nmfaudio
    >>> y = np.random.default_rng(0).standard_normal(22050).astype(np.float32)
    >>> S = nmfaudio.stft(y, n_fft=1024)
    >>> S.shape, S.dtype
    ((513, 87), dtype('complex64'))
    """
    import librosa

    p = _params(stft_params, n_fft, hop_length, win_length, window, center)
    y = valid_audio(y, "y", any_leading=True)
    if not p.center and y.shape[-1] < p.n_fft:
        raise ParameterError(
            f"signal of {y.shape[-1]} samples is shorter than n_fft={p.n_fft}; use center=True "
            "or a smaller n_fft"
        )
    check_stft_input(y, p)
    if y.shape[-1] >= _blocks.FAST_MIN_SAMPLES:
        return _blocks.stft_threads(y, p)
    with warnings.catch_warnings():
        # centred frames with zero padding handle clips shorter than n_fft correctly
        warnings.filterwarnings("ignore", message="n_fft=.* is too large", category=UserWarning)
        S = librosa.stft(y, n_fft=p.n_fft, hop_length=p.hop_length, win_length=p.win_length,
                         window=p.window, center=p.center, pad_mode="constant")
    return np.ascontiguousarray(S)


def check_stft_input(y, p):
    """Raise ParameterError if the samples of the valid float audio ``y`` would overflow the
    STFT with settings ``p`` (used by :func:`stft` and the block-wise separation)."""
    peak = float(np.max(np.abs(y)))
    limit = float(np.finfo(y.dtype).max) / (4 * p.n_fft)
    if peak > limit:
        raise ParameterError(
            f"y has samples up to {peak:.3g}; the {y.dtype} STFT with n_fft={p.n_fft} would "
            f"overflow. Expected |y| <= {limit:.3g} (audio is normally within [-1, 1])"
        )


@renamed_keywords(params="stft_params")
def istft(S, *, n_fft=None, hop_length=None, win_length=None, window="hann", center=True,
          length=None, stft_params=None):
    """Inverse short-time Fourier transform (overlap-add).

    Parameters
    ----------
    S : np.ndarray [shape=(..., n_freq, n_frames), complex]
        Spectrogram as returned by :func:`stft`.
    n_fft : int or None
        ``None`` infers ``2 * (n_freq - 1)``.
    hop_length, win_length, window, center
        Must match the forward transform (see :class:`STFTParams`).
    length : int or None
        Exact output length in samples (pads or trims); recommended, since the
        frame count alone cannot tell it.
    stft_params : STFTParams or None
        If given, overrides the individual settings. (``params=`` is its deprecated old name.)

    Returns
    -------
    y : np.ndarray [shape=(..., length)]
        float32 for complex64 input, float64 for complex128.

    Examples
    --------
    >>> import numpy as np, nmfaudio
    >>> y = np.random.default_rng(0).standard_normal(1000).astype(np.float32)
    >>> y2 = nmfaudio.istft(nmfaudio.stft(y, n_fft=256), n_fft=256, length=len(y))
    >>> bool(np.max(np.abs(y - y2)) < 1e-5)
    True
    """
    import librosa

    S = check_finite_array(S, "S")
    if S.ndim < 2:
        raise ParameterError(f"S has shape {S.shape}; expected (..., n_freq, n_frames)")
    if S.shape[-1] == 0:
        raise ParameterError(f"S has shape {S.shape}: no frames")
    if S.dtype.kind not in "fciu":
        raise ParameterError(f"S has dtype {S.dtype}; expected a complex spectrogram")
    if S.shape[-2] < 2 and n_fft is None and stft_params is None:
        raise ParameterError(f"S has shape {S.shape}: {S.shape[-2]} frequency bin(s); expected at least 2")
    if stft_params is None:
        if n_fft is None:
            n_fft = 2 * (S.shape[-2] - 1)
        params = _params(None, n_fft, hop_length, win_length, window, center)
    else:
        params = _params(stft_params, None, None, None, None, None)
    if S.shape[-2] != params.n_freq:
        raise ParameterError(
            f"S has {S.shape[-2]} frequency bins but n_fft={params.n_fft} implies {params.n_freq}"
        )
    if not np.iscomplexobj(S):
        S = S.astype(np.complex64 if S.dtype == np.float32 else np.complex128)
    if length is not None:
        length = check_positive_int(length, "length")
    if S.shape[-1] >= _blocks.FAST_MIN_FRAMES and params.n_fft % params.hop_length == 0:
        return _blocks.istft_threads(S, params, length)
    return librosa.istft(S, n_fft=params.n_fft, hop_length=params.hop_length,
                         win_length=params.win_length, window=params.window,
                         center=params.center, length=length)


def magnitude(S, *, power=1.0):
    """``|S| ** power`` as a C-contiguous real array of matching precision.

    Parameters
    ----------
    S : np.ndarray [shape=(..., n_freq, n_frames), complex]
        STFT, e.g. from :func:`stft`.
    power : float
        Exponent: 1 (default) gives the magnitude, 2 the power spectrogram.

    Returns
    -------
    V : np.ndarray [shape=S.shape, real]
        float32 for complex64 input.

    Examples
    --------
    >>> import numpy as np, nmfaudio
    >>> nmfaudio.magnitude(np.array([[3 + 4j]]), power=2)
    array([[25.]])
    """
    S = np.asarray(S)
    M = np.abs(S)
    if power != 1.0:
        M = M ** power
    return np.ascontiguousarray(M)


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

    def _emit_frames(self, n_max=None):
        """Analyse the complete frames; returns ``nt``, their spectra being ``self._spec[:, :nt]``
        ``(channels, nt, n_freq)`` (frame-major, overwritten by the next call). Allocates
        nothing once the buffers are large enough."""
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

    def _emit(self, n_max=None):
        nt = self._emit_frames(n_max)
        return np.ascontiguousarray(np.swapaxes(self._spec[:, :nt], -1, -2))

    def _check_block(self, x):
        if x.ndim != 2 or x.shape[0] != self.channels:
            raise ParameterError(f"block has shape {x.shape}; expected ({self.channels}, n)")

    def push(self, x):
        """Append ``x (channels, n)``; returns the newly complete frames ``(channels, n_freq, nt)``."""
        x = np.asarray(x)
        self._check_block(x)
        self._append(x)
        self._n_in += x.shape[1]
        return self._emit()

    def _push_frames(self, x):
        """As :meth:`push`, frame-major into the internal buffer: returns ``nt``, the spectra
        being ``self._spec[:, :nt]`` until the next call."""
        self._append(x)
        self._n_in += x.shape[1]
        return self._emit_frames()

    def _finish_pad(self):
        """Append the end padding; returns the number of frames still to emit."""
        p = self.params
        T = p.n_frames(self._n_in)
        end = (T - 1) * p.hop_length + p.n_fft  # padded samples the last frame reaches
        missing = end - (self._start + self._len)
        if missing > 0:
            self._append(np.zeros((self.channels, missing), self.dtype))
        return T

    def finish(self):
        """The remaining frames (end padding included), ``(channels, n_freq, nt)``; then reset."""
        S = self._emit(n_max=self._finish_pad())
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

    def _take_into(self, m, out, o):
        """The next ``m`` samples, normalised, into ``out[:, o:o + m]`` (``out (L, ·)``);
        dropped from the buffer."""
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
        self._take_into(m, out, 0)
        return out.reshape(self.lead_shape + (m,))

    def _push_frames(self, S, y):
        """Add the frame-major spectra ``S (L, nt, n_freq)``, using ``y (L, ≥ nt, n_fft)``
        (real, S's precision) as scratch for their inverse FFT; returns how many samples are
        now final (read them with :meth:`_take_into`). Allocates nothing once the
        accumulator is large enough."""
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
        self._push_frames(Sf, np.empty((self._L, nt, p.n_fft), rdt))
        return self._take(self._frames * p.hop_length)

    def finish(self, length):
        """The remaining samples up to ``length`` signal samples in all; then reset."""
        length = check_positive_int(length, "length")
        self._grow(self._pad() + length)
        out = self._take(self._pad() + length)
        self.reset()
        return out
