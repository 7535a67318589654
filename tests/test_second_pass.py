"""Blind denoising's second pass (nmfaudio._second_pass): the noise from the quietest frames."""

import numpy as np
import pytest

import nmfaudio
from nmfaudio import _second_pass
from nmfaudio.stft import STFTParams

dn = __import__("nmfaudio.denoise", fromlist=["denoise"])


def test_quiet_frames_are_those_with_the_least_speech():
    rng = np.random.default_rng(0)
    F, T = 12, 50
    share = rng.random(T)
    total = rng.random((F, T)) + 0.5
    est = np.stack([total * share, total * (1 - share)]).astype(np.float32)
    pick = _second_pass.quiet_frames(est, 0.1)
    assert pick.size == 5 and np.all(np.diff(pick) > 0)
    np.testing.assert_array_equal(pick, np.sort(np.argsort(share)[:5]))
    assert _second_pass.quiet_frames(est, 0.0).size == 2   # at least two frames
    assert _second_pass.quiet_frames(est[..., :1], 0.5).size == 1  # never more than there are


def test_noise_dictionary_has_unit_sum_templates_and_fits_few_frames():
    rng = np.random.default_rng(1)
    p = STFTParams(n_fft=64, hop_length=16)
    V = (rng.random((33, 3)) + 0.1).astype(np.float32)
    d = _second_pass.noise_dictionary(V, n_components=16, random_state=0, params=p, sr=8000)
    assert d.W.shape == (33, 3) and d.W.dtype == np.float32  # no more templates than frames
    np.testing.assert_allclose(d.W.sum(axis=0), 1.0, rtol=1e-5)
    assert d.name == "noise" and d.stft == p and d.sr == 8000


def test_refine_with_the_same_estimate_changes_nothing():
    rng = np.random.default_rng(2)
    V = (rng.random((2, 20, 30)) + 0.1).astype(np.float32)  # two channels
    est = np.stack([0.05 * V, 0.95 * V])  # speech-free frames (share 0.05, below the guard's)
    seen = []

    def refit(nd):
        seen.append(nd.W.shape)
        return est.copy()

    out = _second_pass.refine(V, est, fraction=0.1, n_components=4, random_state=0,
                              params=STFTParams(n_fft=38, hop_length=19), sr=8000, refit=refit)
    assert seen == [(20, 4)]
    np.testing.assert_allclose(out, est, rtol=1e-6)


@pytest.mark.parametrize("extra", [None, "clip"])
def test_no_speech_free_frames_skip_the_second_pass_and_soften_the_estimates(extra, monkeypatch):
    """The guard (off by default: it did not transfer to the test part): where even the frames picked
    hold much speech, no refit, and the clean gain (mask power 1) is floored at GUARD_FLOOR_DB."""
    monkeypatch.setattr(_second_pass, "GUARD_SHARE_BLIND", 0.15)
    monkeypatch.setattr(_second_pass, "GUARD_SHARE_SAMPLE", 0.2)
    monkeypatch.setattr(_second_pass, "GUARD_SKIP", True)
    rng = np.random.default_rng(4)
    V = (rng.random((20, 40)) + 0.1).astype(np.float32)
    share = np.linspace(0.3, 0.9, 40).astype(np.float32)
    est = np.stack([V * share, V * (1 - share)])
    est[0, :5] = 0.0  # no clean estimate at all in five bins
    before = est.copy()
    tau = _second_pass.GUARD_SHARE_BLIND if extra is None else _second_pass.GUARD_SHARE_SAMPLE
    assert tau is not None and _second_pass.quiet_frames(est, 0.5, with_share=True)[1] >= tau
    calls = []
    out = _second_pass.refine(V, est, fraction=0.5, n_components=4, random_state=0,
                              params=STFTParams(n_fft=38, hop_length=19), sr=8000,
                              refit=lambda nd: calls.append(nd) or est, extra=None if extra is None else V[:, :5])
    np.testing.assert_array_equal(est, before)  # the argument is not modified
    assert calls == [] and out.dtype == np.float32 and out.shape == est.shape
    gain = out[0] / (out[0] + out[1])
    f = 10 ** (_second_pass.GUARD_FLOOR_DB / 20)
    assert gain.min() >= f * (1 - 1e-5) and np.isclose(gain.min(), f, rtol=1e-4)
    keep = before[0] / (before[0] + before[1]) >= f
    np.testing.assert_allclose(out[:, keep], before[:, keep], rtol=1e-6)  # above the floor: unchanged


