"""Universal speech model: per-voice template blocks chosen by block sparsity.

After Sun & Mysore, "Universal speech models for speaker independent single channel source
separation" (ICASSP 2013). The bundled ``speech-voices`` model holds one small KL-NMF dictionary
per training voice (``info["blocks"]`` gives each template's voice). With those templates ``U``
and the noise templates ``W_n`` both fixed, the activations of ``V ≈ [U W_n] H`` (frequency
first) are found under the block-sparsity penalty

    λ Σ_g log(ε u + ‖H_g‖₁),     u = Σ V / (mean(V) · G),

on the blocks ``H_g`` of U's rows (``G`` blocks), so that a recording is explained by the few
voices it resembles instead of by all of them. Its multiplicative update adds
``λ u / (ε u + ‖H_g‖₁)`` to the KL denominator of block ``g``'s rows: an L1 weight per
template, reweighted every iteration (the penalty is majorised by its tangent). The data are
scaled to ``mean(V) = 1`` as in :func:`nmfaudio.nmf`, so λ means the same at any level;
λ = 1 makes the penalty pull at an average block as hard as the data term.

:func:`nmfaudio.denoise` fits this model beside its own (free speech templates learned on the
input) and masks with the geometric mean of the two models (:func:`combine`).
"""

from __future__ import annotations

import numpy as np

MODEL = "speech-voices"
#: ε of the penalty, relative to an average block's activation mass.
EPS = 1e-3
#: Every PRUNE_EVERY iterations, voice blocks below PRUNE_SHARE of the voice model's mass are
#: dropped from the fit (set to zero): the penalty has emptied them, and the products shrink.
#: 5 instead of 10: the same model to 2e-7 (relative), the fit ~25 % faster.
PRUNE_EVERY = 5
PRUNE_SHARE = 1e-4
#: The voice model is dropped when its speech is below this share of the free model's (the two
#: disagree on how much speech there is; on the tune part the least share was 0.45 at λ 0.4).
MIN_SHARE = 0.25


def templates(params, sr, dtype=np.float32):
    """``(U (F, K), groups (K,))``: the voice templates at the bins of ``params`` (unit sum)
    and each template's voice index."""
    from .models import load_model, model_templates

    groups = np.asarray(load_model(MODEL).info["blocks"], dtype=np.intp)
    return model_templates(MODEL, params, sr).astype(dtype), groups


def penalty_weights(H_U, groups, *, lam, unit, eps=EPS):
    """The penalty's L1 weight per template of ``U`` at activations ``H_U (K_U, T)``."""
    block = np.bincount(groups, weights=H_U.sum(axis=1, dtype=np.float64), minlength=int(groups.max()) + 1)
    return (lam * unit / (eps * unit + block))[groups]


def fit(V, U, groups, Wn, *, lam, max_iter, eps=EPS, speech=None):
    """Activations of ``V (F, T) ≈ [U Wn] H`` (KL, templates fixed) under the block penalty.

    ``V`` is frequency first (channels side by side along time); the penalty's unit ``u`` is
    ``speech`` (a speech mass on the scale of ``V``, e.g. the free model's) over the blocks, or
    without it the whole of ``V``'s. Blocks emptied by the penalty leave the products
    (:data:`PRUNE_EVERY`, :data:`PRUNE_SHARE`); their rows of H are zero.

    Returns ``(H (K_U + K_n, T), weights (K_U,))``: H on the scale of ``V`` and the final
    L1 weight of each voice template (in the units of :func:`nmfaudio.nmf`'s ``sparsity``;
    ``λ / ε`` for a dropped block).
    """
    dtype = V.dtype
    Ku, K = U.shape[1], U.shape[1] + Wn.shape[1]
    scale = float(np.mean(V, dtype=np.float64))
    if not scale > 0:  # silence: nothing to explain
        return np.zeros((K, V.shape[1]), dtype), np.zeros(Ku)
    X = V / dtype.type(scale)
    G = int(groups.max()) + 1
    unit = float(X.sum(dtype=np.float64) if speech is None else speech / scale) / G
    live = np.arange(K)  # columns still in the model: voice blocks that carry mass, then the noise
    W = np.ascontiguousarray(np.concatenate([U, Wn], axis=1), dtype=dtype)
    H = np.repeat((X.sum(axis=0, keepdims=True) / K).astype(dtype), K, axis=0)
    den = W.sum(axis=0)[:, None].astype(dtype)
    tiny = np.finfo(dtype).tiny
    w = np.full(Ku, lam / eps if lam > 0 else 0.0)
    from ._kernels import kl_ratio

    R = np.empty_like(X)            # W H, then X / W H, in place
    num_buf = np.empty_like(H)      # W^T R; its first rows while blocks are pruned
    for it in range(max_iter):
        nu = int(np.count_nonzero(live < Ku))
        np.matmul(W, H, out=R)
        kl_ratio(X, R, tiny)        # R = X / max(W H, tiny)
        num = num_buf[:H.shape[0]]
        np.matmul(W.T, R, out=num)
        d = den
        if lam > 0 and unit > 0 and nu:  # (nu = 0: every voice block pruned, the noise alone left)
            wl = penalty_weights(H[:nu], groups[live[:nu]], lam=lam, unit=unit, eps=eps)
            w[live[:nu]] = wl
            d = den.copy()
            d[:nu] += wl[:, None].astype(dtype)
        np.divide(num, np.maximum(d, tiny), out=num)
        H *= num
        if lam > 0 and (it + 1) % PRUNE_EVERY == 0 and nu:
            # a block the penalty has all but emptied cannot come back (its weight is ~λ/ε):
            # drop it from the products
            g = groups[live[:nu]]
            mass = np.bincount(g, weights=H[:nu].sum(axis=1, dtype=np.float64), minlength=G)
            keep = np.concatenate([mass[g] >= PRUNE_SHARE * max(mass.sum(), tiny), np.ones(K - Ku, bool)])
            if not keep.all():
                live, W, H, den = live[keep], np.ascontiguousarray(W[:, keep]), H[keep], den[keep]
                w[np.setdiff1d(np.arange(Ku), live[live < Ku])] = lam / eps
    full = np.zeros((K, X.shape[1]), dtype)
    full[live] = H * dtype.type(scale)
    return full, w


