"""group_components beyond bad input: planted groups, degenerate splits, seeds, inputs untouched."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import nmfaudio
from nmfaudio.grouping import MIN_SOURCE_SHARE, _balanced_split, source_shares

SR, N_FFT = 8000, 512
F = 1 + N_FFT // 2


def _same_partition(a, b):
    return all(len(set(b[a == s])) == 1 for s in set(a)) and len(set(a)) == len(set(b))


def _planted(rng, k_each=4):
    """Low-register templates (harmonic at 200 Hz) and high-register noise-like ones."""
    f = np.arange(F) * SR / N_FFT
    low = [np.exp(-0.5 * ((f[:, None] - 200 * h * (1 + 0.03 * i)) / 15) ** 2).sum(1)
           for i in range(k_each) for h in [np.arange(1, 6)]]
    high = [np.exp(-((f - 3000 - 100 * i) / 400) ** 2) + 0.01 * rng.random(F) for i in range(k_each)]
    W = np.stack(low + high, axis=1) + 1e-3
    truth = np.repeat([0, 1], k_each)
    H = rng.random((2 * k_each, 60)) + 0.1
    H[truth == 0, :30] *= 0.01   # the two groups play at different times
    H[truth == 1, 30:] *= 0.01
    return W, H, truth


@pytest.mark.parametrize("method", ["mfcc", "activation"])
def test_planted_groups_are_recovered(method):
    W, H, truth = _planted(np.random.default_rng(0))
    labels = nmfaudio.group_components(W, H, 2, sr=SR, n_fft=N_FFT, method=method)
    assert _same_partition(labels, truth)


def _one_timbre_plus_outlier(rng):
    W, H, _ = _planted(rng, k_each=6)
    W, H = W[:, :6], H[:6]  # six similar low-register templates ...
    odd = np.zeros(F)
    odd[::7] = 1.0          # ... and one nearly silent component with an outlying timbre
    return np.concatenate([W, odd[:, None] + 1e-6], axis=1), np.concatenate([H, np.full((1, 60), 1e-4)])


def test_degenerate_kmeans_split_is_replaced():
    from nmfaudio.grouping import _kmeans, _template_mfcc

    W, H = _one_timbre_plus_outlier(np.random.default_rng(1))
    plain = _kmeans(_template_mfcc(W, SR, N_FFT), 2, 0)
    assert source_shares(W, H, plain, 2).min() < MIN_SOURCE_SHARE  # the case this guards against
    labels = nmfaudio.group_components(W, H, 2, sr=SR, n_fft=N_FFT)
    assert source_shares(W, H, labels, 2).min() >= MIN_SOURCE_SHARE
    assert set(labels.tolist()) == {0, 1}


@given(st.integers(2, 12), st.integers(2, 4), st.integers(0, 2**16))
@settings(max_examples=40, deadline=None)
def test_balanced_split_shares(K, n_sources, seed):
    if n_sources > K:
        n_sources = K
    rng = np.random.default_rng(seed)
    W, H = rng.random((F, K)), rng.random((K, 20))
    labels = _balanced_split(W, H, n_sources)
    assert labels.shape == (K,) and set(labels.tolist()) == set(range(n_sources))
    shares = source_shares(W, H, labels, n_sources)
    np.testing.assert_allclose(shares.sum(), 1.0)
    # no component is bigger than 1/K of the total... but at most one component's energy off the ideal
    e = np.linalg.norm(W, axis=0) * np.linalg.norm(H, axis=1)
    assert np.all(np.abs(shares - 1 / n_sources) <= e.max() / e.sum() + 1e-12)


def test_seeds_generators_and_inputs():
    W, H, _ = _planted(np.random.default_rng(2))
    W0, H0 = W.copy(), H.copy()
    a = nmfaudio.group_components(W, H, 2, sr=SR, n_fft=N_FFT, random_state=3)
    b = nmfaudio.group_components(W, H, 2, sr=SR, n_fft=N_FFT, random_state=3)
    np.testing.assert_array_equal(a, b)
    g = nmfaudio.group_components(W, H, 2, sr=SR, n_fft=N_FFT, random_state=np.random.default_rng(0))
    assert g.shape == (W.shape[1],) and set(g.tolist()) == {0, 1}
    np.testing.assert_array_equal(W, W0)
    np.testing.assert_array_equal(H, H0)
    assert np.all(nmfaudio.group_components(W, H, 1, sr=SR, n_fft=N_FFT) == 0)


def test_separate_accepts_a_generator_seed():
    y = np.random.default_rng(0).standard_normal(4000).astype(np.float32)
    out = nmfaudio.separate(y, SR, n_sources=2, n_components=4, n_fft=256, max_iter=5,
                            random_state=np.random.default_rng(0))
    assert set(out) == {"source1", "source2"} and out["source1"].dtype == np.float32
