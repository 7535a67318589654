"""Supervised separation: fixed source dictionaries, activations solved frame by frame.

``V ≈ W H`` with ``W (n_freq, K)`` the dictionaries' templates side by side (fixed) and
``H (K, n_frames)`` learned; every frame is its own problem, which the threaded solve and
:func:`nmfaudio.separate_stream` rely on.
"""

from __future__ import annotations

import numpy as np

from ._options import ADAPT_PRIOR
from ._checks import check_finite_float, check_positive_int, check_seed, show
from .dictionary import check_dictionaries as _check_dictionaries
from .exceptions import ParameterError
from ._random import random_templates
from .masking import mask_sources, source_estimates
from .nmf import nmf
from .separation import Separation, stack_channels, unstack_channels

__all__ = ["separate_supervised_spectrogram", "frame_init", "adapt_templates"]


def frame_init(V, K):
    """Per-frame initial activations: each of K components gets an equal share of the
    frame's total magnitude. Frames are treated independently (no global statistic),
    so a block-wise solve starts from the same point as an offline one."""
    return np.repeat(V.sum(axis=0, keepdims=True) / K, K, axis=0)


#: Iterations of the supervised solve by default: accelerated (fixed templates, β ≠ 2) or plain.
SUPERVISED_ITER_ACCELERATED = 20
SUPERVISED_ITER_PLAIN = 100
#: Per-frame early stop of the fixed-template solve (:class:`._frames.FrameSolver`): a frame
#: whose loss fell by at most this fraction in an iteration does one more and stops. Frame-local,
#: so streamed == offline still holds; chosen on the tuning part (``benchmarks/RESULTS.md``).
SUPERVISED_RTOL = 1e-3


def supervised_settings(dictionaries, *, n_free=0, max_iter=None, accelerate=None):
    """The ``(max_iter, accelerate)`` a supervised separation runs with.

    ``accelerate=None`` turns the accelerated solve on when only activations are
    learned (``n_free == 0``) and the dictionaries' β is not 2: frame-wise
    safeguarded over-relaxed steps (see :func:`nmfaudio.nmf`), which keep every
    frame independent. ``max_iter=None`` is then 20, else 100. On the 25-item
    benchmark set (``benchmarks/RESULTS.md``) 20 accelerated iterations scored as 100
    plain ones at a fifth of the cost: music 8.20 vs 8.22 dB SDR, speech 14.05 vs
    14.02 (10 / 25 / 50 accelerated: music 8.11 / 8.22 / 8.21).
    """
    if accelerate is None:
        accelerate = n_free == 0 and all(float(d.beta) != 2.0 for d in dictionaries)
    elif not isinstance(accelerate, (bool, np.bool_)):
        raise ParameterError(f"accelerate={show(accelerate)} must be True, False or None")
    if max_iter is None:
        max_iter = SUPERVISED_ITER_ACCELERATED if accelerate else SUPERVISED_ITER_PLAIN
    return check_positive_int(max_iter, "max_iter"), bool(accelerate)


