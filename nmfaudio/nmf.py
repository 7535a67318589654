"""Multiplicative-update NMF: ``V ≈ W H`` with the β-divergence family.

Orientation (everywhere in nmfaudio): ``V`` is ``(n_freq, n_frames)``, the
templates ``W`` are ``(n_freq, K)`` and the activations ``H`` are ``(K, n_frames)``.

The updates are Lee & Seung's multiplicative rules for the Euclidean distance
(β = 2) and the generalised Kullback–Leibler divergence (β = 1), and the
Févotte & Idier (2011) rule with exponent γ(β) for any other β, which keeps the
loss non-increasing:

- Euclidean: ``H ← H ⊙ (Wᵀ V) ⊘ (Wᵀ W H)``,  ``W ← W ⊙ (V Hᵀ) ⊘ (W H Hᵀ)``
- KL:        ``H ← H ⊙ (Wᵀ (V ⊘ WH)) ⊘ (Wᵀ 1)``,  ``W ← W ⊙ ((V ⊘ WH) Hᵀ) ⊘ (1 Hᵀ)``
- β:         ``H ← H ⊙ [(Wᵀ (WH^(β-2) ⊙ V)) ⊘ (Wᵀ WH^(β-1))]^γ(β)``, same for W,
  with γ = 1/(2-β) for β < 1, 1 for 1 ≤ β ≤ 2 and 1/(β-1) for β > 2.

References
----------
D. D. Lee and H. S. Seung, "Algorithms for non-negative matrix factorization", NIPS 2001.
C. Févotte and J. Idier, "Algorithms for nonnegative matrix factorization with the
β-divergence", Neural Computation 23(9), 2011.
"""

from __future__ import annotations

import contextlib
import dataclasses
import numbers

import numpy as np

from ._checks import check_finite_float, check_nonneg_int, check_nonnegative_matrix, check_positive_int
from . import _penalties
from .exceptions import ParameterError

__all__ = ["nmf", "NMFResult", "beta_divergence", "resolve_beta", "BETA_MIN", "BETA_MAX"]

_BETA_NAMES = {
    "euclidean": 2.0, "frobenius": 2.0,
    "kl": 1.0, "kullback-leibler": 1.0,
    "is": 0.0, "itakura-saito": 0.0,
}
#: Supported range of β; beyond it the power terms overflow in float32.
BETA_MIN, BETA_MAX = -3.0, 5.0
#: The loss is evaluated (and ``tol`` checked) every ``LOSS_EVERY`` iterations by default.
LOSS_EVERY = 10
# A loss below this fraction of the initial loss counts as an exact fit (stops when tol > 0).
_EXACT = 1e-10


def resolve_beta(beta) -> float:
    """Map ``"euclidean"``/``"frobenius"`` (2), ``"kl"``/``"kullback-leibler"`` (1),
    ``"is"``/``"itakura-saito"`` (0) or a number in [BETA_MIN, BETA_MAX] to a float."""
    if isinstance(beta, str):
        key = beta.strip().lower()
        if key in _BETA_NAMES:
            return _BETA_NAMES[key]
        raise ParameterError(
            f"beta={beta!r} is not a known divergence; use 'euclidean', 'kl', 'is' or a number"
        )
    if isinstance(beta, (bool, np.bool_)) or not isinstance(beta, numbers.Real):
        raise ParameterError(f"beta={beta!r} must be a string or a real number")
    return check_finite_float(beta, "beta", low=BETA_MIN, high=BETA_MAX)


def _gamma(beta: float) -> float:
    if beta < 1:
        return 1.0 / (2.0 - beta)
    if beta > 2:
        return 1.0 / (beta - 1.0)
    return 1.0


def _eps(dtype) -> float:
    return float(np.finfo(dtype).eps)


