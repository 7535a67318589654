"""Convolutive NMF (nmfaudio.nmfd): V (n_freq, n_frames) ≈ Σ_τ W[:, :, τ] shift(H, τ)."""

import numpy as np
import pytest

import nmfaudio
from nmfaudio import ParameterError
from nmfaudio._convolutive import conv as _conv, corr_H as _corr_H, corr_W as _corr_W, ones_corr_H as _ones_corr_H


@pytest.fixture
def planted_conv(rng):
    W = rng.random((24, 2, 5)) + 0.01
    H = (rng.random((2, 70)) > 0.85) * (0.5 + rng.random((2, 70)))
    return nmfaudio.nmfd_reconstruct(W, H), W, H


def test_reconstruct_matches_naive_sum(rng):
    W = rng.random((6, 2, 3))
    H = rng.random((2, 9))
    naive = np.zeros((6, 9))
    for tau in range(3):
        shifted = np.zeros_like(H)
        shifted[:, tau:] = H[:, :9 - tau]
        naive += W[:, :, tau] @ shifted
    np.testing.assert_allclose(nmfaudio.nmfd_reconstruct(W, H), naive, atol=1e-12)


def test_adjoints(rng):
    W, H, X = rng.random((7, 2, 4)), rng.random((2, 11)), rng.random((7, 11))
    a = np.sum(_conv(W, H) * X)
    assert np.sum(H * _corr_H(W, X)) == pytest.approx(a)
    assert np.sum(W * _corr_W(X, H, 4)) == pytest.approx(a)
    np.testing.assert_allclose(_ones_corr_H(W, 11), _corr_H(W, np.ones((7, 11))), atol=1e-12)


@pytest.mark.parametrize("beta", ["kl", "euclidean", 0.5])
def test_loss_non_increasing_and_fits(planted_conv, beta):
    V, _, _ = planted_conv
    res = nmfaudio.nmfd(V, 2, n_lags=5, beta=beta, max_iter=200, tol=0, loss_every=1,
                        random_state=0)
    d = np.diff(res.losses)
    assert np.all(d <= 1e-9 * res.losses[:-1]), d.max()
    assert res.losses[-1] < 0.05 * res.losses[0]


def test_fixed_true_templates_recover_activations(planted_conv):
    V, W, H = planted_conv
    res = nmfaudio.nmfd(V, W=W, update_W=False, max_iter=300, tol=0, random_state=0)
    assert np.array_equal(res.W, W)
    fit = nmfaudio.nmfd_reconstruct(res.W, res.H)
    assert np.linalg.norm(fit - V) < 0.02 * np.linalg.norm(V)


def test_float32_inputs_untouched_and_finite(planted_conv):
    V, W, H = planted_conv
    V32, W32 = V.astype(np.float32), W.astype(np.float32)
    keep_V, keep_W = V32.copy(), W32.copy()
    res = nmfaudio.nmfd(V32, W=W32, max_iter=30, sparsity=0.1, random_state=0)
    assert res.W.dtype == np.float32 and res.H.dtype == np.float32
    assert np.array_equal(V32, keep_V) and np.array_equal(W32, keep_W)
    assert np.all(np.isfinite(res.W)) and np.all(np.isfinite(res.H))
    np.testing.assert_allclose(res.W.sum(axis=(0, 2)), 1.0, rtol=1e-4)


def test_zeros_and_short_input():
    res = nmfaudio.nmfd(np.zeros((8, 5)), 2, n_lags=8, max_iter=10, random_state=0)
    assert np.all(np.isfinite(res.H)) and np.all(np.isfinite(res.W))
    assert res.H.shape == (2, 5) and res.W.shape == (8, 2, 8)


def test_same_seed_same_result(planted_conv):
    V, _, _ = planted_conv
    a = nmfaudio.nmfd(V, 2, n_lags=5, max_iter=20, random_state=3)
    b = nmfaudio.nmfd(V, 2, n_lags=5, max_iter=20, random_state=3)
    assert np.array_equal(a.W, b.W) and np.array_equal(a.H, b.H)


@pytest.mark.parametrize("kwargs, match", [
    ({"n_components": 0}, "n_components=0"),
    ({"n_components": 2, "n_lags": 0}, "n_lags=0"),
    ({"W": np.ones((24, 2))}, r"W must have shape \(n_freq, K, n_lags\)"),
    ({"W": np.ones((23, 2, 5))}, r"W has shape \(23, 2, 5\)"),
    ({"W": -np.ones((24, 2, 5))}, "non-negative"),
    ({"n_components": 2, "update_W": False}, "needs the fixed templates"),
    ({"n_components": 2, "sparsity": -1}, "sparsity=-1"),
    ({"n_components": 2, "beta": "banana"}, "banana"),
    ({"n_components": 2, "update_H": "no"}, "update_H='no'"),
])
def test_validation(planted_conv, kwargs, match):
    V, _, _ = planted_conv
    with pytest.raises(ParameterError, match=match):
        nmfaudio.nmfd(V, **kwargs)