def separate_supervised_spectrogram(S, dictionaries, *, n_free=0, free_name="residual",
                                    free_sparsity=0.0, mask_power=2.0, max_iter=None,
                                    accelerate=None, random_state=0, callback=None,
                                    adapt=0, adapt_prior=ADAPT_PRIOR):
    """Supervised separation of a complex STFT with fixed source dictionaries.

    Parameters
    ----------
    S : np.ndarray [shape=(..., n_freq, n_frames), complex]
        Mixture STFT computed with the dictionaries' STFT settings.
    dictionaries : list of SourceDictionary
        One per source; their templates stay fixed.
    n_free : int >= 0
        Extra free components learned on the mixture; they absorb whatever the
        dictionaries do not explain and come back as the source ``free_name``.
    free_sparsity : float >= 0
        L1 penalty on the free components' activations.
    mask_power : float > 0
        Soft-mask exponent on magnitudes (2 = Wiener).
    max_iter : int > 0 or None
        Iterations. With fixed templates only (``n_free == 0``) every frame is
        solved on its own, for at most ``max_iter`` iterations: it stops one
        iteration after its loss fell by at most ``SUPERVISED_RTOL`` (1e-3) of
        itself, a decision on that frame alone (streamed == offline). With free
        components exactly ``max_iter``. ``None``: 20 accelerated or, when not
        accelerated, 100 plain iterations.
    accelerate : bool or None
        ``nmf(..., accelerate=True)``: with fixed templates only, over-relaxed steps
        safeguarded frame by frame (each frame's loss non-increasing, frames still
        independent). ``None``: on when ``n_free == 0`` and β ≠ 2.
    random_state : int
        Seed for the free components' initialisation.
    callback : callable or None
        ``callback(iteration, loss)``, called by :func:`nmfaudio.nmf` at every loss
        check (every 10 iterations) to report progress; returning ``True`` stops early.
    adapt : int >= 0
        Iterations of template adaptation on the mixture after the fixed-template
        solve (:func:`adapt_templates`): the dictionaries' templates become the
        starting point and the prior, not fixed. 0 (default) keeps them fixed.
        Needs ``n_free == 0``.
    adapt_prior : float >= 0
        Strength of the pull towards the dictionaries' templates while adapting
        (see :func:`adapt_templates`); only with ``adapt > 0``.

    Returns
    -------
    Separation
        ``W (n_freq, K)`` is the dictionaries' templates side by side (then the
        free ones; adapted ones with ``adapt > 0``), ``labels`` says which source
        each column belongs to.

    Examples
    --------
    >>> import numpy as np, nmfaudio
    >>> rng = np.random.default_rng(0)
    >>> p = nmfaudio.STFTParams(n_fft=256)
    >>> a = nmfaudio.learn_dictionary(rng.standard_normal(4000), 8000, name="a", stft_params=p,
    ...                               n_components=2, max_iter=10)
    >>> b = nmfaudio.learn_dictionary(np.sin(np.arange(4000) * 0.3), 8000, name="b", stft_params=p,
    ...                               n_components=2, max_iter=10)
    >>> S = nmfaudio.stft(rng.standard_normal(4000), stft_params=p)
    >>> sep = nmfaudio.separate_supervised_spectrogram(S, [a, b], max_iter=10)
    >>> sep.names, sep.labels.tolist()[::9]  # 2 templates + 8 pitch-shifted copies each
    (['a', 'b'], [0, 0, 1, 1])
    """
    dicts = _check_dictionaries(dictionaries)
    S = np.asarray(S)
    if not np.iscomplexobj(S) or S.ndim < 2:
        raise ParameterError(f"S must be a complex STFT (..., n_freq, n_frames); got {S.dtype} {S.shape}")
    d0 = dicts[0]
    if S.shape[-2] != d0.stft.n_freq:
        raise ParameterError(
            f"S has {S.shape[-2]} frequency bins but the dictionaries use n_fft={d0.stft.n_fft} "
            f"({d0.stft.n_freq} bins)"
        )
    n_free, mask_power, random_state, names, max_iter, accelerate, adapt, adapt_prior = _settings(
        dicts, n_free=n_free, free_name=free_name, mask_power=mask_power, random_state=random_state,
        max_iter=max_iter, accelerate=accelerate, adapt=adapt, adapt_prior=adapt_prior)
    lead, T = S.shape[:-2], S.shape[-1]
    if not n_free:
        return _supervised_frames(S, dicts, names, mask_power, max_iter, accelerate, callback,
                                  adapt=adapt, adapt_prior=adapt_prior)
    V = stack_channels(np.abs(S))
    if d0.power != 1.0:
        from .dictionary import powered

        V = powered(V, d0.power)
    dtype = V.dtype
    W_parts = [d.W.astype(dtype) for d in dicts]
    labels = np.concatenate([np.full(d.n_components, i) for i, d in enumerate(dicts)])
    K_fixed = labels.size
    if n_free:
        W_parts.append(random_templates(np.random.default_rng(random_state), V.shape[0], n_free, dtype))
        labels = np.concatenate([labels, np.full(n_free, len(dicts))])
    W0 = np.concatenate(W_parts, axis=1)
    K = W0.shape[1]
    H0 = frame_init(V, K).astype(dtype)
    if n_free:
        update_W = np.arange(K) >= K_fixed
        sparsity = np.where(update_W, free_sparsity, 0.0)
    else:
        update_W, sparsity = False, 0.0
    res = nmf(V, W=W0, H=H0, beta=d0.beta, update_W=update_W, max_iter=max_iter, tol=0,
              random_state=random_state, sparsity=sparsity, callback=callback,
              accelerate=accelerate)
    n_src = len(names)
    est = source_estimates(res.W, res.H, labels, n_src, lead_shape=lead, n_frames=T)
    masks, S_sources = mask_sources(S, est, mask_power=mask_power, spectrogram_power=d0.power)
    return Separation(names=names, S_sources=S_sources, masks=masks, W=res.W,
                      H=unstack_channels(res.H, lead, T), labels=labels, n_iter=res.n_iter,
                      loss=res.loss)