def test_spread_is_small_for_a_steady_noise_and_large_for_many_spectra():
    rng = np.random.default_rng(8)
    F, n = 64, 120
    steady = np.outer(rng.random(F) + 0.1, rng.random(n) + 0.5).astype(np.float32)  # one spectrum, gains
    varied = (rng.gamma(0.3, size=(F, n)) + 1e-3).astype(np.float32)                 # a new spectrum per frame
    before = varied.copy()
    a, b = _second_pass.spread(steady), _second_pass.spread(varied)
    np.testing.assert_array_equal(varied, before)
    assert a < 1e-3 < 0.3 < b
    assert _second_pass.spread(np.zeros((F, 5), np.float32)) == 0.0


def test_spread_of_many_frames_uses_an_even_subset(monkeypatch):
    rng = np.random.default_rng(13)
    X = (rng.gamma(0.3, size=(32, 100)) + 1e-3).astype(np.float32)
    monkeypatch.setattr(_second_pass, "GUARD_SPREAD_FRAMES", 25)
    sub = np.ascontiguousarray(X[:, np.linspace(0, 99, 25).round().astype(int)])
    monkeypatch.setattr(_second_pass, "GUARD_SPREAD_FRAMES", 1000)
    assert _second_pass.spread(sub) != _second_pass.spread(X)
    expected = _second_pass.spread(sub)
    monkeypatch.setattr(_second_pass, "GUARD_SPREAD_FRAMES", 25)
    assert _second_pass.spread(X) == expected


def test_spread_guard_floors_the_gain_on_varied_noise_frames_only():
    """The default guard: the second pass is still taken, and the clean gain (mask power 1) floored
    at GUARD_FLOOR_DB where the noise frames are too varied for GUARD_SPREAD_K templates."""
    rng = np.random.default_rng(9)
    f = 10 ** (_second_pass.GUARD_FLOOR_DB / 20)
    kw = dict(fraction=0.5, n_components=4, random_state=0, params=STFTParams(n_fft=78, hop_length=39), sr=8000)
    varied = (rng.gamma(0.3, size=(40, 60)) + 1e-3).astype(np.float32)
    steady = np.outer(rng.random(40) + 0.1, rng.random(60) + 0.5).astype(np.float32)
    for V, floored in ((varied, True), (steady, False)):
        est = np.stack([0.01 * V, 0.99 * V])  # speech-free by share: only the spread can trip the guard
        calls = []
        out = _second_pass.refine(V, est, refit=lambda nd: calls.append(nd) or est, **kw)
        gain = out[0] / (out[0] + out[1])
        assert len(calls) == 1  # the second pass is taken either way
        np.testing.assert_allclose(gain.min(), f if floored else 0.01, rtol=1e-4)


def test_only_the_spread_guard_is_on_by_default():
    assert _second_pass.GUARD_SHARE_BLIND is None and _second_pass.GUARD_SHARE_SAMPLE is None
    assert _second_pass.GUARD_SPREAD_BLIND is not None and _second_pass.GUARD_SPREAD_SAMPLE is not None
    assert not _second_pass.GUARD_SKIP and _second_pass.GUARD_FLOOR_DB is not None


