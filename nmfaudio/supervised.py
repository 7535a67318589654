"""Supervised separation: fixed source dictionaries, activations solved frame by frame.

``V ≈ W H`` with ``W (n_freq, K)`` the dictionaries' templates side by side (fixed) and
``H (K, n_frames)`` learned; every frame is its own problem, which the threaded solve and
:func:`nmfaudio.separate_stream` rely on.
"""

from __future__ import annotations

import numpy as np

from ._checks import check_finite_float, check_positive_int, check_seed, show
from .dictionary import check_dictionaries as _check_dictionaries
from .exceptions import ParameterError
from ._random import random_templates
from .masking import mask_sources, source_estimates
from .nmf import nmf
from .separation import Separation, stack_channels, unstack_channels

__all__ = ["separate_supervised_spectrogram", "frame_init"]


def frame_init(V, K):
    """Per-frame initial activations: each of K components gets an equal share of the
    frame's total magnitude. Frames are treated independently (no global statistic),
    so a block-wise solve starts from the same point as an offline one."""
    return np.repeat(V.sum(axis=0, keepdims=True) / K, K, axis=0)


#: Iterations of the supervised solve by default: accelerated (fixed templates, β ≠ 2) or plain.
SUPERVISED_ITER_ACCELERATED = 20
SUPERVISED_ITER_PLAIN = 100


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
                                    accelerate=None, random_state=0, callback=None):
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
        Fixed number of iterations (no early stop: with only H learning every
        frame is solved independently of the others). ``None``: 20 accelerated
        or, when not accelerated, 100 plain iterations.
    accelerate : bool or None
        ``nmf(..., accelerate=True)``: with fixed templates only, over-relaxed steps
        safeguarded frame by frame (each frame's loss non-increasing, frames still
        independent). ``None``: on when ``n_free == 0`` and β ≠ 2.
    random_state : int
        Seed for the free components' initialisation.
    callback : callable or None
        ``callback(iteration, loss)``, called by :func:`nmfaudio.nmf` at every loss
        check (every 10 iterations) to report progress; returning ``True`` stops early.

    Returns
    -------
    Separation
        ``W (n_freq, K)`` is the dictionaries' templates side by side (then the
        free ones), ``labels`` says which source each column belongs to.

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
    lead, T = S.shape[:-2], S.shape[-1]
    if not n_free:
        return _supervised_frames(S, dicts, names, mask_power, max_iter, accelerate, callback)
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


def _supervised_frames(S, dicts, names, mask_power, max_iter, accelerate, callback):
    """Fixed templates only: every frame solved on its own by :class:`._frames.FrameSolver`,
    whose result for a frame does not depend on the other frames (so block-wise streaming,
    :class:`nmfaudio.StreamSeparator` and this offline solve agree), on up to
    :func:`_workers` threads. With a ``callback``, frames go in ten chunks, each followed by
    ``callback(iterations × share done, loss so far)``; ``True`` stops (the frames not yet
    solved keep their starting activations)."""
    from ._frames import FrameSolver

    d0 = dicts[0]
    lead, T = S.shape[:-2], S.shape[-1]
    V = spectrogram_model(S, d0.power)
    W0, labels = stacked_templates(dicts, V.dtype)
    K = W0.shape[1]
    solver = FrameSolver(W0, beta=d0.beta, max_iter=max_iter, accelerate=accelerate)
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
    est = source_estimates(W0, H, labels, len(names), lead_shape=lead, n_frames=T)
    masks, S_sources = mask_sources(S, est, mask_power=mask_power, spectrogram_power=d0.power)
    return Separation(names=names, S_sources=S_sources, masks=masks, W=W0,
                      H=unstack_channels(H, lead, T), labels=labels, n_iter=max_iter,
                      loss=float(losses.sum()))
