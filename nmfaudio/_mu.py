"""Multiplicative-update machinery behind :func:`nmfaudio.nmf` (private module).

The plain Lee–Seung / Févotte–Idier updates on an explicit ``W H`` (reference
path), the blocked engine with fused numba kernels used by default, the
accelerated schemes, and helpers that rescale components. Orientation as
everywhere: ``V (n_freq, n_frames) ≈ W (n_freq, K) @ H (K, n_frames)``.
Arguments are assumed valid (``nmf`` validates them).
"""

from __future__ import annotations

from ._threads import shared_pool as _shared_pool
from ._threads import usable_cores  # noqa: F401  (re-exported)

import numpy as np

def _update_H(V, W, H, WH, beta, gamma, eps, lam=None):
    """One multiplicative update of H in place (W fixed). WH must equal W @ H.

    ``lam`` (K, 1) adds the L1 penalty ``Σ lam_k H_kt`` to the denominator.
    """
    if beta == 2.0:
        num = W.T @ V
        den = (W.T @ W) @ H
    elif beta == 1.0:
        R = np.maximum(WH, eps)
        np.divide(V, R, out=R)
        num = W.T @ R
        den = W.sum(axis=0)[:, None]
    else:
        WHs = np.maximum(WH, eps)
        B = WHs ** (beta - 1.0)
        A = B / WHs
        A *= V
        num = W.T @ A
        den = W.T @ B
    if lam is not None:
        den = den + lam
    den = np.maximum(den, eps)
    ratio = np.divide(num, den, out=num)
    if gamma != 1.0:
        ratio **= gamma
    H *= ratio


def _update_W(V, W, H, WH, beta, gamma, eps, free):
    """One multiplicative update of W in place (H fixed); ``free`` indexes the learning columns."""
    Hf = H if free is None else H[free]
    if beta == 2.0:
        num = V @ Hf.T
        den = W @ (H @ Hf.T)
    elif beta == 1.0:
        R = np.maximum(WH, eps)
        np.divide(V, R, out=R)
        num = R @ Hf.T
        den = Hf.sum(axis=1)[None, :]
    else:
        WHs = np.maximum(WH, eps)
        B = WHs ** (beta - 1.0)
        A = B / WHs
        A *= V
        num = A @ Hf.T
        den = B @ Hf.T
    den = np.maximum(den, eps)
    ratio = np.divide(num, den, out=num)
    if gamma != 1.0:
        ratio **= gamma
    if free is None:
        W *= ratio
    else:
        W[:, free] *= ratio


# Bytes of one column block of V / W H. Small ranks: the elementwise passes matter, keep
# the block in L2 (measured on a 2-vCPU Xeon, 1025 × 2584, K = 32: 768 KiB 8.2 ms/iteration,
# 512 KiB 8.7, 1.5 MiB 8.6). Larger ranks: the products dominate and want wider blocks
# (β = 0.5, W fixed, 2049 × 3876, K = 288: 512 KiB 168 ms, 1.5 MiB 111, 3 MiB 104;
# K = 64 and 144 gained 15–30 % from 512 KiB to 3 MiB as well).
_BLOCK_BYTES = 768 << 10
_BLOCK_BYTES_WIDE = 3 << 20


