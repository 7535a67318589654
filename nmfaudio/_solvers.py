"""The solvers behind :func:`nmfaudio.nmf` (private module).

:func:`nmf` validates its arguments, picks one runner class once (as scikit-learn
picks its solver) and calls :func:`solve`, which

1. :func:`prepare` s the problem (initial factors, V scaled to mean 1, components
   balanced, penalty weights in that scaling) into a :class:`Problem`;
2. lets the runner iterate, every ``loss_every`` iterations handing the loss to a
   :class:`LossLog` (which records it, calls the callback and decides convergence);
3. :func:`finish` es: undoes the scalings and restores the fixed factors bit for bit.

Runners (each: ``first_loss()``, ``step()``, ``check_loss()``, ``final_loss()``,
``close()``; losses already in the units of the unscaled problem):

- :class:`Blocked`: the plain rules on the blocked engine (default);
- :class:`Relaxed`: over-relaxed safeguarded steps (``accelerate``, β ≠ 2, W learned);
- :class:`FrameRelaxed`: the same with one α and safeguard per frame (``accelerate``,
  β ≠ 2, W fixed);
- :class:`GillisGlineur`: accelerated MU with inner loops (``accelerate``, β = 2);
- :class:`Continuity`: the majorise-minimise H step of the continuity penalty, on an
  explicit ``W H``.

Orientation as everywhere: ``V (n_freq, n_frames) ≈ W (n_freq, K) @ H (K, n_frames)``.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from . import _penalties
from ._accel import _FrameRelaxed, _Relaxed, _inner_H_euclidean, _inner_W_euclidean
from ._mu import _Engine, _balance_components, _normalize_free_columns, _update_W
from ._numerics import divergence, gamma as mm_exponent, rng as make_rng, scaled_data

# A loss below this fraction of the initial loss counts as an exact fit (stops when tol > 0).
EXACT = 1e-10


@dataclasses.dataclass
class Problem:
    """A validated, scaled problem: the runners update ``W`` and ``H`` in place.

    ``Vs`` is V over ``scale`` (floored for β ≤ 0); ``W`` has unit-L1 columns (``undo``
    the norms to put back); ``lam``/``mu`` (K, 1) or None are the penalty weights in
    that scaling; losses are multiplied by ``loss_scale = scale ** β``.
    """

    Vs: np.ndarray
    W: np.ndarray
    H: np.ndarray
    beta: float
    gamma: float
    eps: float
    scale: float
    loss_scale: float
    undo: np.ndarray
    on_H: bool            # H (not W) carries the scale of V
    update_H: bool
    learn_W: bool
    free: np.ndarray      # learned columns of W when only some are (else None)
    lam: np.ndarray
    mu: np.ndarray
    W_in: np.ndarray      # the given W (exact originals of fixed columns) or None
    H_in: np.ndarray      # the given H or None


class LossLog:
    """The sampled losses of a run, the callback and the stopping rule."""

    def __init__(self, first, tol, callback):
        self.losses = [first]
        self.prev = first
        self.tol, self.callback = tol, callback
        self.converged = False

    def record(self, it, cur):
        """Log the loss after iteration ``it``; True if the run stops here."""
        self.losses.append(cur)
        stop = self.callback(it, cur) is True if self.callback is not None else False
        if self.tol > 0 and (cur <= EXACT * self.losses[0] or (self.prev - cur) < self.tol * self.prev):
            self.converged = True
            return True
        if stop:
            return True
        self.prev = cur
        return False


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


def initialize(V, K, W, H, init, rng):
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


def prepare(V, K, W_in, H_in, *, init, random_state, beta, update_H, learn_W, free, lam, mu):
    """The :class:`Problem` of :func:`nmf`'s validated arguments."""
    dtype = V.dtype
    W0, H0 = initialize(V, K, W_in, H_in, init, make_rng(random_state))
    Vs, scale, eps = scaled_data(V, beta)
    Vs = np.ascontiguousarray(Vs)
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
    return Problem(Vs=Vs, W=W_, H=H_, beta=beta, gamma=mm_exponent(beta), eps=eps, scale=scale,
                   loss_scale=scale ** beta, undo=undo, on_H=on_H, update_H=update_H,
                   learn_W=learn_W, free=free,
                   lam=None if lam is None else lam.astype(dtype),
                   mu=None if mu is None else mu.astype(dtype), W_in=W_in, H_in=H_in)


def finish(p):
    """``(W, H)`` in the units of V, fixed factors (or columns) restored bit for bit."""
    dtype = p.W.dtype
    W_, H_ = p.W, p.H
    if p.on_H:
        H_ *= dtype.type(p.scale)
    else:
        W_ *= dtype.type(p.scale)
    W_ *= p.undo.astype(dtype)
    H_ /= p.undo.astype(dtype)[:, None]
    if p.W_in is not None:
        if not p.learn_W:
            W_ = p.W_in
        elif p.free is not None:
            fixed = np.ones(W_.shape[1], dtype=bool)
            fixed[p.free] = False
            W_[:, fixed] = p.W_in[:, fixed]
    if not p.update_H and p.H_in is not None:
        H_ = p.H_in
    return W_, H_


