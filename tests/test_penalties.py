"""Penalised NMF: temporal continuity (and with L1 sparsity) in nmfaudio.nmf."""

import numpy as np
import pytest

import nmfaudio
from nmfaudio import ParameterError
from nmfaudio._penalties import continuity_cost


def _noisy_smooth(rng, F=30, K=3, T=80):
    """V = W H + noise with slowly varying activations (orientation: V (F, T))."""
    W = rng.random((F, K)) + 0.05
    t = np.arange(T)
    H = np.stack([1.2 + np.sin(2 * np.pi * t / (20 + 7 * k) + k) for k in range(K)])
    V = W @ H * (1 + 0.3 * rng.random((F, T)))
    return V, W, H


@pytest.mark.parametrize("beta", ["kl", "euclidean"])
@pytest.mark.parametrize("sparsity", [0.0, 0.2])
def test_continuity_loss_monotone_with_fixed_W(rng, beta, sparsity):
    V, W, _ = _noisy_smooth(rng)
    res = nmfaudio.nmf(V, W=W, update_W=False, beta=beta, continuity=2.0, sparsity=sparsity,
                       max_iter=150, tol=0, loss_every=1, random_state=0)
    d = np.diff(res.losses)
    assert np.all(d <= 1e-9 * np.abs(res.losses[:-1])), d.max()
    assert res.losses[-1] < res.losses[0]


@pytest.mark.parametrize("beta", ["kl", "euclidean"])
def test_loss_includes_continuity_term(rng, beta):
    V, W, _ = _noisy_smooth(rng)
    H0 = rng.random((3, V.shape[1])) + 0.1
    res = nmfaudio.nmf(V, W=W, H=H0, update_W=False, beta=beta, continuity=1.5, max_iter=0, tol=0)
    scale = V.mean()
    b = 2.0 if beta == "euclidean" else 1.0
    expected = nmfaudio.beta_divergence(V, W, H0, beta) + 1.5 * continuity_cost(
        H0 / scale, np.ones((3, 1))) * scale ** b
    assert res.losses[0] == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("beta", ["kl", "euclidean", 0.5])
def test_continuity_smooths_activations(rng, beta):
    V, W, _ = _noisy_smooth(rng)
    tv = {}
    for mu in (0.0, 50.0):
        res = nmfaudio.nmf(V, W=W, update_W=False, beta=beta, continuity=mu, max_iter=200,
                           tol=0, random_state=0)
        assert np.all(np.isfinite(res.H)) and (res.H >= 0).all()
        Hn = res.H / res.H.mean(axis=1, keepdims=True)
        tv[mu] = np.abs(np.diff(Hn, axis=1)).sum()
    assert tv[50.0] < 0.7 * tv[0.0], tv


def test_continuity_learned_W_float32_and_inputs_untouched(rng):
    V, _, _ = _noisy_smooth(rng)
    V32 = V.astype(np.float32)
    keep = V32.copy()
    res = nmfaudio.nmf(V32, 4, continuity=np.array([0.0, 1.0, 1.0, 3.0]), sparsity=0.1,
                       max_iter=100, random_state=0)
    assert res.W.dtype == np.float32 and res.H.dtype == np.float32
    assert np.array_equal(V32, keep)
    assert np.all(np.isfinite(res.W)) and np.all(np.isfinite(res.H))
    np.testing.assert_allclose(res.W.sum(axis=0), 1.0, rtol=1e-4)   # renormalised columns
    assert res.losses[-1] < res.losses[0]


def test_continuity_zero_is_plain_nmf(rng):
    V, _, _ = _noisy_smooth(rng)
    a = nmfaudio.nmf(V, 3, max_iter=30, random_state=1)
    b = nmfaudio.nmf(V, 3, max_iter=30, random_state=1, continuity=0.0)
    assert np.array_equal(a.W, b.W) and np.array_equal(a.H, b.H)


def test_continuity_zeros_and_single_frame():
    V = np.zeros((5, 4))
    res = nmfaudio.nmf(V, 2, continuity=1.0, max_iter=20, random_state=0)
    assert np.all(np.isfinite(res.H)) and np.all(np.isfinite(res.W))
    V1 = np.ones((5, 1))
    res = nmfaudio.nmf(V1, 2, continuity=1.0, beta="euclidean", max_iter=20, random_state=0)
    assert np.all(np.isfinite(res.H))


@pytest.mark.parametrize("bad, match", [(-1.0, "continuity=-1.0"), (np.nan, "continuity"),
                                        ([1.0, 2.0], r"shape \(2,\)"), ("x", "continuity")])
def test_continuity_validation(rng, bad, match):
    V, _, _ = _noisy_smooth(rng)
    with pytest.raises(ParameterError, match=match):
        nmfaudio.nmf(V, 3, continuity=bad, max_iter=1)
