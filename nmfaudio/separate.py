"""High-level separation: audio → STFT → NMF → grouping → masks → audio.

Each step is a public function of its own; this module only chains them.
"""

from __future__ import annotations

import numpy as np

from ._checks import check_finite_float, check_positive_int, check_seed, valid_audio, show
from ._options import check_separate_options
from .exceptions import ParameterError
from .grouping import GROUPING_METHODS, group_components
from .masking import mask_sources, source_estimates, sources_to_audio
from .nmf import nmf, resolve_beta
from .separation import Separation, stack_channels, unstack_channels
from .stft import STFTParams, stft
from .dictionary import check_dictionaries as _check_dictionaries
from .supervised import ADAPT_PRIOR, frame_init, separate_supervised_spectrogram

__all__ = ["separate", "separate_with_details", "separate_spectrogram",
           "separate_supervised_spectrogram", "Separation",
           "stack_channels", "unstack_channels", "frame_init"]

#: Components per source used by unsupervised separation when ``n_components`` is None.
COMPONENTS_PER_SOURCE = 8
#: NMF iterations of unsupervised separation when ``max_iter`` is None.
UNSUPERVISED_ITER = 200


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
    opts = _unsupervised_options(sr=sr, n_sources=n_sources, n_components=n_components, beta=beta,
                                 mask=mask, mask_power=mask_power, grouping=grouping,
                                 random_state=random_state, names=names)
    if n_fft is None:
        n_fft = 2 * (S.shape[-2] - 1)
    lead, T = S.shape[:-2], S.shape[-1]
    res, labels = _factorise(stack_channels(np.abs(S)), opts, n_fft=n_fft, max_iter=max_iter, tol=tol,
                             callback=callback)
    est = source_estimates(res.W, res.H, labels, opts["n_sources"], lead_shape=lead, n_frames=T)
    masks, S_sources = mask_sources(S, est, mask=opts["mask"], mask_power=opts["mask_power"])
    return Separation(names=opts["names"], S_sources=S_sources, masks=masks, W=res.W,
                      H=unstack_channels(res.H, lead, T), labels=labels, n_iter=res.n_iter,
                      loss=res.loss)


def _unsupervised_options(*, sr, n_sources, n_components, beta, mask, mask_power, grouping,
                          random_state, names):
    """The unsupervised settings, validated (ParameterError naming the value otherwise)."""
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
    return {"sr": sr, "n_sources": n_sources, "K": K, "mask": mask, "mask_power": mask_power,
            "beta": beta, "grouping": grouping, "random_state": random_state, "names": names}


def _factorise(V, opts, *, n_fft, max_iter, tol, callback):
    """NMF of the channel-stacked magnitudes ``V`` and the grouping of its components."""
    res = nmf(V, opts["K"], beta=opts["beta"], max_iter=max_iter, tol=tol,
              random_state=opts["random_state"], callback=callback)
    labels = group_components(res.W, res.H, opts["n_sources"], sr=opts["sr"], n_fft=n_fft,
                              method=opts["grouping"], random_state=opts["random_state"])
    return res, labels


#: Spectrograms (frequency bins x frames x channels) at least this large are separated by
#: frame blocks (:mod:`nmfaudio._blockwise`: no complex STFT, masks or masked spectra of the
#: whole signal) when the caller does not want the masks. Smaller ones take the reference
#: path, whose bits the block path equals only up to float rounding (a matrix product over
#: a block of frames is not always rounded like the same columns of the whole product).
LONG_MIN_BINS = 1 << 23


