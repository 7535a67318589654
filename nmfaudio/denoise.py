"""Speech (or any foreground) denoising with semi-supervised NMF.

With a noise sample or noise dictionary, the noise templates stay fixed while
free components, with sparse activations, learn the foreground on the noisy
input itself (part of W fixed, part learned). With a speech dictionary the roles
swap. With neither, a noise model is learned from the input's noise floor (minimum statistics).
"""

from __future__ import annotations

import numpy as np

from ._checks import check_finite_float, check_positive_int, check_seed, valid_audio
from ._random import random_templates
from .dictionary import learn_dictionary, spectrogram, without_pitch_copies
from ._options import NOISE_COMPONENTS, SPARSITY, SPEECH_COMPONENTS, check_denoise_options, model_settings
from ._options import check_dictionary_types as _check_dictionary_types, check_input_model_options, stft_settings
from . import _segments
from ._regions import check_noise_sample, noise_from_regions
from ._stopping import stopped, wrap
from .exceptions import ParameterError
from .masking import mask_sources, source_estimates, sources_to_audio
from .nmf import nmf
from .separation import stack_channels
from .supervised import frame_init
from .stft import STFTParams

__all__ = ["denoise", "denoise_sources", "default_denoise_stft", "learn_noise_dictionary",
           "noise_from_regions"]

DENOISE_ITER, QUIET_FRACTION = 100, 0.2  # iterations; "quiet" blind noise (defaults from RESULTS.md; more: _options)
#: mask_power, speech learned on the input (tune: 1 vs 2 equal SDR, higher STOI, PESQ) / speech dictionary.
MASK_POWER = 1.0
MASK_POWER_SPEECH_DICT = 2.0
#: Floor of the clean gain in dB (None: none); temporal smoothing of the gain (frames each side).
GAIN_FLOOR_DB = None
GAIN_SMOOTH = 0
#: Clean gain from speech-enhancement rules (nmfaudio._postfilter); None: the soft mask.
POSTFILTER = None
#: Free speech templates: None (random), "init" (from the bundled speech model), "fixed" (it, plus free ones).
SPEECH_PRIOR = None
#: Blind noise model: "quiet" (quietest frames) or "minstat" (per-frequency low percentile; fewer harmed).
BLIND_NOISE = "minstat"
#: β of the model without dictionaries (1 = KL), on magnitudes.
BETA = 1.0
#: Minimum-statistics window (tune, do-no-harm rule: 1.5 s harmed 1 of 18, 3 s none at +0.15 dB SDR).
MINSTAT_SECONDS = 3.0
MINSTAT_PERCENTILE = 10
#: The blind noise templates: learned on every BLIND_FLOOR_STEP-th floor frame, BLIND_FLOOR_ITER iterations.
BLIND_FLOOR_STEP = 1
BLIND_FLOOR_ITER = 200
#: Frames of context each side (nmfaudio._context; 0 = none); CONTEXT_READ: "mean" or "centre".
CONTEXT = 0
CONTEXT_READ = "mean"
#: Block-sparsity weight of the universal speech model (nmfaudio._usm) fitted beside the free
#: speech templates; the mask from the two models' geometric mean; None: the free model alone.
#: USM_UNIT "speech": λ relative to the free model's speech mass ("all": the input's). Tune part,
#: λ 0.4: SDR +0.61 (noise sample) / +0.72 (region) / +0.69 dB (blind), 15 of 18 items better.
USM_LAMBDA, USM_UNIT = 0.4, "speech"
#: Also beside a speech dictionary with a noise sample / region: tune +1.00 dB SDR, 14 of 18 better.
USM_WITH_SPEECH_DICTIONARY = True
#: A second pass, the noise learned on this fraction of the frames the first pass finds most
#: speech-free (nmfaudio._second_pass; not with CONTEXT): blind, and with a noise sample (with its
#: frames; not a region, nor a speech dictionary's model); None: one pass.
BLIND_SECOND_PASS = 0.10
SAMPLE_SECOND_PASS = 0.15
#: A speech dictionary beside a noise sample / region / dictionary (voice_model): combined with the model the
#: input gives without it, mask power 1.5. Tune (dict_route.py): +0.80 / +0.48 / +0.65 dB SDR, none harmed.
SPEECH_DICT_WITH_INPUT = True
MASK_POWER_SPEECH_DICT_INPUT = 1.5
#: A noise dictionary beside free speech templates loses its pitch copies (they absorb speech; tune +1.05 dB, harmed 5 -> 0).
NOISE_DICT_BASE_ONLY = True


