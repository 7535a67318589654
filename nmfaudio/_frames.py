"""Frame-by-frame supervised solve with fixed templates (private module).

``V (n_freq, n_frames) ≈ W (n_freq, K) @ H (K, n_frames)`` with ``W`` fixed: every frame
``v_t`` is its own problem ``min_h D_β(v_t | W h)``. This module solves each frame with
arithmetic that depends on that frame only, so that the offline solve, the block-wise
file stream and the real-time processors give *the same bits* for the same frame,
whatever frames share a call:

- no BLAS (OpenBLAS rounds a column differently depending on how many columns share a
  call) and no ``fastmath`` (no reassociation, no contraction into FMAs): the products
  are plain loops in a fixed order — ``W h`` with frequency innermost (an axpy per
  template, vectorised over frequency), ``Wᵀ r`` with templates innermost (an axpy per
  bin, vectorised over templates), both over the row-major ``W``;
- each frame is scaled by its own mean before solving (the β-divergence is homogeneous,
  so this only makes the ``eps`` floors relative to the frame), and starts from
  ``h = Σ_f v_f / K`` (:func:`nmfaudio.supervised.frame_init`);
- the accelerated mode is :class:`._accel._FrameRelaxed`'s rule applied to one frame:
  the step ``h ⊙ q^(γ α)`` is kept when it lowered the frame's loss by more than
  ``8 ε`` times the size of the loss's terms, else the plain step ``h ⊙ q^γ`` (which never
  increases the loss) replaces it and α restarts at 1; α grows ×1.3 up to 5.

Losses are accumulated in float64; products, ratios and iterates stay in ``W``'s dtype.
"""

from __future__ import annotations

import numba
import numpy as np

from ._numerics import gamma as _gamma

__all__ = ["FrameSolver"]

ALPHA_MAX = 5.0
GROW = 1.3

# kinds of β with their own elementwise code
_KL, _IS, _EUC, _HALF, _GENERAL = 0, 1, 2, 3, 4


def _kind(beta):
    return {1.0: _KL, 0.0: _IS, 2.0: _EUC, 0.5: _HALF}.get(float(beta), _GENERAL)


@numba.njit(cache=True, nogil=True)
def _constants(v, kind, beta):
    """The parts of the frame's loss that do not depend on ``W h`` (float64)."""
    c1 = 0.0
    c2 = 0.0
    for f in range(v.shape[0]):
        vd = np.float64(v[f])
        if kind == 0:  # KL: Σ v log v, Σ v
            if vd > 0.0:
                c1 += vd * np.log(vd)
            c2 += vd
        elif kind == 3:  # β = 1/2: Σ √v
            c1 += np.sqrt(vd)
        elif kind == 4:  # Σ v^β
            c1 += vd ** beta
    return c1, c2


@numba.njit(cache=True, nogil=True)
def _elementwise(v, wh, r, b, kind, beta, eps, c1, c2):
    """Floor ``wh`` at eps, write the update operands ``r`` (and ``b``), and return the
    frame's loss and the size of its terms (for the rounding bound). The float32 work is
    in plain loops (vectorised); the sums are float64."""
    F = v.shape[0]
    for f in range(F):
        if wh[f] < eps:
            wh[f] = eps
    loss = 0.0
    size = 0.0
    if kind == 0:  # KL: r = v / wh, den = W^T 1
        for f in range(F):
            r[f] = v[f] / wh[f]
        s_log = 0.0
        s_wh = 0.0
        for f in range(F):
            if v[f] > 0.0:
                s_log += np.float64(v[f]) * np.log(np.float64(wh[f]))
            s_wh += np.float64(wh[f])
        loss = c1 - s_log - c2 + s_wh
        size = abs(c1) + abs(s_log) + c2 + s_wh
    elif kind == 1:  # IS: b = 1 / wh, r = v / wh^2
        for f in range(F):
            ib = 1.0 / wh[f]
            b[f] = ib
            r[f] = v[f] * ib * ib
        for f in range(F):
            q = np.float64(v[f]) / np.float64(wh[f])
            lq = np.log(q)
            loss += q - lq - 1.0
            size += q + abs(lq) + 1.0
    elif kind == 2:  # Euclidean: r = v, b = wh
        for f in range(F):
            r[f] = v[f]
            b[f] = wh[f]
        for f in range(F):
            vd = np.float64(v[f])
            xd = np.float64(wh[f])
            d = vd - xd
            loss += 0.5 * d * d
            size += 0.5 * (vd * vd + xd * xd) + abs(vd * xd)
    else:  # (v^β + (β−1) x^β − β v x^(β−1)) / (β(β−1)), with x^β = x·b and v x^(β−1) = v·b
        if kind == 3:  # β = 1/2: b = wh^-1/2 by a square root instead of a power
            for f in range(F):
                ib = 1.0 / np.sqrt(wh[f])
                b[f] = ib
                r[f] = v[f] * ib / wh[f]
        else:
            for f in range(F):
                xb1 = wh[f] ** (beta - 1.0)
                b[f] = xb1
                r[f] = v[f] * xb1 / wh[f]
        s_x = 0.0
        s_v = 0.0
        for f in range(F):
            s_x += np.float64(wh[f] * b[f])
            s_v += np.float64(v[f] * b[f])
        div = beta * (beta - 1.0)
        t2 = (beta - 1.0) * s_x
        t3 = -beta * s_v
        loss = (c1 + t2 + t3) / div
        size = (abs(c1) + abs(t2) + abs(t3)) / abs(div)
    return loss, size