def _settings(dicts, *, n_free, free_name, mask_power, random_state, max_iter, accelerate, adapt,
              adapt_prior):
    """The validated settings of a supervised separation (ParameterError naming a bad one)."""
    n_free = int(n_free)
    if n_free < 0:
        raise ParameterError(f"n_free={n_free} must be >= 0")
    mask_power = check_finite_float(mask_power, "mask_power", low=0.0, low_open=True)
    random_state = check_seed(random_state)
    names = [d.name for d in dicts] + ([free_name] if n_free else [])
    if len(set(names)) != len(names):
        raise ParameterError(f"free_name={show(free_name)} collides with a dictionary name")
    max_iter, accelerate = supervised_settings(dicts, n_free=n_free, max_iter=max_iter,
                                                accelerate=accelerate)
    adapt, adapt_prior = check_adapt(adapt, adapt_prior, n_free=n_free)
    return n_free, mask_power, random_state, names, max_iter, accelerate, adapt, adapt_prior


def separate_supervised_long(y, params, dictionaries, *, mask_power=2.0, max_iter=None,
                             random_state=0, callback=None, adapt=0, adapt_prior=ADAPT_PRIOR):
    """Fixed-dictionary separation of a long signal without its whole complex STFT.

    The model of :func:`separate_supervised_spectrogram` with ``n_free=0`` (the same
    activations, bit for bit): the magnitudes come frame block by frame block from ``y``
    (:mod:`nmfaudio._blockwise`), and masks and inverse STFT go one block of frames at a
    time, so only the magnitudes and the activations exist for the whole signal.

    Parameters
    ----------
    y : np.ndarray [shape=(..., n), float]
        Validated mixture at the dictionaries' rate (``_blockwise.applies(y, params)``).
    params : STFTParams
        The dictionaries' STFT settings.
    dictionaries, mask_power, max_iter, random_state, callback, adapt, adapt_prior
        As for :func:`separate_supervised_spectrogram`.

    Returns
    -------
    sources : dict[str, np.ndarray [shape=y.shape, dtype=y.dtype]]
        Equal to the masked-STFT path's up to float rounding.
    separation : Separation
        With ``masks`` and ``S_sources`` None.
    """
    from . import _blockwise

    dicts = _check_dictionaries(dictionaries)
    _, mask_power, _, names, max_iter, accelerate, adapt, adapt_prior = _settings(
        dicts, n_free=0, free_name="residual", mask_power=mask_power, random_state=random_state,
        max_iter=max_iter, accelerate=None, adapt=adapt, adapt_prior=adapt_prior)
    d0 = dicts[0]
    lead, T = y.shape[:-1], params.n_frames(y.shape[-1])
    V = _blockwise.magnitudes(y, params)
    if d0.power != 1.0:
        from .dictionary import powered

        V = np.ascontiguousarray(powered(V, d0.power))
    W, H, labels, loss = _frames_solve(V, dicts, max_iter, accelerate, callback, adapt=adapt,
                                       adapt_prior=adapt_prior)
    del V
    out = _blockwise.sources(y, params, W, H, labels, names, mask_power=mask_power,
                             spectrogram_power=d0.power)
    return out, Separation(names=names, S_sources=None, masks=None, W=W,
                           H=unstack_channels(H, lead, T), labels=labels, n_iter=max_iter + adapt,
                           loss=loss)


def _workers():
    """Threads for the supervised solve: the usable cores, at most 2 (measured on 2 vCPUs)."""
    from ._threads import max_threads

    return max_threads()


def spectrogram_model(S, power):
    """``|S| ** power`` with channels side by side along time (what the dictionaries model)."""
    V = stack_channels(np.abs(S))
    if power != 1.0:
        from .dictionary import powered

        V = powered(V, power)
    return np.ascontiguousarray(V)


def stacked_templates(dictionaries, dtype):
    """``(W (n_freq, K), labels (K,))``: the dictionaries' templates side by side."""
    W = np.ascontiguousarray(np.concatenate([d.W.astype(dtype) for d in dictionaries], axis=1))
    labels = np.concatenate([np.full(d.n_components, i) for i, d in enumerate(dictionaries)])
    return W, labels


