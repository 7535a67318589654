"""Frame-by-frame supervised solve with fixed templates (private module).

``V (n_freq, n_frames) ≈ W (n_freq, K) @ H (K, n_frames)`` with ``W`` fixed: every frame
``v_t`` is its own problem ``min_h D_β(v_t | W h)``. This module solves each frame with
arithmetic that depends on that frame only, so that the offline solve, the block-wise
file stream and the real-time processors give *the same bits* for the same frame,
whatever frames share a call:

- no BLAS (OpenBLAS rounds a column differently depending on how many columns share a
  call): one fused pass over the row-major ``W`` per update, in tiles of rows whose size
  depends on ``W``'s shape only (``W h`` as row dot products, the elementwise operands,
  ``Wᵀ r`` as axpys over the templates, while the tile is in cache). Reassociation and
  FMA contraction are allowed (they let LLVM vectorise): the same compiled loops run over
  the same rows for every frame, so they cannot make a frame depend on other frames;
- frames are frame-major (``V (T, F)``, a frame a row) in :func:`solve_frames`;
- each frame is scaled by its own mean before solving (the β-divergence is homogeneous,
  so this only makes the ``eps`` floors relative to the frame), and starts from
  ``h = Σ_f v_f / K`` (:func:`nmfaudio.supervised.frame_init`);
- the accelerated mode is :class:`._accel._FrameRelaxed`'s rule applied to one frame:
  the step ``h ⊙ q^(γ α)`` is kept when it lowered the frame's loss by more than
  ``8 ε`` times the size of the loss's terms, else the plain step ``h ⊙ q^γ`` (which never
  increases the loss) replaces it and α restarts at 1; α grows ×1.3 up to 5.

Losses are accumulated in float64 (float32 logs by :func:`._kernels.log32`); products,
ratios and iterates stay in ``W``'s dtype.
"""

from __future__ import annotations

import numba
import numpy as np
from numba import types
from numba.extending import overload

from ._frame_products import tile_t, tile_wh, tile_wh_sources
from ._kernels import log32

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


#: Rows of ``W`` per tile of the fused pass: ``W h``, the elementwise operands and ``Wᵀ r``
#: run over one tile while it is in cache, so each pass reads ``W`` from memory once. 128 rows
#: unless that tile would exceed :data:`TILE_BYTES` (half the L2 of the 2-core machine
#: measured). Measured there (``benchmarks/realtime.py``; 20 accelerated iterations, β = 1/2):
#: 2049 bins × 288 templates float32, 16-row tiles 2.1–2.4 ms a frame, 128-row tiles 1.6–1.7 ms;
#: longer tiles mean fewer per-tile loop starts. The row count depends on ``W``'s shape only,
#: and no sum depends on the tiling (rows are added in order), so every frame gets the same bits.
TILE_ROWS = 128
TILE_BYTES = 524288


def tile_rows(W):
    """Rows per tile of the fused pass for the templates ``W (F, K)``."""
    fit = TILE_BYTES // (W.shape[1] * W.itemsize) // 4 * 4
    return int(max(16, min(TILE_ROWS, fit)))


def _log(x):
    """Natural log in float64 of a float in its own precision: float32 by
    :func:`._kernels.log32` (vectorisable, within 2.4e-7 relative of numpy's, as the offline
    float32 passes use), float64 by ``np.log``."""
    return np.log(np.float64(x))


@overload(_log)
def _log_impl(x):
    if x == types.float32:
        return lambda x: np.float64(log32(x))
    return lambda x: np.log(np.float64(x))


