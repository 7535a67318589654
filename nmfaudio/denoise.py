"""Speech (or any foreground) denoising with semi-supervised NMF.

With a noise sample or noise dictionary, the noise templates stay fixed while
free components, with sparse activations, learn the foreground on the noisy
input itself (part of W fixed, part learned). With a speech dictionary the roles
swap. With neither, a noise model is learned from the quietest frames.
"""

from __future__ import annotations

import numpy as np

from ._checks import check_finite_float, check_positive_int, check_seed, valid_audio
from .dictionary import SourceDictionary, learn_dictionary
from ._options import check_denoise_options
from .exceptions import ParameterError
from .masking import apply_masks, soft_masks
from .nmf import nmf
from .separation import stack_channels, unstack_channels
from .supervised import frame_init
from .stft import STFTParams, istft, stft

__all__ = ["denoise", "denoise_sources", "default_denoise_stft", "learn_noise_dictionary"]

#: Defaults, chosen by measurement on the quality benchmark (benchmarks/RESULTS.md).
NOISE_COMPONENTS = 16
SPEECH_COMPONENTS = 32
SPARSITY = 0.1
QUIET_FRACTION = 0.2


def default_denoise_stft(sr) -> STFTParams:
    """≈ 64 ms frames (next power of two), hop a quarter of that."""
    n_fft = int(2 ** np.ceil(np.log2(0.064 * sr)))
    return STFTParams(n_fft=max(n_fft, 64))


def learn_noise_dictionary(noise, sr, *, n_components=NOISE_COMPONENTS, stft_params=None, random_state=0):
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

    Returns
    -------
    SourceDictionary
        Named ``"noise"``; templates are not pitch-shifted (noise has no pitch to
        transpose, and extra flexibility would let the noise model absorb speech).

    Examples
    --------
    >>> import numpy as np, nmfaudio
    >>> n = 0.1 * np.random.default_rng(0).standard_normal(16000).astype(np.float32)
    >>> nmfaudio.learn_noise_dictionary(n, 16000, n_components=4).W.shape
    (513, 4)
    """
    params = stft_params if stft_params is not None else default_denoise_stft(sr)
    return learn_dictionary(noise, sr, name="noise", n_components=n_components, stft=params,
                            beta="kl", pitch_shifts=(), random_state=random_state)


def _quiet_frames_noise(V, fraction):
    """Frames whose energy is in the lowest ``fraction`` — a noise-only estimate."""
    energy = V.sum(axis=0)
    n = max(1, int(round(fraction * V.shape[1])))
    idx = np.argsort(energy, kind="stable")[:n]
    return np.ascontiguousarray(V[:, np.sort(idx)])


def denoise_sources(y, sr, *, noise=None, noise_dictionary=None, speech_dictionary=None,
                    n_noise_components=NOISE_COMPONENTS, n_speech_components=SPEECH_COMPONENTS,
                    sparsity=SPARSITY, mask_power=2.0, stft_params=None, max_iter=100,
                    random_state=0, callback=None):
    """Split a noisy recording into ``{"clean": ..., "noise": ...}``.

    Parameters
    ----------
    y : np.ndarray [shape=(n,) or (channels, n)]
        Noisy recording.
    sr : int > 0
        Its sample rate.
    noise, noise_dictionary, speech_dictionary, n_noise_components, n_speech_components,
    sparsity, mask_power, stft_params, max_iter, random_state, callback
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
    check_denoise_options(locals())  # an option this mode ignores raises
    y = valid_audio(y)
    sr = check_positive_int(sr, "sr")
    if noise is not None and noise_dictionary is not None:
        raise ParameterError("give either noise (an audio sample) or noise_dictionary, not both")
    Kn = check_positive_int(n_noise_components, "n_noise_components")
    Ks = check_positive_int(n_speech_components, "n_speech_components")
    sparsity = check_finite_float(sparsity, "sparsity", low=0.0)
    mask_power = check_finite_float(mask_power, "mask_power", low=0.0, low_open=True)
    max_iter = check_positive_int(max_iter, "max_iter")
    random_state = check_seed(random_state)
    for label, d in (("noise_dictionary", noise_dictionary), ("speech_dictionary", speech_dictionary)):
        if d is not None and not isinstance(d, SourceDictionary):
            raise ParameterError(f"{label} must be a SourceDictionary, got {type(d).__name__}")

    # STFT settings: from a dictionary if one is given, else the default for this rate.
    ref = noise_dictionary or speech_dictionary
    if ref is not None:
        params = ref.stft
        for d in (noise_dictionary, speech_dictionary):
            if d is not None and d.sr != sr:
                raise ParameterError(
                    f"the audio is at {sr} Hz but dictionary {d.name!r} was trained at {d.sr} Hz; "
                    f"resample the audio (nmfaudio.load(path, sr={d.sr}))"
                )
            if d is not None and d.stft != params:
                raise ParameterError(
                    f"noise and speech dictionaries have different STFT settings: "
                    f"{noise_dictionary.stft} vs {speech_dictionary.stft}"
                )
        if stft_params is not None and stft_params != params:
            raise ParameterError(f"stft_params={stft_params} conflicts with the dictionary's {params}")
    else:
        params = stft_params if stft_params is not None else default_denoise_stft(sr)

    S = stft(y, params=params)
    lead, T = S.shape[:-2], S.shape[-1]
    V = stack_channels(np.abs(S))
    dtype = V.dtype
    rng = np.random.default_rng(random_state)

    if noise is not None:
        noise = valid_audio(noise, "noise")
        noise_dictionary = learn_noise_dictionary(noise, sr, n_components=Kn,
                                                         stft_params=params, random_state=random_state)
    W_noise = None if noise_dictionary is None else noise_dictionary.W.astype(dtype)
    W_speech = None if speech_dictionary is None else speech_dictionary.W.astype(dtype)
    if W_noise is None and W_speech is None:
        # Blind: learn the noise from the quietest frames of the input itself.
        Vq = _quiet_frames_noise(V, QUIET_FRACTION)
        if np.any(Vq > 0):
            W_noise = nmf(Vq, Kn, beta="kl", max_iter=200, random_state=random_state).W
            W_noise = W_noise / np.maximum(W_noise.sum(axis=0), np.finfo(dtype).tiny)
        else:
            W_noise = np.full((V.shape[0], Kn), 1.0 / V.shape[0], dtype=dtype)

    def free(k):
        Wf = rng.random((V.shape[0], k)).astype(dtype) + dtype.type(0.1)
        return Wf / Wf.sum(axis=0)

    if W_noise is not None and W_speech is not None:
        W0 = np.concatenate([W_speech, W_noise], axis=1)
        update_W, lam = False, 0.0
        n_s = W_speech.shape[1]
    elif W_noise is not None:
        W0 = np.concatenate([free(Ks), W_noise], axis=1)
        n_s = Ks
        update_W = np.arange(W0.shape[1]) < n_s
        lam = np.where(update_W, sparsity, 0.0)
    else:
        W0 = np.concatenate([W_speech, free(Kn)], axis=1)
        n_s = W_speech.shape[1]
        update_W = np.arange(W0.shape[1]) >= n_s
        lam = 0.0
    res = nmf(V, W=W0, H=frame_init(V, W0.shape[1]).astype(dtype), beta="kl", update_W=update_W,
              max_iter=max_iter, tol=0, sparsity=lam, random_state=random_state, callback=callback)
    est = np.stack([res.W[:, :n_s] @ res.H[:n_s], res.W[:, n_s:] @ res.H[n_s:]])
    est = np.stack([unstack_channels(e, lead, T) for e in est])
    masks = soft_masks(est, power=mask_power)
    parts = apply_masks(S, masks)
    n = y.shape[-1]
    return {name: istft(p, params=params, length=n).astype(y.dtype, copy=False)
            for name, p in zip(("clean", "noise"), parts)}


