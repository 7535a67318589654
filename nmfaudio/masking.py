"""Time–frequency masks built from per-source estimates, applied to a mixture STFT.

Masks have shape ``(n_sources, ..., n_freq, n_frames)`` and sum to one over the
source axis in every bin, so the masked spectrograms (and, the inverse STFT being
linear, the separated waveforms) add up to the mixture.
"""

from __future__ import annotations

import numpy as np

from ._checks import check_finite_array, check_finite_float, renamed_keywords
from .exceptions import ParameterError
from .separation import unstack_channels

__all__ = ["soft_masks", "binary_masks", "apply_masks", "source_estimates", "mask_sources",
           "reconstruct_sources", "sources_to_audio"]


#: Default soft-mask exponent of the separation functions (2 = Wiener-like).
DEFAULT_MASK_POWER = 2.0


def _as_estimates(estimates) -> np.ndarray:
    X = np.asarray(estimates)
    if X.dtype.kind == "c":
        X = np.abs(X)
    elif X.dtype.kind in "iub":
        X = X.astype(np.float64)
    elif X.dtype.kind != "f":
        raise ParameterError(f"estimates have dtype {X.dtype}; expected a real or complex array")
    if X.ndim < 2:
        raise ParameterError(
            f"estimates have shape {X.shape}; expected (n_sources, ..., n_freq, n_frames)"
        )
    if X.shape[0] == 0:
        raise ParameterError("estimates contain no sources")
    if not np.all(np.isfinite(X)):
        raise ParameterError("estimates contain NaN or Inf values")
    if (X < 0).any():
        raise ParameterError("estimates contain negative values; pass magnitudes (np.abs)")
    if X.dtype == np.float16:
        X = X.astype(np.float32)
    return X


@renamed_keywords(power="mask_power")
def soft_masks(estimates, *, mask_power=2.0):
    """Wiener-style ratio masks ``|Ŝⱼ|^p / Σᵢ |Ŝᵢ|^p``.

    Parameters
    ----------
    estimates : np.ndarray [shape=(n_sources, ..., n_freq, n_frames)]
        Non-negative magnitude estimates per source (e.g. ``W_s @ H_s``); complex
        arrays are replaced by their magnitude.
    mask_power : float > 0
        Mask exponent ``p``: 1 gives magnitude ratios, 2 (default) the Wiener
        (power) ratio; larger values approach a binary mask. (``power=`` is its
        deprecated old name.)

    Returns
    -------
    masks : np.ndarray [shape=estimates.shape]
        Values in [0, 1] summing to 1 over the first axis. Where every estimate is
        zero, each source gets ``1 / n_sources``. float32 in, float32 out.

    Examples
    --------
    >>> import numpy as np, nmfaudio
    >>> M = nmfaudio.soft_masks(np.array([[[3.0]], [[1.0]]]), mask_power=1)
    >>> M[:, 0, 0]
    array([0.75, 0.25])
    """
    X = _as_estimates(estimates)
    power = check_finite_float(mask_power, "mask_power", low=0.0, low_open=True)
    ref = X.max(axis=0, keepdims=True)
    zero = ref == 0
    # Rescale by the per-bin maximum before the power, so nothing over/underflows.
    Z = np.divide(X, ref, out=np.zeros_like(X), where=~zero)
    if power != 1.0:
        np.power(Z, power, out=Z)
    den = Z.sum(axis=0, keepdims=True)  # >= 1 wherever ref > 0
    M = np.divide(Z, den, out=np.zeros_like(Z), where=~zero)
    M += np.where(zero, X.dtype.type(1.0 / X.shape[0]), X.dtype.type(0))
    return M


def binary_masks(estimates):
    """Binary masks: each bin goes entirely to the source with the largest estimate.

    Parameters
    ----------
    estimates : np.ndarray [shape=(n_sources, ..., n_freq, n_frames)]

    Returns
    -------
    masks : np.ndarray [shape=estimates.shape]
        One-hot along the first axis (ties go to the first source).

    Examples
    --------
    >>> import numpy as np, nmfaudio
    >>> nmfaudio.binary_masks(np.array([[[3.0]], [[1.0]]]))[:, 0, 0]
    array([1., 0.])
    """
    X = _as_estimates(estimates)
    winner = np.argmax(X, axis=0)
    M = np.zeros_like(X)
    np.put_along_axis(M, winner[None], 1, axis=0)
    return M


