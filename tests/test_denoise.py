import numpy as np
import pytest

import nmfaudio
from nmfaudio import ParameterError


def _speech_like(sr, n, rng):
    """Harmonic bursts with pauses (a crude voiced-speech stand-in)."""
    t = np.arange(n) / sr
    f0 = 140 + 30 * np.sin(2 * np.pi * 0.7 * t)
    phase = 2 * np.pi * np.cumsum(f0) / sr
    x = sum(np.sin(k * phase) / k for k in range(1, 12))
    env = (np.sin(2 * np.pi * 1.3 * t) > 0.2).astype(float)
    return (0.3 * x * env).astype(np.float32)


@pytest.fixture
def noisy(rng):
    sr = 16000
    s = _speech_like(sr, 3 * sr, rng)
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


def test_denoise_with_dictionaries(noisy):
    sr, s, n, n_train = noisy
    p = nmfaudio.denoise.__module__ and __import__("nmfaudio.denoise", fromlist=["x"]).default_denoise_stft(sr)
    ds = nmfaudio.learn_dictionary(_speech_like(sr, 2 * sr, None)[::-1].copy(), sr, name="speech",
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
        nmfaudio.denoise(s, sr, noise=n_train, noise_dictionary=object())
    with pytest.raises(ParameterError, match="SourceDictionary"):
        nmfaudio.denoise(s, sr, speech_dictionary="speech.npz")
    with pytest.raises(ParameterError, match="sparsity"):
        nmfaudio.denoise(s, sr, sparsity=-1)


def test_noise_region_learns_the_noise_from_the_recording():
    import nmfaudio
    from nmfaudio.denoise import noise_from_regions

    y, sr = nmfaudio.load("audio_fixtures/speech/noisy.wav")
    clean, _ = nmfaudio.load("audio_fixtures/speech/clean.wav")
    quiet = [(0, 0.25), (3.5, 4.0)]  # the clean speech is silent there
    got = nmfaudio.denoise(y, sr, noise_region=quiet)
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


def test_noise_region_and_noise_together_refused():
    import nmfaudio

    y, sr = nmfaudio.load("audio_fixtures/speech/noisy.wav")
    with pytest.raises(nmfaudio.ParameterError, match="not both"):
        nmfaudio.denoise(y, sr, noise=y[:4000], noise_region=(0, 0.25))
