"""Temporal context of the denoiser (nmfaudio._context, nmfaudio.denoise.CONTEXT)."""

import importlib

import numpy as np
import pytest

import nmfaudio
from nmfaudio._context import NoiseTemplates, read_model, stack_frames, unstack_mean

dn = importlib.import_module("nmfaudio.denoise")


@pytest.fixture
def noisy(rng, speech_like):
    sr = 16000
    s = speech_like(sr, 2 * sr)
    n = (0.05 * rng.standard_normal(2 * sr)).astype(np.float32)
    n_train = (0.05 * rng.standard_normal(2 * sr)).astype(np.float32)
    return sr, s, n, n_train


def _sdr(ref, est):
    return 10 * np.log10(np.sum(ref ** 2) / np.sum((ref - est) ** 2))


@pytest.mark.parametrize("c", [1, 2, 3])
def test_stack_layout_and_shapes(rng, c):
    V = rng.random((2, 5, 9)).astype(np.float32)  # channels, freq, frames
    X = stack_frames(V, c)
    assert X.shape == (2, 5 * (2 * c + 1), 9) and X.dtype == np.float32
    for j in range(2 * c + 1):
        for t in range(9):
            src = min(max(t + j - c, 0), 8)
            np.testing.assert_array_equal(X[:, j * 5:(j + 1) * 5, t], V[:, :, src])
    np.testing.assert_array_equal(X[:, c * 5:(c + 1) * 5], V)  # the centre block is V


@pytest.mark.parametrize("c", [1, 2, 3])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_round_trip(rng, c, dtype):
    V = rng.random((7, 11)).astype(dtype)
    V0 = V.copy()
    X = stack_frames(V, c)
    X0 = X.copy()
    back = unstack_mean(X, 7, c, 11)
    assert back.shape == V.shape and back.dtype == dtype
    np.testing.assert_allclose(back, V, rtol=4 * np.finfo(dtype).eps, atol=0)
    np.testing.assert_array_equal(V, V0)
    np.testing.assert_array_equal(X, X0)
    np.testing.assert_array_equal(read_model(X, 7, c, "centre"), V)


def test_round_trip_fewer_frames_than_context(rng):
    V = rng.random((3, 2))
    np.testing.assert_allclose(unstack_mean(stack_frames(V, 3), 3, 3, 2), V, rtol=1e-14)


def test_unstack_mean_averages_the_covering_patches():
    # one patch column t'=2 of ones in block j only: it lands on frame t = t' + j - c
    F, c, T = 2, 1, 5
    X = np.zeros((F * 3, T))
    X[0:F, 2] = 3.0  # j = 0 -> frame 1 (covered by 3 patches)
    X[2 * F:, 4] = 2.0  # j = 2 -> frame 5: beyond the edge, dropped
    out = unstack_mean(X, F, c, T)
    expect = np.zeros((F, T))
    expect[:, 1] = 1.0
    np.testing.assert_array_equal(out, expect)


def test_c0_is_identity(rng):
    V = rng.random((4, 6))
    assert stack_frames(V, 0) is V and unstack_mean(V, 4, 0, 6) is V


def test_bad_arguments(rng):
    V = rng.random((4, 6))
    with pytest.raises(ValueError):
        stack_frames(V, -1)
    with pytest.raises(ValueError):
        unstack_mean(V, 4, 1, 6)
    with pytest.raises(ValueError):
        read_model(stack_frames(V, 1), 4, 1, "median")


def test_noise_templates_shape_and_norm(noisy):
    sr, _, _, n_train = noisy
    params = dn.default_denoise_stft(sr)
    W = NoiseTemplates(n_train, params, 2, n_components=4, beta=1.0, power=1.0, random_state=0).W
    assert W.shape == (5 * params.n_freq, 4) and W.dtype == np.float32
    np.testing.assert_allclose(W.sum(axis=0), 1.0, rtol=1e-5)


def test_context_0_is_todays_path(noisy, monkeypatch):
    """CONTEXT = 0 (the default) gives bit for bit what a learned noise dictionary gives, and a
    stacked run in between leaves no state behind."""
    sr, s, n, n_train = noisy
    y = s + n
    assert dn.CONTEXT == 0
    monkeypatch.setattr(dn, "SAMPLE_SECOND_PASS", None)  # a noise dictionary takes no second pass
    ref = nmfaudio.denoise(y, sr, noise_dictionary=nmfaudio.learn_noise_dictionary(n_train, sr), max_iter=30)
    a = nmfaudio.denoise(y, sr, noise=n_train, max_iter=30)
    np.testing.assert_array_equal(a, ref)
    monkeypatch.setattr(dn, "CONTEXT", 2)
    b = nmfaudio.denoise(y, sr, noise=n_train, max_iter=30)
    assert not np.array_equal(b, a)
    # a noise dictionary describes single frames: CONTEXT does not apply to it
    d = nmfaudio.denoise(y, sr, noise_dictionary=nmfaudio.learn_noise_dictionary(n_train, sr), max_iter=30)
    np.testing.assert_array_equal(d, ref)
    monkeypatch.setattr(dn, "CONTEXT", 0)
    np.testing.assert_array_equal(nmfaudio.denoise(y, sr, noise=n_train, max_iter=30), a)


@pytest.mark.parametrize("c", [1, 3])
@pytest.mark.parametrize("read", ["mean", "centre"])
def test_context_denoises_float32_and_leaves_inputs(noisy, monkeypatch, c, read):
    sr, s, n, n_train = noisy
    y = s + n
    y0, t0 = y.copy(), n_train.copy()
    monkeypatch.setattr(dn, "CONTEXT", c)
    monkeypatch.setattr(dn, "CONTEXT_READ", read)
    parts = nmfaudio.denoise_sources(y, sr, noise=n_train)
    assert parts["clean"].dtype == np.float32 and parts["clean"].shape == y.shape
    assert np.max(np.abs(parts["clean"] + parts["noise"] - y)) < 1e-5
    assert _sdr(s, parts["clean"]) > _sdr(s, y) + 3
    np.testing.assert_array_equal(y, y0)
    np.testing.assert_array_equal(n_train, t0)


def test_context_stereo_and_blind(noisy, monkeypatch):
    sr, s, n, n_train = noisy
    y = np.stack([s + n, 0.5 * s + n[::-1]])
    monkeypatch.setattr(dn, "CONTEXT", 2)
    for kw in ({"noise": n_train}, {}):
        out = nmfaudio.denoise(y, sr, max_iter=30, **kw)
        assert out.shape == y.shape and out.dtype == np.float32 and np.all(np.isfinite(out))


def test_context_on_silence_gives_silence_not_nan(noisy, monkeypatch):
    sr, _, _, n_train = noisy
    monkeypatch.setattr(dn, "CONTEXT", 2)
    y = np.zeros(sr, dtype=np.float32)
    for kw in ({"noise": n_train}, {}):
        out = nmfaudio.denoise(y, sr, max_iter=20, **kw)
        assert np.all(np.isfinite(out)) and np.max(np.abs(out)) < 1e-6
