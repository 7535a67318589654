"""The frame-local supervised solve: a frame's result depends on that frame only."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from nmfaudio._frames import FrameSolver
from nmfaudio._numerics import divergence
from nmfaudio.nmf import nmf
from nmfaudio.supervised import frame_init


def _planted(F=60, K=7, T=40, seed=0, dtype=np.float32):
    rng = np.random.default_rng(seed)
    W = (rng.random((F, K)) ** 3).astype(dtype)
    H = (rng.random((K, T)) ** 4).astype(dtype)
    return W, (W @ H).astype(dtype), H


@pytest.mark.parametrize("beta", [0.0, 0.5, 1.0, 1.5, 2.0])
@pytest.mark.parametrize("accelerate", [False, True])
def test_subsets_and_threads_give_the_same_bits(beta, accelerate):
    W, V, _ = _planted()
    V = V + np.float32(0.01)
    fs = FrameSolver(W, beta=beta, max_iter=15, accelerate=accelerate)
    H, loss = fs.solve(V)
    for a, b in [(0, 1), (3, 9), (17, 40)]:
        Hs, ls = fs.solve(V[:, a:b])
        np.testing.assert_array_equal(Hs, H[:, a:b])
        np.testing.assert_array_equal(ls, loss[a:b])
    H2, _ = fs.solve(V, n_threads=2)
    np.testing.assert_array_equal(H2, H)
    assert H.dtype == np.float32


@pytest.mark.parametrize("beta", [0.5, 1.0])
def test_matches_the_blocked_solver(beta):
    """Same rule as nmf(accelerate=True) with fixed W (the safeguard can decide differently
    near rounding level, and frames are scaled separately): total losses within 1%."""
    W, V, _ = _planted(seed=3)
    V = V * (1 + 0.1 * np.random.default_rng(1).random(V.shape)).astype(np.float32)
    fs = FrameSolver(W, beta=beta, max_iter=20, accelerate=True)
    H, loss = fs.solve(V)
    ref = nmf(V, W=W, H=frame_init(V, W.shape[1]), beta=beta, update_W=False, max_iter=20,
              tol=0, accelerate=True)
    assert loss.sum() == pytest.approx(ref.loss, rel=1e-2)
    assert loss.sum() == pytest.approx(divergence(V, W @ H, beta, 1e-30), rel=1e-3)


@settings(max_examples=25, deadline=None)
@given(beta=st.sampled_from([0.0, 0.5, 1.0, 2.0]), iters=st.integers(1, 12),
       seed=st.integers(0, 10_000), scale=st.floats(1e-6, 1e3))
def test_more_plain_iterations_never_increase_the_loss(beta, iters, seed, scale):
    W, V, _ = _planted(F=20, K=4, T=5, seed=seed)
    V = (V * scale + np.float32(1e-3 * scale)).astype(np.float32)
    _, l1 = FrameSolver(W, beta=beta, max_iter=iters, accelerate=False).solve(V)
    _, l2 = FrameSolver(W, beta=beta, max_iter=iters + 3, accelerate=False).solve(V)
    assert np.all(np.isfinite(l1)) and np.all(l2 <= l1 * (1 + 1e-5) + 1e-12)


def test_planted_activations_recovered_and_silence():
    W, V, H_true = _planted(F=80, K=3, T=10, seed=7, dtype=np.float64)
    V[:, 4] = 0.0
    H, loss = FrameSolver(W, beta=1.0, max_iter=2000, accelerate=True).solve(V)
    assert np.all(H[:, 4] == 0) and loss[4] == 0
    keep = np.arange(10) != 4
    np.testing.assert_allclose(W @ H[:, keep], V[:, keep], rtol=1e-3, atol=1e-6)


def test_inputs_unchanged():
    W, V, _ = _planted()
    W0, V0 = W.copy(), V.copy()
    FrameSolver(W, beta=0.5, max_iter=5, accelerate=True).solve(V)
    np.testing.assert_array_equal(W, W0)
    np.testing.assert_array_equal(V, V0)


@pytest.mark.parametrize("beta", [0.5, 1.0])
@pytest.mark.parametrize("accelerate", [False, True])
def test_early_stop_is_frame_local(beta, accelerate):
    """rtol > 0 stops each frame on its own losses: subsets and threads give the same bits."""
    W, V, _ = _planted(T=50, seed=4)
    V = V * (1 + 0.2 * np.random.default_rng(2).random(V.shape)).astype(np.float32)
    fs = FrameSolver(W, beta=beta, max_iter=40, accelerate=accelerate, rtol=1e-3)
    H, loss = fs.solve(V)
    for a, b in [(0, 1), (5, 13), (20, 50)]:
        Hs, ls = fs.solve(V[:, a:b])
        np.testing.assert_array_equal(Hs, H[:, a:b])
        np.testing.assert_array_equal(ls, loss[a:b])
    np.testing.assert_array_equal(fs.solve(V, n_threads=2)[0], H)


@pytest.mark.parametrize("accelerate", [False, True])
def test_early_stop_stops_early_and_costs_little_loss(accelerate):
    """A loose rtol stops before max_iter (the result differs from the full run and from
    rtol=0, which is unchanged); its loss stays within 15% of the full run's (plain steps
    converge slowly) and below a run of 2 iterations."""
    W, V, _ = _planted(T=30, seed=5)
    V = V * (1 + 0.2 * np.random.default_rng(3).random(V.shape)).astype(np.float32)
    full = FrameSolver(W, beta=1.0, max_iter=60, accelerate=accelerate)
    H0, l0 = full.solve(V)
    H1, l1 = FrameSolver(W, beta=1.0, max_iter=60, accelerate=accelerate, rtol=0.0).solve(V)
    np.testing.assert_array_equal(H1, H0)
    He, le = FrameSolver(W, beta=1.0, max_iter=60, accelerate=accelerate, rtol=1e-2).solve(V)
    assert not np.array_equal(He, H0)
    _, l2 = FrameSolver(W, beta=1.0, max_iter=2, accelerate=accelerate).solve(V)
    assert le.sum() <= l0.sum() * 1.15 and le.sum() < l2.sum()
    # stopping later never gives a worse total: rtol 1e-4 lies between
    _, lm = FrameSolver(W, beta=1.0, max_iter=60, accelerate=accelerate, rtol=1e-4).solve(V)
    assert l0.sum() * (1 - 1e-6) <= lm.sum() <= le.sum() * (1 + 1e-6)