def default_denoise_stft(sr) -> STFTParams:
    """≈ 64 ms frames (next power of two), hop a quarter of that."""
    n_fft = int(2 ** np.ceil(np.log2(0.064 * sr)))
    return STFTParams(n_fft=max(n_fft, 64))


def learn_noise_dictionary(noise, sr, *, n_components=NOISE_COMPONENTS, stft_params=None, random_state=0,
                           beta="kl", power=1.0):
    """Learn the noise model :func:`denoise` uses from a sample of the noise alone.

    Parameters
    ----------
    noise : np.ndarray [shape=(n,) or (channels, n)]
        The noise alone, at rate ``sr``.
    sr : int > 0
    n_components : int > 0
        Number of noise templates.
    stft_params : STFTParams or None
        Default :func:`default_denoise_stft` of ``sr``.
    random_state : int
    beta : str or float
        β-divergence of the fit (default KL); :func:`denoise` passes a speech
        dictionary's β so that both models describe the same spectrogram.
    power : float > 0
        Spectrogram exponent (1 = magnitude, 2 = power).

    Returns
    -------
    SourceDictionary
        Named ``"noise"``; not pitch-shifted (noise has no pitch; copies would absorb speech).

    Examples
    --------
    >>> import numpy as np, nmfaudio
    >>> n = 0.1 * np.random.default_rng(0).standard_normal(16000).astype(np.float32)
    >>> nmfaudio.learn_noise_dictionary(n, 16000, n_components=4).W.shape
    (513, 4)
    """
    sr = check_positive_int(sr, "sr")
    params = stft_params if stft_params is not None else default_denoise_stft(sr)
    noise = check_noise_sample(valid_audio(noise, "noise"), sr, params)
    return learn_dictionary(noise, sr, name="noise", n_components=n_components, stft_params=params,
                            beta=beta, power=power, pitch_shifts=(), random_state=random_state)


def _quiet_frames_noise(V, fraction):
    """Frames whose energy is in the lowest ``fraction`` — a noise-only estimate."""
    idx = np.argsort(V.sum(axis=0), kind="stable")[:max(1, int(round(fraction * V.shape[1])))]
    return np.ascontiguousarray(V[:, np.sort(idx)])