def solve(runner_class, p, *, max_iter, tol, loss_every, callback, workers=1):
    """Run ``runner_class`` on the :class:`Problem` ``p``: ``(n_iter, losses, loss, converged)``."""
    runner = runner_class(p, workers)
    if loss_every is None:
        # no loss wanted (private callers; plain rules only): max_iter updates, nothing else.
        # The updates are those of a run that logs its loss, bit for bit.
        if not getattr(runner_class, "loss_free", False):
            raise ValueError(f"{runner_class.__name__} needs its loss")
        n_iter = max_iter if (p.update_H or p.learn_W) else 0
        for _ in range(n_iter):
            runner.step()
        runner.close()
        return n_iter, np.zeros(0), float("nan"), False
    log = LossLog(runner.first_loss(), tol, callback)
    n_iter = 0
    fresh = True  # log.losses[-1] is the loss of the current factors
    for it in range(1, max_iter + 1):
        if not (p.update_H or p.learn_W):
            break
        runner.step()
        fresh = False
        n_iter = it
        if it % loss_every == 0:
            fresh = True
            if log.record(it, runner.check_loss()):
                break
    final = log.losses[-1] if fresh else runner.final_loss()
    runner.close()
    return n_iter, np.asarray(log.losses, dtype=np.float64), final, log.converged


class Blocked:
    """The plain rules (one update of each learning factor per iteration) on :class:`_Engine`."""

    blocked = True  # runs on the blocked engine (worker threads over frames)
    loss_free = True  # its steps do not need the loss (solve(loss_every=None))

    def __init__(self, p, workers):
        self.p = p
        self.engine = _Engine(p.Vs, p.W, p.H, p.beta, p.gamma, p.eps, p.lam, p.free, workers)
        p.Vs = None  # the engine holds its own blocks

    def _loss(self):
        # the statistics of the next H update need the same W H as the loss
        e = self.engine
        return (e.h_stats(want_loss=True) if self.p.update_H else e.loss()) * self.p.loss_scale

    first_loss = check_loss = _loss

    def step(self):
        p, e = self.p, self.engine
        if p.update_H:
            e.update_H()
        if p.learn_W:
            e.update_W()
            if p.lam is not None:
                _normalize_free_columns(p.W, p.H, p.free, p.eps)

    def final_loss(self):
        return self.engine.loss() * self.p.loss_scale

    def close(self):
        self.engine.close()


class Relaxed(Blocked):
    """Over-relaxed safeguarded steps (:class:`._accel._Relaxed`), β ≠ 2."""

    loss_free = False  # the safeguard compares losses

    def __init__(self, p, workers):
        super().__init__(p, workers)
        self.relaxed = self._make()

    def _make(self):
        p = self.p
        return _Relaxed(self.engine, p.update_H, p.learn_W, p.lam, p.free, p.eps)

    def _loss(self):
        return self.relaxed.loss * self.p.loss_scale

    first_loss = check_loss = final_loss = _loss

    def step(self):
        self.relaxed()


class FrameRelaxed(Relaxed):
    """W fixed, β ≠ 2: over-relaxed H steps safeguarded frame by frame (:class:`._accel._FrameRelaxed`)."""

    def _make(self):
        return _FrameRelaxed(self.engine)


class _Explicit:
    """Base of the runners that keep an explicit ``W H`` (and the objective on it)."""

    blocked = False

    def __init__(self, p, workers):
        self.p = p
        self.WH = p.W @ p.H

    def _objective(self):
        p = self.p
        value = divergence(p.Vs, self.WH, p.beta, p.eps)
        if p.lam is not None:
            value += float(np.sum(p.lam * p.H, dtype=np.float64))
        if p.mu is not None:
            value += _penalties.continuity_cost(p.H, p.mu)
        return value * p.loss_scale

    def first_loss(self):
        return self._objective()

    def check_loss(self):
        np.matmul(self.p.W, self.p.H, out=self.WH)
        return self._objective()

    final_loss = check_loss

    def close(self):
        pass


class GillisGlineur(_Explicit):
    """Accelerated MU for β = 2 (Gillis & Glineur 2012): inner loops reusing ``WᵀV``/``WᵀW``
    (``VHᵀ``/``HHᵀ``), at most ``1 + ρ/2`` times, ρ the cost ratio."""

    def __init__(self, p, workers):
        super().__init__(p, workers)
        (F, T), K = p.Vs.shape, p.W.shape[1]
        self.n_inner_H = max(2, int(1 + 0.5 * (1 + F / (K + 1))))
        self.n_inner_W = max(2, int(1 + 0.5 * (1 + T / (K + 1))))

    def step(self):
        p = self.p
        if p.update_H:
            _inner_H_euclidean(p.Vs, p.W, p.H, p.eps, self.n_inner_H, 0.1, p.lam)
        if p.learn_W:
            _inner_W_euclidean(p.Vs, p.W, p.H, p.eps, self.n_inner_W, 0.1, p.free)
            if p.lam is not None:
                _normalize_free_columns(p.W, p.H, p.free, p.eps)


class Continuity(_Explicit):
    """The continuity penalty: the majorise-minimise H step of :mod:`._penalties`, plain W steps."""

    def step(self):
        p, WH = self.p, self.WH
        if p.update_H:
            np.matmul(p.W, p.H, out=WH)
            _penalties.update_H_penalized(p.Vs, p.W, p.H, WH, p.beta, p.gamma, p.eps, p.lam, p.mu)
        if p.learn_W:
            np.matmul(p.W, p.H, out=WH)
            _update_W(p.Vs, p.W, p.H, WH, p.beta, p.gamma, p.eps, p.free)
            _normalize_free_columns(p.W, p.H, p.free, p.eps)


def pick_runner(*, beta, accelerate, update_H, learn_W, continuity):
    """The runner class for these options (see the module docstring)."""
    if continuity:
        return Continuity
    if not accelerate:
        return Blocked
    if beta == 2.0:
        return GillisGlineur
    return FrameRelaxed if update_H and not learn_W else Relaxed
