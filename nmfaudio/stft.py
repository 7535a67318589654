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

__all__ = ["STFTParams", "stft", "istft", "magnitude", "window"]

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


def check_stft_params(params) -> STFTParams:
    """``params`` if it is an :class:`STFTParams`, else :class:`ParameterError` naming its type."""
    if not isinstance(params, STFTParams):
        raise ParameterError(f"stft_params must be an STFTParams, got {type(params).__name__}")
    return params


def _params(params, n_fft, hop_length, win_length, window, center) -> STFTParams:
    if params is not None:
        return check_stft_params(params)
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
