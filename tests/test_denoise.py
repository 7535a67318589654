import sys

import numpy as np
import pytest

import nmfaudio
from nmfaudio import ParameterError


@pytest.fixture
def noisy(rng, speech_like):
    sr = 16000
    s = speech_like(sr, 3 * sr)
    noise_all = 0.05 * np.cumsum(rng.standard_normal(5 * sr)) / 30
    noise_all = (noise_all - np.convolve(noise_all, np.ones(200) / 200, "same")).astype(np.float32)
    noise_all += (0.03 * rng.standard_normal(5 * sr)).astype(np.float32)
    n = noise_all[: 3 * sr]
    return sr, s, n, noise_all[3 * sr:]


def sdr(ref, est):
    return 10 * np.log10(np.sum(ref ** 2) / np.sum((ref - est) ** 2))


def test_denoise_with_noise_sample_improves(noisy):
    sr, s, n, n_train = noisy
    y = s + n
    parts = nmfaudio.denoise_sources(y, sr, noise=n_train)
    assert np.max(np.abs(parts["clean"] + parts["noise"] - y)) < 1e-5
    assert parts["clean"].dtype == np.float32 and parts["clean"].shape == y.shape
    assert sdr(s, parts["clean"]) > sdr(s, y) + 3


def test_blind_denoise_improves(noisy):
    sr, s, n, _ = noisy
    y = s + n
    clean = nmfaudio.denoise(y, sr)
    assert sdr(s, clean) > sdr(s, y) + 2


def test_denoise_with_dictionaries(noisy, speech_like):
    sr, s, n, n_train = noisy
    p = nmfaudio.denoise.__module__ and __import__("nmfaudio.denoise", fromlist=["x"]).default_denoise_stft(sr)
    ds = nmfaudio.learn_dictionary(speech_like(sr, 2 * sr)[::-1].copy(), sr, name="speech",
                                   stft_params=p, n_components=16, max_iter=50)
    dn = nmfaudio.learn_dictionary(n_train, sr, name="noise", stft_params=p, n_components=8, max_iter=50)
    y = s + n
    for kw in (dict(noise_dictionary=dn, speech_dictionary=ds), dict(speech_dictionary=ds),
               dict(noise_dictionary=dn)):
        clean = nmfaudio.denoise(y, sr, **kw)
        assert np.all(np.isfinite(clean)) and sdr(s, clean) > sdr(s, y)


def test_denoise_silence_and_errors(noisy):
    sr, s, n, n_train = noisy
    z = np.zeros(8000, np.float32)
    assert np.all(nmfaudio.denoise(z, sr) == 0)
    assert np.all(nmfaudio.denoise(z, sr, noise=n_train) == 0)
    with pytest.raises(ParameterError, match="silent"):
        nmfaudio.denoise(s, sr, noise=z)
    with pytest.raises(ParameterError, match="not both"):
        nmfaudio.denoise(s, sr, noise=n_train,
                         noise_dictionary=nmfaudio.learn_noise_dictionary(n_train, sr, n_components=2))
    with pytest.raises(ParameterError, match="noise_dictionary must be a SourceDictionary"):
        nmfaudio.denoise(s, sr, noise=n_train, noise_dictionary=object())  # the type is checked first
    with pytest.raises(ParameterError, match="SourceDictionary"):
        nmfaudio.denoise(s, sr, speech_dictionary="speech.npz")
    with pytest.raises(ParameterError, match="sparsity"):
        nmfaudio.denoise(s, sr, sparsity=-1)


def test_noise_region_learns_the_noise_from_the_recording(monkeypatch):
    import nmfaudio
    from nmfaudio.denoise import noise_from_regions

    y, sr = nmfaudio.load("audio_fixtures/speech/noisy.wav")
    clean, _ = nmfaudio.load("audio_fixtures/speech/clean.wav")
    quiet = [(0, 0.25), (3.5, 4.0)]  # the clean speech is silent there
    got = nmfaudio.denoise(y, sr, noise_region=quiet)
    # a region is a noise sample without the sample's second pass (nmfaudio._second_pass)
    monkeypatch.setattr(sys.modules["nmfaudio.denoise"], "SAMPLE_SECOND_PASS", None)
    same = nmfaudio.denoise(y, sr, noise=noise_from_regions(y, sr, quiet))
    np.testing.assert_array_equal(got, same)

    def si_sdr(e, r):
        a = np.dot(e, r) / np.dot(r, r)
        return 10 * np.log10(np.sum((a * r) ** 2) / np.sum((e - a * r) ** 2))

    assert si_sdr(got, clean) > si_sdr(y, clean) + 4