def test_guarded_power_and_floor(monkeypatch):
    est = np.abs(np.random.default_rng(6).standard_normal((2, 3, 8, 9))).astype(np.float32)
    monkeypatch.setattr(_second_pass, "GUARD_POWER", 0.5)
    monkeypatch.setattr(_second_pass, "GUARD_FLOOR_DB", None)
    np.testing.assert_allclose(_second_pass.guarded(est), np.sqrt(est), rtol=1e-6)
    monkeypatch.setattr(_second_pass, "GUARD_FLOOR_DB", -6.0)
    g = _second_pass.guarded(est)
    assert g.dtype == np.float32 and (g[0] / (g[0] + g[1])).min() >= 10 ** (-6 / 20) - 1e-6


def test_blind_denoise_takes_the_second_pass(monkeypatch, speech_like):
    sr = 8000
    y = speech_like(sr, 2 * sr)
    rng = np.random.default_rng(3)
    noisy = (y + 0.05 * rng.standard_normal(y.shape)).astype(np.float32)
    before = noisy.copy()
    two = nmfaudio.denoise(noisy, sr)
    np.testing.assert_array_equal(noisy, before)
    monkeypatch.setattr(dn, "BLIND_SECOND_PASS", None)
    one = nmfaudio.denoise(noisy, sr)
    assert two.dtype == np.float32 and two.shape == noisy.shape and np.all(np.isfinite(two))
    assert np.max(np.abs(two - one)) > 1e-4
    # with a noise sample there is no second pass
    clip = (0.05 * rng.standard_normal(sr)).astype(np.float32)
    with_clip = nmfaudio.denoise(noisy, sr, noise=clip)
    monkeypatch.setattr(dn, "BLIND_SECOND_PASS", 0.1)
    np.testing.assert_array_equal(nmfaudio.denoise(noisy, sr, noise=clip), with_clip)


@pytest.mark.parametrize("signal", ["silence", "dc"])
def test_blind_second_pass_on_silence_and_dc(signal):
    sr = 8000
    y = np.zeros(sr, np.float32) if signal == "silence" else np.full(sr, 0.3, np.float32)
    out = nmfaudio.denoise(y, sr)
    assert out.dtype == np.float32 and np.all(np.isfinite(out))
    if signal == "silence":
        assert np.all(out == 0)


def test_noise_sample_denoise_takes_a_second_pass_on_the_clip_and_quiet_frames(monkeypatch, speech_like):
    sr = 8000
    y = speech_like(sr, 2 * sr)
    rng = np.random.default_rng(5)
    noisy = (y + 0.05 * rng.standard_normal(y.shape)).astype(np.float32)
    clip = (0.05 * rng.standard_normal(sr)).astype(np.float32)
    clip_copy = clip.copy()
    speech = nmfaudio.learn_dictionary(y, sr, name="speech", n_components=8, pitch_shifts=())
    two = nmfaudio.denoise(noisy, sr, noise=clip)
    region = nmfaudio.denoise(np.concatenate([clip, noisy]), sr, noise_region=(0, 1.0))
    with_dict = nmfaudio.denoise(noisy, sr, noise=clip, speech_dictionary=speech, voice_model=False)
    np.testing.assert_array_equal(clip, clip_copy)
    monkeypatch.setattr(dn, "SAMPLE_SECOND_PASS", None)
    one = nmfaudio.denoise(noisy, sr, noise=clip)
    assert two.dtype == np.float32 and np.all(np.isfinite(two))
    assert np.max(np.abs(two - one)) > 1e-4
    # a noise region takes no second pass (tune: +0.05 dB only)
    np.testing.assert_array_equal(nmfaudio.denoise(np.concatenate([clip, noisy]), sr, noise_region=(0, 1.0)), region)
    # a speech dictionary's own model takes no second pass (the input's model beside it does:
    # tests/test_dict_input_model.py)
    np.testing.assert_array_equal(nmfaudio.denoise(noisy, sr, noise=clip, speech_dictionary=speech,
                                                   voice_model=False), with_dict)