def _divergence(V, WH, beta: float, eps: float) -> float:
    """β-divergence ``D(V | WH)`` with WH floored at ``eps`` (V is pre-floored for β ≤ 0)."""
    WH = np.maximum(WH, eps)
    if beta == 2.0:
        diff = V - WH
        return 0.5 * float(np.dot(diff.ravel(), diff.ravel()))
    if beta == 1.0:
        ratio = V / WH
        np.log(ratio, out=ratio, where=ratio > 0)
        ratio[V == 0] = 0.0
        return float(np.sum(V * ratio, dtype=np.float64) - np.sum(V, dtype=np.float64)
                     + np.sum(WH, dtype=np.float64))
    if beta == 0.0:
        ratio = V / WH
        return float(np.sum(ratio, dtype=np.float64) - np.sum(np.log(ratio), dtype=np.float64)
                     - V.size)
    total = (np.sum(V ** beta, dtype=np.float64) + (beta - 1.0) * np.sum(WH ** beta, dtype=np.float64)
             - beta * np.sum(V * WH ** (beta - 1.0), dtype=np.float64))
    return float(total / (beta * (beta - 1.0)))


def beta_divergence(V, W, H, beta="kl"):
    """β-divergence between ``V`` and its approximation ``W @ H``.

    Parameters
    ----------
    V : np.ndarray [shape=(n_freq, n_frames)], non-negative
    W : np.ndarray [shape=(n_freq, K)], non-negative
    H : np.ndarray [shape=(K, n_frames)], non-negative
    beta : {"euclidean", "kl", "is"} or float
        Divergence: 2 / ``"euclidean"``, 1 / ``"kl"``, 0 / ``"is"`` or any β.

    Returns
    -------
    loss : float
        - β = 2: ``½ Σ (V − WH)²`` (half the squared Frobenius norm, as scikit-learn);
        - β = 1: ``Σ V log(V / WH) − V + WH`` (with ``0 log 0 = 0``);
        - β = 0: ``Σ V / WH − log(V / WH) − 1``;
        - otherwise ``Σ (V^β + (β − 1) WH^β − β V WH^(β−1)) / (β (β − 1))``.

    Notes
    -----
    ``W @ H`` is floored at the machine epsilon of the dtype; for β ≤ 0 (where a
    zero in V makes the divergence infinite) ``V`` is floored too, as in :func:`nmf`.

    Examples
    --------
    >>> import numpy as np, nmfaudio
    >>> V = np.ones((2, 3)); W = np.ones((2, 1)); H = np.full((1, 3), 2.0)
    >>> nmfaudio.beta_divergence(V, W, H, beta="euclidean")
    3.0
    """
    beta = resolve_beta(beta)
    V = check_nonnegative_matrix(V, "V")
    W = check_nonnegative_matrix(W, "W").astype(V.dtype, copy=False)
    H = check_nonnegative_matrix(H, "H").astype(V.dtype, copy=False)
    if W.shape[0] != V.shape[0] or H.shape[1] != V.shape[1] or W.shape[1] != H.shape[0]:
        raise ParameterError(
            f"shapes do not match V ≈ W H: V {V.shape}, W {W.shape}, H {H.shape}"
        )
    eps = _eps(V.dtype)
    if beta <= 0:
        V = np.maximum(V, eps)
    return _divergence(V, W @ H, beta, eps)


@dataclasses.dataclass
class NMFResult:
    """Result of :func:`nmf`.

    Attributes
    ----------
    W : np.ndarray [shape=(n_freq, K)]
        Templates.
    H : np.ndarray [shape=(K, n_frames)]
        Activations.
    n_iter : int
        Iterations run (one update of each learning factor per iteration).
    losses : np.ndarray [shape=(n_checks,)]
        β-divergence sampled every ``loss_every`` iterations; ``losses[0]`` is the
        initial loss, ``losses[i]`` the loss after ``i * loss_every`` iterations.
    loss : float
        Loss of the returned factors.
    loss_every : int
        Sampling period of ``losses``.
    converged : bool
        True if the relative decrease fell below ``tol`` before ``max_iter``.
    beta : float
        The β used.

    Examples
    --------
    >>> import numpy as np, nmfaudio
    >>> res = nmfaudio.nmf(np.ones((4, 6)), 2, max_iter=20, random_state=0)
    >>> res.W.shape, res.H.shape, res.n_iter <= 20
    ((4, 2), (2, 6), True)
    """

    W: np.ndarray
    H: np.ndarray
    n_iter: int
    losses: np.ndarray
    loss: float
    loss_every: int = LOSS_EVERY
    converged: bool = False
    beta: float = 1.0