@pytest.mark.parametrize("region, match", [
    ((3, 9), "must satisfy"), ((-1, 0.5), "must satisfy"), ((0.5, 0.5), "must satisfy"),
    ((0, 0.01), "two STFT frames"), ([], "empty"), ("0:1", "must be"), ((0, float("nan")), "must satisfy"),
])
def test_noise_region_bad_values(region, match):
    import nmfaudio

    y, sr = nmfaudio.load("audio_fixtures/speech/noisy.wav")
    with pytest.raises(nmfaudio.ParameterError, match=match):
        nmfaudio.denoise(y, sr, noise_region=region)


@pytest.mark.parametrize("length", [lambda need: 1, lambda need: 100, lambda need: need - 1],
                         ids=["1", "100", "need-1"])
def test_noise_sample_shorter_than_two_frames_refused(length):
    """A noise sample, like a region, must hold two STFT frames (n_fft + hop samples: 1024 + 256 at
    16 kHz); the message names its length and the minimum, in every entry point that learns from it."""
    import nmfaudio
    from nmfaudio.denoise import default_denoise_stft

    y, sr = nmfaudio.load("audio_fixtures/speech/noisy.wav")
    p = default_denoise_stft(sr)
    need = p.n_fft + p.hop_length
    n = length(need)
    for call in (lambda: nmfaudio.denoise(y, sr, noise=y[:n]),
                 lambda: nmfaudio.learn_noise_dictionary(y[:n], sr),
                 lambda: nmfaudio.StreamDenoiser(noise=y[:n], sr=sr)):
        with pytest.raises(nmfaudio.ParameterError, match=f"has {n} samples .*at least two STFT frames: {need}"):
            call()
    assert nmfaudio.learn_noise_dictionary(y[:need], sr, n_components=2).W.shape == (p.n_freq, 2)


