"""The model-driven speech-enhancement post-filter (nmfaudio._postfilter, denoise.POSTFILTER)."""

import sys

import numpy as np
import pytest

import nmfaudio
from nmfaudio import ParameterError
from nmfaudio._postfilter import RULES, model_gain, spectral_gain
from nmfaudio.masking import sources_to_audio
from nmfaudio.stft import stft, window

dn = sys.modules["nmfaudio.denoise"]


def _random_case(rng, shape=(2, 33, 40), dtype=np.complex64):
    S = (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(dtype)
    lam_n = rng.uniform(0.1, 3.0, shape).astype(np.float32)
    lam_s = rng.uniform(0.0, 3.0, shape).astype(np.float32)
    return S, lam_n, lam_s


@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("gain_min_db", [None, -20.0])
def test_gain_within_floor_and_one(rng, rule, gain_min_db):
    S, lam_n, lam_s = _random_case(rng)
    S[..., ::5] *= 30          # loud frames: gains near 1
    S[..., 1::7] *= 1e-3       # near-silent frames: gains at the floor
    G = spectral_gain(S, lam_n, lam_s, rule=rule, alpha=0.95, gain_min_db=gain_min_db)
    low = 0.0 if gain_min_db is None else 10 ** (gain_min_db / 20)
    assert G.shape == S.shape and np.all(np.isfinite(G))
    assert G.min() >= low - 1e-7 and G.max() <= 1.0
    if gain_min_db is not None:
        assert np.isclose(G.min(), low, rtol=1e-5)  # the floor is reached, not merely respected
    assert G.max() > 0.9


@pytest.mark.parametrize("rule", RULES)
def test_silence_in_silence_out(rule):
    S = np.zeros((17, 30), np.complex64)
    G = spectral_gain(S, np.zeros((17, 30), np.float32), np.zeros((17, 30), np.float32), rule=rule)
    assert np.all(np.isfinite(G)) and G.dtype == np.float32
    # a noise estimate that vanishes under a non-silent input stays finite too
    S[3, 4] = 1.0
    assert np.all(np.isfinite(spectral_gain(S, np.zeros((17, 30)), np.zeros((17, 30)), rule=rule)))


def test_denoise_of_silence_is_silence(monkeypatch, rng):
    monkeypatch.setattr(dn, "POSTFILTER", "lsa")
    noise = (0.1 * rng.standard_normal(8000)).astype(np.float32)
    out = nmfaudio.denoise(np.zeros(8000, np.float32), 8000, noise=noise, max_iter=10)
    assert out.dtype == np.float32 and np.all(np.isfinite(out)) and np.max(np.abs(out)) == 0


@pytest.mark.parametrize("dtype, real", [(np.complex64, np.float32), (np.complex128, np.float64)])
def test_dtype_follows_the_stft(rng, dtype, real):
    S, lam_n, lam_s = _random_case(rng, dtype=dtype)
    for rule in RULES:
        assert spectral_gain(S, lam_n, lam_s, rule=rule).dtype == real


def test_inputs_unchanged(rng):
    S, lam_n, lam_s = _random_case(rng)
    est = np.stack([np.sqrt(lam_s), np.sqrt(lam_n)])
    copies = [a.copy() for a in (S, lam_n, lam_s, est)]
    for rule in RULES:
        spectral_gain(S, lam_n, lam_s, rule=rule, gain_min_db=-20.0, noise_scale=2.0)
        model_gain(S, est, power=1.0, setting={"rule": rule})
    for a, b in zip((S, lam_n, lam_s, est), copies):
        assert np.array_equal(a, b)


def test_recursion_is_causal(rng):
    S, lam_n, lam_s = _random_case(rng)
    S2 = S.copy()
    S2[..., 25:] *= 5.0
    for rule in RULES:
        a = spectral_gain(S, lam_n, lam_s, rule=rule)
        b = spectral_gain(S2, lam_n, lam_s, rule=rule)
        assert np.array_equal(a[..., :25], b[..., :25]) and not np.array_equal(a, b)


def test_model_rule_without_smoothing_is_the_wiener_mask(rng):
    """α = 0 and no ξ floor: the model's ξ gives λ_s / (λ_s + λ_n), the power-2 soft mask."""
    S, lam_n, lam_s = _random_case(rng, dtype=np.complex128)
    est = np.stack([np.sqrt(lam_s), np.sqrt(lam_n)]).astype(np.float64)
    G = model_gain(S, est, power=1.0, setting={"rule": "model", "alpha": 0.0, "xi_min_db": -300.0})
    g2 = dn._clean_gain(S, est, power=1.0, mask_power=2.0, floor_db=None, smooth=0)
    np.testing.assert_allclose(G, g2, rtol=1e-6, atol=1e-9)


def test_bad_settings_raise(rng):
    S, lam_n, _ = _random_case(rng)
    est = np.stack([np.sqrt(lam_n)] * 2)
    with pytest.raises(ParameterError, match="rule"):
        model_gain(S, est, power=1.0, setting="spectral-subtraction")
    with pytest.raises(ParameterError, match="unknown"):
        model_gain(S, est, power=1.0, setting={"rule": "lsa", "beta": 2})
    with pytest.raises(ParameterError, match="alpha"):
        model_gain(S, est, power=1.0, setting={"rule": "lsa", "alpha": 1.0})
    with pytest.raises(ParameterError, match="lam_s"):
        spectral_gain(S, lam_n, None, rule="model")


@pytest.mark.parametrize("rule", ["wiener", "lsa"])
def test_planted_tone_in_white_noise_gains_snr(rule):
    """Stationary white noise of known power plus a steady tone: the gain, applied to each part
    separately (the STFT is linear), raises the tone-to-noise ratio by several dB."""
    sr, n = 16000, 32000
    rng = np.random.default_rng(3)
    params = nmfaudio.STFTParams(n_fft=512)
    tone = (0.1 * np.sin(2 * np.pi * 1000 * np.arange(n) / sr)).astype(np.float32)
    sigma = 0.1
    noise = (sigma * rng.standard_normal(n)).astype(np.float32)
    X, N = stft(tone, stft_params=params), stft(noise, stft_params=params)
    w = np.asarray(window(params), np.float64)
    lam_n = np.full(X.shape, sigma ** 2 * np.sum(w ** 2))  # E|N(f, t)|² of white noise
    G = spectral_gain(X + N, lam_n, rule=rule, alpha=0.95)
    snr_in = 10 * np.log10(np.sum(np.abs(X) ** 2) / np.sum(np.abs(N) ** 2))
    snr_out = 10 * np.log10(np.sum(np.abs(G * X) ** 2) / np.sum(np.abs(G * N) ** 2))
    assert snr_out - snr_in > 6.0
    assert np.sum(np.abs(G * X) ** 2) > 0.5 * np.sum(np.abs(X) ** 2)  # the tone survives


def _old_denoise(y, sr, noise, **kw):
    """denoise() as it was before POSTFILTER: _fit, the soft-mask _clean_gain, resynthesis."""
    params = dn.default_denoise_stft(sr)
    S, est, power = dn._fit(y, sr, params, noise, None, None, Kn=dn.NOISE_COMPONENTS,
                            Ks=dn.SPEECH_COMPONENTS, sparsity=dn.SPARSITY, random_state=0, **kw)
    g = dn._clean_gain(S, est, power=power, mask_power=dn.MASK_POWER, floor_db=None, smooth=0)
    return sources_to_audio(np.stack([g * S, S - g * S]), ("clean", "noise"), stft_params=params,
                            length=y.shape[-1], dtype=y.dtype)["clean"]


def test_postfilter_none_is_the_soft_mask_and_a_setting_changes_it(rng, monkeypatch):
    sr = 8000
    t = np.arange(2 * sr) / sr
    noise = (0.1 * rng.standard_normal(4 * sr)).astype(np.float32)
    y = (0.3 * np.sin(2 * np.pi * 440 * t) * (np.sin(2 * np.pi * t) > 0)).astype(np.float32)
    y = y + noise[: 2 * sr]
    y0 = y.copy()
    assert dn.POSTFILTER is None
    out = nmfaudio.denoise(y, sr, noise=noise[2 * sr:], max_iter=20)
    assert np.array_equal(out, _old_denoise(y, sr, noise[2 * sr:], max_iter=20))
    monkeypatch.setattr(dn, "POSTFILTER", {"rule": "wiener", "alpha": 0.9, "gain_min_db": -20.0})
    parts = nmfaudio.denoise_sources(y, sr, noise=noise[2 * sr:], max_iter=20)
    assert parts["clean"].dtype == np.float32 and np.array_equal(y, y0)
    assert not np.array_equal(parts["clean"], out)
    assert np.max(np.abs(parts["clean"] + parts["noise"] - y)) < 1e-4
    ref = (0.3 * np.sin(2 * np.pi * 440 * t) * (np.sin(2 * np.pi * t) > 0))

    def snr(est):
        return 10 * np.log10(np.sum(ref ** 2) / np.sum((ref - est) ** 2))

    assert snr(parts["clean"]) > snr(y) + 3.0
