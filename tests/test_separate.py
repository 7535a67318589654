import numpy as np
import pytest

import nmfaudio
from nmfaudio import ParameterError, separate, separate_spectrogram, stft


def test_separate_sums_to_mixture_and_keeps_dtype(two_tone):
    sr, a, b = two_tone
    y = a + b
    y0 = y.copy()
    out = separate(y, sr, n_sources=2, n_fft=512, max_iter=60)
    assert sorted(out) == ["source1", "source2"]
    for s in out.values():
        assert s.shape == y.shape and s.dtype == np.float32 and np.all(np.isfinite(s))
    assert np.max(np.abs(sum(out.values()) - y)) < 1e-5
    assert np.array_equal(y, y0)


def test_separate_finds_the_two_sources(two_tone):
    sr, a, b = two_tone
    out = separate(a + b, sr, n_sources=2, n_fft=512, max_iter=100)
    ests = list(out.values())

    def sdr(ref, est):
        return 10 * np.log10(np.sum(ref ** 2) / np.sum((ref - est) ** 2))

    best = max(sdr(a, ests[0]) + sdr(b, ests[1]), sdr(a, ests[1]) + sdr(b, ests[0])) / 2
    assert best > 3.0


def test_stereo_keeps_layout(two_tone):
    sr, a, b = two_tone
    y = np.stack([a + 0.3 * b, 0.3 * a + b]).astype(np.float64)
    out = separate(y, sr, n_sources=2, n_fft=512, max_iter=30)
    for s in out.values():
        assert s.shape == y.shape and s.dtype == np.float64
    assert np.max(np.abs(sum(out.values()) - y)) < 1e-5


def test_silence_and_short_clip():
    out = separate(np.zeros(4000, np.float32), 8000, n_sources=3, n_fft=512, max_iter=10)
    assert len(out) == 3
    for s in out.values():
        assert np.all(s == 0)
    short = np.random.default_rng(0).standard_normal(50).astype(np.float32)
    out = separate(short, 8000, n_sources=2, max_iter=10)
    for s in out.values():
        assert s.shape == (50,) and np.all(np.isfinite(s))
    assert np.max(np.abs(sum(out.values()) - short)) < 1e-5


def test_deterministic(two_tone):
    sr, a, b = two_tone
    o1 = separate(a + b, sr, n_fft=512, max_iter=20)
    o2 = separate(a + b, sr, n_fft=512, max_iter=20)
    for k in o1:
        assert np.array_equal(o1[k], o2[k])


def test_separate_spectrogram_details(two_tone):
    sr, a, b = two_tone
    S = stft(a + b, n_fft=512)
    sep = separate_spectrogram(S, sr=sr, n_sources=2, n_components=6, max_iter=20, mask="binary")
    assert sep.masks.shape == (2,) + S.shape
    assert sep.W.shape == (257, 6) and sep.H.shape == (6, S.shape[1])
    assert set(sep.labels) == {0, 1}
    np.testing.assert_allclose(sep.S_sources.sum(axis=0), S, atol=1e-6)


@pytest.mark.parametrize("kw, match", [
    (dict(n_sources=0), "n_sources"),
    (dict(n_sources=3, n_components=2), "n_components"),
    (dict(mask="fuzzy"), "mask"),
    (dict(beta="nope"), "beta"),
    (dict(n_fft=-1), "n_fft"),
])
def test_bad_arguments(two_tone, kw, match):
    sr, a, b = two_tone
    with pytest.raises(ParameterError, match=match):
        separate(a + b, sr, **kw)


def test_bad_sr(two_tone):
    sr, a, b = two_tone
    with pytest.raises(ParameterError, match="sr"):
        separate(a, 0)


def test_supervised_defaults_accelerated_only_for_fixed_templates():
    from nmfaudio.supervised import supervised_settings

    rng = np.random.default_rng(0)
    p = nmfaudio.STFTParams(n_fft=256)
    y = rng.standard_normal(4000)
    d05 = nmfaudio.learn_dictionary(y, 8000, name="a", stft_params=p, n_components=2, max_iter=5)
    d2 = nmfaudio.learn_dictionary(y, 8000, name="b", stft_params=p, n_components=2, max_iter=5, beta=2)
    assert supervised_settings([d05]) == (20, True)
    assert supervised_settings([d05], n_free=2) == (100, False)
    assert supervised_settings([d05, d2]) == (100, False)
    assert supervised_settings([d05], max_iter=7, accelerate=False) == (7, False)
    S = nmfaudio.stft(y, stft_params=p)
    sep = nmfaudio.separate_supervised_spectrogram(S, [d05])
    assert sep.n_iter == 20
    plain = nmfaudio.separate_supervised_spectrogram(S, [d05], max_iter=25, accelerate=False)
    assert sep.loss < plain.loss
    with pytest.raises(ParameterError, match="max_iter"):
        nmfaudio.separate_supervised_spectrogram(S, [d05], max_iter=0)
    with pytest.raises(ParameterError, match="accelerate='no' must be True, False or None"):
        nmfaudio.separate_supervised_spectrogram(S, [d05], accelerate="no")