def denoise(y, sr, *, noise=None, noise_dictionary=None, speech_dictionary=None,
            n_noise_components=NOISE_COMPONENTS, n_speech_components=SPEECH_COMPONENTS,
            sparsity=SPARSITY, mask_power=2.0, stft_params=None, max_iter=100, random_state=0,
            callback=None):
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
    mask_power : float > 0
        Soft-mask exponent (2 = Wiener).
    stft_params : STFTParams or None
        Default ≈ 64 ms frames (1024 at 16 kHz), or the dictionaries' settings.
    max_iter : int > 0
        Fixed iteration count.
    random_state : int
        Seed.
    callback : callable or None
        ``callback(iteration, loss)`` at every loss check (every 10 iterations) of
        the main factorisation, to report progress; returning ``True`` stops early.

    Returns
    -------
    clean : np.ndarray [shape=y.shape, dtype=y.dtype]
        The denoised signal. :func:`denoise_sources` also returns the noise.

    Notes
    -----
    With neither ``noise`` nor a dictionary, the noise model is learned from the
    quietest 20 % of the frames (blind denoising): it assumes the noise is
    roughly stationary and the speech has pauses.

    Examples
    --------
    >>> import nmfaudio
    >>> y, sr = nmfaudio.load("audio_fixtures/speech/noisy.wav")         # doctest: +SKIP
    >>> n, _ = nmfaudio.load("audio_fixtures/speech/train/noise.wav")    # doctest: +SKIP
    >>> clean = nmfaudio.denoise(y, sr, noise=n)                          # doctest: +SKIP
    """
    return denoise_sources(
        y, sr, noise=noise, noise_dictionary=noise_dictionary, speech_dictionary=speech_dictionary,
        n_noise_components=n_noise_components, n_speech_components=n_speech_components,
        sparsity=sparsity, mask_power=mask_power, stft_params=stft_params, max_iter=max_iter,
        random_state=random_state, callback=callback)["clean"]
