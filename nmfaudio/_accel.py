"""Accelerated multiplicative updates behind ``nmf(..., accelerate=True)`` (private module).

- β = 2: Gillis & Glineur's accelerated MU (repeated updates of one factor reusing
  ``WᵀV``/``WᵀW`` or ``V Hᵀ``/``H Hᵀ``).
- β ≠ 2, learning W: :class:`_Relaxed`, over-relaxed steps ``X ⊙ ratio^α`` with a
  safeguard on the total loss.
- β ≠ 2, W fixed: :class:`_FrameRelaxed`, the same steps with one α and one
  safeguard per frame. With fixed templates every frame is its own problem, so each
  frame's loss is non-increasing and a frame's result does not depend on the others
  (what block-wise streaming needs).

Orientation as everywhere: ``V (n_freq, n_frames) ≈ W (n_freq, K) @ H (K, n_frames)``.
"""

from __future__ import annotations

import numpy as np

from ._mu import _normalize_free_columns


def _inner_H_euclidean(V, W, H, eps, n_inner, delta, lam=None):
    """Accelerated MU (Gillis & Glineur 2012): repeated H updates reusing WᵀV and WᵀW."""
    WtV = W.T @ V
    WtW = W.T @ W
    first = None
    for _ in range(n_inner):
        den = WtW @ H
        if lam is not None:
            den += lam
        ratio = np.divide(WtV, np.maximum(den, eps))
        H_old = H.copy()
        H *= ratio
        change = float(np.linalg.norm(H - H_old))
        if first is None:
            first = change
        elif change <= delta * first:
            break


def _inner_W_euclidean(V, W, H, eps, n_inner, delta, free):
    """Accelerated MU for W: repeated updates reusing V Hᵀ and H Hᵀ; fixed columns untouched."""
    Hf = H if free is None else H[free]
    VHt = V @ Hf.T
    HHt = H @ Hf.T
    first = None
    for _ in range(n_inner):
        ratio = np.divide(VHt, np.maximum(W @ HHt, eps))
        if free is None:
            W_old = W.copy()
            W *= ratio
            change = float(np.linalg.norm(W - W_old))
        else:
            W_old = W[:, free]
            W[:, free] = W_old * ratio
            change = float(np.linalg.norm(W[:, free] - W_old))
        if first is None:
            first = change
        elif change <= delta * first:
            break


class _Relaxed:
    """Accelerated MU for β ≠ 2: over-relaxed multiplicative steps with a monotone safeguard.

    Each factor takes the step ``X ⊙ ratio^α`` (``ratio`` the MM ratio of the plain
    rule, α ≥ 1). The loss of the trial point comes for free from the pass that
    computes the statistics of the next update (same ``W H``). If it went down by more
    than its rounding bound, the step is kept and α grows (×``GROW``, up to
    ``ALPHA_MAX``); otherwise the plain MM step (α = 1, which never increases the loss)
    replaces it and α restarts at 1. So the loss is non-increasing, one step costs the four
    products of a plain iteration plus a log pass (plus one more pass after a
    rejected trial). With a fixed W (or H) nothing else can be reused for β ≠ 2:
    unlike the Euclidean case, ``W H`` changes with each inner step.
    """

    ALPHA_MAX = 5.0
    GROW = 1.3

    def __init__(self, engine, update_H, learn_W, lam, free, eps):
        self.e, self.update_H, self.learn_W = engine, update_H, learn_W
        self.lam, self.free, self.eps = lam, free, eps
        self.aH = self.aW = 1.0
        if update_H:
            self.loss = engine.h_stats(want_loss=True)
            self.w_ready = False
        else:
            self.loss = engine.w_stats(want_loss=True)
            self.w_ready = True

    def _next_stats(self, after):
        """Loss of the current factors, from the pass computing the next update's statistics."""
        e = self.e
        if after == "H" and self.learn_W:
            self.w_ready = True
            return e.w_stats(want_loss=True)
        if self.update_H:
            return e.h_stats(want_loss=True)
        self.w_ready = True
        return e.w_stats(want_loss=True)

    def _judge(self, trial, alpha):
        """(keep the step, it surely lowered the loss): the plain step (α = 1) is always
        kept; an over-relaxed one only if it lowered the loss by more than the rounding
        bound of the loss (see :class:`_FrameRelaxed`)."""
        sure = self.loss - trial > float(self.e.loss_tol().sum())
        return alpha == 1.0 or sure, sure

    def __call__(self):
        e = self.e
        if self.update_H:
            H_old = e.H.copy()
            ratio = e.update_H(self.aH).copy()  # the buffer is reused by the next pass
            trial = self._next_stats("H")
            keep, sure = self._judge(trial, self.aH)
            if keep:
                self.loss = trial
                self.aH = min(self.aH * self.GROW, self.ALPHA_MAX) if sure else 1.0
            else:
                np.multiply(H_old, ratio, out=e.H)
                self.aH = 1.0
                self.loss = self._next_stats("H")
        if self.learn_W:
            if not self.w_ready:
                e.w_stats()
            self.w_ready = False
            W_old = e.W.copy()
            H_old = e.H.copy() if self.lam is not None else None
            ratio = e.update_W(self.aW, stats=True).copy()
            if self.lam is not None:
                _normalize_free_columns(e.W, e.H, self.free, self.eps)
            trial = self._next_stats("W")
            keep, sure = self._judge(trial, self.aW)
            if keep:
                self.loss = trial
                self.aW = min(self.aW * self.GROW, self.ALPHA_MAX) if sure else 1.0
            else:
                cols = slice(None) if self.free is None else self.free
                e.W[:, cols] = W_old[:, cols] * ratio
                if H_old is not None:
                    e.H[...] = H_old
                    _normalize_free_columns(e.W, e.H, self.free, self.eps)
                self.aW = 1.0
                self.loss = self._next_stats("W")