# The two products run with reassociation and contraction (FMA) allowed: that makes LLVM
# vectorise the row dot products, and it cannot make a frame's result depend on other frames —
# the same compiled loop runs over the same K or F elements for every frame, whatever the call.
@numba.njit(cache=True, nogil=True, fastmath={"reassoc", "contract"})
def _products_wh(W, h, wh):
    """``wh = W h``, one dot product per row of the row-major ``W``."""
    F, K = W.shape
    for f in range(F):
        row = W[f]
        x = wh.dtype.type(0.0)
        for k in range(K):
            x += row[k] * h[k]
        wh[f] = x


@numba.njit(cache=True, nogil=True, fastmath={"contract"})
def _products_t(W, Wsum, r, b, num, den, kind):
    """``num = Wᵀ r`` and ``den = Wᵀ b`` (KL: ``Wᵀ 1``), one axpy per row of ``W``."""
    F, K = W.shape
    for k in range(K):
        num[k] = 0.0
    if kind == 0:
        for f in range(F):
            rf = r[f]
            row = W[f]
            for k in range(K):
                num[k] += row[k] * rf
        for k in range(K):
            den[k] = Wsum[k]
    else:
        for k in range(K):
            den[k] = 0.0
        for f in range(F):
            rf = r[f]
            bf = b[f]
            row = W[f]
            for k in range(K):
                wfk = row[k]
                num[k] += wfk * rf
                den[k] += wfk * bf


@numba.njit(cache=True, nogil=True)
def _pass(W, Wt, Wsum, v, h, wh, r, b, num, den, kind, beta, eps, c1, c2):
    """Statistics of the H update at ``h`` (``num``, ``den``) and the frame's loss and the
    size of its terms (for the rounding bound); ``wh``, ``r``, ``b`` are scratch."""
    _products_wh(W, h, wh)
    loss, size = _elementwise(v, wh, r, b, kind, beta, eps, c1, c2)
    _products_t(W, Wsum, r, b, num, den, kind)
    return loss, size


@numba.njit(cache=True, nogil=True)
def _quotient(num, den, q, eps):
    """``q = num / max(den, eps)``: the plain rule's quotient."""
    for k in range(q.shape[0]):
        d = den[k]
        if d < eps:
            d = eps
        q[k] = num[k] / d


@numba.njit(cache=True, nogil=True)
def _step(h, h_old, q, expo, tiny):
    """``h ← h_old ⊙ q^expo``, values below ``tiny`` flushed to 0."""
    for k in range(h.shape[0]):
        x = h_old[k] * q[k] ** expo
        h[k] = x if x >= tiny else 0.0


@numba.njit(cache=True, nogil=True)
def _solve_frame(W, Wt, Wsum, v, h, h_old, q, wh, r, b, num, den, kind, beta, gam, max_iter,
                 accelerate, eps, tol_factor, tiny):
    c1, c2 = _constants(v, kind, beta)
    """Solve one (scaled) frame ``v`` from the activations in ``h``; returns its loss."""
    dt = W.dtype.type
    loss, size = _pass(W, Wt, Wsum, v, h, wh, r, b, num, den, kind, beta, eps, c1, c2)
    alpha = 1.0
    for it in range(max_iter):
        _quotient(num, den, q, eps)
        for k in range(h.shape[0]):
            h_old[k] = h[k]
        expo = dt(gam * alpha) if accelerate else dt(gam)
        _step(h, h_old, q, expo, tiny)
        trial, tsize = _pass(W, Wt, Wsum, v, h, wh, r, b, num, den, kind, beta, eps, c1, c2)
        if accelerate:
            sure = loss - trial > tol_factor * tsize
            if alpha > 1.0 and not sure:
                _step(h, h_old, q, dt(gam), tiny)
                trial, tsize = _pass(W, Wt, Wsum, v, h, wh, r, b, num, den, kind, beta, eps, c1, c2)
            alpha = min(alpha * GROW, ALPHA_MAX) if sure else 1.0
        loss = trial
    return loss