def _rng(random_state):
    if isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, np.random.RandomState):
        return np.random.default_rng(random_state.randint(0, 2**31 - 1))
    if random_state is None or (isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool)):
        if random_state is not None and random_state < 0:
            raise ParameterError(f"random_state={random_state!r} must be a non-negative integer")
        return np.random.default_rng(random_state)
    raise ParameterError(f"random_state={random_state!r} must be None, an int or a numpy Generator")


def _check_factor(X, name, shape, dtype):
    X = check_nonnegative_matrix(X, name)
    if X.shape != shape:
        raise ParameterError(f"{name} has shape {X.shape}; expected {shape}")
    return np.array(X, dtype=dtype, order="C", copy=True)


def _nndsvd(V, K, rng):
    """NNDSVD initialisation with zeros filled by the mean ("nndsvda")."""
    from sklearn.utils.extmath import randomized_svd

    U, S, Vt = randomized_svd(V.astype(np.float64), K, random_state=int(rng.integers(2**31 - 1)))
    W = np.zeros((V.shape[0], K))
    H = np.zeros((K, V.shape[1]))
    W[:, 0] = np.sqrt(S[0]) * np.abs(U[:, 0])
    H[0, :] = np.sqrt(S[0]) * np.abs(Vt[0, :])
    for j in range(1, K):
        x, y = U[:, j], Vt[j, :]
        xp, xn = np.maximum(x, 0), np.maximum(-x, 0)
        yp, yn = np.maximum(y, 0), np.maximum(-y, 0)
        mp = np.linalg.norm(xp) * np.linalg.norm(yp)
        mn = np.linalg.norm(xn) * np.linalg.norm(yn)
        if mp >= mn:
            u, v, s = xp / max(np.linalg.norm(xp), 1e-300), yp / max(np.linalg.norm(yp), 1e-300), mp
        else:
            u, v, s = xn / max(np.linalg.norm(xn), 1e-300), yn / max(np.linalg.norm(yn), 1e-300), mn
        W[:, j] = np.sqrt(S[j] * s) * u
        H[j, :] = np.sqrt(S[j] * s) * v
    avg = V.mean()
    W[W == 0] = avg
    H[H == 0] = avg
    return W, H


def _initialize(V, K, W, H, init, rng):
    """Fill the missing factors. ``W``/``H`` are validated copies or None."""
    F, T = V.shape
    dtype = V.dtype
    mean = float(V.mean())
    if W is None and H is None:
        if init == "nndsvda":
            W0, H0 = _nndsvd(V, K, rng)
            return W0.astype(dtype), H0.astype(dtype)
        avg = np.sqrt(mean / K)
        H0 = avg * np.abs(rng.standard_normal((K, T)))
        W0 = avg * np.abs(rng.standard_normal((F, K)))
        return np.ascontiguousarray(W0, dtype=dtype), np.ascontiguousarray(H0, dtype=dtype)
    if init == "nndsvda":
        W0, H0 = _nndsvd(V, K, rng)
        if W is None:
            W = W0.astype(dtype)
        if H is None:
            H = H0.astype(dtype)
        return W, H
    # One factor given: draw the other at random, scaled so that mean(W H) = mean(V).
    if H is None:
        H = np.abs(rng.standard_normal((K, T)))
        approx = float((W.astype(np.float64) @ H).mean())
        H *= (mean / approx) if approx > 0 else np.sqrt(mean / K)
        H = np.ascontiguousarray(H, dtype=dtype)
    if W is None:
        W = np.abs(rng.standard_normal((F, K)))
        approx = float((W @ H.astype(np.float64)).mean())
        W *= (mean / approx) if approx > 0 else np.sqrt(mean / K)
        W = np.ascontiguousarray(W, dtype=dtype)
    return W, H


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


def _check_sparsity(sparsity, K):
    """Return None (no penalty) or a (K, 1) float64 array of non-negative weights."""
    if np.ndim(sparsity) == 0:
        lam = check_finite_float(sparsity, "sparsity", low=0.0)
        return None if lam == 0 else np.full((K, 1), lam)
    arr = np.asarray(sparsity, dtype=float)
    if arr.shape != (K,):
        raise ParameterError(f"sparsity has shape {arr.shape}; expected a scalar or shape ({K},)")
    if not np.all(np.isfinite(arr)) or (arr < 0).any():
        raise ParameterError("sparsity weights must be finite and >= 0")
    return None if not arr.any() else arr[:, None].copy()


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


