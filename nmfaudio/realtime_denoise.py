"""Real-time denoising: online semi-supervised NMF, one frame at a time.

The offline :func:`nmfaudio.denoise` learns its free components on the whole recording;
a stream cannot look ahead, so :class:`StreamDenoiser` learns as it goes. The model is
``v_t ≈ W h_t`` with ``W = [W_speech | W_noise] (n_freq, Ks + Kn)`` (β-divergence on
magnitudes). For every complete frame:

1. ``h_t`` is solved with ``W`` fixed (multiplicative updates from
   :func:`nmfaudio.supervised.frame_init`, an L1 weight on the speech activations);
2. the templates that adapt take one multiplicative step on running statistics of the
   frames seen so far, forgotten with a time constant (online NMF, as in Lefèvre, Bach &
   Févotte 2011): ``W = A / B`` with ``A ← ρ A + W ⊙ ((v ⊙ ŵ^(β−2)) h^T)`` and
   ``B ← ρ B + ŵ^(β−1) h^T``, ``ŵ = W h_t``;
3. soft masks from ``W_speech h_speech`` and ``W_noise h_noise`` are applied to the frame.

What adapts: with a noise sample (``noise=``) or ``noise_dictionary=``, the noise templates
stay fixed and the speech templates adapt (from ``speech_dictionary`` when given, else from
random templates). Blind (neither), the noise templates adapt too, but only on frames whose
energy is near the running noise floor (minimum tracking), so that speech does not leak
into the noise model. The result depends on the past only, never on block sizes.

Orientation as everywhere: ``V (n_freq, n_frames) ≈ W (n_freq, K) @ H (K, n_frames)``.
"""

from __future__ import annotations

import numpy as np

from .exceptions import ParameterError
from .realtime import BlockProcessor

__all__ = ["StreamDenoiser"]

#: Defaults, chosen on the *tune* part of benchmarks/quality (18 speech items) with
#: benchmarks/quality/tune_stream_denoise.py, mean SI-SDR of the speech: with a noise sample
#: sparsity 0.05 gave 9.78 dB (0.1: 9.16, 0: 8.75; memory 1/4/10 s within 0.1 dB); blind,
#: FLOOR_RATIO 1.1 gave 8.8 dB (1.5: 8.5, 2: 6.9, 3: 6.4) and FLOOR_RISE_DB 1.5-3 beat 6 by 0.5.
SPEECH_COMPONENTS = 32
NOISE_COMPONENTS = 16
SPARSITY = 0.05
ITERATIONS = 30
MEMORY_SECONDS = 4.0
#: Blind mode: a frame updates the noise model when its energy is below FLOOR_RATIO times
#: the tracked noise floor, which rises by at most FLOOR_RISE_DB per second.
FLOOR_RATIO = 1.1
FLOOR_RISE_DB = 3.0
#: Updates of a warm-started frame (0: no warm start), see ``warm_start``.
WARM_START = 0
#: Babble guard (as :mod:`nmfaudio._second_pass`'s): a noise sample too varied for a few templates
#: (:func:`nmfaudio._second_pass.spread` >= GUARD_SPREAD; tune: other noises <= 0.220, babble >=
#: 0.299) floors the clean gain at GUARD_FLOOR_DB for the whole stream (None: never). Tune (34 items
#: with hard_items.py's, benchmarks/quality/stream_guard.py): harmed 12 -> 4 (none of them babble),
#: +0.22 dB SDR; floors of -10 / -8 / -6 / -3 dB: 11 / 10 / 7 / 4 harmed.
GUARD_SPREAD = 0.25
GUARD_FLOOR_DB = -4.0


