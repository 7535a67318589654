import numpy as np
import pytest

from nmfaudio import ParameterError, apply_masks, binary_masks, istft, soft_masks, stft


@pytest.mark.parametrize("power", [0.5, 1.0, 2.0, 8.0])
def test_soft_masks_sum_to_one(rng, power):
    est = rng.random((3, 2, 20, 30)) ** 4
    est[:, :, 5, :] = 0  # all sources zero in some bins
    est[0, :, 6, :] = 1e-300
    M = soft_masks(est, power=power)
    assert M.shape == est.shape
    assert np.all((M >= 0) & (M <= 1))
    np.testing.assert_allclose(M.sum(axis=0), 1.0, atol=1e-12)
    np.testing.assert_allclose(M[:, :, 5, :], 1 / 3)


def test_soft_mask_values_and_dtype():
    est = np.array([[[3.0, 0.0]], [[1.0, 2.0]]], dtype=np.float32)
    M = soft_masks(est, power=2)
    assert M.dtype == np.float32
    np.testing.assert_allclose(M[:, 0, 0], [0.9, 0.1], rtol=1e-6)
    np.testing.assert_allclose(M[:, 0, 1], [0.0, 1.0])


def test_soft_masks_no_overflow():
    est = np.array([[[1e200]], [[3e200]]])
    M = soft_masks(est, power=4)
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
    (np.ones((2, 3, 3)), {"power": 0}, "power"),
    (np.ones((2, 3, 3)), {"power": np.nan}, "power"),
])
def test_bad_masks(est, kw, match):
    with pytest.raises(ParameterError, match=match):
        soft_masks(est, **kw)


def test_apply_masks_shape_mismatch():
    with pytest.raises(ParameterError, match="masks have shape"):
        apply_masks(np.ones((5, 4), np.complex64), np.ones((2, 5, 3)))
