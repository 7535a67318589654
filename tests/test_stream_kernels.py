"""The block engine's numba kernels against numpy references (float32 and float64)."""

import numpy as np
import pytest

import nmfaudio
from nmfaudio import _denoise_frames as dk
from nmfaudio import _stream_kernels as sk
from nmfaudio._frames import FrameSolver
from nmfaudio._numerics import gamma


def _planted(F=70, K=9, T=12, seed=0, dtype=np.float32):
    rng = np.random.default_rng(seed)
    W = (rng.random((F, K)) ** 3 + 0.01).astype(dtype)
    H = (rng.random((K, T)) ** 4).astype(dtype)
    V = (W @ H * (1 + 0.2 * rng.random((F, T)))).astype(dtype)
    return W, V


def _reference_plain(W, V, beta, n_iter):
    """The plain frame-local rule in numpy, float64: each frame scaled by its mean, started
    at sum(v)/K, ``h <- h (Wᵀ(v wh^(β-2)) / Wᵀ wh^(β-1))^γ``."""
    W = W.astype(np.float64)
    eps = float(np.finfo(np.float32).eps)
    H = np.zeros((W.shape[1], V.shape[1]))
    for t in range(V.shape[1]):
        s = V[:, t].astype(np.float64).mean()
        v = V[:, t] / s
        h = np.full(W.shape[1], v.sum() / W.shape[1])
        for _ in range(n_iter):
            wh = np.maximum(W @ h, eps)
            num = W.T @ (v * wh ** (beta - 2))
            den = W.T @ wh ** (beta - 1)
            h = h * (num / np.maximum(den, eps)) ** gamma(beta)
        H[:, t] = h * s
    return H


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("beta", [0.0, 0.5, 1.0, 1.5, 2.0])
def test_frame_solver_matches_numpy_reference(dtype, beta):
    W, V = _planted(dtype=dtype)
    H, _ = FrameSolver(W, beta=beta, max_iter=12, accelerate=False).solve(V)
    ref = _reference_plain(W, V, beta, 12)
    assert H.dtype == dtype
    tol = 2e-3 if dtype == np.float32 else 1e-9
    np.testing.assert_allclose(H, ref, rtol=tol, atol=tol * ref.max())


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("accelerate", [False, True])
def test_per_source_models_from_the_last_pass(dtype, accelerate):
    W, V = _planted(K=10, dtype=dtype)
    edges = [0, 3, 10]
    fs = FrameSolver(W, beta=0.5, max_iter=9, accelerate=accelerate, edges=edges)
    H, losses, est = fs.solve(V, models=True)
    H2, losses2 = FrameSolver(W, beta=0.5, max_iter=9, accelerate=accelerate).solve(V)
    np.testing.assert_array_equal(H, H2)       # asking for the models changes nothing
    np.testing.assert_array_equal(losses, losses2)
    for s in range(2):
        a, b = edges[s], edges[s + 1]
        ref = W[:, a:b].astype(np.float64) @ H[a:b].astype(np.float64)
        tol = 1e-5 if dtype == np.float32 else 1e-12
        np.testing.assert_allclose(est[s], ref, rtol=tol, atol=tol * ref.max())
    assert est.dtype == dtype


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("mask_power", [1.0, 2.0, 3.0])
def test_soft_mask_kernel_matches_mask_sources(dtype, mask_power):
    rng = np.random.default_rng(1)
    C, nt, F, n_src = 2, 5, 17, 3
    cdt = np.complex64 if dtype == np.float32 else np.complex128
    S = (rng.standard_normal((C, nt, F)) + 1j * rng.standard_normal((C, nt, F))).astype(cdt)
    est = (rng.random((C, nt + 2, n_src, F)) ** 2).astype(dtype)  # room for more frames
    est[0, 1, :, 4] = 0.0                                        # a bin where all are zero
    out = np.zeros((n_src, C, nt + 3, F), cdt)
    sk.soft_mask_apply(np.concatenate([S, S[:, :1]], axis=1), est, mask_power, out,
                       np.empty(n_src, dtype), nt)
    ref_est = np.transpose(est[:, :nt], (2, 0, 1, 3))           # (n_src, C, nt, F)
    _, ref = nmfaudio.mask_sources(S, ref_est, mask_power=mask_power)
    tol = 1e-6 if dtype == np.float32 else 1e-14
    np.testing.assert_allclose(out[:, :, :nt], ref, rtol=tol, atol=tol)
    assert not out[:, :, nt:].any()                              # only nt frames written


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_small_kernels(dtype):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((3, 50)).astype(dtype)
    assert sk.count_nonfinite(x) == 0
    x[1, 7], x[2, 0] = np.nan, -np.inf
    assert sk.count_nonfinite(x) == 2
    assert sk.count_nonfinite(x[:, ::3]) == int(np.sum(~np.isfinite(x[:, ::3])))
    buf = rng.standard_normal((2, 40)).astype(dtype)
    ref = buf.copy()
    sk.shift_left(buf, 15, 35)
    np.testing.assert_array_equal(buf[:, :20], ref[:, 15:35])
    np.testing.assert_array_equal(buf[:, 20:], ref[:, 20:])