def _supervised_frames(S, dicts, names, mask_power, max_iter, accelerate, callback, *,
                       adapt=0, adapt_prior=0.0):
    """Fixed templates only: every frame solved on its own by :class:`._frames.FrameSolver`,
    whose result for a frame does not depend on the other frames (so block-wise streaming,
    :class:`nmfaudio.StreamSeparator` and this offline solve agree), on up to
    :func:`_workers` threads. With a ``callback``, frames go in ten chunks, each followed by
    ``callback(iterations × share done, loss so far)``; ``True`` stops (the frames not yet
    solved keep their starting activations). With ``adapt > 0`` the templates then adapt to
    the mixture (:func:`adapt_templates`, all frames together)."""
    lead, T = S.shape[:-2], S.shape[-1]
    V = spectrogram_model(S, dicts[0].power)
    W, H, labels, loss = _frames_solve(V, dicts, max_iter, accelerate, callback, adapt=adapt,
                                       adapt_prior=adapt_prior)
    est = source_estimates(W, H, labels, len(names), lead_shape=lead, n_frames=T)
    masks, S_sources = mask_sources(S, est, mask_power=mask_power, spectrogram_power=dicts[0].power)
    return Separation(names=names, S_sources=S_sources, masks=masks, W=W,
                      H=unstack_channels(H, lead, T), labels=labels, n_iter=max_iter + adapt,
                      loss=loss)


def _frames_solve(V, dicts, max_iter, accelerate, callback, *, adapt, adapt_prior):
    """``(W, H, labels, loss)`` of the fixed-template solve of ``V`` (then ``adapt`` iterations)."""
    from ._frames import FrameSolver

    d0 = dicts[0]
    W0, labels = stacked_templates(dicts, V.dtype)
    K = W0.shape[1]
    solver = FrameSolver(W0, beta=d0.beta, max_iter=max_iter, accelerate=accelerate,
                         rtol=SUPERVISED_RTOL)
    if callback is None:
        H, losses = solver.solve(V, n_threads=_workers())
    else:
        H = frame_init(V, K).astype(V.dtype)
        losses = np.zeros(V.shape[1])
        edges = np.linspace(0, V.shape[1], min(10, V.shape[1]) + 1).round().astype(int)
        for a, b in zip(edges[:-1], edges[1:]):
            H[:, a:b], losses[a:b] = solver.solve(V[:, a:b], n_threads=_workers())
            if callback(int(round(max_iter * b / V.shape[1])), float(losses[:b].sum())) is True:
                break
    W, loss = W0, float(losses.sum())
    if adapt:
        W, H, loss = adapt_templates(V, W0, H, beta=d0.beta, n_iter=adapt, prior=adapt_prior)
    return W, H, labels, loss


def check_adapt(adapt, adapt_prior, *, n_free=0):
    """Validated ``(adapt, adapt_prior)`` of a supervised separation."""
    if isinstance(adapt, (bool, np.bool_)) or not isinstance(adapt, (int, np.integer)) or adapt < 0:
        raise ParameterError(f"adapt={show(adapt)} must be an integer >= 0 (iterations of "
                             "template adaptation; 0 keeps the templates fixed)")
    if isinstance(adapt_prior, (bool, np.bool_)):
        raise ParameterError(f"adapt_prior={show(adapt_prior)} must be a number >= 0")
    adapt_prior = check_finite_float(adapt_prior, "adapt_prior", low=0.0)
    if not adapt and adapt_prior != ADAPT_PRIOR:
        raise ParameterError(f"adapt_prior={adapt_prior} has no effect with adapt=0; give adapt= "
                             "(iterations) too, or leave adapt_prior unset")
    if adapt and n_free:
        raise ParameterError(f"adapt={adapt} cannot be combined with n_free={n_free} (free "
                             "components); use one or the other")
    return int(adapt), adapt_prior


