"""Convolutive NMF (NMFD, Smaragdis 2004): templates that span several frames.

Orientation as everywhere in nmfaudio: ``V`` is ``(n_freq, n_frames)``; the
templates are ``W (n_freq, K, n_lags)`` — ``W[:, :, τ]`` is an ordinary
``(n_freq, K)`` template matrix for lag τ — and the activations ``H (K, n_frames)``::

    V ≈ Λ = Σ_τ W[:, :, τ] @ shift(H, τ),   shift(H, τ)[:, t] = H[:, t − τ] (0 for t < τ)

so an activation at frame t plays the whole spectrogram patch ``W[:, k, :]``
from frame t on (a drum hit with its decay, a note with its attack).

The updates are the multiplicative β-divergence rules applied to this linear
model (all lags at once, not Smaragdis' per-lag averaging), so the loss is
non-increasing for 1 ≤ β ≤ 2 (and for the other β with the Févotte–Idier exponent):

- ``H ← H ⊙ [Σ_τ W_τᵀ shift(Λ^(β−2) ⊙ V, −τ)] ⊘ [Σ_τ W_τᵀ shift(Λ^(β−1), −τ)]``
- ``W_τ ← W_τ ⊙ [(Λ^(β−2) ⊙ V) shift(H, τ)ᵀ] ⊘ [Λ^(β−1) shift(H, τ)ᵀ]``

References
----------
P. Smaragdis, "Non-negative matrix factor deconvolution; extraction of multiple
sound sources from monophonic inputs", ICA 2004.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ._checks import check_finite_float, check_nonneg_int, check_nonnegative_matrix, check_positive_int
from ._penalties import check_weights
from .exceptions import ParameterError
from ._convolutive import conv, corr_H, corr_W, ones_corr_H
from ._numerics import divergence, gamma as mm_exponent, rng as make_rng, scaled_data
from .nmf import LOSS_EVERY, resolve_beta

__all__ = ["nmfd", "NMFDResult", "nmfd_reconstruct"]


@dataclasses.dataclass
class NMFDResult:
    """Result of :func:`nmfd`.

    Attributes
    ----------
    W : np.ndarray [shape=(n_freq, K, n_lags)]
        Convolutive templates; ``W[:, k, τ]`` is component k's spectrum τ frames after onset.
    H : np.ndarray [shape=(K, n_frames)]
        Activations (onsets).
    n_iter : int
    losses : np.ndarray [shape=(n_checks,)]
        Loss (β-divergence plus penalty) every ``loss_every`` iterations, initial first.
    loss : float
    beta : float

    Examples
    --------
    >>> import numpy as np, nmfaudio
    >>> res = nmfaudio.nmfd(np.ones((6, 10)), 2, n_lags=3, max_iter=5, random_state=0)
    >>> res.W.shape, res.H.shape, len(res.losses)
    ((6, 2, 3), (2, 10), 1)
    """

    W: np.ndarray
    H: np.ndarray
    n_iter: int
    losses: np.ndarray
    loss: float
    beta: float = 1.0


def nmfd_reconstruct(W, H):
    """Model spectrogram ``Λ = Σ_τ W[:, :, τ] @ shift(H, τ)``.

    Parameters
    ----------
    W : np.ndarray [shape=(n_freq, K, n_lags)]
    H : np.ndarray [shape=(K, n_frames)]

    Returns
    -------
    np.ndarray [shape=(n_freq, n_frames)]

    Examples
    --------
    >>> import numpy as np, nmfaudio
    >>> W = np.ones((4, 1, 2)); H = np.array([[1.0, 0, 0]])
    >>> nmfaudio.nmfd_reconstruct(W, H)[0]
    array([1., 1., 0.])
    """
    W = np.asarray(W)
    H = np.asarray(H)
    if W.ndim != 3 or H.ndim != 2 or W.shape[1] != H.shape[0]:
        raise ParameterError(f"W {W.shape} and H {H.shape} must be (n_freq, K, n_lags) and (K, n_frames)")
    return conv(W, H)


def _ratios(V, Lam, beta, eps):
    """``(Λ^(β−2) ⊙ V, Λ^(β−1))``; for β = 1 the second is None (all ones)."""
    Ls = np.maximum(Lam, eps)
    if beta == 1.0:
        return V / Ls, None
    if beta == 2.0:
        return V, Ls
    B = Ls ** (beta - 1.0)
    return B / Ls * V, B


def nmfd(V, n_components=None, *, n_lags=None, beta="kl", W=None, H=None, update_W=True,
         update_H=True, max_iter=100, tol=1e-4, sparsity=0.0, random_state=None,
         loss_every=LOSS_EVERY, callback=None):
    """Convolutive NMF ``V ≈ Σ_τ W[:, :, τ] shift(H, τ)`` by multiplicative updates.

    Parameters
    ----------
    V : np.ndarray [shape=(n_freq, n_frames)], non-negative, finite
        Magnitude spectrogram. float32 stays float32; other types run in float64.
    n_components : int > 0 or None
        K; taken from ``W`` or ``H`` when None.
    n_lags : int > 0 or None
        Template length in frames; taken from ``W`` when None (default 8 otherwise).
    beta : {"kl", "euclidean", "is"} or float
        β-divergence (default ``"kl"``).
    W : np.ndarray [shape=(n_freq, K, n_lags)] or None
        Initial (or fixed) templates; never modified.
    H : np.ndarray [shape=(K, n_frames)] or None
        Initial (or fixed) activations; never modified.
    update_W, update_H : bool
        ``False`` keeps that factor fixed.
    max_iter : int >= 0
    tol : float >= 0
        Stop when the relative loss decrease between two checks is below ``tol``.
    sparsity : float >= 0 or np.ndarray [shape=(K,)]
        L1 penalty on H (applied to V scaled to mean 1); with learned W, each
        template is renormalised to unit L1 norm (over frequency and lags) after
        each W update, compensated in H.
    random_state : int, np.random.Generator or None
        Seed for the random initialisation of missing factors.
    loss_every : int > 0
    callback : callable or None
        ``callback(iteration, loss)`` at every loss check (progress); returning
        ``True`` stops early.

    Returns
    -------
    NMFDResult
        ``W (n_freq, K, n_lags)``, ``H (K, n_frames)``, ``losses``, ...

    Notes
    -----
    Without ``sparsity``, the loss is non-increasing at every update (the H
    update is the exact majorise-minimise step for the linear model in H, and
    likewise for W). With ``sparsity`` it is guaranteed while W is fixed.

    Examples
    --------
    >>> import numpy as np, nmfaudio
    >>> rng = np.random.default_rng(0)
    >>> W = rng.random((30, 2, 4)); H = (rng.random((2, 60)) > 0.9).astype(float)
    >>> V = nmfaudio.nmfd_reconstruct(W, H)
    >>> res = nmfaudio.nmfd(V, 2, n_lags=4, random_state=0, max_iter=200)
    >>> res.W.shape, res.H.shape
    ((30, 2, 4), (2, 60))
    >>> bool(res.losses[-1] < 0.1 * res.losses[0])
    True
    """
    beta = resolve_beta(beta)
    V = check_nonnegative_matrix(V, "V")
    a = _check_args(V, n_components, n_lags, W, H, update_W, update_H, max_iter, tol, loss_every,
                    sparsity, random_state)
    if callback is not None and not callable(callback):
        raise ParameterError(f"callback={callback!r} is not callable")
    W_, H_, n_iter, losses, final = _solve(V, a, beta, callback)
    if not a.update_W and a.W is not None:
        W_ = np.array(a.W, dtype=V.dtype, copy=True)
    if not a.update_H and a.H is not None:
        H_ = np.array(a.H, dtype=V.dtype, copy=True)
    return NMFDResult(W=W_, H=H_, n_iter=n_iter, losses=np.asarray(losses, dtype=np.float64),
                      loss=final, beta=beta)


@dataclasses.dataclass
class _Args:
    """Validated arguments of :func:`nmfd` (``W_``, ``H_``: working copies or None)."""

    K: int
    L: int
    W: np.ndarray
    H: np.ndarray
    W_: np.ndarray
    H_: np.ndarray
    update_W: bool
    update_H: bool
    max_iter: int
    tol: float
    loss_every: int
    lam: np.ndarray
    rng: np.random.Generator


def _check_args(V, n_components, n_lags, W, H, update_W, update_H, max_iter, tol, loss_every,
                sparsity, random_state):
    """Validate the arguments of :func:`nmfd` (V already checked) in the documented order."""
    dtype = V.dtype
    F, T = V.shape
    if W is not None:
        W = np.asarray(W)
        if W.ndim != 3:
            raise ParameterError(f"W must have shape (n_freq, K, n_lags); got {W.shape}")
    if n_components is None:
        if W is not None:
            n_components = W.shape[1]
        elif H is not None and np.ndim(H) == 2:
            n_components = np.shape(H)[0]
        else:
            raise ParameterError("n_components is required unless W or H is given")
    K = check_positive_int(n_components, "n_components")
    if n_lags is None:
        n_lags = W.shape[2] if W is not None else 8
    L = check_positive_int(n_lags, "n_lags")
    max_iter = check_nonneg_int(max_iter, "max_iter")
    tol = check_finite_float(tol, "tol", low=0.0)
    loss_every = check_positive_int(loss_every, "loss_every")
    for name, flag in (("update_W", update_W), ("update_H", update_H)):
        if not isinstance(flag, (bool, np.bool_)):
            raise ParameterError(f"{name}={flag!r} must be True or False")
    update_W, update_H = bool(update_W), bool(update_H)
    lam = check_weights(sparsity, K, "sparsity")
    rng = make_rng(random_state)
    W_ = H_ = None
    if W is not None:
        if W.shape != (F, K, L):
            raise ParameterError(f"W has shape {W.shape}; expected {(F, K, L)}")
        if not np.all(np.isfinite(W)) or (W < 0).any():
            raise ParameterError("W must be finite and non-negative")
        W_ = np.array(W, dtype=dtype, copy=True)
    elif not update_W:
        raise ParameterError("update_W=False needs the fixed templates W")
    if H is not None:
        H = check_nonnegative_matrix(H, "H")
        if H.shape != (K, T):
            raise ParameterError(f"H has shape {H.shape}; expected {(K, T)}")
        H_ = np.array(H, dtype=dtype, copy=True)
    elif not update_H:
        raise ParameterError("update_H=False needs the fixed activations H")
    return _Args(K, L, W, H, W_, H_, update_W, update_H, max_iter, tol, loss_every, lam, rng)


def _update_H(Vs, Lam, W_, H_, beta, gamma, eps, lam):
    """One multiplicative H update in place (all lags at once)."""
    A, B = _ratios(Vs, Lam, beta, eps)
    num = corr_H(W_, A)
    den = ones_corr_H(W_, Vs.shape[1]) if B is None else corr_H(W_, B)
    if lam is not None:
        den += lam
    ratio = num / np.maximum(den, eps)
    if gamma != 1.0:
        ratio **= gamma
    H_ *= ratio


def _update_W(Vs, Lam, W_, H_, beta, gamma, eps, lam, L):
    """One multiplicative W update in place; under sparsity, templates back to unit L1 norm."""
    dtype = Vs.dtype
    A, B = _ratios(Vs, Lam, beta, eps)
    num = corr_W(A, H_, L)
    if B is None:
        den = corr_W(np.ones((1, Vs.shape[1]), dtype=dtype), H_, L)  # row sums of shifted H
    else:
        den = corr_W(B, H_, L)
    ratio = num / np.maximum(den, eps)
    if gamma != 1.0:
        ratio **= gamma
    W_ *= ratio
    if lam is not None:
        norms = W_.sum(axis=(0, 2))
        norms = np.where(norms > eps, norms, 1.0).astype(dtype)
        W_ /= norms[None, :, None]
        H_ *= norms[:, None]


def _solve(V, a, beta, callback=None):
    """The iterations of :func:`nmfd` on validated arguments: ``(W, H, n_iter, losses, loss)``."""
    dtype = V.dtype
    F, T = V.shape
    K, L, W_, H_, rng = a.K, a.L, a.W_, a.H_, a.rng
    Vs, scale, eps = scaled_data(V, beta)
    if W_ is None:
        W_ = rng.random((F, K, L)).astype(dtype) + dtype.type(0.1)
        W_ /= W_.sum(axis=(0, 2), keepdims=True)
    if H_ is None:
        H_ = rng.random((K, T)).astype(dtype)
        Lam = conv(W_, H_)
        H_ *= dtype.type(Vs.mean() / max(float(Lam.mean()), eps))
    else:
        H_ /= dtype.type(scale)
    lam = None if a.lam is None else a.lam.astype(dtype)
    gamma = mm_exponent(beta)
    loss_scale = scale ** beta

    def objective(Lam):
        value = divergence(Vs, Lam, beta, eps)
        if lam is not None:
            value += float(np.sum(lam * H_, dtype=np.float64))
        return value * loss_scale

    Lam = conv(W_, H_)
    losses = [objective(Lam)]
    prev = losses[0]
    n_iter = 0
    for it in range(1, a.max_iter + 1):
        if not (a.update_W or a.update_H):
            break
        if a.update_H:
            _update_H(Vs, Lam, W_, H_, beta, gamma, eps, lam)
            Lam = conv(W_, H_)
        if a.update_W:
            _update_W(Vs, Lam, W_, H_, beta, gamma, eps, lam, L)
            Lam = conv(W_, H_)
        n_iter = it
        if it % a.loss_every == 0:
            cur = objective(Lam)
            losses.append(cur)
            if callback is not None and callback(it, cur) is True:
                break
            if a.tol > 0 and (prev - cur) < a.tol * prev:
                break
            prev = cur
    final = objective(Lam)
    H_ *= dtype.type(scale)
    return W_, H_, n_iter, losses, final
