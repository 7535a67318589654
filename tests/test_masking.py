import numpy as np
import pytest

import nmfaudio

from nmfaudio import ParameterError, apply_masks, binary_masks, istft, soft_masks, stft


@pytest.mark.parametrize("power", [0.5, 1.0, 2.0, 8.0])
def test_soft_masks_sum_to_one(rng, power):
    est = rng.random((3, 2, 20, 30)) ** 4
    est[:, :, 5, :] = 0  # all sources zero in some bins
    est[0, :, 6, :] = 1e-300
    M = soft_masks(est, mask_power=power)
    assert M.shape == est.shape
    assert np.all((M >= 0) & (M <= 1))
    np.testing.assert_allclose(M.sum(axis=0), 1.0, atol=1e-12)
    np.testing.assert_allclose(M[:, :, 5, :], 1 / 3)


def test_soft_mask_values_and_dtype():
    est = np.array([[[3.0, 0.0]], [[1.0, 2.0]]], dtype=np.float32)
    M = soft_masks(est, mask_power=2)
    assert M.dtype == np.float32
    np.testing.assert_allclose(M[:, 0, 0], [0.9, 0.1], rtol=1e-6)
    np.testing.assert_allclose(M[:, 0, 1], [0.0, 1.0])


def test_soft_masks_no_overflow():
    est = np.array([[[1e200]], [[3e200]]])
    M = soft_masks(est, mask_power=4)
    assert np.all(np.isfinite(M))
    np.testing.assert_allclose(M[:, 0, 0], [1 / 82, 81 / 82])


def test_binary_masks(rng):
    est = rng.random((4, 10, 12))
    M = binary_masks(est)
    np.testing.assert_array_equal(M.sum(axis=0), 1)
    np.testing.assert_array_equal(np.argmax(M, axis=0), np.argmax(est, axis=0))


def test_masked_sources_sum_to_mixture(rng):
    y = rng.standard_normal(8000).astype(np.float32)
    S = stft(y, n_fft=512)
    est = rng.random((3,) + S.shape)
    parts = apply_masks(S, soft_masks(est))
    ys = np.stack([istft(p, length=len(y)) for p in parts])
    assert np.max(np.abs(ys.sum(axis=0) - y)) < 1e-5


@pytest.mark.parametrize("est, kw, match", [
    (-np.ones((2, 3, 3)), {}, "negative"),
    (np.full((2, 3, 3), np.nan), {}, "NaN"),
    (np.ones(3), {}, "shape"),
    (np.ones((2, 3, 3)), {"mask_power": 0}, "mask_power"),
    (np.ones((2, 3, 3)), {"mask_power": np.nan}, "mask_power"),
])
def test_bad_masks(est, kw, match):
    with pytest.raises(ParameterError, match=match):
        soft_masks(est, **kw)


def test_apply_masks_shape_mismatch():
    with pytest.raises(ParameterError, match="masks have shape"):
        apply_masks(np.ones((5, 4), np.complex64), np.ones((2, 5, 3)))


def test_reconstruct_sources_sum_to_mixture_and_keep_dtype():
    rng = np.random.default_rng(3)
    y = rng.standard_normal((2, 3001)).astype(np.float32)
    p = nmfaudio.STFTParams(n_fft=256)
    S = nmfaudio.stft(y, stft_params=p)
    est = rng.random((3,) + S.shape).astype(np.float32)
    out = nmfaudio.reconstruct_sources(S, est, names=["a", "b", "c"], stft_params=p, length=3001,
                                       dtype=y.dtype)
    assert list(out) == ["a", "b", "c"]
    assert all(v.shape == y.shape and v.dtype == np.float32 for v in out.values())
    assert np.max(np.abs(sum(out.values()) - y)) < 1e-5


def test_mask_sources_spectrogram_power_divides_the_mask_exponent():
    est = np.stack([np.full((2, 3), 4.0), np.full((2, 3), 1.0)])
    S = np.ones((2, 3), complex)
    M2, _ = nmfaudio.mask_sources(S, est, mask_power=2.0, spectrogram_power=2.0)
    M1, _ = nmfaudio.mask_sources(S, est, mask_power=1.0)
    assert np.allclose(M2, M1)
    assert np.allclose(M1[0], 0.8)  # 4 / (4 + 1)
    with pytest.raises(nmfaudio.ParameterError, match="mask="):
        nmfaudio.mask_sources(S, est, mask="hard")


def test_denoise_uses_dictionary_beta():
    rng = np.random.default_rng(0)
    sr, p = 8000, nmfaudio.STFTParams(n_fft=256)
    tone = np.sin(2 * np.pi * 440 * np.arange(8000) / sr).astype(np.float32)
    noisy = tone + 0.1 * rng.standard_normal(8000).astype(np.float32)
    kl = nmfaudio.learn_dictionary(tone, sr, name="s", stft_params=p, n_components=3, max_iter=20, beta="kl")
    b05 = nmfaudio.SourceDictionary(name="s", W=kl.W, sr=sr, stft=p, beta=0.5, power=1.0)
    a = nmfaudio.denoise(noisy, sr, speech_dictionary=kl, max_iter=20)
    b = nmfaudio.denoise(noisy, sr, speech_dictionary=b05, max_iter=20)
    assert not np.array_equal(a, b)  # same templates, different divergence