class _Engine:
    """Plain multiplicative updates with preallocated buffers, blocked over frames.

    ``V`` is split into column blocks small enough to stay in cache: for each
    block, ``W @ H_b`` is computed, turned in place into the ratio(s) of the
    update by a fused numba kernel (:mod:`._kernels`), and consumed by the next
    product while still in cache. ``W H`` is never held whole. The β-divergence
    comes out of the same pass (the loss at a check is computed together with the
    statistics of the next H update, which need the same ``W H``).

    Call-order rules (the engine shares ``W`` and ``H`` with its caller, updated in place):

    - :meth:`update_H` consumes the statistics of the last :meth:`h_stats` (computing them
      if none are pending); they must belong to the current ``W``, ``H`` — any change of
      ``W`` or ``H`` after :meth:`h_stats` (other than through :meth:`h_stats_cols` on the
      changed frames) makes them stale.
    - :meth:`update_W` computes its statistics itself, unless ``stats=True``: then the
      last :meth:`w_stats` must be of the current factors.
    - After any update, the per-frame sums (``s1``, ``s2``) and :meth:`loss_cols` /
      :meth:`loss_tol` describe the last *loss pass* (``want_loss=True`` or :meth:`loss`),
      not necessarily the current factors.
    - :meth:`close` once at the end (stops the worker threads).
    """

    def __init__(self, Vs, W, H, beta, gamma, eps, lam, free, n_workers=1):
        from . import _kernels

        self.k = _kernels
        F, T = Vs.shape
        K = W.shape[1]
        dt = Vs.dtype
        self.W, self.H, self.beta, self.gamma, self.lam, self.free = W, H, beta, gamma, lam, free
        self.eps = dt.type(eps)
        self.shape = (F, T)
        budget = _BLOCK_BYTES if K <= 32 else _BLOCK_BYTES_WIDE
        bs = int(max(16, min(T, budget // (F * dt.itemsize))))
        nb = -(-T // bs)
        edges = np.linspace(0, T, nb + 1).round().astype(int)
        self.blocks = [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:])]
        if beta == 2.0:
            # no elementwise work: whole-matrix products, V kept as one array
            self.V = Vs
            self.Vb = [Vs[:, a:b] for a, b in self.blocks]
        else:
            self.Vb = [np.ascontiguousarray(Vs[:, a:b]) for a, b in self.blocks]
        bmax = max(b - a for a, b in self.blocks)
        # worker threads over blocks (numba kernels and 1-thread BLAS release the GIL),
        # each with its own scratch; contiguous runs of blocks per worker
        self.n_workers = nw = max(1, min(int(n_workers), len(self.blocks)))
        self._scratch = [(np.empty(F * bmax, dt), np.empty(F * bmax, dt)) for _ in range(nw)]
        cuts = np.linspace(0, len(self.blocks), nw + 1).round().astype(int)
        self._parts = [list(range(int(i), int(j))) for i, j in zip(cuts[:-1], cuts[1:])]
        self._pool = _shared_pool(nw) if nw > 1 else None
        self.numH = np.empty((K, T), dt)
        self.denH = np.empty((K, T), dt) if beta != 1.0 else None
        Kf = K if free is None else len(free)
        self.numW = np.empty((F, Kf), dt)
        self.denW = np.empty((F, Kf), dt) if beta != 1.0 else None
        # data-only terms of the loss per frame (float32 logs, float64 sums, like the passes),
        # computed on first use: a solve that never asks for its loss skips the logs
        self.s1, self.s2 = np.zeros(T), np.zeros(T)  # per-frame partial sums of the last pass
        self._c_cols = None
        self.has_stats = False

    @property
    def c_cols(self):
        """The data-only term of the loss of each frame (float64), computed once."""
        if self._c_cols is None:
            from . import _kernels

            beta, dt = self.beta, self.Vb[0].dtype
            c = np.zeros(self.shape[1])
            tiny = dt.type(np.finfo(dt).tiny)
            for (a, b), Vb in zip(self.blocks, self.Vb):
                A = np.empty_like(Vb)  # not the scratch: a pass may be holding it
                if beta == 1.0:
                    np.log(np.maximum(Vb, tiny, out=A), out=A)
                    _kernels.coldot(Vb, A, c[a:b])
                    c[a:b] -= Vb.sum(axis=0, dtype=np.float64)
                elif beta == 0.0:
                    np.log(Vb, out=A)
                    _kernels.colsum(A, c[a:b])
                elif beta == 2.0:
                    _kernels.coldot(Vb, Vb, c[a:b])  # ‖V‖² per frame
                else:
                    c[a:b] = np.sum(Vb.astype(np.float64) ** beta, axis=0)
            self._c_cols = c
        return self._c_cols

    @property
    def c_const(self):
        """Sum of :attr:`c_cols`."""
        return float(self.c_cols.sum())

    def _views(self, n, w=0):
        F = self.shape[0]
        b1, b2 = self._scratch[w]
        return b1[:F * n].reshape(F, n), b2[:F * n].reshape(F, n)

    def _map(self, fn):
        """``[fn(w, block indices of worker w) for w]``, on the worker threads if any."""
        if self._pool is None:
            return [fn(0, self._parts[0])]
        futs = [self._pool.submit(fn, w, part) for w, part in enumerate(self._parts)]
        return [f.result() for f in futs]

    def _span(self, part):
        """Frames covered by a worker's (contiguous) blocks."""
        return slice(self.blocks[part[0]][0], self.blocks[part[-1]][1])

    def close(self):
        self._pool = None  # shared (see _shared_pool): left running for the next engine

    def _assemble(self, s1, s2):
        """Total loss from the whole-matrix sums of the β = 2 path (``s1`` = ‖V − WH‖²)."""
        value = 0.5 * s1
        if self.lam is not None:
            value += float(np.sum(self.lam * self.H, dtype=np.float64))
        return value

    def _loss_terms(self, s1, s2, c):
        """The signed per-frame terms whose sum, over the divisor, is the loss (β ≠ 2),
        from the partial sums of a loss pass (defaults: the last pass) and the data term."""
        beta = self.beta
        s1 = self.s1 if s1 is None else s1
        s2 = self.s2 if s2 is None else s2
        c = self.c_cols if c is None else c
        if beta == 1.0:
            return (c, -s1, s2), 1.0
        if beta == 0.0:
            return (s1, -c, -s2, -self.shape[0]), 1.0
        return (c, (beta - 1.0) * s1, -beta * s2), beta * (beta - 1.0)

    def loss_cols(self, s1=None, s2=None, c=None, H=None):
        """Per-frame loss (β ≠ 2) from the partial sums of the last loss pass (plus the L1 penalty)."""
        terms, div = self._loss_terms(s1, s2, c)
        value = sum(terms[1:], terms[0]) / div
        if self.lam is not None:
            value += np.sum(self.lam * (self.H if H is None else H), axis=0, dtype=np.float64)
        return value

    def loss_tol(self, s1=None, s2=None, c=None):
        """Per-frame rounding bound of :meth:`loss_cols`: ``8 ε`` times the size of the terms
        that cancel in it (data term, ``Σ WH^β``, ``Σ V WH^(β−1)``). Measured errors against a
        float64 computation stayed below ``0.07 ε`` of that size (float32, β = 0, 0.5, 1, 1.5);
        a frame whose fit is nearly exact has a loss far below it."""
        terms, div = self._loss_terms(s1, s2, c)
        size = sum(np.abs(t) for t in terms) / abs(div)
        return (8.0 * float(np.finfo(self.W.dtype).eps)) * size

    def _total(self):
        return float(self.loss_cols().sum())

    def _pass(self, Vb, A, B, want_loss, consume, s1, s2):
        """Turn ``A = W @ H_b`` into the update operands in place and hand them to
        ``consume(A, B)`` (B None for KL); the block's per-frame loss sums go to
        ``s1``, ``s2`` (zeroed here; only meaningful if ``want_loss``)."""
        k, eps, beta = self.k, self.eps, self.beta
        s1.fill(0.0)
        s2.fill(0.0)
        fused = want_loss and A.dtype == np.float32  # log inside the pass (kernels.log32)
        if beta == 1.0:
            if fused:
                k.kl_ratio_loss32(Vb, A, eps, s1, s2)
            elif want_loss:
                k.kl_ratio_keep(Vb, A, B, eps, s2)
            else:
                k.kl_ratio(Vb, A, eps)
            if consume is not None:
                consume(A, None)
            if want_loss and not fused:
                np.log(B, out=B)
                k.coldot(Vb, B, s1)
        elif beta == 0.0:
            if fused:
                k.is_ab_loss32(Vb, A, B, eps, s1, s2)
            else:
                k.is_ab(Vb, A, B, eps, s1)
            if consume is not None:
                consume(A, B)
            if want_loss and not fused:
                np.log(B, out=A)  # log(1 / WH)
                k.colsum(A, s2)
        else:
            if beta == 0.5:
                k.half_ab(Vb, A, B, eps, s1, s2)
            else:
                k.beta_ab(Vb, A, B, eps, beta, s1, s2)
            if consume is not None:
                consume(A, B)

    def loss(self):
        """β-divergence of the current factors (plus the L1 penalty)."""
        W, H = self.W, self.H
        s = 0.0
        for (a, b), Vb in zip(self.blocks, self.Vb):
            A, B = self._views(b - a)
            np.matmul(W, H[:, a:b], out=A)
            if self.beta == 2.0:
                s += self.k.sqdiff(Vb, A, self.eps)
            else:
                self._pass(Vb, A, B, True, None, self.s1[a:b], self.s2[a:b])
        return self._assemble(s, 0.0) if self.beta == 2.0 else self._total()

    def h_stats(self, want_loss=False):
        """Numerator/denominator of the H update for the current W, H (and the loss if asked)."""
        W, H, beta = self.W, self.H, self.beta
        if beta == 2.0:
            if self._pool is None:
                np.matmul(W.T, self.V, out=self.numH)
            else:  # each worker its own range of frames
                self._map(lambda w, part: np.matmul(W.T, self.V[:, self._span(part)],
                                                    out=self.numH[:, self._span(part)]))
            WtW = W.T @ W
            np.matmul(WtW, H, out=self.denH)
            loss = None
            if want_loss:
                # ½‖V − WH‖² = ½‖V‖² − ⟨H, WᵀV⟩ + ½⟨WᵀW, HHᵀ⟩ from the products of the update
                # (WH is not floored here; it only matters where W H < eps, i.e. not in practice)
                HHt = (H @ H.T).astype(np.float64)
                value = 0.5 * self.c_const - self.k.dot64(H, self.numH)
                value += 0.5 * float(np.sum(WtW.astype(np.float64) * HHt))
                loss = self._assemble(2.0 * max(value, 0.0), 0.0)
        else:
            Wt, numH, denH = W.T, self.numH, self.denH

            def run(w, part):
                for i in part:
                    (a, b), Vb = self.blocks[i], self.Vb[i]
                    A, B = self._views(b - a, w)
                    np.matmul(W, H[:, a:b], out=A)

                    def consume(A, B, a=a, b=b):
                        np.matmul(Wt, A, out=numH[:, a:b])
                        if B is not None:
                            np.matmul(Wt, B, out=denH[:, a:b])

                    self._pass(Vb, A, B, want_loss, consume, self.s1[a:b], self.s2[a:b])

            self._map(run)
            loss = self._total() if want_loss else None
        self.has_stats = True
        return loss

    def h_stats_cols(self, idx):
        """As :meth:`h_stats` with the loss, for the frames ``idx`` only (sorted indices);
        returns their per-frame losses."""
        W, H = self.W, self.H
        starts = np.array([a for a, _ in self.blocks])
        which = np.searchsorted(starts, idx, side="right") - 1
        Vs = np.concatenate([self.Vb[i][:, idx[which == i] - self.blocks[i][0]]
                             for i in np.unique(which)], axis=1)
        A = W @ H[:, idx]
        B = np.empty_like(A)
        s1, s2 = np.zeros(len(idx)), np.zeros(len(idx))

        def consume(A, B):
            self.numH[:, idx] = W.T @ A
            if B is not None:
                self.denH[:, idx] = W.T @ B

        self._pass(Vs, A, B, True, consume, s1, s2)
        return self.loss_cols(s1, s2, self.c_cols[idx], H[:, idx])

    def _apply(self, X, num, den, alpha=1.0):
        """``X ← X ⊙ ratio^alpha`` with the MM ratio ``(num / max(den, eps))^γ`` left in ``num``."""
        np.maximum(den, self.eps, out=den)
        np.divide(num, den, out=num)
        if self.gamma != 1.0:
            np.power(num, self.gamma, out=num)
        if alpha != 1.0:
            np.power(num, X.dtype.type(alpha), out=self._ratio_a(num))
            num = self._ratio_tmp
        self.k.mul_flush(X, num, X.dtype.type(np.finfo(X.dtype).tiny))

    def _ratio_a(self, num):
        """Scratch of num's shape for the over-relaxed ratio (num keeps the MM ratio)."""
        tmp = getattr(self, "_ratio_tmp", None)
        if tmp is None or tmp.shape != num.shape:
            tmp = self._ratio_tmp = np.empty_like(num)
        return tmp

    def update_H(self, alpha=1.0):
        """H update from the current statistics; ``alpha > 1`` over-relaxes (ratio^alpha)."""
        if not self.has_stats:
            self.h_stats()
        self.has_stats = False
        self._apply(self.H, self.numH, self.h_den(), alpha)
        return self.numH  # the MM ratio

    def h_den(self):
        """Denominator of the H update for the current statistics (KL: ``Wᵀ1``), plus the L1 weight."""
        den = self.W.sum(axis=0)[:, None] if self.beta == 1.0 else self.denH
        return den if self.lam is None else den + self.lam

    def w_stats(self, want_loss=False):
        """Numerator/denominator of the W update for the current W, H (and the loss if asked)."""
        W, H, beta, free = self.W, self.H, self.beta, self.free
        self.has_stats = False
        Hf = H if free is None else np.ascontiguousarray(H[free])
        numW, denW = self.numW, self.denW
        loss = None
        if beta == 2.0:
            if self._pool is None:
                np.matmul(self.V, Hf.T, out=numW)
            else:  # partial V Hᵀ per worker's frames, summed
                parts = self._map(lambda w, part: self.V[:, self._span(part)] @ Hf[:, self._span(part)].T)
                np.add(parts[0], sum(parts[1:]), out=numW)
            np.matmul(W, H @ Hf.T, out=denW)
            if want_loss:
                loss = self.loss()
        else:
            def run(w, part):
                nW = numW if w == 0 else np.zeros_like(numW)
                dW = denW if (w == 0 or denW is None) else np.zeros_like(denW)
                if w == 0:
                    nW.fill(0)
                    if dW is not None:
                        dW.fill(0)
                tmp = np.empty_like(nW)
                for i in part:
                    (a, b), Vb = self.blocks[i], self.Vb[i]
                    A, B = self._views(b - a, w)
                    np.matmul(W, H[:, a:b], out=A)
                    Hb = np.ascontiguousarray(Hf[:, a:b])

                    def consume(A, B, Hb=Hb):  # numpy's matmul (scipy's gemm would hold the GIL,
                        np.matmul(A, Hb.T, out=tmp)  # and importing scipy.linalg costs ~0.15 s)
                        np.add(nW, tmp, out=nW)
                        if B is not None:
                            np.matmul(B, Hb.T, out=tmp)
                            np.add(dW, tmp, out=dW)

                    self._pass(Vb, A, B, want_loss, consume, self.s1[a:b], self.s2[a:b])
                return nW, dW

            parts = self._map(run)
            for p in parts[1:]:
                numW += p[0]
                if denW is not None:
                    denW += p[1]
            if want_loss:
                loss = self._total()
        self._Hf = Hf
        return loss

    def update_W(self, alpha=1.0, stats=False):
        """W update (computing its statistics unless ``stats``); returns the MM ratio."""
        if not stats:
            self.w_stats()
        self.has_stats = False
        W, free, numW = self.W, self.free, self.numW
        denW = self._Hf.sum(axis=1)[None, :] if self.beta == 1.0 else self.denW
        if free is None:
            self._apply(W, numW, denW, alpha)
        else:
            Wf = np.ascontiguousarray(W[:, free])
            self._apply(Wf, numW, denW, alpha)
            W[:, free] = Wf
        return numW


def _normalize_free_columns(W, H, free, eps):
    """Scale learned columns of W to unit L1 norm, compensating in H (W H unchanged)."""
    cols = slice(None) if free is None else free
    norms = W[:, cols].sum(axis=0)
    norms = np.where(norms > eps, norms, 1.0).astype(W.dtype)
    W[:, cols] /= norms
    if free is None:
        H *= norms[:, None]
    else:
        H[free] *= norms[:, None]


def _balance_components(W, H):
    """Rescale every component in place so that ``W[:, k]`` has unit L1 norm (``W H`` unchanged).

    The multiplicative updates are invariant to this rescaling, but their floors
    (``eps`` on the denominators) are absolute: a template or activation far below
    ``eps`` (e.g. V around 1e-24, or fixed templates scaled by 1e-10, in float32)
    would hit them and the loss would jump up. Returns the norms (float64, (K,)).
    """
    norms = W.sum(axis=0, dtype=np.float64)
    norms = np.where((norms > 0) & np.isfinite(norms), norms, 1.0)
    W /= norms.astype(W.dtype)
    H *= norms.astype(H.dtype)[:, None]
    return norms