def denoise_sources(y, sr, *, noise=None, noise_region=None, noise_dictionary=None, speech_dictionary=None,
                    n_noise_components=NOISE_COMPONENTS, n_speech_components=SPEECH_COMPONENTS,
                    sparsity=SPARSITY, mask_power=None, stft_params=None, max_iter=DENOISE_ITER,
                    random_state=0, callback=None, segment_seconds=None, voice_model=True):
    """Split a noisy recording into ``{"clean": ..., "noise": ...}``.

    Parameters
    ----------
    y : np.ndarray [shape=(n,) or (channels, n)]
        Noisy recording.
    sr : int > 0
        Its sample rate.
    noise, noise_region, noise_dictionary, speech_dictionary, n_noise_components,
    n_speech_components, sparsity, mask_power, stft_params, max_iter, random_state, callback,
    segment_seconds, voice_model
        As in :func:`denoise`.

    Returns
    -------
    parts : dict[str, np.ndarray]
        ``{"clean": ..., "noise": ...}``, each shaped like ``y``; they sum to ``y``.

    Examples
    --------
    >>> import numpy as np, nmfaudio
    >>> rng = np.random.default_rng(0)
    >>> noise = 0.1 * rng.standard_normal(8000)
    >>> tone = np.sin(2 * np.pi * 440 * np.arange(8000) / 8000)
    >>> parts = nmfaudio.denoise_sources(tone + noise, 8000, noise=noise, max_iter=20)
    >>> sorted(parts), bool(np.allclose(parts["clean"] + parts["noise"], tone + noise, atol=1e-5))
    (['clean', 'noise'], True)
    """
    y, sr = valid_audio(y), check_positive_int(sr, "sr")
    _check_dictionary_types(noise_dictionary, speech_dictionary)
    sample_pass = noise_region is None  # the second pass with a noise sample (a region: tune +0.05 dB, not taken)
    if noise_region is not None:
        if noise is not None:
            raise ParameterError("give either noise (an audio sample) or noise_region, not both")
        ref = noise_dictionary or speech_dictionary
        params = ref.stft if ref is not None else (stft_params or default_denoise_stft(sr))
        noise = noise_from_regions(y, sr, noise_region, min_samples=params.n_fft + params.hop_length)
        noise_region = None
    check_denoise_options(locals())  # an option this mode ignores raises
    if noise is not None and noise_dictionary is not None:
        raise ParameterError("give either noise (an audio sample) or noise_dictionary, not both")
    if not isinstance(voice_model, (bool, np.bool_)):
        raise ParameterError(f"voice_model must be True or False, got {voice_model!r}")
    own = with_input_model(speech_dictionary, noise_sample=noise is not None, voice_model=voice_model,
                           noise_dictionary=noise_dictionary)
    check_input_model_options(locals(), own)
    Kn, Ks, sparsity, mask_power, max_iter = _check_numbers(
        n_noise_components, n_speech_components, sparsity, mask_power, max_iter, speech_dictionary, own)
    random_state = check_seed(random_state)
    _segments.check_seconds(segment_seconds)

    # STFT settings: from a dictionary if one is given, else the default for this rate.
    for d in (noise_dictionary, speech_dictionary):
        if d is not None and d.sr != sr:
            raise ParameterError(
                f"the audio is at {sr} Hz but dictionary {d.name!r} was trained at {d.sr} Hz; "
                f"resample the audio (nmfaudio.load(path, sr={d.sr}))"
            )
    params = stft_settings(noise_dictionary, speech_dictionary, stft_params) or default_denoise_stft(sr)
    if noise is not None and sample_pass:  # a noise sample is checked even where the input is silent
        noise = check_noise_sample(valid_audio(noise, "noise"), sr, params)
    if sample_pass and not np.any(y):  # silence: nothing to denoise (a silent region is refused, as in the stream)
        return {"clean": np.zeros_like(y), "noise": np.zeros_like(y)}
    S, est, power = _fit(y, sr, params, noise, noise_dictionary, speech_dictionary, Kn=Kn, Ks=Ks,
                         sparsity=sparsity, max_iter=max_iter, random_state=random_state,
                         callback=callback, segment_seconds=segment_seconds, voices=bool(voice_model),
                         sample_pass=sample_pass)
    return _reconstruct(S, est, params=params, power=power, mask_power=mask_power,
                        length=y.shape[-1], dtype=y.dtype)


def _check_numbers(n_noise_components, n_speech_components, sparsity, mask_power, max_iter,
                   speech_dictionary, with_input=False):
    """Checked ``(Kn, Ks, sparsity, mask_power, max_iter)`` (``mask_power=None``: the mode's default)."""
    Kn = check_positive_int(n_noise_components, "n_noise_components")
    Ks = check_positive_int(n_speech_components, "n_speech_components")
    sparsity = check_finite_float(sparsity, "sparsity", low=0.0)
    if mask_power is None:
        mask_power = MASK_POWER_SPEECH_DICT_INPUT if with_input else MASK_POWER_SPEECH_DICT if speech_dictionary is not None else MASK_POWER
    mask_power = check_finite_float(mask_power, "mask_power", low=0.0, low_open=True)
    max_iter = check_positive_int(max_iter, "max_iter")
    return Kn, Ks, sparsity, mask_power, max_iter