def adapt_templates(V, W0, H0, *, beta, n_iter, prior=ADAPT_PRIOR):
    """Let model templates adapt to a mixture: β-divergence MU with a pull towards the model.

    Minimises ``D_β(V | W H) + Σ_k c_k D_β(W0_k | W_k)`` over both factors, from
    ``W = W0`` and ``H = H0`` (``V ≈ W H``, frequency first). The penalty is the
    β-divergence of pseudo-observations of each model template, so it needs no other
    scale than the data's: its weight ``c_k = prior × (the data term's weight on
    column k)`` (the column's share of the W-update denominator over its share in the
    prior's), so ``prior=1`` lets the model count as much as the mixture for every
    template, ``prior=0`` is plain semi-supervised NMF started from the model, and a
    large ``prior`` keeps W at the model. Each iteration updates H then W with the
    Févotte–Idier exponent γ(β), and renormalises W's columns to unit sum (H rescaled,
    ``W H`` unchanged).

    Parameters
    ----------
    V : np.ndarray [shape=(n_freq, n_frames)], non-negative
        Mixture (magnitude or power) spectrogram.
    W0 : np.ndarray [shape=(n_freq, K)], non-negative
        Model templates: starting point and prior. Not modified.
    H0 : np.ndarray [shape=(K, n_frames)], non-negative
        Starting activations, e.g. from the fixed-template solve. Not modified.
    beta : float
        β of the divergence (the dictionaries').
    n_iter : int >= 0
        Iterations.
    prior : float >= 0
        Strength of the pull towards ``W0`` (see above).

    Returns
    -------
    W : np.ndarray [shape=(n_freq, K)]
        Adapted templates (unit-sum columns), dtype of ``V``.
    H : np.ndarray [shape=(K, n_frames)]
        Activations.
    loss : float
        ``D_β(V | W H)`` of the result (data term only).

    Examples
    --------
    >>> import numpy as np
    >>> from nmfaudio.supervised import adapt_templates
    >>> rng = np.random.default_rng(0)
    >>> W_true = rng.random((30, 3)); H = rng.random((3, 40))
    >>> V = W_true @ H
    >>> W0 = W_true * rng.uniform(0.5, 1.5, W_true.shape)   # a model slightly off
    >>> W, H2, loss = adapt_templates(V, W0, H, beta=1.0, n_iter=50, prior=0.0)
    >>> W.shape, H2.shape, bool(np.allclose(W.sum(axis=0), 1))
    ((30, 3), (3, 40), True)
    """
    from ._checks import check_nonneg_int, check_nonnegative_matrix
    from ._numerics import divergence, gamma, scaled_data
    from .nmf import resolve_beta

    V = check_nonnegative_matrix(V, "V")
    W0, H0 = check_nonnegative_matrix(W0, "W0"), check_nonnegative_matrix(H0, "H0")
    if W0.shape[0] != V.shape[0] or H0.shape != (W0.shape[1], V.shape[1]):
        raise ParameterError(f"shapes do not match V ≈ W0 H0: V {V.shape}, W0 {W0.shape}, H0 {H0.shape}")
    beta, n_iter = resolve_beta(beta), check_nonneg_int(n_iter, "n_iter")
    prior = check_finite_float(prior, "prior", low=0.0)
    dtype = V.dtype if V.dtype in (np.float32, np.float64) else np.dtype(np.float64)
    Vs, scale, floor = scaled_data(V.astype(dtype, copy=False), beta)
    Wm = np.maximum(np.asarray(W0, dtype=dtype), floor)
    Wm = Wm / Wm.sum(axis=0)
    W = Wm.copy()
    H = np.asarray(H0, dtype=dtype) * (np.asarray(W0, dtype=dtype).sum(axis=0)[:, None] / scale)
    g, b = gamma(beta), dtype.type(beta)
    for _ in range(n_iter):
        WH = np.maximum(W @ H, floor)
        H *= (W.T @ (WH ** (b - 2) * Vs) / np.maximum(W.T @ WH ** (b - 1), floor)) ** g
        WH = np.maximum(W @ H, floor)
        num, den = (WH ** (b - 2) * Vs) @ H.T, WH ** (b - 1) @ H.T
        if prior > 0:
            Wf = np.maximum(W, floor)
            pw = Wf ** (b - 1)
            c = dtype.type(prior) * den.sum(axis=0) / np.maximum(pw.sum(axis=0), floor)
            num += c * Wf ** (b - 2) * Wm
            den += c * pw
        W *= (num / np.maximum(den, floor)) ** g
        s = np.maximum(W.sum(axis=0), floor)
        W /= s
        H *= s[:, None]
    H = (H * dtype.type(scale)).astype(dtype, copy=False)
    Vd = V.astype(dtype, copy=False)
    loss = divergence(Vd if beta > 0 else np.maximum(Vd, dtype.type(floor * scale)), W @ H, beta,
                      floor * scale)
    return W.astype(dtype, copy=False), H, loss