# Reassociation and contraction let LLVM vectorise the float64 sums and the ratios; like the
# products' (below) it cannot make a frame's result depend on other frames: tiles always
# start at the same rows, and the same compiled loop runs for every frame.
@numba.njit(cache=True, nogil=True, fastmath={"reassoc", "contract"})
def _tile_elementwise(v, wh, r, b, f0, f1, kind, beta, eps, s1, s2):
    """Rows ``f0:f1``: floor ``wh`` at eps, write the update operands ``r`` (and ``b``) and
    add this tile's terms to the loss's running float64 sums ``(s1, s2)`` (their meaning
    depends on ``kind``, see :func:`_loss`). The sums run over the rows in order, so they
    do not depend on the tiling."""
    one = wh.dtype.type(1.0)
    for f in range(f0, f1):
        wh[f] = max(wh[f], eps)
    if kind == 0:  # KL: r = v / wh, den = W^T 1; sums Σ v log wh, Σ wh
        for f in range(f0, f1):
            r[f] = v[f] / wh[f]
        for f in range(f0, f1):  # v = 0 adds 0 (wh >= eps: its log is finite)
            s1 += np.float64(v[f]) * _log(wh[f])
            s2 += np.float64(wh[f])
    elif kind == 1:  # IS: b = 1 / wh, r = v / wh^2; sums: loss, size
        for f in range(f0, f1):
            ib = one / wh[f]
            b[f] = ib
            r[f] = v[f] * ib * ib
        for f in range(f0, f1):
            q = np.float64(v[f]) / np.float64(wh[f])
            lq = _log(v[f]) - _log(wh[f])
            s1 += q - lq - 1.0
            s2 += q + abs(lq) + 1.0
    elif kind == 2:  # Euclidean: r = v, b = wh; sums: loss, size
        for f in range(f0, f1):
            r[f] = v[f]
            b[f] = wh[f]
        for f in range(f0, f1):
            vd = np.float64(v[f])
            xd = np.float64(wh[f])
            d = vd - xd
            s1 += 0.5 * d * d
            s2 += 0.5 * (vd * vd + xd * xd) + abs(vd * xd)
    else:  # b = wh^(β−1), r = v b / wh; sums Σ wh·b (= x^β), Σ v·b (= v x^(β−1))
        if kind == 3:  # β = 1/2: b = wh^-1/2 by a square root instead of a power
            for f in range(f0, f1):  # in wh's precision (a float64 1.0 would widen it)
                ib = one / np.sqrt(wh[f])
                b[f] = ib
                r[f] = v[f] * ib / wh[f]
        else:
            for f in range(f0, f1):
                xb1 = wh[f] ** (beta - 1.0)
                b[f] = xb1
                r[f] = v[f] * xb1 / wh[f]
        for f in range(f0, f1):
            s1 += np.float64(wh[f] * b[f])
            s2 += np.float64(v[f] * b[f])
    return s1, s2


@numba.njit(cache=True, nogil=True)
def _loss(kind, beta, c1, c2, s1, s2):
    """The frame's loss and the size of its terms (for the rounding bound) from the
    constants :func:`_constants` and the sums of :func:`_tile_elementwise`."""
    if kind == 0:
        return c1 - s1 - c2 + s2, abs(c1) + abs(s1) + c2 + s2
    if kind == 1 or kind == 2:
        return s1, s2
    # (v^β + (β−1) x^β − β v x^(β−1)) / (β(β−1))
    div = beta * (beta - 1.0)
    t2 = (beta - 1.0) * s1
    t3 = -beta * s2
    return (c1 + t2 + t3) / div, (abs(c1) + abs(t2) + abs(t3)) / abs(div)


@numba.njit(cache=True, nogil=True)
def _pass(W, Wsum, v, h, wh, r, b, num, den, kind, beta, eps, c1, c2, grad, est, edges, tile):
    """One fused pass over the rows of ``W`` at ``h``, a tile of ``tile`` rows at a time
    (``W h``, the elementwise operands, ``Wᵀ r`` and ``Wᵀ b`` while the tile is in cache):
    the H update's statistics ``num``, ``den`` (when ``grad``) and the frame's loss and the
    size of its terms. With ``est`` of shape ``(n_src, F)`` (not ``(0, 0)``) the per-source
    models ``W_s h_s`` are written too. ``wh``, ``r``, ``b`` are scratch."""
    F, K = W.shape
    if grad:
        for k in range(K):
            num[k] = 0.0
        if kind == 0:
            for k in range(K):
                den[k] = Wsum[k]
        else:
            for k in range(K):
                den[k] = 0.0
    models = est.shape[0] > 0
    s1 = 0.0
    s2 = 0.0
    for f0 in range(0, F, tile):
        f1 = min(F, f0 + tile)
        if models:
            tile_wh_sources(W, h, wh, est, edges, f0, f1)
        else:
            tile_wh(W, h, wh, f0, f1)
        s1, s2 = _tile_elementwise(v, wh, r, b, f0, f1, kind, beta, eps, s1, s2)
        if grad:
            tile_t(W, r, b, num, den, f0, f1, kind)
    return _loss(kind, beta, c1, c2, s1, s2)


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
def _solve_frame(W, Wsum, v, h, h_old, q, wh, r, b, num, den, kind, beta, gam, max_iter,
                 accelerate, eps, tol_factor, tiny, est, edges, none, tile, rtol):
    """Solve one (scaled) frame ``v`` from the activations in ``h``; returns its loss. The
    passes of the last iteration skip the transposed products (nothing uses them) and, with
    a non-empty ``est``, write the per-source models of the final ``h`` (``none`` is an
    empty ``(0, 0)`` array: no models). With ``rtol > 0`` an iteration that lowers the loss
    by at most ``rtol × |loss|`` makes the next one the last (a decision on this frame's
    own losses, so it keeps the result frame-local)."""
    c1, c2 = _constants(v, kind, beta)
    dt = W.dtype.type
    last = max_iter == 0
    loss, size = _pass(W, Wsum, v, h, wh, r, b, num, den, kind, beta, eps, c1, c2, not last,
                       est if last else none, edges, tile)
    alpha = 1.0
    stop = False
    for it in range(max_iter):
        last = stop or it == max_iter - 1
        e = est if last else none
        _quotient(num, den, q, eps)
        for k in range(h.shape[0]):
            h_old[k] = h[k]
        expo = dt(gam * alpha) if accelerate else dt(gam)
        _step(h, h_old, q, expo, tiny)
        trial, tsize = _pass(W, Wsum, v, h, wh, r, b, num, den, kind, beta, eps, c1, c2,
                             not last, e, edges, tile)
        if accelerate:
            sure = loss - trial > tol_factor * tsize
            if alpha > 1.0 and not sure:
                _step(h, h_old, q, dt(gam), tiny)
                trial, tsize = _pass(W, Wsum, v, h, wh, r, b, num, den, kind, beta, eps, c1, c2,
                                     not last, e, edges, tile)
            alpha = min(alpha * GROW, ALPHA_MAX) if sure else 1.0
        if last:
            return trial
        if rtol > 0.0 and loss - trial <= rtol * abs(loss):
            stop = True
        loss = trial
    return loss