def _check_update_W(update_W, K):
    if isinstance(update_W, (bool, np.bool_)):
        return bool(update_W), None
    mask = np.asarray(update_W)
    if mask.dtype != bool or mask.shape != (K,):
        raise ParameterError(
            f"update_W must be True, False or a boolean array of length n_components={K}; "
            f"got {mask.dtype} array of shape {mask.shape}"
        )
    if mask.all():
        return True, None
    if not mask.any():
        return False, None
    return True, np.flatnonzero(mask)


def nmf(V, n_components=None, *, beta="kl", W=None, H=None, update_W=True, update_H=True,
        init="random", max_iter=200, tol=1e-4, random_state=None, callback=None,
        loss_every=LOSS_EVERY, accelerate=False, sparsity=0.0, continuity=0.0, n_threads=1):
    """Non-negative matrix factorisation ``V ≈ W H`` by multiplicative updates.

    Parameters
    ----------
    V : np.ndarray [shape=(n_freq, n_frames)], non-negative, finite
        Typically a magnitude spectrogram. float32 stays float32; other types run in float64.
    n_components : int > 0 or None
        Number of components K. ``None`` takes it from ``W`` or ``H``.
    beta : {"kl", "euclidean", "is"} or float
        β-divergence to minimise (see :func:`beta_divergence`); "kl" (β = 1) by default.
    W : np.ndarray [shape=(n_freq, K)] or None
        Initial (or fixed) templates. Never modified; a copy is used.
    H : np.ndarray [shape=(K, n_frames)] or None
        Initial (or fixed) activations. Never modified.
    update_W : bool or np.ndarray [shape=(K,), dtype=bool]
        ``False`` keeps W fixed; a boolean mask learns only the ``True`` columns
        and returns the others bit-identical (semi-supervised NMF).
    update_H : bool
        ``False`` keeps H fixed.
    init : {"random", "nndsvda"}
        How missing factors are initialised. ``"random"``: ``|N(0, 1)|`` scaled by
        ``sqrt(mean(V) / K)`` as in scikit-learn; when only one factor is given the
        other is scaled so that ``mean(W H) = mean(V)``. ``"nndsvda"``: NNDSVD with
        zeros filled by the mean of V.
    max_iter : int >= 0
        Maximum number of iterations; one iteration updates H, then W, once each.
    tol : float >= 0
        Stop when the relative decrease of the loss between two checks (every
        ``loss_every`` iterations), ``(previous - current) / previous``, is below
        ``tol``, or when the loss has fallen below 1e-10 of its initial value (an
        essentially exact fit). ``0`` runs exactly ``max_iter`` iterations.
    random_state : int, np.random.Generator or None
        Seed for the initialisation; the same seed gives an identical result.
    callback : callable or None
        ``callback(iteration, loss)`` at every loss check; returning ``True`` stops.
    loss_every : int > 0
        Loss sampling and convergence-check period (default 10).
    sparsity : float >= 0 or np.ndarray [shape=(K,)]
        L1 penalty ``λ_k Σ_t H_kt`` on the activations, per component if an array
        (e.g. only on free components). The penalty is applied to the problem
        scaled to ``mean(V) = 1``, so a weight means the same at any input level;
        ``losses`` then include it. Learned columns of ``W`` are renormalised to
        unit L1 norm after each W update (H rescaled, ``W H`` unchanged) so that
        the penalty cannot be dodged by scaling; the loss is guaranteed
        non-increasing only while W is fixed.
    continuity : float >= 0 or np.ndarray [shape=(K,)]
        Temporal-continuity penalty ``μ_k Σ_t (H_kt − H_k,t−1)²`` on the activations
        (Virtanen 2007, without his per-row variance normalisation), per component
        if an array. Like ``sparsity`` it applies to the problem scaled to
        ``mean(V) = 1``, is included in ``losses``, and makes learned W columns
        renormalise to unit L1 norm. H is then updated by an exact
        majorise-minimise step (see :mod:`nmfaudio._penalties`): **the penalised
        loss is guaranteed non-increasing for β = 1 ("kl") and β = 2
        ("euclidean") while W is fixed** (``update_W=False``). When W is learned,
        each W update still decreases the loss, but the renormalisation that
        follows changes the penalties, so monotonicity is not guaranteed (in
        practice the loss keeps falling). For other β the H step is the
        heuristic ratio of gradient parts (no guarantee). ``accelerate`` is
        ignored when ``continuity`` is used.
    n_threads : int > 0 or None
        Threads used during the call. For β ≠ 2 (without ``continuity``), ``n > 1``
        runs ``n`` worker threads over blocks of frames, each with one BLAS thread
        (the numba kernels and numpy's BLAS calls release the GIL); the result
        equals the 1-thread one up to float rounding (the W statistics are summed
        per worker). Otherwise it is the number of BLAS threads. The BLAS limit is
        process-wide while the call lasts and restored afterwards. Default 1: on the
        skinny products of NMF (K ≪ n_freq, n_frames) a second *BLAS* thread gained
        at most ~1.8× on an idle 2-vCPU machine and was up to 60× slower on a loaded
        one (``benchmarks/RESULTS.md``); the worker threads do not spin-wait.
        ``None`` leaves the BLAS setting alone.
    accelerate : bool
        ``False`` (default): the plain rules, one update of each learning factor
        per iteration. ``True``: accelerated MU (Gillis & Glineur 2012) for β = 2 —
        each iteration repeats the H (then W) update while reusing ``WᵀV``/``WᵀW``
        (``VHᵀ``/``HHᵀ``), until the change drops below a tenth of the first one
        (at most ``1 + ρ/2`` times, ρ the cost ratio). For other β: over-relaxed
        steps ``X ⊙ ratio^α`` (α adapted between 1 and 5) with a safeguard that
        falls back to the plain step whenever the loss would increase (see
        ``_Relaxed``); with a fixed factor nothing else can be reused, since
        ``W H`` changes at every step. Either way the loss is non-increasing and
        ``losses`` holds the loss after each accelerated iteration (every
        ``loss_every``); an iteration costs somewhat more than a plain one, but far
        fewer are needed (``benchmarks/RESULTS.md``).

    Returns
    -------
    NMFResult
        ``W``, ``H`` (dtype of the computation), ``n_iter``, ``losses``, ``loss``, ...

    Notes
    -----
    Denominators and ``W H`` are floored at the dtype's machine epsilon relative
    to the scale of ``V``, so zeros and all-zero inputs never produce NaN/Inf.
    Internally ``V`` is divided by its mean (and H, or W when H is fixed,
    accordingly); the β-divergence is homogeneous, so the iterates are those of
    the plain rules up to rounding. For β ≤ 0, zeros of ``V`` are floored at that
    epsilon (the Itakura–Saito divergence is infinite at zero).

    Examples
    --------
    >>> import numpy as np, nmfaudio
    >>> rng = np.random.default_rng(0)
    >>> V = rng.random((20, 3)) @ rng.random((3, 50))
    >>> res = nmfaudio.nmf(V, 3, beta="euclidean", random_state=0, max_iter=500)
    >>> res.W.shape, res.H.shape
    ((20, 3), (3, 50))
    >>> bool(res.losses[-1] < res.losses[0])
    True
    """
    beta = resolve_beta(beta)
    V = check_nonnegative_matrix(V, "V")
    dtype = V.dtype
    F, T = V.shape
    if n_components is None:
        if W is not None:
            n_components = np.shape(W)[1] if np.ndim(W) == 2 else None
        elif H is not None:
            n_components = np.shape(H)[0] if np.ndim(H) == 2 else None
        if n_components is None:
            raise ParameterError("n_components is required unless W or H is given")
    K = check_positive_int(n_components, "n_components")
    max_iter = check_nonneg_int(max_iter, "max_iter")
    tol = check_finite_float(tol, "tol", low=0.0)
    loss_every = check_positive_int(loss_every, "loss_every")
    if init not in ("random", "nndsvda"):
        raise ParameterError(f"init={init!r} is not supported; use 'random' or 'nndsvda'")
    if not isinstance(update_H, (bool, np.bool_)):
        raise ParameterError(f"update_H={update_H!r} must be True or False")
    update_H = bool(update_H)
    learn_W, free = _check_update_W(update_W, K)
    if callback is not None and not callable(callback):
        raise ParameterError(f"callback={callback!r} is not callable")
    W_in = None if W is None else _check_factor(W, "W", (F, K), dtype)
    H_in = None if H is None else _check_factor(H, "H", (K, T), dtype)
    if W_in is None and not learn_W:
        raise ParameterError("update_W=False (or a partial mask) needs the fixed templates W")
    if free is not None and W_in is None:
        raise ParameterError("update_W mask fixes some columns of W, so W must be given")
    if H_in is None and not update_H:
        raise ParameterError("update_H=False needs the fixed activations H")
    if init == "nndsvda" and (W_in is None or H_in is None) and K > min(F, T):
        raise ParameterError(
            f"init='nndsvda' needs n_components={K} <= min(n_freq, n_frames) = {min(F, T)}; "
            "use init='random'"
        )

    lam = _check_sparsity(sparsity, K)
    mu = _penalties.check_weights(continuity, K, "continuity")
    if not update_H:
        lam = None  # the penalty on a fixed H is a constant: nothing to optimise
        mu = None
    if n_threads is not None:
        n_threads = check_positive_int(n_threads, "n_threads")
    workers, blas = 1, n_threads
    if n_threads is not None and n_threads > 1 and beta != 2.0 and mu is None:
        # the blocked engine: worker threads over frame blocks, one BLAS thread each
        workers, blas = n_threads, 1
    with _blas_threads(blas):
        return _solve(V, K, W_in, H_in, init=init, random_state=random_state, beta=beta,
                      update_H=update_H, learn_W=learn_W, free=free, lam=lam, mu=mu,
                      max_iter=max_iter, tol=tol, loss_every=loss_every, callback=callback,
                      accelerate=accelerate, workers=workers)


