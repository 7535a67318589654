"""The linear operators of convolutive NMF (private module; see :mod:`nmfaudio.nmfd`).

``W (n_freq, K, n_lags)``, ``H (K, n_frames)``; ``shift(H, τ)[:, t] = H[:, t − τ]``
(0 for t < τ).
"""

from __future__ import annotations

import numpy as np


def shifted(H, L):
    """Stack of shifted activations ``(K * n_lags, n_frames)``, row ``k * n_lags + τ`` = shift(H[k], τ)."""
    K, T = H.shape
    out = np.zeros((K, L, T), dtype=H.dtype)
    for tau in range(min(L, T)):
        out[:, tau, tau:] = H[:, :T - tau]
    return out.reshape(K * L, T)


def conv(W, H):
    """``Σ_τ W[:, :, τ] @ shift(H, τ)`` → ``(n_freq, n_frames)``; one matrix product."""
    F, K, L = W.shape
    return W.reshape(F, K * L) @ shifted(H, L)


def corr_H(W, X):
    """``Σ_τ W[:, :, τ]ᵀ @ shift(X, −τ)`` → ``(K, n_frames)`` (the adjoint of :func:`conv` in H)."""
    F, K, L = W.shape
    T = X.shape[1]
    Y = (W.reshape(F, K * L).T @ X).reshape(K, L, T)
    out = np.zeros((K, T), dtype=Y.dtype)
    for tau in range(min(L, T)):
        out[:, :T - tau] += Y[:, tau, tau:]
    return out


def ones_corr_H(W, T):
    """``corr_H(W, ones((n_freq, T)))`` without the product: partial sums of template column sums."""
    F, K, L = W.shape
    c = np.cumsum(W.sum(axis=0), axis=1)              # (K, L): Σ_{τ' ≤ τ} Σ_f W[f, k, τ']
    out = np.empty((K, T), dtype=W.dtype)
    # frame t sees lags τ ≤ T − 1 − t
    reach = np.minimum(T - 1 - np.arange(T), L - 1)
    out[:] = c[:, reach]
    return out


def corr_W(X, H, L):
    """``[X @ shift(H, τ)ᵀ for τ]`` → ``(n_freq, K, n_lags)`` (the adjoint of :func:`conv` in W)."""
    K = H.shape[0]
    return (X @ shifted(H, L).T).reshape(X.shape[0], K, L)