class _FrameRelaxed:
    """Over-relaxed H steps with fixed W (β ≠ 2), safeguarded frame by frame.

    Frame t takes ``h_t ⊙ q_t^(γ α_t)`` with ``q_t`` the quotient of the plain rule
    (``q^γ``, α = 1, is the plain MM step, which never increases the loss). The loss of
    every frame at the trial point comes from the pass that computes the next step's
    statistics. An over-relaxed step (α > 1) is kept only if it lowered the frame's loss
    by more than the rounding bound of that loss (:meth:`_Engine.loss_tol`; in float32 the
    loss is a difference of much larger sums, so a smaller "decrease" can be noise);
    otherwise the frame takes the plain step instead (its statistics are recomputed on
    those frames only) and restarts at α = 1. α grows (×``GROW`` up to ``ALPHA_MAX``)
    only after a step that lowered the loss by more than that bound, so frames whose
    changes are already at rounding level keep taking plain steps.
    Costs per step: the products of a plain step, a loss pass (a fused log for KL and IS),
    plus the recomputation for the rejected frames.
    """

    ALPHA_MAX = 5.0
    GROW = 1.3

    def __init__(self, engine):
        self.e, self.gamma = engine, engine.gamma
        engine.h_stats(want_loss=True)
        self.loss_t = engine.loss_cols()
        self.alpha = np.ones(engine.shape[1])
        self.tiny = engine.H.dtype.type(np.finfo(engine.H.dtype).tiny)

    @property
    def loss(self):
        return float(self.loss_t.sum())

    def __call__(self):
        e, H, dt = self.e, self.e.H, self.e.H.dtype
        q = np.divide(e.numH, np.maximum(e.h_den(), e.eps))  # the plain rule's quotient
        H_old = H.copy()
        expo = (self.gamma * self.alpha).astype(dt)
        e.k.mul_flush(H, np.power(q, expo[None, :]), self.tiny)
        e.h_stats(want_loss=True)
        trial, tol = e.loss_cols(), e.loss_tol()
        gain = self.loss_t - trial
        sure = gain > tol
        bad = (self.alpha > 1.0) & ~sure
        if bad.any():
            idx = np.flatnonzero(bad)
            step = q[:, idx]
            if self.gamma != 1.0:
                step **= dt.type(self.gamma)
            Hb = H_old[:, idx]
            e.k.mul_flush(Hb, step, self.tiny)
            H[:, idx] = Hb
            trial[idx] = e.h_stats_cols(idx)
        self.alpha = np.where(sure, np.minimum(self.alpha * self.GROW, self.ALPHA_MAX), 1.0)
        self.loss_t = trial