def _solve(V, K, W_in, H_in, *, init, random_state, beta, update_H, learn_W, free, lam, mu,
           max_iter, tol, loss_every, callback, accelerate, workers=1):
    """The iterations of :func:`nmf` on validated arguments.

    Three paths: the blocked engine (plain rule, default), the over-relaxed safeguarded
    steps (``accelerate`` with β ≠ 2), and a reference loop with an explicit ``W H``
    (``accelerate`` with β = 2, and any run with a continuity penalty).
    """
    dtype = V.dtype
    F, T = V.shape

    rng = _rng(random_state)
    W0, H0 = _initialize(V, K, W_in, H_in, init, rng)
    W_fixed_cols = None if W_in is None else W_in  # exact originals for restoring fixed columns

    # Work on V / scale so that the eps floors are relative to the data.
    scale = float(V.mean())
    if not np.isfinite(scale) or scale <= 0:
        scale = 1.0
    eps = _eps(dtype)
    Vs = np.ascontiguousarray(V / dtype.type(scale), dtype=dtype)
    if beta <= 0:
        np.maximum(Vs, eps, out=Vs)
    W_ = np.array(W0, dtype=dtype, order="C", copy=True)
    H_ = np.array(H0, dtype=dtype, order="C", copy=True)
    on_H = update_H or not learn_W
    if on_H:
        H_ /= dtype.type(scale)
    else:
        W_ /= dtype.type(scale)
    # Unit-L1 templates inside the loop keep the eps floors relative to the data;
    # undone at the end. The L1 penalty follows the rescaled H so the objective is
    # unchanged, except on learned columns under sparsity, which the loop keeps at
    # unit L1 norm anyway (their penalty is defined in that normalisation).
    learned = np.zeros(K, dtype=bool)
    if learn_W:
        learned[slice(None) if free is None else free] = True
    norms = _balance_components(W_, H_)
    undo = norms.copy()
    if lam is not None:
        lam = np.where(learned[:, None], lam, lam / norms[:, None])
        undo[learned] = 1.0
    if mu is not None:  # quadratic in H: the weight follows the square of the rescaling
        mu = np.where(learned[:, None], mu, mu / norms[:, None] ** 2)
        undo[learned] = 1.0
    loss_scale = scale ** beta
    gamma = _gamma(beta)
    reference = mu is not None  # continuity: majorise-minimise H step of _penalties
    relax = bool(accelerate) and beta != 2.0 and not reference
    accelerate = bool(accelerate) and beta == 2.0 and not reference
    if accelerate:
        n_inner_H = max(2, int(1 + 0.5 * (1 + F / (K + 1))))
        n_inner_W = max(2, int(1 + 0.5 * (1 + T / (K + 1))))

    if lam is not None:
        lam = lam.astype(dtype)
    if mu is not None:
        mu = mu.astype(dtype)

    if accelerate or reference:
        def objective(WH):
            value = _divergence(Vs, WH, beta, eps)
            if lam is not None:
                value += float(np.sum(lam * H_, dtype=np.float64))
            if mu is not None:
                value += _penalties.continuity_cost(H_, mu)
            return value * loss_scale

        WH = W_ @ H_
        losses = [objective(WH)]
    else:
        engine = _Engine(Vs, W_, H_, beta, gamma, eps, lam, free, workers)
        del Vs
        if relax:
            step = _Relaxed(engine, update_H, learn_W, lam, free, eps)
            losses = [step.loss * loss_scale]
        else:
            losses = [(engine.h_stats(want_loss=True) if update_H else engine.loss()) * loss_scale]
    n_iter = 0
    converged = False
    prev = losses[0]
    fresh = True  # losses[-1] is the loss of the current factors
    for it in range(1, max_iter + 1):
        if not (update_H or learn_W):
            break
        if accelerate:
            if update_H:
                _inner_H_euclidean(Vs, W_, H_, eps, n_inner_H, 0.1, lam)
            if learn_W:
                _inner_W_euclidean(Vs, W_, H_, eps, n_inner_W, 0.1, free)
                if lam is not None:
                    _normalize_free_columns(W_, H_, free, eps)
        elif reference:
            if update_H:
                np.matmul(W_, H_, out=WH)
                _penalties.update_H_penalized(Vs, W_, H_, WH, beta, gamma, eps, lam, mu)
            if learn_W:
                np.matmul(W_, H_, out=WH)
                _update_W(Vs, W_, H_, WH, beta, gamma, eps, free)
                _normalize_free_columns(W_, H_, free, eps)
        elif relax:
            step()
        else:
            if update_H:
                engine.update_H()
            if learn_W:
                engine.update_W()
                if lam is not None:
                    _normalize_free_columns(W_, H_, free, eps)
        fresh = False
        n_iter = it
        if it % loss_every == 0:
            if accelerate or reference:
                np.matmul(W_, H_, out=WH)
                cur = objective(WH)
            elif relax:
                cur = step.loss * loss_scale
            else:
                # the statistics of the next H update need the same W H as the loss
                cur = (engine.h_stats(want_loss=True) if update_H else engine.loss()) * loss_scale
            fresh = True
            losses.append(cur)
            stop = callback(it, cur) is True if callback is not None else False
            if tol > 0 and (cur <= _EXACT * losses[0] or (prev - cur) < tol * prev):
                converged = True
                break
            if stop:
                break
            prev = cur

    if fresh:
        final = losses[-1]
    elif relax:
        final = step.loss * loss_scale
    elif accelerate or reference:
        np.matmul(W_, H_, out=WH)
        final = objective(WH)
    else:
        final = engine.loss() * loss_scale
    if not (accelerate or reference):
        engine.close()
    if on_H:
        H_ *= dtype.type(scale)
    else:
        W_ *= dtype.type(scale)
    W_ *= undo.astype(dtype)
    H_ /= undo.astype(dtype)[:, None]
    if W_fixed_cols is not None:
        if not learn_W:
            W_ = W_fixed_cols
        elif free is not None:
            fixed = np.ones(K, dtype=bool)
            fixed[free] = False
            W_[:, fixed] = W_fixed_cols[:, fixed]
    if not update_H and H_in is not None:
        H_ = H_in
    return NMFResult(W=W_, H=H_, n_iter=n_iter, losses=np.asarray(losses, dtype=np.float64),
                     loss=final, loss_every=loss_every, converged=converged, beta=beta)