@numba.njit(cache=True, nogil=True)
def solve_frames(V, W, Wsum, H, losses, kind, beta, gam, max_iter, accelerate, eps, tol_factor,
                 est, none, edges, work, tile, rtol):
    """Solve every frame of ``V (T, F)`` (frame-major: a frame is a row) into ``H (T, K)``;
    ``losses[t]`` gets the frame's final β-divergence in V's units. Silent (or
    non-finite-mean) frames get ``h = 0``. With ``est`` of shape ``(T, n_src, F)`` the
    per-source models ``W_s h_s`` are written too (else give a ``(0, 0, 0)`` array);
    ``none`` is an empty ``(0, 0)`` array of W's dtype. ``work`` is scratch of at least ``4 F + 5 K`` elements of W's dtype
    (so that a caller can keep one and allocate nothing)."""
    T, F = V.shape
    K = W.shape[1]
    dt = W.dtype.type
    tiny = dt(np.finfo(W.dtype).tiny)
    v = work[0:F]
    wh = work[F:2 * F]
    r = work[2 * F:3 * F]
    b = work[3 * F:4 * F]
    o = 4 * F
    num = work[o:o + K]
    den = work[o + K:o + 2 * K]
    q = work[o + 2 * K:o + 3 * K]
    h = work[o + 3 * K:o + 4 * K]
    h_old = work[o + 4 * K:o + 5 * K]
    models = est.shape[0] > 0
    n_src = edges.shape[0] - 1
    for t in range(T):
        x_t = V[t]
        total = 0.0
        for f in range(F):
            total += np.float64(x_t[f])
        scale = total / F
        if not (scale > 0.0) or not np.isfinite(scale):
            for k in range(K):
                H[t, k] = 0.0
            losses[t] = 0.0
            if models:
                for s in range(n_src):
                    for f in range(F):
                        est[t, s, f] = 0.0
            continue
        s = dt(scale)
        vsum = 0.0
        for f in range(F):
            x = x_t[f] / s
            if kind == 1 and x < eps:  # IS needs v > 0
                x = eps
            v[f] = x
            vsum += np.float64(x)
        h0 = dt(vsum / K)
        for k in range(K):
            h[k] = h0
        et = est[t] if models else none
        loss = _solve_frame(W, Wsum, v, h, h_old, q, wh, r, b, num, den, kind, beta, gam,
                            max_iter, accelerate, eps, tol_factor, tiny, et, edges, none, tile,
                            rtol)
        for k in range(K):
            H[t, k] = h[k] * s
        if models:
            for src in range(n_src):
                for f in range(F):
                    est[t, src, f] *= s
        losses[t] = loss * scale ** beta
    return 0