@numba.njit(cache=True, nogil=True)
def solve_frames(V, W, Wt, Wsum, H, losses, kind, beta, gam, max_iter, accelerate, eps, tol_factor):
    """Solve every frame of ``V (F, T)`` into ``H (K, T)``; ``losses[t]`` gets the frame's final
    β-divergence in V's units. Silent (or non-finite-mean) frames get ``h = 0``."""
    F, T = V.shape
    K = W.shape[1]
    dt = W.dtype.type
    tiny = dt(np.finfo(W.dtype).tiny)
    v = np.empty(F, W.dtype)
    wh = np.empty(F, W.dtype)
    r = np.empty(F, W.dtype)
    b = np.empty(F, W.dtype)
    num = np.empty(K, W.dtype)
    den = np.empty(K, W.dtype)
    q = np.empty(K, W.dtype)
    h = np.empty(K, W.dtype)
    h_old = np.empty(K, W.dtype)
    for t in range(T):
        total = 0.0
        for f in range(F):
            total += np.float64(V[f, t])
        scale = total / F
        if not (scale > 0.0) or not np.isfinite(scale):
            for k in range(K):
                H[k, t] = 0.0
            losses[t] = 0.0
            continue
        s = dt(scale)
        vsum = 0.0
        for f in range(F):
            x = V[f, t] / s
            if kind == 1 and x < eps:  # IS needs v > 0
                x = eps
            v[f] = x
            vsum += np.float64(x)
        h0 = dt(vsum / K)
        for k in range(K):
            h[k] = h0
        loss = _solve_frame(W, Wt, Wsum, v, h, h_old, q, wh, r, b, num, den, kind, beta, gam,
                            max_iter, accelerate, eps, tol_factor, tiny)
        for k in range(K):
            H[k, t] = h[k] * s
        losses[t] = loss * scale ** beta
    return 0


class FrameSolver:
    """Fixed templates ``W (n_freq, K)`` and the solve's settings, ready for frames.

    ``solve(V) -> (H, losses)`` with ``V (n_freq, n_frames)``: the result for a frame depends
    on that frame only (see the module docstring). ``n_threads > 1`` splits the frames over
    threads (the kernel releases the GIL); the split does not change any result.
    """

    def __init__(self, W, *, beta, max_iter, accelerate):
        W = np.asarray(W)
        self.dtype = W.dtype if W.dtype in (np.float32, np.float64) else np.dtype(np.float64)
        self.W = np.ascontiguousarray(W, dtype=self.dtype)
        self.Wt = np.ascontiguousarray(self.W.T)
        self.Wsum = self.W.sum(axis=0)
        self.beta = float(beta)
        self.kind = _kind(self.beta)
        self.gamma = _gamma(self.beta)
        self.max_iter = int(max_iter)
        self.accelerate = bool(accelerate)
        self.eps = self.dtype.type(np.finfo(self.dtype).eps)
        self.tol_factor = 8.0 * float(np.finfo(self.dtype).eps)

    def solve_into(self, V, H, losses):
        """Solve the frames of ``V (F, T)`` (this solver's dtype) into ``H (K, T)`` and
        ``losses (T,)`` (float64), both preallocated."""
        solve_frames(V, self.W, self.Wt, self.Wsum, H, losses, self.kind, self.beta, self.gamma,
                     self.max_iter, self.accelerate, self.eps, self.tol_factor)

    def solve(self, V, *, n_threads=1):
        """``(H (K, T), losses (T,))`` for ``V (F, T)``."""
        V = np.asarray(V, dtype=self.dtype)
        T = V.shape[1]
        H = np.empty((self.W.shape[1], T), self.dtype)
        losses = np.empty(T, np.float64)
        n_threads = max(1, min(int(n_threads), T // 8))
        if n_threads == 1:
            self.solve_into(V, H, losses)
            return H, losses
        from concurrent.futures import ThreadPoolExecutor

        edges = np.linspace(0, T, n_threads + 1).round().astype(int)

        def work(a, b):
            Hp = np.empty((H.shape[0], b - a), self.dtype)
            lp = np.empty(b - a, np.float64)
            self.solve_into(np.ascontiguousarray(V[:, a:b]), Hp, lp)
            H[:, a:b] = Hp
            losses[a:b] = lp

        with ThreadPoolExecutor(n_threads) as ex:
            list(ex.map(work, edges[:-1], edges[1:]))
        return H, losses


@numba.njit(cache=True, nogil=True, fastmath={"reassoc", "contract"})
def source_models(W, H, edges, out):
    """``out[s, :, t] = W[:, a:b] @ H[a:b, t]`` for each source ``s`` with templates
    ``edges[s]:edges[s + 1]``: the per-source models of a few frames, without BLAS (whose
    threads cost more than the product for a block of frames). ``W (F, K)`` row-major,
    ``H (K, T)``, ``out (S, F, T)``."""
    F, K = W.shape
    T = H.shape[1]
    h = np.empty(K, W.dtype)
    for t in range(T):
        for k in range(K):
            h[k] = H[k, t]
        for s in range(edges.shape[0] - 1):
            a, b = edges[s], edges[s + 1]
            for f in range(F):
                row = W[f]
                x = W.dtype.type(0.0)
                for k in range(a, b):
                    x += row[k] * h[k]
                out[s, f, t] = x