def _old_solve(v, W, lam, beta, n_iter):
    """The numpy per-frame solve StreamDenoiser used before its kernel."""
    eps = 1e-12
    g = gamma(beta)
    h = np.full(W.shape[1], v.sum() / W.shape[1])
    for _ in range(n_iter):
        wh = np.maximum(W @ h, eps)
        b = wh ** (beta - 1.0)
        num, den = W.T @ (v * b / wh), W.T @ b
        step = num / (den + lam + eps)
        h *= step if g == 1.0 else step ** g
    return h, np.maximum(W @ h, eps)


@pytest.mark.parametrize("beta", [0.5, 1.0, 1.5])
def test_denoiser_solve_and_learn_match_numpy(beta):
    rng = np.random.default_rng(3)
    F, K, Ks = 41, 11, 7
    W = rng.random((F, K)) + 0.05
    W /= W.sum(axis=0)
    v = rng.random(F) + 0.1
    lam = np.where(np.arange(K) < Ks, 0.05, 0.0)
    h, wh = np.empty(K), np.empty(F)
    scratch = [np.empty(F) for _ in range(2)] + [np.empty(K) for _ in range(2)]
    dk.solve_activations(W, lam, v, h, 0, K, 17, beta, gamma(beta), True, wh, *scratch)
    h_ref, wh_ref = _old_solve(v, W, lam, beta, 17)
    np.testing.assert_allclose(h, h_ref, rtol=1e-10)
    np.testing.assert_allclose(wh, wh_ref, rtol=1e-10)
    # the noise columns alone
    hn = np.zeros(K)
    dk.solve_activations(W, lam, v, hn, Ks, K, 9, beta, gamma(beta), True, wh, *scratch)
    np.testing.assert_allclose(hn[Ks:], _old_solve(v, W[:, Ks:], 0.0, beta, 9)[0], rtol=1e-10)
    assert not hn[:Ks].any()
    # one online step of the speech templates
    A, B = rng.random((F, K)), rng.random((F, K))
    A[:, 2] = B[:, 2] = 0.0
    h_step = h.copy()
    h_step[2] = 0.0                      # a template never active keeps its shape
    W1, A1, B1 = W.copy(), A.copy(), B.copy()
    dk.learn(W1, A1, B1, v, h_step, wh_ref, 0, Ks, beta, 0.9, np.empty(F), np.empty(F))
    b = wh_ref ** (beta - 1.0)
    r = v * b / wh_ref
    A_ref = 0.9 * A[:, :Ks] + W[:, :Ks] * np.outer(r, h_step[:Ks])
    B_ref = 0.9 * B[:, :Ks] + np.outer(b, h_step[:Ks])
    W_ref = A_ref / np.maximum(B_ref, 1e-30)
    W_ref[:, 2] = W[:, 2]
    W_ref /= W_ref.sum(axis=0)
    np.testing.assert_allclose(A1[:, :Ks], A_ref, rtol=1e-12)
    np.testing.assert_allclose(B1[:, :Ks], B_ref, rtol=1e-12)
    np.testing.assert_allclose(W1[:, :Ks], W_ref, rtol=1e-10)
    np.testing.assert_array_equal(W1[:, Ks:], W[:, Ks:])   # the noise templates untouched
