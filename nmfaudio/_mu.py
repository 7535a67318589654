"""Multiplicative-update machinery behind :func:`nmfaudio.nmf` (private module).

The plain Lee–Seung / Févotte–Idier updates on an explicit ``W H`` (reference
path), the blocked engine with fused numba kernels used by default, the
accelerated schemes, and helpers that rescale components. Orientation as
everywhere: ``V (n_freq, n_frames) ≈ W (n_freq, K) @ H (K, n_frames)``.
Arguments are assumed valid (``nmf`` validates them).
"""

from __future__ import annotations

import contextlib

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


_BLOCK_BYTES = 1 << 19  # column block of V / W H kept in cache between the products


def _gemm_acc(C, A, B):
    """``C += A @ B.T`` in place (C, A C-contiguous; BLAS gemm with beta = 1)."""
    from scipy.linalg import blas

    gemm = blas.sgemm if C.dtype == np.float32 else blas.dgemm
    gemm(1.0, np.ascontiguousarray(B).T, A.T, beta=1.0, c=C.T, trans_a=1, overwrite_c=1)


class _Engine:
    """Plain multiplicative updates with preallocated buffers, blocked over frames.

    ``V`` is split into column blocks small enough to stay in cache: for each
    block, ``W @ H_b`` is computed, turned in place into the ratio(s) of the
    update by a fused numba kernel (:mod:`._kernels`), and consumed by the next
    product while still in cache. ``W H`` is never held whole. The β-divergence
    comes out of the same pass (the loss at a check is computed together with the
    statistics of the next H update, which need the same ``W H``).
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
        bs = int(max(16, min(T, _BLOCK_BYTES // (F * dt.itemsize))))
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
        self.n_workers = nw = max(1, min(int(n_workers), len(self.blocks))) if beta != 2.0 else 1
        self._scratch = [(np.empty(F * bmax, dt), np.empty(F * bmax, dt)) for _ in range(nw)]
        self._buf, self._buf2 = self._scratch[0]
        cuts = np.linspace(0, len(self.blocks), nw + 1).round().astype(int)
        self._parts = [list(range(int(i), int(j))) for i, j in zip(cuts[:-1], cuts[1:])]
        self._pool = None
        if nw > 1:
            from concurrent.futures import ThreadPoolExecutor

            self._pool = ThreadPoolExecutor(nw)
        self.numH = np.empty((K, T), dt)
        self.denH = np.empty((K, T), dt) if beta != 1.0 else None
        Kf = K if free is None else len(free)
        self.numW = np.empty((F, Kf), dt)
        self.denW = np.empty((F, Kf), dt) if beta != 1.0 else None
        # data-only terms of the loss (float32 logs, float64 sums, like the loss passes)
        k = _kernels
        self.c_const = 0.0
        tiny = dt.type(np.finfo(dt).tiny)
        for (a, b), Vb in zip(self.blocks, self.Vb):
            A, _ = self._views(b - a)
            if beta == 1.0:
                np.log(np.maximum(Vb, tiny, out=A), out=A)
                self.c_const += k.dot64(Vb, A) - k.sum64(Vb)
            elif beta == 0.0:
                np.log(Vb, out=A)
                self.c_const += k.sum64(A)
            elif beta == 2.0:
                self.c_const += k.dot64(Vb, Vb)  # ‖V‖²
            else:
                self.c_const += float(np.sum(Vb.astype(np.float64) ** beta))
        self.has_stats = False

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

    def close(self):
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None

    def _assemble(self, s1, s2):
        beta, c = self.beta, self.c_const
        F, T = self.shape
        if beta == 2.0:
            value = 0.5 * s1
        elif beta == 1.0:
            value = c - s1 + s2
        elif beta == 0.0:
            value = s1 - c - s2 - F * T
        else:
            value = (c + (beta - 1.0) * s1 - beta * s2) / (beta * (beta - 1.0))
        if self.lam is not None:
            value += float(np.sum(self.lam * self.H, dtype=np.float64))
        return value

    def _pass(self, Vb, A, B, want_loss, consume):
        """Turn ``A = W @ H_b`` into the update operands in place, hand them to
        ``consume(A, B)`` (B None for KL) and return the block's loss partial sums."""
        k, eps, beta = self.k, self.eps, self.beta
        p1 = p2 = 0.0
        if beta == 1.0:
            if want_loss:
                p2 = k.kl_ratio_keep(Vb, A, B, eps)
            else:
                k.kl_ratio(Vb, A, eps)
            if consume is not None:
                consume(A, None)
            if want_loss:
                np.log(B, out=B)
                p1 = k.dot64(Vb, B)
        elif beta == 0.0:
            p1 = k.is_ab(Vb, A, B, eps)
            if consume is not None:
                consume(A, B)
            if want_loss:
                np.log(B, out=A)  # log(1 / WH)
                p2 = k.sum64(A)
        else:
            if beta == 0.5:
                p1, p2 = k.half_ab(Vb, A, B, eps)
            else:
                p1, p2 = k.beta_ab(Vb, A, B, eps, beta)
            if consume is not None:
                consume(A, B)
        return p1, p2

    def loss(self):
        """β-divergence of the current factors (plus the L1 penalty)."""
        W, H = self.W, self.H
        s1 = s2 = 0.0
        for (a, b), Vb in zip(self.blocks, self.Vb):
            A, B = self._views(b - a)
            np.matmul(W, H[:, a:b], out=A)
            if self.beta == 2.0:
                p1, p2 = self.k.sqdiff(Vb, A, self.eps), 0.0
            else:
                p1, p2 = self._pass(Vb, A, B, True, None)
            s1 += p1
            s2 += p2
        return self._assemble(s1, s2)

    def h_stats(self, want_loss=False):
        """Numerator/denominator of the H update for the current W, H (and the loss if asked)."""
        W, H, beta = self.W, self.H, self.beta
        if beta == 2.0:
            np.matmul(W.T, self.V, out=self.numH)
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
                s1 = s2 = 0.0
                for i in part:
                    (a, b), Vb = self.blocks[i], self.Vb[i]
                    A, B = self._views(b - a, w)
                    np.matmul(W, H[:, a:b], out=A)

                    def consume(A, B, a=a, b=b):
                        np.matmul(Wt, A, out=numH[:, a:b])
                        if B is not None:
                            np.matmul(Wt, B, out=denH[:, a:b])

                    p1, p2 = self._pass(Vb, A, B, want_loss, consume)
                    s1 += p1
                    s2 += p2
                return s1, s2

            parts = self._map(run)
            s1 = sum(p[0] for p in parts)
            s2 = sum(p[1] for p in parts)
            loss = self._assemble(s1, s2) if want_loss else None
        self.has_stats = True
        return loss

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
        if self.beta == 1.0:
            den = self.W.sum(axis=0)[:, None]
        else:
            den = self.denH
        if self.lam is not None:
            den += self.lam
        self._apply(self.H, self.numH, den, alpha)
        return self.numH  # the MM ratio

    def w_stats(self, want_loss=False):
        """Numerator/denominator of the W update for the current W, H (and the loss if asked)."""
        W, H, beta, free = self.W, self.H, self.beta, self.free
        self.has_stats = False
        Hf = H if free is None else np.ascontiguousarray(H[free])
        numW, denW = self.numW, self.denW
        loss = None
        if beta == 2.0:
            np.matmul(self.V, Hf.T, out=numW)
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
                s1 = s2 = 0.0
                tmp = None if self._pool is None else np.empty_like(nW)
                for i in part:
                    (a, b), Vb = self.blocks[i], self.Vb[i]
                    A, B = self._views(b - a, w)
                    np.matmul(W, H[:, a:b], out=A)
                    Hb = np.ascontiguousarray(Hf[:, a:b])

                    def consume(A, B, Hb=Hb):
                        if tmp is None:
                            _gemm_acc(nW, A, Hb)
                            if B is not None:
                                _gemm_acc(dW, B, Hb)
                        else:  # scipy's gemm wrapper holds the GIL; numpy's matmul does not
                            np.matmul(A, Hb.T, out=tmp)
                            np.add(nW, tmp, out=nW)
                            if B is not None:
                                np.matmul(B, Hb.T, out=tmp)
                                np.add(dW, tmp, out=dW)

                    p1, p2 = self._pass(Vb, A, B, want_loss, consume)
                    s1 += p1
                    s2 += p2
                return s1, s2, nW, dW

            parts = self._map(run)
            for p in parts[1:]:
                numW += p[2]
                if denW is not None:
                    denW += p[3]
            s1 = sum(p[0] for p in parts)
            s2 = sum(p[1] for p in parts)
            if want_loss:
                loss = self._assemble(s1, s2)
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


