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

import dataclasses
import numbers

import numpy as np

from ._checks import (
    check_finite_float, check_nonneg_int, check_nonnegative_matrix, check_positive_int, show,
)
from . import _penalties, _solvers
from ._threads import blas_threads as _blas_threads
from ._threads import max_threads
from ._numerics import divergence, eps
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


def resolve_beta(beta) -> float:
    """Map ``"euclidean"``/``"frobenius"`` (2), ``"kl"``/``"kullback-leibler"`` (1),
    ``"is"``/``"itakura-saito"`` (0) or a number in [BETA_MIN, BETA_MAX] to a float."""
    if isinstance(beta, str):
        key = beta.strip().lower()
        if key in _BETA_NAMES:
            return _BETA_NAMES[key]
        raise ParameterError(
            f"beta={show(beta)} is not a known divergence; use 'euclidean', 'kl', 'is' or a number"
        )
    if isinstance(beta, (bool, np.bool_)) or not isinstance(beta, numbers.Real):
        raise ParameterError(f"beta={show(beta)} must be a string or a real number")
    return check_finite_float(beta, "beta", low=BETA_MIN, high=BETA_MAX)


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
    floor = eps(V.dtype)
    if beta <= 0:
        V = np.maximum(V, floor)
    return divergence(V, W @ H, beta, floor)


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
        initial loss, ``losses[i]`` the loss after ``i * loss_every`` iterations
        (empty with ``loss_every=None``).
    loss : float
        Loss of the returned factors (NaN with ``loss_every=None``).
    loss_every : int or None
        Sampling period of ``losses`` (None: no loss was computed).
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