def active(H_U, groups, U, share=1e-3):
    """Templates of the voice blocks carrying at least ``share`` of the speech model's mass."""
    mass = np.bincount(groups, weights=(H_U.astype(np.float64) * U.sum(axis=0)[:, None]).sum(axis=1),
                       minlength=int(groups.max()) + 1)
    keep = mass >= share * max(mass.sum(), np.finfo(np.float64).tiny)
    return keep[groups]


def frame_model(Vs, Wn, *, lam, max_iter, params, sr, speech=None):
    """The voice model fitted on ``Vs`` for frame-by-frame use: ``(W, n_speech, sparsity)`` with
    the blocks in use (:func:`active`), then ``Wn``; the voice templates' L1 weights are the
    penalty's at the fit, the noise's zero. None if it :func:`collapsed` (``speech``: the free
    model's speech mass on ``Vs``, also the penalty's unit)."""
    U, groups = templates(params, sr, Vs.dtype)
    H, w = fit(Vs, U, groups, Wn.astype(Vs.dtype), lam=lam, max_iter=max_iter, speech=speech)
    Ku = U.shape[1]
    if speech is not None and collapsed(float(U.sum(axis=0) @ H[:Ku].sum(axis=1)), speech):
        return None
    keep = active(H[:Ku], groups, U)
    W = np.concatenate([U[:, keep], Wn.astype(Vs.dtype)], axis=1)
    return W, int(keep.sum()), np.concatenate([w[keep], np.zeros(Wn.shape[1])])


def combine(est_a, est_b):
    """Geometric mean of two models' estimates ``(2, ..., F, T)`` (clean first): its soft mask
    has the log ratio clean/noise averaged over the two models, at any mask power."""
    return np.sqrt(est_a * est_b, dtype=est_a.dtype)


def with_voices(Vs, Wn, est, *, lam, max_iter, params, sr, lead, n_frames, speech=None):
    """``est`` combined with the voice model fitted on ``Vs (F, T)`` (channels side by side,
    as :func:`nmfaudio.separation.stack_channels` gives them) with the noise templates ``Wn``."""
    from .masking import source_estimates

    U, groups = templates(params, sr, Vs.dtype)
    H, _ = fit(Vs, U, groups, Wn.astype(Vs.dtype), lam=lam, max_iter=max_iter, speech=speech)
    labels = (np.arange(U.shape[1] + Wn.shape[1]) >= U.shape[1]).astype(int)
    est_v = source_estimates(np.concatenate([U, Wn.astype(Vs.dtype)], axis=1), H, labels, 2,
                             lead_shape=lead, n_frames=n_frames)
    if collapsed(est_v[0].sum(dtype=np.float64), est[0].sum(dtype=np.float64)):
        return est
    return combine(est, est_v.astype(est.dtype, copy=False))


def collapsed(voice_speech, free_speech):
    """Has the voice model given much less speech than the free templates found? Then the
    geometric mean would take speech out of the output, so the free model is used alone."""
    return voice_speech < MIN_SHARE * free_speech
