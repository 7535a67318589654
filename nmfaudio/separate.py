"""High-level separation: audio → STFT → NMF → grouping → masks → audio.

Each step is a public function of its own; this module only chains them.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ._checks import check_finite_float, check_positive_int, check_seed, valid_audio, show
from .exceptions import ParameterError
from .grouping import GROUPING_METHODS, group_components
from .masking import apply_masks, binary_masks, soft_masks
from .nmf import nmf, resolve_beta
from .stft import STFTParams, istft, stft

__all__ = ["separate", "separate_with_details", "separate_spectrogram",
           "separate_supervised_spectrogram", "Separation",
           "stack_channels", "unstack_channels", "frame_init"]

#: Components per source used by unsupervised separation when ``n_components`` is None.
COMPONENTS_PER_SOURCE = 8


@dataclasses.dataclass
class Separation:
    """Everything a spectrogram-domain separation produced.

    Attributes
    ----------
    names : list of str
        Source names, in the order of the first axis of ``masks``/``S_sources``.
    S_sources : np.ndarray [shape=(n_sources, ..., n_freq, n_frames), complex]
        Masked mixture STFT per source (sums to the mixture STFT).
    masks : np.ndarray [shape=(n_sources, ..., n_freq, n_frames)]
    W : np.ndarray [shape=(n_freq, K)]
        Templates shared by all channels.
    H : np.ndarray [shape=(..., K, n_frames)]
        Activations per channel.
    labels : np.ndarray [shape=(K,)]
        Source index of each component.
    n_iter : int
    loss : float

    Examples
    --------
    >>> import numpy as np, nmfaudio
    >>> S = nmfaudio.stft(np.random.default_rng(0).standard_normal(4000), n_fft=256)
    >>> sep = nmfaudio.separate_spectrogram(S, sr=8000, n_sources=2, n_components=4, max_iter=20)
    >>> sep.names, sep.W.shape, sep.H.shape == (4, S.shape[1]), sep.masks.shape == (2,) + S.shape
    (['source1', 'source2'], (129, 4), True, True)
    """

    names: list
    S_sources: np.ndarray
    masks: np.ndarray
    W: np.ndarray
    H: np.ndarray
    labels: np.ndarray
    n_iter: int
    loss: float


def stack_channels(V):
    """Concatenate the channels of ``V (..., n_freq, n_frames)`` along time: ``(n_freq, C * n_frames)``.

    Used so that all channels share templates ``W`` while each has its own activations.
    """
    if V.ndim == 2:
        return V
    C = int(np.prod(V.shape[:-2]))
    Vc = V.reshape(C, V.shape[-2], V.shape[-1])
    return np.ascontiguousarray(np.concatenate(list(Vc), axis=1))


def unstack_channels(X, lead_shape, n_frames):
    """Inverse of :func:`stack_channels` for ``X (rows, C * n_frames)`` → ``(*lead_shape, rows, n_frames)``."""
    if not lead_shape:
        return X
    C = int(np.prod(lead_shape))
    parts = np.stack(np.split(X, C, axis=1))
    return parts.reshape(*lead_shape, X.shape[0], n_frames)


def _check_dictionaries(dictionaries):
    from .dictionary import SourceDictionary

    if isinstance(dictionaries, SourceDictionary):
        dictionaries = [dictionaries]
    dicts = list(dictionaries)
    if not dicts:
        raise ParameterError("dictionaries is empty; give at least one SourceDictionary")
    for i, d in enumerate(dicts):
        if not isinstance(d, SourceDictionary):
            raise ParameterError(f"dictionaries[{i}] is a {type(d).__name__}, expected a SourceDictionary")
    first = dicts[0]
    for d in dicts[1:]:
        if d.sr != first.sr:
            raise ParameterError(
                f"dictionaries disagree on the sample rate: {first.name!r} is {first.sr} Hz, "
                f"{d.name!r} is {d.sr} Hz"
            )
        if d.stft != first.stft:
            raise ParameterError(
                f"dictionaries disagree on STFT settings: {first.name!r} has {first.stft}, "
                f"{d.name!r} has {d.stft}"
            )
        if d.power != first.power or d.beta != first.beta:
            raise ParameterError(
                f"dictionaries disagree on spectrogram power/beta: {first.name!r} "
                f"({first.power}, {first.beta}) vs {d.name!r} ({d.power}, {d.beta})"
            )
    names = [d.name for d in dicts]
    if len(set(names)) != len(names):
        raise ParameterError(f"dictionary names must be distinct, got {names}")
    return dicts


def frame_init(V, K):
    """Per-frame initial activations: each of K components gets an equal share of the
    frame's total magnitude. Frames are treated independently (no global statistic),
    so a block-wise solve starts from the same point as an offline one."""
    return np.repeat(V.sum(axis=0, keepdims=True) / K, K, axis=0)


#: Iterations of the supervised solve by default: accelerated (fixed templates, β ≠ 2) or plain.
SUPERVISED_ITER_ACCELERATED = 20
SUPERVISED_ITER_PLAIN = 100


def _supervised_settings(dictionaries, *, n_free=0, max_iter=None, accelerate=None):
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
    >>> a = nmfaudio.learn_dictionary(rng.standard_normal(4000), 8000, name="a", stft=p,
    ...                               n_components=2, max_iter=10)
    >>> b = nmfaudio.learn_dictionary(np.sin(np.arange(4000) * 0.3), 8000, name="b", stft=p,
    ...                               n_components=2, max_iter=10)
    >>> S = nmfaudio.stft(rng.standard_normal(4000), params=p)
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
    max_iter, accelerate = _supervised_settings(dicts, n_free=n_free, max_iter=max_iter,
                                                accelerate=accelerate)
    lead, T = S.shape[:-2], S.shape[-1]
    if not n_free and callback is None and _workers() > 1:
        return _supervised_parallel(S, dicts, names, mask_power, max_iter, accelerate, _workers())
    V = stack_channels(np.abs(S))
    if d0.power != 1.0:
        from .dictionary import _powered

        V = _powered(V, d0.power)
    dtype = V.dtype
    W_parts = [d.W.astype(dtype) for d in dicts]
    labels = np.concatenate([np.full(d.n_components, i) for i, d in enumerate(dicts)])
    K_fixed = labels.size
    if n_free:
        rng = np.random.default_rng(random_state)
        Wf = rng.random((V.shape[0], n_free)).astype(dtype) + dtype.type(0.1)
        Wf /= Wf.sum(axis=0)
        W_parts.append(Wf)
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
    est = np.stack([res.W[:, labels == s] @ res.H[labels == s] for s in range(n_src)])
    est = np.stack([unstack_channels(e, lead, T) for e in est])
    masks = soft_masks(est, power=mask_power / d0.power)
    return Separation(names=names, S_sources=apply_masks(S, masks), masks=masks, W=res.W,
                      H=unstack_channels(res.H, lead, T), labels=labels, n_iter=res.n_iter,
                      loss=res.loss)


def _workers():
    """Threads for the supervised solve: the usable cores, at most 2 (measured on 2 vCPUs)."""
    from ._mu import usable_cores

    return max(1, min(_MAX_WORKERS, usable_cores()))


#: Upper bound on the worker threads of the supervised solve (1 disables the threaded path).
_MAX_WORKERS = 2


def _chunks(C, T, n_workers):
    """Split ``C`` channels of ``T`` frames into at least ``n_workers`` (channel, a, b) pieces."""
    per = max(1, -(-n_workers // C))
    edges = np.linspace(0, T, min(per, T) + 1).round().astype(int)
    return [(c, int(a), int(b)) for c in range(C) for a, b in zip(edges[:-1], edges[1:]) if b > a]


def _supervised_parallel(S, dicts, names, mask_power, max_iter, accelerate, n_workers):
    """Fixed templates only: every frame is independent, so pieces of the spectrogram
    (channels, or halves of the frames) are solved and masked in worker threads (the
    numba kernels and BLAS release the GIL), each with one BLAS thread. Equal to the
    stacked solve up to float rounding (each piece is scaled by its own mean inside
    :func:`nmf`, which moves only the eps floors)."""
    from concurrent.futures import ThreadPoolExecutor

    from ._mu import _blas_threads

    d0 = dicts[0]
    lead, F, T = S.shape[:-2], S.shape[-2], S.shape[-1]
    C = int(np.prod(lead)) if lead else 1
    Sc = S.reshape(C, F, T)
    dtype = np.abs(Sc[:1, :1, :1]).dtype
    W0 = np.ascontiguousarray(np.concatenate([d.W.astype(dtype) for d in dicts], axis=1))
    labels = np.concatenate([np.full(d.n_components, i) for i, d in enumerate(dicts)])
    K = W0.shape[1]
    n_src = len(names)
    sel = [labels == s for s in range(n_src)]
    W_src = [np.ascontiguousarray(W0[:, m]) for m in sel]
    H = np.empty((C, K, T), dtype)
    masks = np.empty((n_src, C, F, T), dtype)
    S_sources = np.empty((n_src, C, F, T), S.dtype)
    power = mask_power / d0.power

    def work(piece):
        c, a, b = piece
        Sp = Sc[c, :, a:b]
        V = np.abs(Sp)
        if d0.power != 1.0:
            from .dictionary import _powered

            V = _powered(V, d0.power)
        V = np.ascontiguousarray(V)
        res = nmf(V, W=W0, H=frame_init(V, K).astype(dtype), beta=d0.beta, update_W=False,
                  max_iter=max_iter, tol=0, n_threads=None, accelerate=accelerate)
        H[c, :, a:b] = res.H
        est = np.stack([W_src[s] @ res.H[sel[s]] for s in range(n_src)])
        M = soft_masks(est, power=power)
        masks[:, c, :, a:b] = M
        np.multiply(M, Sp[None], out=S_sources[:, c, :, a:b])
        return res.loss, res.n_iter

    pieces = _chunks(C, T, n_workers)
    with _blas_threads(1), ThreadPoolExecutor(n_workers) as ex:
        out = list(ex.map(work, pieces))
    shape = (n_src,) + tuple(lead) + (F, T)
    return Separation(names=names, S_sources=S_sources.reshape(shape), masks=masks.reshape(shape),
                      W=W0, H=H.reshape(tuple(lead) + (K, T)), labels=labels,
                      n_iter=out[0][1], loss=float(sum(o[0] for o in out)))


def separate_spectrogram(S, *, sr, n_sources=2, n_components=None, beta="kl", mask="soft",
                         mask_power=2.0, max_iter=200, tol=1e-4, grouping="mfcc",
                         random_state=0, n_fft=None, names=None, callback=None):
    """Unsupervised NMF separation of a complex STFT.

    Parameters
    ----------
    S : np.ndarray [shape=(..., n_freq, n_frames), complex]
        Mixture STFT; leading axes are channels that share templates.
    sr : int > 0
        Sample rate (used to group components on a mel scale).
    n_sources : int > 0
        Number of sources.
    n_components : int > 0 or None
        NMF components K; default ``8 * n_sources``.
    beta : str or float
        β-divergence (see :func:`nmfaudio.nmf`).
    mask : {"soft", "binary"}
    mask_power : float > 0
        Exponent of the soft mask.
    max_iter, tol, random_state
        Passed to :func:`nmfaudio.nmf`.
    grouping : {"mfcc", "activation"}
        See :func:`nmfaudio.group_components`.
    n_fft : int or None
        FFT size, inferred from ``n_freq`` if None.
    names : list of str or None
        Source names; default ``source1``, ``source2``, ...
    callback : callable or None
        ``callback(iteration, loss)``, called by :func:`nmfaudio.nmf` at every loss
        check (every 10 iterations) to report progress; returning ``True`` stops early.

    Returns
    -------
    Separation
        ``W (n_freq, K)``, ``H (..., K, n_frames)``, ``labels (K,)``, ``masks`` and
        the masked STFTs ``S_sources (n_sources, ..., n_freq, n_frames)``.

    Examples
    --------
    >>> import numpy as np, nmfaudio
    >>> y = np.random.default_rng(0).standard_normal(4000).astype(np.float32)
    >>> S = nmfaudio.stft(y, n_fft=256)
    >>> sep = nmfaudio.separate_spectrogram(S, sr=8000, n_sources=2, n_components=4, max_iter=20)
    >>> parts = [nmfaudio.istft(s, n_fft=256, length=len(y)) for s in sep.S_sources]
    >>> bool(np.allclose(sum(parts), y, atol=1e-5))
    True
    """
    S = np.asarray(S)
    if not np.iscomplexobj(S) or S.ndim < 2:
        raise ParameterError(f"S must be a complex STFT of shape (..., n_freq, n_frames); got {S.dtype} {S.shape}")
    sr = check_positive_int(sr, "sr")
    n_sources = check_positive_int(n_sources, "n_sources")
    K = check_positive_int(n_components, "n_components", allow_none=True) or COMPONENTS_PER_SOURCE * n_sources
    if K < n_sources:
        raise ParameterError(f"n_components={K} must be >= n_sources={n_sources}")
    if mask not in ("soft", "binary"):
        raise ParameterError(f"mask={show(mask)} must be 'soft' or 'binary'")
    mask_power = check_finite_float(mask_power, "mask_power", low=0.0, low_open=True)
    beta = resolve_beta(beta)
    if grouping not in GROUPING_METHODS:
        raise ParameterError(f"grouping={show(grouping)} is not one of {GROUPING_METHODS}")
    random_state = check_seed(random_state)
    if names is None:
        names = [f"source{i + 1}" for i in range(n_sources)]
    names = [str(n) for n in names]
    if len(names) != n_sources or len(set(names)) != n_sources:
        raise ParameterError(f"names={show(names)} must be {n_sources} distinct strings")
    if n_fft is None:
        n_fft = 2 * (S.shape[-2] - 1)

    lead, T = S.shape[:-2], S.shape[-1]
    V = stack_channels(np.abs(S))
    res = nmf(V, K, beta=beta, max_iter=max_iter, tol=tol, random_state=random_state,
              callback=callback)
    labels = group_components(res.W, res.H, n_sources, sr=sr, n_fft=n_fft, method=grouping,
                              random_state=random_state)
    est = np.stack([res.W[:, labels == s] @ res.H[labels == s] for s in range(n_sources)])
    est = np.stack([unstack_channels(e, lead, T) for e in est])
    masks = soft_masks(est, power=mask_power) if mask == "soft" else binary_masks(est)
    S_sources = apply_masks(S, masks)
    return Separation(names=names, S_sources=S_sources, masks=masks, W=res.W,
                      H=unstack_channels(res.H, lead, T), labels=labels, n_iter=res.n_iter,
                      loss=res.loss)


def separate(y, sr, *, dictionaries=None, n_sources=None, n_free=0, free_sparsity=0.0,
             n_components=None, beta="kl", n_fft=None, hop_length=None, win_length=None,
             window="hann", mask="soft", mask_power=2.0, max_iter=None, tol=1e-4,
             grouping="mfcc", random_state=0, callback=None):
    """Separate a recording into sources, with trained dictionaries or without.

    *Supervised* (``dictionaries`` given): the dictionaries' templates stay fixed,
    activations are solved on the mixture (every frame independently), and each
    source gets a soft mask from its ``W_s @ H_s``. With ``n_free > 0`` extra free
    components absorb everything else and come back as the source ``"residual"``.
    The STFT settings come from the dictionaries.

    *Unsupervised* (``n_sources`` given, default 2): chains :func:`stft` →
    :func:`nmf` → :func:`group_components` → :func:`soft_masks` →
    :func:`apply_masks` → :func:`istft`.

    Parameters
    ----------
    y : np.ndarray [shape=(n,) or (channels, n)]
        Mixture. For several channels, the magnitude spectrograms of all channels
        are factorised together with shared templates and per-channel activations,
        and each channel is masked with its own estimates, so the output keeps the
        channel layout.
    sr : int > 0
        Sample rate of ``y``. With dictionaries it must equal theirs (resample with
        ``nmfaudio.load(path, sr=d.sr)``); a mismatch raises ParameterError naming both.
    dictionaries : list of SourceDictionary or None
        Trained source dictionaries (see :func:`learn_dictionary`).
    n_sources : int > 0 or None
        Number of sources for unsupervised separation (default 2).
    n_free : int >= 0
        Supervised only: free components for a ``"residual"`` source.
    free_sparsity : float >= 0
        Supervised only: L1 penalty on the free components' activations.
    n_components : int > 0 or None
        NMF components; default ``8 * n_sources``.
    beta : str or float
        β-divergence (default ``"kl"``).
    n_fft, hop_length, win_length, window
        STFT settings (see :class:`STFTParams`); default n_fft 2048. With
        dictionaries, leave them unset (a conflicting value raises).
    mask : {"soft", "binary"}
    mask_power : float > 0
        Soft-mask exponent (2 = Wiener).
    max_iter, tol : int or None, float
        NMF stopping rule; ``max_iter`` defaults to 200 (unsupervised) or, supervised
        (fixed count, ``tol`` unused), 20 accelerated iterations (100 plain ones with a
        β = 2 dictionary).
    grouping : {"mfcc", "activation"}
        How components are clustered into sources.
    random_state : int
        Seed (NMF initialisation and clustering); the default makes runs reproducible.
    callback : callable or None
        ``callback(iteration, loss)``, called by :func:`nmfaudio.nmf` at every loss
        check (every 10 iterations) to report progress; returning ``True`` stops early.

    Returns
    -------
    sources : dict[str, np.ndarray]
        ``{"source1": y1, ...}``; each has the shape and float dtype of ``y``, and
        the sources sum to ``y`` (up to STFT round-trip error, ~1e-6).

    Examples
    --------
    >>> import numpy as np, nmfaudio
    >>> sr = 8000; t = np.arange(sr) / sr
    >>> y = (np.sin(2 * np.pi * 440 * t) + 0.5 * np.sign(np.sin(2 * np.pi * 3 * t))).astype(np.float32)
    >>> out = nmfaudio.separate(y, sr, n_sources=2, n_fft=512, max_iter=50)
    >>> sorted(out), out["source1"].shape, out["source1"].dtype
    (['source1', 'source2'], (8000,), dtype('float32'))
    """
    return separate_with_details(
        y, sr, dictionaries=dictionaries, n_sources=n_sources, n_free=n_free,
        free_sparsity=free_sparsity, n_components=n_components, beta=beta, n_fft=n_fft,
        hop_length=hop_length, win_length=win_length, window=window, mask=mask,
        mask_power=mask_power, max_iter=max_iter, tol=tol, grouping=grouping,
        random_state=random_state, callback=callback)[0]


def separate_with_details(y, sr, *, dictionaries=None, n_sources=None, n_free=0, free_sparsity=0.0,
                          n_components=None, beta="kl", n_fft=None, hop_length=None,
                          win_length=None, window="hann", mask="soft", mask_power=2.0,
                          max_iter=None, tol=1e-4, grouping="mfcc", random_state=0, callback=None):
    """:func:`separate`, also returning what the separation learned.

    Same parameters as :func:`separate`.

    Returns
    -------
    sources : dict[str, np.ndarray]
        As returned by :func:`separate`.
    separation : Separation
        Templates, activations, labels, masks, iterations and final loss.
    params : STFTParams
        The STFT settings used.

    Examples
    --------
    >>> import numpy as np, nmfaudio
    >>> from nmfaudio.separate import separate_with_details
    >>> y = np.random.default_rng(0).standard_normal(8000).astype(np.float32)
    >>> out, sep, params = separate_with_details(y, 8000, n_fft=512, max_iter=10)
    >>> sep.W.shape, params.n_fft
    ((257, 16), 512)
    """
    y = valid_audio(y)
    sr = check_positive_int(sr, "sr")
    random_state = check_seed(random_state)
    if dictionaries is not None:
        if n_sources is not None:
            raise ParameterError("give either dictionaries (supervised) or n_sources (unsupervised), not both")
        dicts = _check_dictionaries(dictionaries)
        d0 = dicts[0]
        if d0.sr != sr:
            raise ParameterError(
                f"the audio is at {sr} Hz but the dictionaries were trained at {d0.sr} Hz; "
                f"resample the audio (nmfaudio.load(path, sr={d0.sr})) or train at {sr} Hz"
            )
        for key, value in (("n_fft", n_fft), ("hop_length", hop_length), ("win_length", win_length)):
            if value is not None and value != getattr(d0.stft, key):
                raise ParameterError(
                    f"{key}={value} conflicts with the dictionaries' {key}={getattr(d0.stft, key)}; "
                    "leave it unset to use the dictionaries' STFT settings"
                )
        params = d0.stft
        S = stft(y, params=params)
        sep = separate_supervised_spectrogram(
            S, dicts, n_free=n_free, free_sparsity=free_sparsity, mask_power=mask_power,
            max_iter=max_iter, random_state=random_state,
            callback=callback)
    else:
        params = STFTParams(n_fft=2048 if n_fft is None else n_fft, hop_length=hop_length,
                            win_length=win_length, window=window)
        S = stft(y, params=params)
        sep = separate_spectrogram(
            S, sr=sr, n_sources=2 if n_sources is None else n_sources, n_components=n_components,
            beta=beta, mask=mask, mask_power=mask_power, max_iter=200 if max_iter is None else max_iter,
            tol=tol, grouping=grouping, random_state=random_state, n_fft=params.n_fft,
            callback=callback)
    out = {}
    for name, Ss in zip(sep.names, sep.S_sources):
        out[name] = istft(Ss, params=params, length=y.shape[-1]).astype(y.dtype, copy=False)
    return out, sep, params