class _Relaxed:
    """Accelerated MU for β ≠ 2: over-relaxed multiplicative steps with a monotone safeguard.

    Each factor takes the step ``X ⊙ ratio^α`` (``ratio`` the MM ratio of the plain
    rule, α ≥ 1). The loss of the trial point comes for free from the pass that
    computes the statistics of the next update (same ``W H``). If it did not
    increase, the step is kept and α grows (×``GROW``, up to ``ALPHA_MAX``);
    otherwise the plain MM step (α = 1, which never increases the loss) replaces it
    and α restarts at 1. So the loss is non-increasing, one step costs the four
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

    def __call__(self):
        e = self.e
        if self.update_H:
            H_old = e.H.copy()
            ratio = e.update_H(self.aH).copy()  # the buffer is reused by the next pass
            trial = self._next_stats("H")
            if trial <= self.loss:
                self.loss = trial
                self.aH = min(self.aH * self.GROW, self.ALPHA_MAX)
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
            if trial <= self.loss:
                self.loss = trial
                self.aW = min(self.aW * self.GROW, self.ALPHA_MAX)
            else:
                cols = slice(None) if self.free is None else self.free
                e.W[:, cols] = W_old[:, cols] * ratio
                if H_old is not None:
                    e.H[...] = H_old
                    _normalize_free_columns(e.W, e.H, self.free, self.eps)
                self.aW = 1.0
                self.loss = self._next_stats("W")


_CONTROLLER = None


def _blas_threads(n_threads):
    """Context limiting the BLAS threads (None: leave as configured)."""
    global _CONTROLLER
    if n_threads is None:
        return contextlib.nullcontext()
    if _CONTROLLER is None:
        import scipy.linalg.blas  # noqa: F401  (load scipy's BLAS too, so that it is limited)
        from threadpoolctl import ThreadpoolController

        _CONTROLLER = ThreadpoolController()
    return _CONTROLLER.limit(limits=n_threads, user_api="blas")


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