def _fit(y, sr, params, noise, noise_dictionary, speech_dictionary, *, Kn, Ks, sparsity, max_iter,
         random_state, callback=None, segment_seconds=None, voices=True, sample_pass=True):
    """The factorisation: ``(S, estimates (2, ..., F, T), power)``, clean first."""
    beta, power, callback = *_model_settings(noise_dictionary, speech_dictionary), wrap(callback)
    S, V = spectrogram(y, stft_params=params, power=power)
    c = CONTEXT if noise_dictionary is None and speech_dictionary is None else 0
    from . import _context  # (CONTEXT = 0 by default: not used)
    V = _context.stack_frames(V, c) if c else V
    blind = noise is None and noise_dictionary is None and speech_dictionary is None
    own = (noise, noise_dictionary) if with_input_model(  # the model the input gives without the speech dictionary
        speech_dictionary, noise_sample=noise is not None, voice_model=voices, noise_dictionary=noise_dictionary) else None
    if noise is not None:  # (checked by denoise_sources: check_noise_sample)
        noise_dictionary = (_context.NoiseTemplates(noise, params, c, n_components=Kn, beta=beta, power=power,
                                                    random_state=random_state) if c else
                            learn_noise_dictionary(noise, sr, n_components=Kn, stft_params=params,
                                                   random_state=random_state, beta=beta, power=power))
    voices = voices and voices_apply(noise_dictionary, speech_dictionary, noise_sample=noise is not None)
    kw = dict(beta=beta, Kn=Kn, Ks=Ks, sparsity=sparsity, max_iter=max_iter, random_state=random_state,
              params=params, sr=sr, voices=voices)
    if blind and BLIND_NOISE == "minstat":
        def fit(Vs, floor, cb):
            return fit_frames(Vs, floor, None, None, callback=cb, **kw)

        est = _segments.fit_all(V, _minstat_noise(V, params, sr), fit, seconds=_segments.check_seconds(
            segment_seconds), sr=sr, hop_length=params.hop_length, max_iter=max_iter, callback=callback)
    else:
        est = fit_frames(V, None, noise_dictionary, speech_dictionary, callback=callback, **kw)
        if sample_pass and noise is not None and speech_dictionary is None and SAMPLE_SECOND_PASS and not (c or stopped(callback)):
            est = _again(V, est, SAMPLE_SECOND_PASS, spectrogram(noise, stft_params=params, power=power)[1], kw)
        if own and not stopped(callback):  # beside a speech dictionary: the input's model without it
            from ._usm import combine

            est = combine(est, _fit(y, sr, params, *own, None, Kn=Kn, Ks=Ks, sparsity=sparsity, max_iter=max_iter,
                                    random_state=random_state, sample_pass=sample_pass, callback=callback)[1])
    return S, (_context.read_model(est, S.shape[-2], c, CONTEXT_READ) if c else est), power


def fit_frames(V, floor, noise_dictionary, speech_dictionary, *, beta, Kn, Ks, sparsity, max_iter,
               random_state, params, sr, callback=None, voices=True):
    """Estimates ``(2, ..., F, T)`` (clean first) of one factorisation of ``V (..., F, T)`` (blind:
    noise learned from ``floor``, the same shape); ``voices``: with the voice model."""
    lead, T, Vs, callback = V.shape[:-2], V.shape[-1], stack_channels(V), wrap(callback)
    W0, n_s, update_W, lam = _initial_templates(Vs, noise_dictionary, speech_dictionary, Kn=Kn, Ks=Ks,
                                                sparsity=sparsity, random_state=random_state, params=params,
                                                sr=sr, floor=None if floor is None else stack_channels(floor))
    res = nmf(Vs, W=W0, H=frame_init(Vs, W0.shape[1]).astype(Vs.dtype), beta=beta, update_W=update_W,
              max_iter=max_iter, tol=0, sparsity=lam, random_state=random_state, callback=callback)
    labels = (np.arange(W0.shape[1]) >= n_s).astype(int)  # 0 = clean, 1 = noise
    est = source_estimates(res.W, res.H, labels, 2, lead_shape=lead, n_frames=T)
    voices = voices and not stopped(callback)  # a stop asked for skips the voice model and second pass
    if voices and USM_LAMBDA is not None and Vs.shape[0] == params.n_freq:  # (voices: voices_apply's)
        from . import _usm

        est = _usm.with_voices(Vs, res.W[:, n_s:], est, lam=USM_LAMBDA, max_iter=max_iter, params=params,
                               sr=sr, lead=lead, n_frames=T,
                               speech=float(res.W[:, :n_s].sum(axis=0) @ res.H[:n_s].sum(axis=1))
                               if USM_UNIT == "speech" else None)
    if floor is not None and BLIND_SECOND_PASS and V.shape[-2] == params.n_freq and not stopped(callback):
        est = _again(V, est, BLIND_SECOND_PASS, None, dict(beta=beta, Kn=Kn, Ks=Ks, sparsity=sparsity, max_iter=max_iter,
                                                           random_state=random_state, params=params, sr=sr, voices=voices))
    return est