class StreamDenoiser(BlockProcessor):
    """Denoise a stream block by block, learning the speech (and, blind, the noise) as it goes.

    Parameters
    ----------
    noise : np.ndarray [shape=(n,) or (channels, n)] or None
        A sample of the noise alone, at ``sr``: its templates are learned once
        (:func:`nmfaudio.learn_noise_dictionary`) and stay fixed.
    sr : int > 0 or None
        Sample rate of the stream (and of ``noise``). May be omitted when a dictionary
        gives it.
    noise_dictionary, speech_dictionary : SourceDictionary or None
        Trained models (same STFT and rate). A speech dictionary is the starting point of
        the adapted speech templates; a noise dictionary stays fixed.
    n_speech_components, n_noise_components : int > 0
        Sizes of the learned parts (speech: when no speech dictionary; noise: blind mode
        or ``noise=``).
    sparsity : float >= 0
        L1 weight on the speech activations (relative to the frame's mean magnitude).
    n_iter : int > 0
        Multiplicative updates of the activations per frame.
    memory_seconds : float > 0
        Time constant of the running statistics (older frames are forgotten).
    speech_prior : bool
        Without a ``speech_dictionary``, start the speech templates from the bundled
        ``speech`` model (:func:`nmfaudio.models.model_templates`; trained on synthetic voices, see
        :func:`nmfaudio.list_models`) rather than from random templates.
    adapt_speech : bool
        Let the speech templates adapt (default). ``False`` with a ``speech_dictionary``
        makes the denoiser purely frame-local.
    mask_power : float > 0
        Soft-mask exponent on magnitudes (2 = Wiener).
    random_state : int
        Seed of the random starting templates.
    warm_start : int >= 0
        If > 0, a frame starts from the previous frame's activations and runs this many
        updates instead of ``n_iter`` from the flat start (0: every frame starts flat).

    Attributes
    ----------
    names : list of str
        ``["speech", "noise"]``, the keys of every output.
    latency : int
        ``n_fft - 1`` samples (the default STFT at 22.05 kHz: 2047 samples, 93 ms).

    Notes
    -----
    ``process``/``flush``/``reset`` behave as in :class:`nmfaudio.StreamSeparator`;
    ``reset`` also forgets what was learned. Outputs sum to the delayed input.

    Examples
    --------
    >>> import numpy as np, nmfaudio
    >>> rng = np.random.default_rng(0)
    >>> sr = 8000
    >>> noise = (0.05 * rng.standard_normal(2 * sr)).astype(np.float32)
    >>> t = np.arange(4 * sr) / sr
    >>> y = (np.sin(2 * np.pi * 440 * t) * (t % 1 < 0.5) + 0.05 * rng.standard_normal(t.size)).astype(np.float32)
    >>> den = nmfaudio.StreamDenoiser(noise=noise, sr=sr)
    >>> parts = [den.process(y[i:i + 512]) for i in range(0, y.size, 512)] + [den.flush()]
    >>> speech = np.concatenate([p["speech"] for p in parts])[den.latency:]
    >>> speech.shape == y.shape, speech.dtype
    (True, dtype('float32'))
    """

    def __init__(self, noise=None, *, sr=None, noise_dictionary=None, speech_dictionary=None,
                 n_speech_components=SPEECH_COMPONENTS, n_noise_components=NOISE_COMPONENTS,
                 sparsity=SPARSITY, n_iter=ITERATIONS, memory_seconds=MEMORY_SECONDS,
                 adapt_speech=True, speech_prior=True, mask_power=2.0, random_state=0,
                 warm_start=WARM_START):
        from ._checks import check_finite_float, check_positive_int, check_seed, valid_audio
        from ._numerics import gamma
        from .denoise import default_denoise_stft, learn_noise_dictionary
        from .dictionary import SourceDictionary

        if noise is not None and noise_dictionary is not None:
            raise ParameterError("give either noise (an audio sample) or noise_dictionary, not both")
        for label, d in (("noise_dictionary", noise_dictionary), ("speech_dictionary", speech_dictionary)):
            if d is not None and not isinstance(d, SourceDictionary):
                raise ParameterError(f"{label} must be a SourceDictionary, got {type(d).__name__}")
        ref = noise_dictionary or speech_dictionary
        if sr is None:
            if ref is None:
                raise ParameterError("sr is required (the stream's sample rate)")
            sr = ref.sr
        self.sr = check_positive_int(sr, "sr")
        dicts = [d for d in (speech_dictionary, noise_dictionary) if d is not None]
        for d in dicts:
            if d.sr != self.sr:
                raise ParameterError(f"the stream is at {self.sr} Hz but dictionary {d.name!r} was "
                                     f"trained at {d.sr} Hz")
        if len(dicts) == 2 and (dicts[0].stft != dicts[1].stft or dicts[0].beta != dicts[1].beta
                                or dicts[0].power != dicts[1].power):
            raise ParameterError("speech and noise dictionaries have different STFT, β or power")
        self.params = ref.stft if ref is not None else default_denoise_stft(self.sr)
        if not self.params.center:
            raise ParameterError("streaming needs a centred STFT (center=True)")
        self.beta = float(ref.beta) if ref is not None else 1.0
        self.power = float(ref.power) if ref is not None else 1.0
        self.gamma = gamma(self.beta)
        Ks = check_positive_int(n_speech_components, "n_speech_components")
        Kn = check_positive_int(n_noise_components, "n_noise_components")
        self.sparsity = check_finite_float(sparsity, "sparsity", low=0.0)
        self.n_iter = check_positive_int(n_iter, "n_iter")
        if isinstance(warm_start, (bool, np.bool_)) or not isinstance(warm_start, (int, np.integer)) \
                or warm_start < 0:
            raise ParameterError(f"warm_start={warm_start!r} must be an integer >= 0 (updates of a "
                                 "frame started from the previous frame's activations; 0: off)")
        self.warm_start = int(warm_start)
        memory = check_finite_float(memory_seconds, "memory_seconds", low=0.0, low_open=True)
        self.mask_power = check_finite_float(mask_power, "mask_power", low=0.0, low_open=True)
        if not isinstance(adapt_speech, (bool, np.bool_)):
            raise ParameterError(f"adapt_speech={adapt_speech!r} must be True or False")
        self.random_state = check_seed(random_state)
        if noise is not None:
            noise = valid_audio(noise, "noise")
            noise_dictionary = learn_noise_dictionary(noise, self.sr, n_components=Kn,
                                                      stft_params=self.params,
                                                      random_state=self.random_state,
                                                      beta=self.beta, power=self.power)
        self._guard = self._guard_factor(noise)
        self.blind = noise_dictionary is None
        if speech_dictionary is not None:
            self._W_speech0 = speech_dictionary.W
        elif speech_prior:
            from .models import model_templates

            self._W_speech0 = model_templates("speech", self.params, self.sr)
        else:
            self._W_speech0 = None
        self._W_noise0 = None if noise_dictionary is None else noise_dictionary.W
        self._Ks = Ks if self._W_speech0 is None else self._W_speech0.shape[1]
        self._Kn = Kn if noise_dictionary is None else noise_dictionary.n_components
        self.adapt_speech = bool(adapt_speech)
        hop_s = self.params.hop_length / self.sr
        self._rho = float(np.exp(-hop_s / memory))
        self._floor_rise = float(10 ** (FLOOR_RISE_DB / 10 * hop_s))
        self.names = ["speech", "noise"]
        self.latency = self.params.n_fft - 1
        self.reset()

    def _guard_factor(self, noise):
        """``c`` of the floor ``Ŝ >= c N̂`` of the babble guard (a clean gain >= GUARD_FLOOR_DB at
        this mask power), or 0.0 where it does not apply."""
        if noise is None or GUARD_SPREAD is None or GUARD_FLOOR_DB is None:
            return 0.0
        from ._second_pass import floor_factor, spread
        from .dictionary import spectrogram
        from .separation import stack_channels

        X = np.ascontiguousarray(stack_channels(spectrogram(noise, stft_params=self.params, power=1.0)[1]))
        if spread(X, random_state=self.random_state) < GUARD_SPREAD:
            return 0.0
        return floor_factor(GUARD_FLOOR_DB, self.mask_power / self.power)

    def _reset_model(self):
        from ._random import random_templates

        rng = np.random.default_rng(self.random_state)
        F = self.params.n_freq
        Ws = (random_templates(rng, F, self._Ks, np.float64) if self._W_speech0 is None
              else self._W_speech0.astype(np.float64))
        Wn = (random_templates(rng, F, self._Kn, np.float64) if self._W_noise0 is None
              else self._W_noise0.astype(np.float64))
        self._W = np.ascontiguousarray(np.concatenate([Ws, Wn], axis=1))
        K = self._W.shape[1]
        self._lam = np.where(np.arange(K) < self._Ks, self.sparsity, 0.0)
        self._A = np.zeros((F, K))
        self._B = np.zeros((F, K))
        # [noise floor (-1: none yet), frames seen, frames since a silent one], shared by the
        # channels (one model, one floor); activations are per channel
        self._state = np.array([-1.0, 0.0, 0.0])
        self._h = None
        self._hprev = None

    def _reserve_model(self, cap):
        C, F = self._channels, self.params.n_freq
        K = self._W.shape[1]
        self._V = np.empty((C, cap, F), np.float64)
        self._mag = np.empty((cap, F), np.float32) if self._dtype == np.float32 else None
        self._est = np.empty((C, cap, 2, F), np.float64)
        self._scratch = np.empty((4, F), np.float64)
        self._kwork = np.empty((2, K), np.float64)
        self._zs = np.empty(2, np.float64)
        if self._h is None or self._h.shape[0] != C:
            self._h = np.zeros((C, K))
            self._hprev = np.zeros((C, K))

    def _separate_into(self, nt):
        """Masked speech and noise spectra of the ``nt`` frames just analysed; the model
        learns from them frame by frame (channels in turn)."""
        from ._denoise_frames import denoise_frames
        from ._stream_kernels import count_nonfinite, soft_mask_apply

        S = self._analysis.frames
        for c in range(self._channels):
            V = self._V[c, :nt]
            if self._mag is None:
                np.abs(S[c, :nt], out=V)
            else:  # |S| in the frames' precision, then widened (as np.abs(S).astype(float64))
                np.abs(S[c, :nt], out=self._mag[:nt])
                V[...] = self._mag[:nt]
            if self.power != 1.0:
                np.power(V, self.power, out=V)
                if count_nonfinite(V):
                    raise ParameterError(f"the spectrogram to the power {self.power} overflows")
        # frames in time order, the channels of a frame one after the other
        args = (self._W, self._A, self._B, self._lam, self._Ks, self._state)
        rest = (self._scratch, self._kwork, self.n_iter, self.warm_start, self.beta, self.gamma,
                self._rho, self.blind, self.adapt_speech, FLOOR_RATIO, self._floor_rise)
        if self._channels == 1:
            denoise_frames(self._V[0], nt, *args, self._est[0], self._h[0], self._hprev[0], *rest)
        else:
            for t in range(nt):
                for c in range(self._channels):
                    denoise_frames(self._V[c, t:t + 1], 1, *args, self._est[c, t:t + 1],
                                   self._h[c], self._hprev[c], *rest)
        if self._guard:  # babble: the clean gain floored
            e = self._est[:, :nt]
            np.maximum(e[:, :, 0], self._guard * e[:, :, 1], out=e[:, :, 0])
        # masks in float64 (the models' precision), applied to the frames in theirs
        soft_mask_apply(S, self._est, self.mask_power / self.power, self._src, self._zs, nt)