def _is_long(y, params):
    from . import _blockwise

    T = params.n_frames(y.shape[-1])
    bins = params.n_freq * T * (y.size // y.shape[-1])
    return bins >= LONG_MIN_BINS and _blockwise.applies(y, params)


def _separate_long(y, params, opts, *, max_iter, tol, callback):
    """Unsupervised separation of a long ``y`` frame block by frame block.

    Same model as :func:`separate_spectrogram` (NMF on all frames); the magnitudes are
    computed without the complex STFT, and masks and inverse STFT go one block of frames
    at a time. Returns ``(sources, Separation)`` with ``masks`` and ``S_sources`` None.
    """
    from . import _blockwise

    lead, T = y.shape[:-1], params.n_frames(y.shape[-1])
    V = _blockwise.magnitudes(y, params)
    res, labels = _factorise(V, opts, n_fft=params.n_fft, max_iter=max_iter, tol=tol, callback=callback)
    del V
    out = _blockwise.sources(y, params, res.W, res.H, labels, opts["names"], mask=opts["mask"],
                             mask_power=opts["mask_power"])
    sep = Separation(names=opts["names"], S_sources=None, masks=None, W=res.W,
                     H=unstack_channels(res.H, lead, T), labels=labels, n_iter=res.n_iter,
                     loss=res.loss)
    return out, sep


def separate(y, sr, *, instruments=None, dictionaries=None, n_sources=None, n_free=0, free_sparsity=0.0,
             n_components=None, beta="kl", n_fft=None, hop_length=None, win_length=None,
             window="hann", mask="soft", mask_power=2.0, max_iter=None, tol=1e-4,
             grouping="mfcc", random_state=0, callback=None, adapt=0, adapt_prior=ADAPT_PRIOR):
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
    instruments : list of str or None
        Names of bundled models (:func:`nmfaudio.list_models`), e.g. ``["piano", "bass"]``,
        used as ``dictionaries``; each name at most once. A mixture at another rate than
        the models' is resampled to it and the sources back (so they sum to ``y`` only up
        to resampling error).
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
    adapt : int >= 0
        Supervised only (``instruments`` or ``dictionaries``), without ``n_free``:
        after the fixed-template solve, this many iterations in which the templates
        adapt to the mixture too, pulled towards the dictionaries' templates by
        ``adapt_prior`` (:func:`nmfaudio.supervised.adapt_templates`). 0 (default)
        keeps them fixed. Frames are then no longer independent.
    adapt_prior : float >= 0
        With ``adapt > 0``: strength of the pull towards the dictionaries' templates
        (0: plain semi-supervised NMF from them; 1, the default: the model weighs as
        much as the mixture for each template).

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
    if instruments is not None:  # bundled models by name, used as fixed dictionaries
        return _separate_instruments(
            y, sr, instruments, dictionaries=dictionaries, n_sources=n_sources, n_free=n_free,
            free_sparsity=free_sparsity, n_components=n_components, beta=beta, n_fft=n_fft,
            hop_length=hop_length, win_length=win_length, window=window, mask=mask,
            mask_power=mask_power, max_iter=max_iter, tol=tol, grouping=grouping,
            random_state=random_state, callback=callback, adapt=adapt, adapt_prior=adapt_prior)
    return separate_with_details(
        y, sr, dictionaries=dictionaries, n_sources=n_sources, n_free=n_free,
        free_sparsity=free_sparsity, n_components=n_components, beta=beta, n_fft=n_fft,
        hop_length=hop_length, win_length=win_length, window=window, mask=mask,
        mask_power=mask_power, max_iter=max_iter, tol=tol, grouping=grouping,
        random_state=random_state, callback=callback, adapt=adapt, adapt_prior=adapt_prior,
        keep_masks=False)[0]


def _resample(y, sr_from, sr_to):
    """Resample ``y (..., n)`` along its last axis with soxr (dtype kept)."""
    import soxr

    if sr_from == sr_to:
        return y
    flat = y.reshape(-1, y.shape[-1])
    out = np.stack([soxr.resample(c.astype(np.float64), sr_from, sr_to) for c in flat])
    return out.reshape(y.shape[:-1] + (out.shape[-1],)).astype(y.dtype, copy=False)


def _fit_length(x, n):
    if x.shape[-1] >= n:
        return x[..., :n]
    return np.concatenate([x, np.zeros(x.shape[:-1] + (n - x.shape[-1],), x.dtype)], axis=-1)