def _again(V, est, fraction, extra, kw):
    """``est`` combined with a second pass (:mod:`nmfaudio._second_pass`) of ``fit_frames(**kw)``."""
    from ._second_pass import refine
    return refine(V, est, fraction=fraction, n_components=kw["Kn"], random_state=kw["random_state"], params=kw["params"],
                  sr=kw["sr"], extra=extra, refit=lambda nd: fit_frames(V, None, nd, None, **kw))


def voices_apply(noise_dictionary, speech_dictionary, *, noise_sample):
    """Is the universal speech model fitted in this mode (``voice_model=True``)? Beside free speech
    templates, and a speech dictionary with a noise sample or region (:data:`USM_WITH_SPEECH_DICTIONARY`);
    not beside two dictionaries (tune: -0.35 dB, 3 harmed), a speech dictionary alone, or power spectra."""
    if USM_LAMBDA is None:
        return False
    if any(getattr(d, "power", 1.0) != 1.0 for d in (noise_dictionary, speech_dictionary) if d is not None):
        return False  # the voice templates describe magnitudes
    return speech_dictionary is None or (USM_WITH_SPEECH_DICTIONARY and noise_sample)


def with_input_model(speech_dictionary, *, noise_sample, voice_model, noise_dictionary=None):
    """Is a speech dictionary's model combined with the one the input gives without it (:data:`SPEECH_DICT_WITH_INPUT`)?
    Beside a noise sample, region or noise dictionary, with ``voice_model``, on magnitudes."""
    return bool(SPEECH_DICT_WITH_INPUT and voice_model and speech_dictionary is not None
                and (noise_sample or noise_dictionary is not None)
                and all(d.power == 1.0 for d in (speech_dictionary, noise_dictionary) if d is not None))


def _clean_gain(S, est, *, power, mask_power, floor_db, smooth):
    """Soft mask of the clean part, temporally smoothed over ``smooth`` frames each side
    and floored at ``floor_db`` dB (``None``: no floor)."""
    _, S_sources = mask_sources(S, est, mask_power=mask_power, spectrogram_power=power)
    absS = np.abs(S)
    g = np.where(absS > 0, np.abs(S_sources[0]) / np.where(absS > 0, absS, 1), 1.0)
    if smooth:
        from scipy.ndimage import uniform_filter1d

        g = uniform_filter1d(g, 2 * smooth + 1, axis=-1, mode="nearest")
    if floor_db is not None:
        g = np.maximum(g, 10.0 ** (floor_db / 20.0))
    return g.astype(absS.dtype, copy=False)


def _reconstruct(S, est, *, params, power, mask_power, length, dtype):
    if POSTFILTER is not None:
        from ._postfilter import model_gain

        g = model_gain(S, est, power=power, setting=POSTFILTER)
    else:
        g = _clean_gain(S, est, power=power, mask_power=mask_power, floor_db=GAIN_FLOOR_DB,
                        smooth=GAIN_SMOOTH)
    Sc = g * S
    return sources_to_audio(np.stack([Sc, S - Sc]), ("clean", "noise"), stft_params=params,
                            length=length, dtype=dtype)


def _model_settings(noise_dictionary, speech_dictionary):
    """``(beta, power)`` of the denoising model (:func:`nmfaudio._options.model_settings`)."""
    return model_settings(noise_dictionary, speech_dictionary, BETA)


def _speech_prior(params, sr, dtype):
    """The bundled ``speech`` model's templates at the bin frequencies of ``params``, unit sum."""
    from .models import model_templates
    return model_templates("speech", params, sr).astype(dtype)


def _minstat_noise(V, params, sr):
    """Minimum-statistics noise floor of ``V (..., F, T)``: per frequency and channel, the :data:`MINSTAT_PERCENTILE`
    over a sliding :data:`MINSTAT_SECONDS` window (truncated at the ends; :mod:`nmfaudio._minstat`)."""
    from ._minstat import floor
    return floor(V, minstat_window(sr, params.hop_length), MINSTAT_PERCENTILE)


def minstat_window(sr, hop_length):
    """Frames in the :data:`MINSTAT_SECONDS` window of the floor at this rate and hop."""
    from . import _minstat

    return _minstat.window_frames(MINSTAT_SECONDS, sr, hop_length)