def _check_factor(X, name, shape, dtype):
    X = check_nonnegative_matrix(X, name)
    if X.shape != shape:
        raise ParameterError(f"{name} has shape {X.shape}; expected {shape}")
    return np.array(X, dtype=dtype, order="C", copy=True)


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
        loss_every=LOSS_EVERY, accelerate=False, sparsity=0.0, continuity=0.0, n_threads="auto"):
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
    loss_every : int > 0 or None
        Loss sampling and convergence-check period (default 10). ``None`` computes no
        loss at all (``losses`` empty, ``loss`` NaN): exactly ``max_iter`` plain updates,
        the same factors bit for bit, faster when iterations are few (each loss pass
        costs about an iteration). Needs ``tol=0``, no ``callback``, no ``accelerate``
        and no ``continuity``.
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
    n_threads : "auto", int > 0 or None
        Threads used during the call. On the default (blocked) path — any β without
        ``continuity``, and β ≠ 2 also with ``accelerate`` — ``n > 1`` runs ``n``
        worker threads over blocks of frames, each with one BLAS thread (the numba
        kernels and numpy's BLAS calls release the GIL; the workers wait on each other
        without spinning); the result equals the 1-thread one up to float rounding
        (the W statistics are summed per worker). Otherwise (``continuity``, or β = 2
        with ``accelerate``) it is the number of BLAS threads. The BLAS limit is
        process-wide while the call lasts and restored afterwards. ``"auto"``
        (default): one worker per usable core, at most 2, on the blocked path
        (measured on a 2-vCPU machine, KL, 1025 × 2584, K = 32: 5.05 vs 8.25
        ms/iteration idle, 8.89 vs 8.37 with one busy process beside it, 10.8 vs 11.2
        with two); 1 BLAS thread otherwise — a second *BLAS* thread on these skinny
        products (K ≪ n_freq, n_frames) gained at most ~1.8× on an idle machine and
        was up to 60× slower on a loaded one, as OpenBLAS threads spin
        (``benchmarks/RESULTS.md``). ``None`` leaves the BLAS setting alone and uses
        no worker threads.
    accelerate : bool
        ``False`` (default): the plain rules, one update of each learning factor
        per iteration. ``True``: accelerated MU (Gillis & Glineur 2012) for β = 2 —
        each iteration repeats the H (then W) update while reusing ``WᵀV``/``WᵀW``
        (``VHᵀ``/``HHᵀ``), until the change drops below a tenth of the first one
        (at most ``1 + ρ/2`` times, ρ the cost ratio). For other β: over-relaxed
        steps ``X ⊙ ratio^α`` (α adapted between 1 and 5) with a safeguard that
        falls back to the plain step whenever the loss would increase (see
        ``_Relaxed``); with a fixed factor nothing else can be reused, since
        ``W H`` changes at every step. With W fixed (``update_W=False``) and β ≠ 2
        every frame is its own problem, so α and the safeguard are per frame: each
        frame's loss is non-increasing and a frame's result does not depend on the
        other frames (what block-wise streaming needs). Either way the loss is non-increasing and
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
    if loss_every is not None:
        loss_every = check_positive_int(loss_every, "loss_every")
    if init not in ("random", "nndsvda"):
        hint = "; give starting factors as W= and H=" if not isinstance(init, str) else ""
        raise ParameterError(f"init={show(init)} is not supported; use 'random' or 'nndsvda'{hint}")
    if not isinstance(update_H, (bool, np.bool_)):
        raise ParameterError(f"update_H={show(update_H)} must be True or False")
    update_H = bool(update_H)
    learn_W, free = _check_update_W(update_W, K)
    if callback is not None and not callable(callback):
        raise ParameterError(f"callback={show(callback)} is not callable")
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

    lam = _penalties.check_weights(sparsity, K, "sparsity")
    mu = _penalties.check_weights(continuity, K, "continuity")
    if not update_H:
        lam = None  # the penalty on a fixed H is a constant: nothing to optimise
        mu = None
    if not isinstance(accelerate, (bool, np.bool_)):
        raise ParameterError(f"accelerate={show(accelerate)} must be True or False")
    runner = _solvers.pick_runner(beta=beta, accelerate=bool(accelerate), update_H=update_H,
                                  learn_W=learn_W, continuity=mu is not None)
    if loss_every is None:
        why = [w for w, bad in ((f"tol={show(tol)} (give tol=0)", tol != 0),
                                ("a callback", callback is not None),
                                ("accelerate=True", bool(accelerate)),
                                ("continuity", mu is not None)) if bad]
        if why or not getattr(runner, "loss_free", False):
            raise ParameterError("loss_every=None computes no loss, so it cannot be used with "
                                 + (" or ".join(why) if why else f"the {runner.__name__} updates"))
    if isinstance(n_threads, str) and n_threads == "auto":
        n_threads = _auto_threads() if runner.blocked else 1
    elif n_threads is not None:
        if isinstance(n_threads, str):
            raise ParameterError(f"n_threads={show(n_threads)} must be 'auto', None or a positive integer")
        n_threads = check_positive_int(n_threads, "n_threads")
    workers, blas = 1, n_threads
    if n_threads is not None and n_threads > 1 and runner.blocked:
        # the blocked engine: worker threads over frame blocks, one BLAS thread each
        workers, blas = n_threads, 1
    with _blas_threads(blas):
        problem = _solvers.prepare(V, K, W_in, H_in, init=init, random_state=random_state,
                                   beta=beta, update_H=update_H, learn_W=learn_W, free=free,
                                   lam=lam, mu=mu)
        n_iter, losses, loss, converged = _solvers.solve(
            runner, problem, max_iter=max_iter, tol=tol, loss_every=loss_every,
            callback=callback, workers=workers)
    W_out, H_out = _solvers.finish(problem)
    return NMFResult(W=W_out, H=H_out, n_iter=n_iter, losses=losses, loss=loss,
                     loss_every=loss_every, converged=converged, beta=beta)


def _auto_threads():
    """``n_threads="auto"``: the threading policy's count (``_threads.max_threads``)."""
    return max_threads()

