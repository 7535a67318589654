"""Time–frequency masks built from per-source estimates, applied to a mixture STFT.

Masks have shape ``(n_sources, ..., n_freq, n_frames)`` and sum to one over the
source axis in every bin, so the masked spectrograms (and, the inverse STFT being
linear, the separated waveforms) add up to the mixture.
"""

from __future__ import annotations

import numpy as np

from ._checks import check_finite_array, check_finite_float
from .exceptions import ParameterError

__all__ = ["soft_masks", "binary_masks", "apply_masks"]


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


def soft_masks(estimates, *, power=2.0):
    """Wiener-style ratio masks ``|Ŝⱼ|^p / Σᵢ |Ŝᵢ|^p``.

    Parameters
    ----------
    estimates : np.ndarray [shape=(n_sources, ..., n_freq, n_frames)]
        Non-negative magnitude estimates per source (e.g. ``W_s @ H_s``); complex
        arrays are replaced by their magnitude.
    power : float > 0
        Mask exponent ``p``: 1 gives magnitude ratios, 2 (default) the Wiener
        (power) ratio; larger values approach a binary mask.

    Returns
    -------
    masks : np.ndarray [shape=estimates.shape]
        Values in [0, 1] summing to 1 over the first axis. Where every estimate is
        zero, each source gets ``1 / n_sources``. float32 in, float32 out.

    Examples
    --------
    >>> import numpy as np, nmfaudio
    >>> M = nmfaudio.soft_masks(np.array([[[3.0]], [[1.0]]]), power=1)
    >>> M[:, 0, 0]
    array([0.75, 0.25])
    """
    X = _as_estimates(estimates)
    power = check_finite_float(power, "power", low=0.0, low_open=True)
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