def _initial_templates(V, noise_dictionary, speech_dictionary, *, Kn, Ks, sparsity, random_state,
                       params=None, sr=None, floor=None):
    """``(W0, n_speech, update_W, sparsity)``: speech columns first, then noise.

    Dictionary templates stay fixed; the other side is free (random start, from
    :func:`nmfaudio._random.random_templates`). With no model at all the noise
    templates are learned (KL on magnitudes) from ``floor``, the minimum-statistics floor of
    the frames of ``V`` that the caller computes per channel (:data:`BLIND_NOISE` "minstat"), or
    from the quietest frames of ``V`` ("quiet").
    """
    dtype, rng = V.dtype, np.random.default_rng(random_state)
    if NOISE_DICT_BASE_ONLY and noise_dictionary is not None and speech_dictionary is None:
        noise_dictionary = without_pitch_copies(noise_dictionary)
    W_noise = None if noise_dictionary is None else noise_dictionary.W.astype(dtype)
    W_speech = None if speech_dictionary is None else speech_dictionary.W.astype(dtype)
    if W_noise is None and W_speech is None:
        # Blind: learn the noise from the input itself (its noise floor, or its quietest frames).
        if floor is not None:
            Vq = floor
        elif BLIND_NOISE == "minstat":  # computed per channel by the caller, never on stacked channels
            raise ValueError("_initial_templates: blind minimum-statistics noise needs the caller's floor")
        else:
            Vq = _quiet_frames_noise(V, QUIET_FRACTION)
        if BLIND_FLOOR_STEP > 1 and Vq.shape[-1] >= 2 * BLIND_FLOOR_STEP:
            Vq = np.ascontiguousarray(Vq[:, ::BLIND_FLOOR_STEP])
        if np.any(Vq > 0):
            W_noise = nmf(Vq, Kn, beta="kl", max_iter=BLIND_FLOOR_ITER, random_state=random_state).W
            W_noise = W_noise / np.maximum(W_noise.sum(axis=0), np.finfo(dtype).tiny)
        else:
            W_noise = np.full((V.shape[0], Kn), 1.0 / V.shape[0], dtype=dtype)
    if W_noise is not None and W_speech is not None:
        return np.concatenate([W_speech, W_noise], axis=1), W_speech.shape[1], False, 0.0
    if W_noise is not None:
        if SPEECH_PRIOR == "init":
            W_s = _speech_prior(params, sr, dtype)
            update_W = np.arange(W_s.shape[1] + W_noise.shape[1]) < W_s.shape[1]
            lam = np.where(update_W, sparsity, 0.0)
        elif SPEECH_PRIOR == "fixed":
            W_s = np.concatenate([_speech_prior(params, sr, dtype),
                                  random_templates(rng, V.shape[0], Ks, dtype)], axis=1)
            n_p = W_s.shape[1] - Ks
            idx = np.arange(W_s.shape[1] + W_noise.shape[1])
            update_W = (idx >= n_p) & (idx < W_s.shape[1])
            lam = np.where(idx < W_s.shape[1], sparsity, 0.0)
        else:
            W_s = random_templates(rng, V.shape[0], Ks, dtype)
            update_W = np.arange(Ks + W_noise.shape[1]) < Ks
            lam = np.where(update_W, sparsity, 0.0)
        return np.concatenate([W_s, W_noise], axis=1), W_s.shape[1], update_W, lam
    W0 = np.concatenate([W_speech, random_templates(rng, V.shape[0], Kn, dtype)], axis=1)
    n_s = W_speech.shape[1]
    return W0, n_s, np.arange(W0.shape[1]) >= n_s, 0.0


