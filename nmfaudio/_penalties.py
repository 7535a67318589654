"""Penalty terms on the activations for :func:`nmfaudio.nmf` (private module).

Orientation as everywhere in nmfaudio: ``V`` is ``(n_freq, n_frames)``, ``W``
``(n_freq, K)``, ``H`` ``(K, n_frames)``.

Temporal continuity (after Virtanen 2007) penalises frame-to-frame changes of
each activation row::

    C(H) = Σ_k μ_k Σ_{t ≥ 1} (H[k, t] − H[k, t−1])²

Virtanen divides each row's term by its mean square; that makes the cost
scale-invariant but leaves only a heuristic update. Here the scale is pinned
instead by :func:`nmf` (``V`` scaled to mean 1, learned columns of ``W``
renormalised to unit L1 norm), which keeps the penalty quadratic and gives an
exact majorise-minimise (MM) update:

- the data term is majorised as usual (Jensen for β = 1, Lee–Seung's diagonal
  bound for β = 2);
- ``Σ deg_t h_t²`` is kept as it is (separable);
- each cross term ``−2 μ h_t h_s`` is majorised through the concavity of
  ``u ↦ −exp(u)`` in ``u = log h_t + log h_s``, i.e.
  ``−h_t h_s ≤ −ĥ_t ĥ_s (1 + log(h_t/ĥ_t) + log(h_s/ĥ_s))``.

The resulting auxiliary function is separable in the entries of H and each
entry's minimiser is the positive root of a quadratic, so for β ∈ {1, 2} the
penalised loss (data + L1 sparsity + continuity) never increases while W is
fixed. Other β use the usual ratio-of-gradient-parts heuristic (no guarantee).
"""

from __future__ import annotations

import numpy as np

from ._checks import check_finite_float
from .exceptions import ParameterError


def check_weights(value, K, name):
    """Return None (no penalty) or a (K, 1) float64 array of non-negative weights."""
    if np.ndim(value) == 0:
        w = check_finite_float(value, name, low=0.0)
        return None if w == 0 else np.full((K, 1), w)
    arr = np.asarray(value, dtype=float)
    if arr.shape != (K,):
        raise ParameterError(f"{name} has shape {arr.shape}; expected a scalar or shape ({K},)")
    if not np.all(np.isfinite(arr)) or (arr < 0).any():
        raise ParameterError(f"{name} weights must be finite and >= 0; got {arr.tolist()!r}")
    return None if not arr.any() else arr[:, None].copy()


def continuity_cost(H, mu) -> float:
    """``Σ_k μ_k Σ_t (H[k, t] − H[k, t−1])²`` for ``H (K, n_frames)`` and ``mu (K, 1)``."""
    if H.shape[1] < 2:
        return 0.0
    d = np.diff(H.astype(np.float64, copy=False), axis=1)
    return float(np.sum(mu * d * d))


def _neighbours(H):
    """``(H[:, t−1] + H[:, t+1], deg_t)`` with missing neighbours counted as absent."""
    K, T = H.shape
    S = np.zeros_like(H)
    S[:, 1:] += H[:, :-1]
    S[:, :-1] += H[:, 1:]
    deg = np.full((1, T), 2.0, dtype=H.dtype)
    deg[0, 0] -= 1
    deg[0, -1] -= 1
    if T == 1:
        deg[:] = 0
    return S, deg


def update_H_penalized(V, W, H, WH, beta, gamma, eps, lam, mu):
    """One penalised update of ``H (K, n_frames)`` in place (W fixed). ``WH`` must equal ``W @ H``.

    ``lam`` (K, 1) or None: L1 weights; ``mu`` (K, 1): continuity weights.
    For β ∈ {1, 2} this is the exact MM step (loss non-increasing); otherwise a
    heuristic multiplicative step.
    """
    S, deg = _neighbours(H)
    b = mu * deg                                # coefficient of h² in the penalty
    cross = (2.0 * mu) * H * S                  # ĥ_t · 2μ (ĥ_{t−1} + ĥ_{t+1})
    if beta == 1.0:
        R = np.maximum(WH, eps)
        np.divide(V, R, out=R)
        C = H * (W.T @ R) + cross               # minimise a h + b h² − C log h
        a = np.broadcast_to(W.sum(axis=0)[:, None], H.shape)
        if lam is not None:
            a = a + lam
        root = np.sqrt(a * a + 8.0 * b * C)
        new = 2.0 * C / np.maximum(a + root, eps)
    elif beta == 2.0:
        P = ((W.T @ W) @ H) / np.maximum(H, eps) + 2.0 * b   # minimise ½p h² − q h − C log h
        q = W.T @ V
        if lam is not None:
            q = q - lam
        root = np.sqrt(q * q + 4.0 * P * cross)
        # Stable roots of p h² − q h − C = 0.
        new = np.where(q >= 0, (q + root) / np.maximum(2.0 * P, eps),
                       2.0 * cross / np.maximum(root - q, eps))
    else:
        WHs = np.maximum(WH, eps)
        B = WHs ** (beta - 1.0)
        A = B / WHs
        A *= V
        num = W.T @ A + 2.0 * mu * S
        den = W.T @ B + 2.0 * b * H
        if lam is not None:
            den = den + lam
        ratio = num / np.maximum(den, eps)
        if gamma != 1.0:
            ratio **= gamma
        new = H * ratio
    np.nan_to_num(new, copy=False, nan=0.0, posinf=0.0)
    H[...] = new