def apply_masks(S, masks):
    """Multiply a complex mixture STFT by each source's mask.

    Parameters
    ----------
    S : np.ndarray [shape=(..., n_freq, n_frames), complex]
    masks : np.ndarray [shape=(n_sources, ..., n_freq, n_frames)]

    Returns
    -------
    S_sources : np.ndarray [shape=(n_sources, ..., n_freq, n_frames), complex]

    Examples
    --------
    >>> import numpy as np, nmfaudio
    >>> S = np.full((3, 4), 2 + 0j)                      # (n_freq, n_frames)
    >>> M = nmfaudio.soft_masks(np.stack([np.ones((3, 4)), np.ones((3, 4))]))
    >>> parts = nmfaudio.apply_masks(S, M)
    >>> parts.shape, bool(np.allclose(parts.sum(axis=0), S))
    ((2, 3, 4), True)
    """
    S = check_finite_array(S, "S")
    masks = check_finite_array(masks, "masks")
    if masks.dtype.kind not in "fiub":
        raise ParameterError(f"masks have dtype {masks.dtype}; expected real values in [0, 1]")
    if masks.ndim < 1 or masks.shape[1:] != S.shape:
        raise ParameterError(
            f"masks have shape {masks.shape}; expected (n_sources,) + S.shape = (n, {', '.join(map(str, S.shape))})"
        )
    return masks.astype(S.real.dtype, copy=False) * S[None]


def source_estimates(W, H, labels, n_sources, *, lead_shape=(), n_frames=None):
    """Per-source model spectrograms ``W_s @ H_s``, channels unstacked.

    Parameters
    ----------
    W : np.ndarray [shape=(n_freq, K)]
        Templates (shared by every channel).
    H : np.ndarray [shape=(K, C * n_frames)]
        Activations, the channels side by side along time (see
        :func:`nmfaudio.separation.stack_channels`).
    labels : np.ndarray [shape=(K,)]
        Source index in ``[0, n_sources)`` of each component.
    n_sources : int
    lead_shape : tuple
        Channel axes of the mixture STFT (``()`` for mono).
    n_frames : int or None
        Frames per channel; needed when ``lead_shape`` is not empty.

    Returns
    -------
    estimates : np.ndarray [shape=(n_sources, *lead_shape, n_freq, n_frames)]

    Examples
    --------
    >>> import numpy as np, nmfaudio
    >>> W, H = np.ones((3, 2)), np.ones((2, 8))           # 2 channels of 4 frames
    >>> nmfaudio.masking.source_estimates(W, H, np.array([0, 1]), 2, lead_shape=(2,), n_frames=4).shape
    (2, 2, 3, 4)
    """
    labels = np.asarray(labels)
    est = [W[:, labels == s] @ H[labels == s] for s in range(n_sources)]
    if lead_shape:
        est = [unstack_channels(e, tuple(lead_shape), n_frames) for e in est]
    return np.stack(est)


def mask_sources(S, estimates, *, mask="soft", mask_power=2.0, spectrogram_power=1.0):
    """Masks from per-source estimates, applied to the mixture STFT.

    Parameters
    ----------
    S : np.ndarray [shape=(..., n_freq, n_frames), complex]
        Mixture STFT.
    estimates : np.ndarray [shape=(n_sources, ..., n_freq, n_frames)]
        Non-negative models of ``|S_s| ** spectrogram_power`` per source.
    mask : {"soft", "binary"}
    mask_power : float > 0
        Soft-mask exponent on *magnitudes* (2 = Wiener): the mask is
        ``est_s ** (mask_power / spectrogram_power)`` normalised over sources.
    spectrogram_power : float > 0
        The power the estimates model (1 = magnitude, 2 = power spectrogram).

    Returns
    -------
    masks : np.ndarray [shape=estimates.shape]
        Sum to one over the first axis.
    S_sources : np.ndarray [shape=(n_sources,) + S.shape, complex]
        ``masks * S``; they sum to ``S``.

    Examples
    --------
    >>> import numpy as np, nmfaudio
    >>> S = np.full((3, 4), 2 + 0j)
    >>> M, parts = nmfaudio.mask_sources(S, np.stack([3 * np.ones((3, 4)), np.ones((3, 4))]),
    ...                                  mask_power=1)
    >>> M[:, 0, 0], complex(parts[0, 0, 0])
    (array([0.75, 0.25]), (1.5+0j))
    """
    if mask == "soft":
        masks = soft_masks(estimates, mask_power=mask_power / spectrogram_power)
    elif mask == "binary":
        masks = binary_masks(estimates)
    else:
        raise ParameterError(f"mask={mask!r} must be 'soft' or 'binary'")
    return masks, apply_masks(S, masks)