class FrameSolver:
    """Fixed templates ``W (n_freq, K)`` and the solve's settings, ready for frames.

    ``solve(V) -> (H, losses)`` with ``V (n_freq, n_frames)``: the result for a frame depends
    on that frame only (see the module docstring). ``n_threads > 1`` splits the frames over
    threads (the kernel releases the GIL); the split does not change any result.
    ``edges`` (``n_src + 1`` increasing template indices) lets :meth:`solve_into` also write
    the per-source models ``W_s H_s`` from the last pass of each frame. ``rtol > 0`` stops a
    frame's iterations early once an iteration lowers its loss by at most ``rtol`` of it
    (per frame, so still frame-local); ``0`` runs ``max_iter`` iterations.
    """

    def __init__(self, W, *, beta, max_iter, accelerate, edges=None, rtol=0.0):
        W = np.asarray(W)
        self.dtype = W.dtype if W.dtype in (np.float32, np.float64) else np.dtype(np.float64)
        self.W = np.ascontiguousarray(W, dtype=self.dtype)
        self.Wsum = self.W.sum(axis=0)
        self.beta = float(beta)
        self.kind = _kind(self.beta)
        self.gamma = _gamma(self.beta)
        self.max_iter = int(max_iter)
        self.accelerate = bool(accelerate)
        self.rtol = float(rtol)
        self.eps = self.dtype.type(np.finfo(self.dtype).eps)
        self.tol_factor = 8.0 * float(np.finfo(self.dtype).eps)
        K = self.W.shape[1]
        self.edges = np.array([0, K] if edges is None else edges, np.int64)
        F = self.W.shape[0]
        self.work_size = 4 * F + 5 * K
        self.tile = tile_rows(self.W)
        self._work = np.empty(self.work_size, self.dtype)  # scratch of single-threaded calls
        self._none = np.zeros((0, 0), self.dtype)
        self._no_models = np.zeros((0, 0, 0), self.dtype)
        self._pool = None

    def solve_into(self, V, H, losses, est=None, work=None):
        """Solve the frames of ``V (T, F)`` (frame-major, C-contiguous, this solver's dtype)
        into ``H (T, K)`` and ``losses (T,)`` (float64), and the per-source models into
        ``est (T, n_src, F)`` if given; all preallocated, C-contiguous (``work``: scratch of
        :attr:`work_size`, default this solver's own, so calls from several threads must
        each pass theirs). Allocates nothing."""
        solve_frames(V, self.W, self.Wsum, H, losses, self.kind, self.beta, self.gamma,
                     self.max_iter, self.accelerate, self.eps, self.tol_factor,
                     self._no_models if est is None else est, self._none, self.edges,
                     self._work if work is None else work, self.tile, self.rtol)

    def solve_threads(self, V, H, losses, est, n_threads):
        """:meth:`solve_into` with the frames split over ``n_threads`` threads (a pool kept
        by the solver; the split does not change any result)."""
        T = V.shape[0]
        n_threads = max(1, min(int(n_threads), T // 8))
        if n_threads == 1:
            self.solve_into(V, H, losses, est)
            return
        if self._pool is None or self._pool[0] < n_threads:
            from concurrent.futures import ThreadPoolExecutor

            self._pool = (n_threads, ThreadPoolExecutor(n_threads),
                          [np.empty(self.work_size, self.dtype) for _ in range(n_threads)])
        _, pool, works = self._pool
        cuts = np.linspace(0, T, n_threads + 1).round().astype(int)
        jobs = [pool.submit(self.solve_into, V[a:b], H[a:b], losses[a:b],
                            None if est is None else est[a:b], works[i])
                for i, (a, b) in enumerate(zip(cuts[:-1], cuts[1:]))]
        for j in jobs:
            j.result()

    def solve(self, V, *, n_threads=1, models=False):
        """``(H (K, T), losses (T,))`` for ``V (F, T)``; with ``models=True`` also the
        per-source models ``est (n_src, F, T)`` (a third item)."""
        Vt = np.ascontiguousarray(np.asarray(V, dtype=self.dtype).T)
        T, F = Vt.shape
        Ht = np.empty((T, self.W.shape[1]), self.dtype)
        losses = np.empty(T, np.float64)
        est = np.empty((T, len(self.edges) - 1, F), self.dtype) if models else None
        self.solve_threads(Vt, Ht, losses, est, n_threads)
        H = np.ascontiguousarray(Ht.T)
        if models:
            return H, losses, np.ascontiguousarray(est.transpose(1, 2, 0))
        return H, losses