def test_silent_noise_sample_or_region_is_refused_but_silence_denoises_to_silence():
    import nmfaudio

    sr = 16000
    rng = np.random.default_rng(7)
    y = (0.1 * rng.standard_normal(2 * sr)).astype(np.float32)
    y[: sr // 2] = 0.0  # a silent lead
    silent = np.zeros(sr, np.float32)
    for call in (lambda: nmfaudio.denoise(y, sr, noise=silent), lambda: nmfaudio.denoise(y, sr, noise_region=(0, 0.5)),
                 lambda: nmfaudio.learn_noise_dictionary(silent, sr), lambda: nmfaudio.StreamDenoiser(noise=silent, sr=sr)):
        with pytest.raises(nmfaudio.ParameterError, match="is silent .*no noise to learn"):
            call()
    quiet = np.zeros(2 * sr, np.float32)
    for kw in ({}, {"noise": y}):
        parts = nmfaudio.denoise_sources(quiet, sr, **kw)
        assert all(p.dtype == np.float32 and p.shape == quiet.shape and not p.any() for p in parts.values())
    out = nmfaudio.denoise(quiet.astype(np.float64), sr, noise=y)
    assert out.dtype == np.float64 and not out.any()
    # a region of a silent recording holds no noise: refused, as denoise_stream refuses it
    with pytest.raises(nmfaudio.ParameterError, match="is silent"):
        nmfaudio.denoise(quiet, sr, noise_region=(0, 0.5))
    # the options are still checked on a silent input
    with pytest.raises(nmfaudio.ParameterError, match="stft_params must be an STFTParams"):
        nmfaudio.denoise(quiet, sr, stft_params="x")


@pytest.mark.parametrize("call", ["learn_noise_dictionary", "denoise", "denoise_stream"])
def test_bad_stft_params_is_a_parameter_error(call, tmp_path):
    import nmfaudio

    sr = 8000
    n = (0.1 * np.random.default_rng(12).standard_normal(sr)).astype(np.float32)
    with pytest.raises(nmfaudio.ParameterError, match="stft_params must be an STFTParams, got str"):
        if call == "learn_noise_dictionary":
            nmfaudio.learn_noise_dictionary(n, sr, stft_params="x")
        elif call == "denoise":
            nmfaudio.denoise(n, sr, noise=n, stft_params="x")
        else:
            nmfaudio.save(str(tmp_path / "n.wav"), n, sr)
            nmfaudio.denoise_stream(str(tmp_path / "n.wav"), str(tmp_path / "o.wav"), stft_params="x")


def test_noise_region_and_noise_together_refused():
    import nmfaudio

    y, sr = nmfaudio.load("audio_fixtures/speech/noisy.wav")
    with pytest.raises(nmfaudio.ParameterError, match="not both"):
        nmfaudio.denoise(y, sr, noise=y[:4000], noise_region=(0, 0.25))


def _dn():
    import sys

    return sys.modules["nmfaudio.denoise"]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("with_noise", [False, True])
def test_denoise_keeps_dtype_and_leaves_inputs_alone(noisy, dtype, with_noise):
    sr, s, n, n_train = noisy
    y = (s + n).astype(dtype)
    sample = n_train.astype(dtype) if with_noise else None
    y0, sample0 = y.copy(), None if sample is None else sample.copy()
    parts = nmfaudio.denoise_sources(y, sr, noise=sample, max_iter=20)
    assert parts["clean"].dtype == dtype and parts["noise"].dtype == dtype
    assert np.array_equal(y, y0)
    if sample is not None:
        assert np.array_equal(sample, sample0)
    assert np.max(np.abs(parts["clean"] + parts["noise"] - y)) < 1e-4


def test_default_mask_power_depends_on_the_mode(noisy, speech_like):
    sr, s, n, n_train = noisy
    y = s + n
    dn = _dn()
    for kw in ({}, {"noise": n_train}):
        default = nmfaudio.denoise(y, sr, max_iter=20, **kw)
        assert np.array_equal(default, nmfaudio.denoise(y, sr, max_iter=20, mask_power=dn.MASK_POWER, **kw))
        assert not np.array_equal(default, nmfaudio.denoise(y, sr, max_iter=20, mask_power=3.0, **kw))
    ds = nmfaudio.learn_dictionary(speech_like(sr, 2 * sr)[::-1].copy(), sr, name="speech",
                                   stft_params=dn.default_denoise_stft(sr), n_components=8, max_iter=30)
    default = nmfaudio.denoise(y, sr, speech_dictionary=ds, max_iter=20)
    wiener = nmfaudio.denoise(y, sr, speech_dictionary=ds, max_iter=20, mask_power=dn.MASK_POWER_SPEECH_DICT)
    assert np.array_equal(default, wiener)


def test_minimum_statistics_noise_floor_ignores_bursts():
    dn = _dn()
    rng = np.random.default_rng(1)
    params = nmfaudio.STFTParams(n_fft=64)
    floor = rng.uniform(0.5, 2.0, size=(33, 1))
    V = np.repeat(floor, 400, axis=1)
    V[:, 50:80] += 10.0          # a loud burst shorter than the window
    V[5, ::7] += 5.0             # sparse spikes in one band
    V0 = V.copy()
    est = dn._minstat_noise(V, params, 16000)
    assert est.shape == V.shape and np.array_equal(V, V0)
    np.testing.assert_allclose(est, np.repeat(floor, 400, axis=1))


def test_gain_floor_is_respected_and_parts_still_sum(noisy, monkeypatch):
    sr, s, n, n_train = noisy
    y = s + n
    dn = _dn()
    params = dn.default_denoise_stft(sr)
    S, est, power = dn._fit(y, sr, params, n_train, None, None, Kn=8, Ks=8, sparsity=0.1, max_iter=20,
                            random_state=0)
    g0 = dn._clean_gain(S, est, power=power, mask_power=1.0, floor_db=None, smooth=0)
    g = dn._clean_gain(S, est, power=power, mask_power=1.0, floor_db=-20.0, smooth=0)
    assert g0.min() < 0.1 - 1e-3          # the unfloored gain goes below the floor ...
    assert g.min() >= 0.1 - 1e-6          # ... the floored one does not
    assert np.array_equal(g[g0 > 0.1], g0[g0 > 0.1])
    assert np.all(g <= 1 + 1e-6)
    monkeypatch.setattr(dn, "GAIN_FLOOR_DB", -20.0)
    parts = nmfaudio.denoise_sources(y, sr, noise=n_train, max_iter=20)
    assert np.max(np.abs(parts["clean"] + parts["noise"] - y)) < 1e-4


@pytest.mark.parametrize("T,win", [(1, 3), (2, 3), (7, 3), (40, 4), (40, 39), (40, 40), (40, 41), (40, 200),
                                   (300, 65)])
def test_minstat_floor_is_a_percentile_over_the_window_truncated_to_the_signal(T, win):
    from nmfaudio import _minstat

    rng = np.random.default_rng(T * 1000 + win)
    V = rng.random((2, 5, T)).astype(np.float32)
    V0 = V.copy()
    got = _minstat.floor(V, win, 10)
    assert got.shape == V.shape and got.dtype == V.dtype and np.array_equal(V, V0)
    lo, hi = win // 2, win - 1 - win // 2
    for t in range(T):
        frames = V[..., max(0, t - lo):min(T, t + hi + 1)]
        n = frames.shape[-1]
        expect = np.sort(frames, axis=-1)[..., min(int(n * 10 / 100), n - 1)]
        np.testing.assert_array_equal(got[..., t], expect)


def test_minstat_floor_of_a_short_clip_is_not_its_edge_frame():
    # A window far longer than the clip: repeating the edge frame (scipy's mode="nearest")
    # would make the loud first frame most of every window; truncation uses the real frames.
    from nmfaudio import _minstat

    V = np.ones((3, 50))
    V[:, 0] = 100.0
    np.testing.assert_array_equal(_minstat.floor(V, 1000, 10), np.ones((3, 50)))


def test_blind_floor_is_computed_per_channel(monkeypatch):
    # The channels are stacked along time for the factorisation; the floor must not see the
    # other channel's frames across that seam.
    dn = _dn()
    seen = []
    real = dn._minstat_noise
    monkeypatch.setattr(dn, "_minstat_noise", lambda V, p, sr: seen.append(V.shape) or real(V, p, sr))
    sr = 8000
    y = np.random.default_rng(0).standard_normal((2, sr)).astype(np.float32) * 0.1
    nmfaudio.denoise(y, sr, max_iter=5)
    assert len(seen) == 1 and len(seen[0]) == 3 and seen[0][0] == 2


def test_blind_local_models_callback_counts_all_segments(monkeypatch):
    from nmfaudio import _segments

    monkeypatch.setattr(_segments, "SECONDS", 0.5)
    monkeypatch.setattr(_segments, "OVERLAP_SECONDS", 0.1)
    sr = 8000
    y = np.random.default_rng(3).standard_normal(3 * sr).astype(np.float32) * 0.1
    seen = []
    out = nmfaudio.denoise(y, sr, max_iter=20, callback=lambda it, loss: seen.append(it))
    assert out.shape == y.shape and np.isfinite(out).all()
    assert seen == sorted(seen) and seen[-1] == 20 and len(seen) > 2  # one count over the segments
    stops = []
    nmfaudio.denoise(y, sr, max_iter=20, callback=lambda it, loss: stops.append(it) or True)
    assert len(stops) == 1  # the stop holds for every later segment


def test_segment_seconds_option(monkeypatch):
    from nmfaudio import _segments
    from nmfaudio.exceptions import ParameterError, UsageError

    sr = 8000
    y = np.random.default_rng(4).standard_normal(3 * sr).astype(np.float32) * 0.1
    # None is the module default; a shorter segment gives local models, inf one model
    monkeypatch.setattr(_segments, "SECONDS", 0.5)
    local = nmfaudio.denoise(y, sr, max_iter=10)
    assert np.array_equal(local, nmfaudio.denoise(y, sr, max_iter=10, segment_seconds=0.5))
    whole = nmfaudio.denoise(y, sr, max_iter=10, segment_seconds=float("inf"))
    assert np.array_equal(whole, nmfaudio.denoise(y, sr, max_iter=10, segment_seconds=100.0))
    assert not np.allclose(local, whole)
    for bad in (0, -1.0, float("nan"), "ten"):
        with pytest.raises(ParameterError, match="segment_seconds"):
            nmfaudio.denoise(y, sr, segment_seconds=bad)
    with pytest.raises(ParameterError, match="at least 8 frames"):  # 0.01 s is one frame
        nmfaudio.denoise(y, sr, segment_seconds=0.01)
    with pytest.raises(UsageError, match="segment_seconds"):  # local models are a blind option
        nmfaudio.denoise(y, sr, noise=y[:sr], segment_seconds=5.0)