def denoise(y, sr, *, noise=None, noise_region=None, noise_dictionary=None, speech_dictionary=None,
            n_noise_components=NOISE_COMPONENTS, n_speech_components=SPEECH_COMPONENTS,
            sparsity=SPARSITY, mask_power=None, stft_params=None, max_iter=DENOISE_ITER, random_state=0,
            callback=None, segment_seconds=None, voice_model=True):
    """Remove noise from a recording.

    Parameters
    ----------
    y : np.ndarray [shape=(n,) or (channels, n)]
        Noisy recording.
    sr : int > 0
        Its sample rate.
    noise : np.ndarray or None
        A sample of the noise alone (same rate): its templates are learned and
        kept fixed while free components learn the speech on ``y``.
    noise_region : (start, end) or list of (start, end) or None
        Part(s) of ``y`` holding noise alone, in seconds (e.g. ``[(0, 1.5), (42, 43)]``):
        the noise sample is cut from the recording itself, as audio editors do. Each
        region must lie within ``y`` and span at least two STFT frames.
    noise_dictionary : SourceDictionary or None
        Trained noise templates (instead of ``noise``).
    speech_dictionary : SourceDictionary or None
        Trained speech templates, kept fixed. Without any noise model, free
        components learn the noise.
    n_noise_components, n_speech_components : int > 0
        Sizes of learned noise / free speech models.
    sparsity : float >= 0
        L1 penalty on the free speech activations (scale-invariant); it stops
        the free components from soaking up the noise.
    mask_power : float > 0 or None
        Soft-mask exponent on magnitudes (2 = Wiener, 1 = magnitude ratio). Default
        (``None``): 1 when the speech is learned on the input (noise sample, noise region,
        noise dictionary, blind), 2 with a ``speech_dictionary``, 1.5 where that is combined
        with the input's own model (see ``voice_model``).
    stft_params : STFTParams or None
        Default ≈ 64 ms frames (1024 at 16 kHz), or the dictionaries' settings.
    max_iter : int > 0
        Fixed iteration count.
    random_state : int
        Seed.
    callback : callable or None
        ``callback(iteration, loss)`` at every loss check (every 10 iterations) of the main
        factorisations (counted from 0 again in the input's own model beside a speech dictionary),
        to report progress; returning ``True`` stops early and skips every later pass.
    segment_seconds : float > 0 or None
        Blind only: length of the local models' segments (default ``None``: 10 s; an input
        longer than 1.5 segments gets one model per segment, see Notes); ``float("inf")``:
        one model for the whole recording.
    voice_model : bool
        Also fit the bundled universal speech model (``speech-voices``, :mod:`nmfaudio._usm`)
        and mask with the geometric mean of the two models: beside the free speech templates
        (+1.2 to +1.5 dB SDR on the test part, 1.3-2.3x the time), beside a speech dictionary with
        a noise sample or region, and in the model the input gives without a speech dictionary,
        combined with the dictionaries' model beside a noise sample, region or noise dictionary
        (tune +0.5 to +0.8 dB, twice the time). ``False`` leaves the dictionaries' model alone.

    Returns
    -------
    clean : np.ndarray [shape=y.shape, dtype=y.dtype]
        The denoised signal. :func:`denoise_sources` also returns the noise.

    Notes
    -----
    With neither ``noise`` nor a dictionary (blind denoising), the noise model is
    learned from a minimum-statistics noise floor: per frequency, the 10th percentile
    of the magnitudes over a sliding 3 s window. It assumes the noise changes
    slowly and the speech leaves gaps in each band within any 3 s. A blind input longer
    than 15 s is fitted in overlapping segments of 10 s (local models, cross-faded;
    :mod:`nmfaudio._segments`), so that the model follows a noise or a talker that changes;
    ``callback`` then counts the iterations of all segments together (up to ``max_iter``),
    and a stop it asks for ends every remaining segment's factorisation too.

    With dictionaries, ``V = |S| ** d.power`` is factorised with the β-divergence ``d.beta``
    (both must agree on the power; the speech dictionary's β wins), a ``noise`` sample is
    learned with the same β and power, and the soft mask is ``(W_s H_s) ** (mask_power /
    d.power)`` normalised (``mask_power`` stays an exponent on magnitudes). Without
    dictionaries the model is KL on magnitudes.

    Examples
    --------
    >>> import nmfaudio
    >>> y, sr = nmfaudio.load("audio_fixtures/speech/noisy.wav")         # doctest: +SKIP
    >>> n, _ = nmfaudio.load("audio_fixtures/speech/train/noise.wav")    # doctest: +SKIP
    >>> clean = nmfaudio.denoise(y, sr, noise=n)                          # doctest: +SKIP
    """
    return denoise_sources(
        y, sr, noise=noise, noise_region=noise_region, noise_dictionary=noise_dictionary, speech_dictionary=speech_dictionary,
        n_noise_components=n_noise_components, n_speech_components=n_speech_components,
        sparsity=sparsity, mask_power=mask_power, stft_params=stft_params, max_iter=max_iter,
        segment_seconds=segment_seconds, voice_model=voice_model,
        random_state=random_state, callback=callback)["clean"]