def reconstruct_sources(S, estimates, *, names, stft_params, length, dtype=None, mask="soft",
                        mask_power=2.0, spectrogram_power=1.0):
    """Estimates → masks → masked mixture STFT → waveforms: the last step of every separation.

    Parameters
    ----------
    S : np.ndarray [shape=(..., n_freq, n_frames), complex]
        Mixture STFT, computed with ``stft_params``.
    estimates : np.ndarray [shape=(n_sources, ..., n_freq, n_frames)]
        Per-source models (e.g. from :func:`source_estimates`).
    names : sequence of str [length=n_sources]
        Keys of the result, in the order of ``estimates``.
    stft_params : STFTParams
        Settings of the inverse STFT (those of the forward one).
    length : int > 0
        Samples per output (the mixture's length).
    dtype : numpy dtype or None
        Output float dtype (the mixture's); ``None`` keeps the inverse STFT's.
    mask, mask_power, spectrogram_power
        See :func:`mask_sources`.

    Returns
    -------
    sources : dict[str, np.ndarray]
        ``name -> waveform [shape=(..., length)]``; they sum to the mixture up to
        the STFT round trip.

    Examples
    --------
    >>> import numpy as np, nmfaudio
    >>> y = np.random.default_rng(0).standard_normal(2000).astype(np.float32)
    >>> p = nmfaudio.STFTParams(n_fft=256)
    >>> S = nmfaudio.stft(y, stft_params=p)
    >>> est = np.stack([np.abs(S), np.ones(S.shape, np.float32)])
    >>> out = nmfaudio.reconstruct_sources(S, est, names=["a", "b"], stft_params=p, length=y.size,
    ...                                    dtype=y.dtype)
    >>> sorted(out), out["a"].dtype, bool(np.allclose(out["a"] + out["b"], y, atol=1e-5))
    (['a', 'b'], dtype('float32'), True)
    """
    names = list(names)
    if len(names) != len(estimates):
        raise ParameterError(f"names has {len(names)} entries for {len(estimates)} sources")
    _, S_sources = mask_sources(S, estimates, mask=mask, mask_power=mask_power,
                                spectrogram_power=spectrogram_power)
    return sources_to_audio(S_sources, names, stft_params=stft_params, length=length, dtype=dtype)


def sources_to_audio(S_sources, names, *, stft_params, length, dtype=None):
    """Inverse STFT of each source's masked STFT: ``{name: waveform (..., length)}``.

    Parameters
    ----------
    S_sources : np.ndarray [shape=(n_sources, ..., n_freq, n_frames), complex]
    names : sequence of str [length=n_sources]
    stft_params : STFTParams
    length : int > 0
    dtype : numpy dtype or None
        Output dtype; ``None`` keeps the inverse STFT's (float32 for complex64).

    Returns
    -------
    sources : dict[str, np.ndarray]

    Examples
    --------
    >>> import numpy as np, nmfaudio
    >>> p = nmfaudio.STFTParams(n_fft=64)
    >>> S = nmfaudio.stft(np.ones(300, np.float32), stft_params=p)
    >>> nmfaudio.sources_to_audio(S[None], ["x"], stft_params=p, length=300)["x"].shape
    (300,)
    """
    from .stft import istft

    out = {}
    for name, Ss in zip(names, S_sources):
        y = istft(Ss, stft_params=stft_params, length=length)
        out[name] = y if dtype is None else y.astype(dtype, copy=False)
    return out