def _separate_instruments(y, sr, instruments, *, dictionaries, n_sources, **options):
    """``separate(y, sr, instruments=[...])``: the named bundled models as fixed dictionaries.

    When ``sr`` differs from the models' rate, the mixture is resampled to it (soxr),
    separated there, and each source is resampled back and cut to the input length (the
    sources then sum to ``y`` only up to the resampling error, about -60 dB). Every other
    option goes to the supervised separation, which refuses those that do not apply.
    """
    from .models import model_dictionaries

    if dictionaries is not None or n_sources is not None:
        raise ParameterError("give instruments=, dictionaries= or n_sources=, not several of them")
    y = valid_audio(y)
    sr = check_positive_int(sr, "sr")
    dicts = model_dictionaries(instruments)
    model_sr = dicts[0].sr
    out = separate(_resample(y, sr, model_sr), model_sr, dictionaries=dicts, **options)
    if model_sr == sr:
        return out
    return {k: _fit_length(_resample(v, model_sr, sr), y.shape[-1]) for k, v in out.items()}


def separate_with_details(y, sr, *, dictionaries=None, n_sources=None, n_free=0, free_sparsity=0.0,
                          n_components=None, beta="kl", n_fft=None, hop_length=None,
                          win_length=None, window="hann", mask="soft", mask_power=2.0,
                          max_iter=None, tol=1e-4, grouping="mfcc", random_state=0, callback=None,
                          adapt=0, adapt_prior=ADAPT_PRIOR, keep_masks=True):
    """:func:`separate`, also returning what the separation learned.

    Same parameters as :func:`separate`, and:

    keep_masks : bool
        Keep the masks and masked STFTs of the whole signal in the returned
        ``Separation`` (default). With False, a long input (unsupervised, or
        supervised without ``n_free``; at least
        :data:`LONG_MIN_BINS` spectrogram bins over all channels) is masked and
        inverted one block of frames at a time, and ``separation.masks`` and
        ``separation.S_sources`` are None: memory then stays near the size of the
        magnitudes the NMF needs. The sources equal those of ``keep_masks=True`` up
        to float rounding; short inputs give the same bits either way.

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
    check_separate_options(locals())  # an option this mode ignores raises
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
        if not keep_masks and not n_free and _is_long(y, params):
            from .stft import check_stft_input
            from .supervised import separate_supervised_long

            check_stft_input(y, params)
            out, sep = separate_supervised_long(
                y, params, dicts, mask_power=mask_power, max_iter=max_iter,
                random_state=random_state, callback=callback, adapt=adapt, adapt_prior=adapt_prior)
            return out, sep, params
        S = stft(y, stft_params=params)
        sep = separate_supervised_spectrogram(
            S, dicts, n_free=n_free, free_sparsity=free_sparsity, mask_power=mask_power,
            max_iter=max_iter, random_state=random_state,
            callback=callback, adapt=adapt, adapt_prior=adapt_prior)
    else:
        params = STFTParams(n_fft=2048 if n_fft is None else n_fft, hop_length=hop_length,
                            win_length=win_length, window=window)
        max_iter = UNSUPERVISED_ITER if max_iter is None else max_iter
        if not keep_masks and _is_long(y, params):
            from .stft import check_stft_input

            check_stft_input(y, params)
            opts = _unsupervised_options(
                sr=sr, n_sources=2 if n_sources is None else n_sources, n_components=n_components,
                beta=beta, mask=mask, mask_power=mask_power, grouping=grouping,
                random_state=random_state, names=None)
            out, sep = _separate_long(y, params, opts, max_iter=max_iter, tol=tol, callback=callback)
            return out, sep, params
        S = stft(y, stft_params=params)
        sep = separate_spectrogram(
            S, sr=sr, n_sources=2 if n_sources is None else n_sources, n_components=n_components,
            beta=beta, mask=mask, mask_power=mask_power, max_iter=max_iter,
            tol=tol, grouping=grouping, random_state=random_state, n_fft=params.n_fft,
            callback=callback)
        del S
    out = sources_to_audio(sep.S_sources, sep.names, stft_params=params, length=y.shape[-1],
                           dtype=y.dtype)
    return out, sep, params
