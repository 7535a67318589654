import numpy as np
import pytest

import nmfaudio
from nmfaudio import ParameterError, beta_divergence, nmf

BETAS = [0.0, 0.5, 1.0, 1.5, 2.0, 3.0]


def naive_divergence(V, WH, beta):
    if beta == 2:
        return 0.5 * np.sum((V - WH) ** 2)
    if beta == 1:
        return np.sum(V * np.log(V / WH) - V + WH)
    if beta == 0:
        return np.sum(V / WH - np.log(V / WH) - 1)
    return np.sum(V ** beta + (beta - 1) * WH ** beta - beta * V * WH ** (beta - 1)) / (beta * (beta - 1))


@pytest.mark.parametrize("beta", [0.0, 0.5, 1.0, 2.0, -0.5, 3.0])
def test_beta_divergence_matches_naive(rng, beta):
    V = rng.random((7, 9)) + 0.1
    W = rng.random((7, 3)) + 0.1
    H = rng.random((3, 9)) + 0.1
    assert beta_divergence(V, W, H, beta) == pytest.approx(naive_divergence(V, W @ H, beta), rel=1e-10)


def test_beta_divergence_names_and_zero():
    V = np.array([[1.0, 2.0], [3.0, 4.0]])
    W = np.eye(2)
    for name in ["euclidean", "kl", "is", "frobenius", "kullback-leibler", "itakura-saito"]:
        assert beta_divergence(V, W, V, name) == pytest.approx(0.0, abs=1e-12)
    assert beta_divergence(V, W, 2 * V, "euclidean") == pytest.approx(0.5 * np.sum(V ** 2))


def test_kl_divergence_handles_zeros_in_V():
    V = np.array([[0.0, 2.0]])
    W = np.ones((1, 1))
    H = np.array([[1.0, 1.0]])
    expected = (0 - 0 + 1) + (2 * np.log(2) - 2 + 1)
    assert beta_divergence(V, W, H, "kl") == pytest.approx(expected)


def _fixed(fixed, W0, H0):
    """nmf keyword arguments for a run with both factors learning, one fixed, or a partial W mask."""
    kw = dict(W=W0, H=H0)
    if fixed == "W":
        kw["update_W"] = False
    elif fixed == "H":
        kw["update_H"] = False
    elif fixed == "partial":
        kw["update_W"] = np.array([True, False, True, False, True])
    return kw


@pytest.mark.parametrize("beta", BETAS)
@pytest.mark.parametrize("fixed", ["none", "W", "H", "partial"])
def test_loss_never_increases(rng, beta, fixed):
    V = rng.random((30, 40)) ** 2
    W0 = rng.random((30, 5)) + 0.01
    H0 = rng.random((5, 40)) + 0.01
    kw = _fixed(fixed, W0, H0)
    res = nmf(V, 5, beta=beta, max_iter=150, tol=0, loss_every=1, **kw)
    assert len(res.losses) == 151
    diffs = np.diff(res.losses)
    assert np.all(diffs <= 1e-9 * res.losses[0]), diffs.max()
    assert res.losses[-1] < res.losses[0]


def test_accelerated_loss_never_increases(rng):
    V = rng.random((30, 40))
    res = nmf(V, 4, beta=2, max_iter=100, tol=0, loss_every=1, random_state=0, accelerate=True)
    assert np.all(np.diff(res.losses) <= 1e-12 * res.losses[0])
    plain = nmf(V, 4, beta=2, max_iter=100, tol=0, random_state=0)
    assert res.loss < plain.loss


def test_one_update_equals_lee_seung_formulas(rng):
    V = rng.random((12, 15)) + 0.1
    W = rng.random((12, 4)) + 0.1
    H = rng.random((4, 15)) + 0.1
    # Euclidean, H with W fixed
    got = nmf(V, W=W, H=H, beta="euclidean", update_W=False, max_iter=1, tol=0).H
    np.testing.assert_allclose(got, H * (W.T @ V) / (W.T @ W @ H), rtol=1e-6)
    # Euclidean, W with H fixed
    got = nmf(V, W=W, H=H, beta="euclidean", update_H=False, max_iter=1, tol=0).W
    np.testing.assert_allclose(got, W * (V @ H.T) / (W @ H @ H.T), rtol=1e-6)
    # KL, H with W fixed
    got = nmf(V, W=W, H=H, beta="kl", update_W=False, max_iter=1, tol=0).H
    np.testing.assert_allclose(got, H * (W.T @ (V / (W @ H))) / (W.T @ np.ones_like(V)), rtol=1e-6)
    # KL, W with H fixed
    got = nmf(V, W=W, H=H, beta="kl", update_H=False, max_iter=1, tol=0).W
    np.testing.assert_allclose(got, W * ((V / (W @ H)) @ H.T) / (np.ones_like(V) @ H.T), rtol=1e-6)
    # Both: one iteration = H first, then W from the new W H
    res = nmf(V, W=W, H=H, beta="kl", max_iter=1, tol=0)
    H1 = H * (W.T @ (V / (W @ H))) / (W.T @ np.ones_like(V))
    W1 = W * ((V / (W @ H1)) @ H1.T) / (np.ones_like(V) @ H1.T)
    np.testing.assert_allclose(res.H, H1, rtol=1e-6)
    np.testing.assert_allclose(res.W, W1, rtol=1e-6)


@pytest.mark.parametrize("beta", [0.0, 0.5, 3.0])
def test_one_update_equals_fevotte_idier(rng, beta):
    V = rng.random((10, 11)) + 0.1
    W = rng.random((10, 3)) + 0.1
    H = rng.random((3, 11)) + 0.1
    gamma = 1 / (2 - beta) if beta < 1 else (1 / (beta - 1) if beta > 2 else 1)
    WH = W @ H
    expected = H * ((W.T @ (WH ** (beta - 2) * V)) / (W.T @ WH ** (beta - 1))) ** gamma
    got = nmf(V, W=W, H=H, beta=beta, update_W=False, max_iter=1, tol=0).H
    np.testing.assert_allclose(got, expected, rtol=1e-6)


@pytest.mark.parametrize("beta", ["euclidean", "kl", "is"])
def test_planted_factorization_recovered(planted, beta):
    V, W, H = planted
    res = nmf(V, 3, beta=beta, max_iter=3000, tol=0, random_state=0, init="nndsvda")
    rel = np.linalg.norm(res.W @ res.H - V) / np.linalg.norm(V)
    assert rel < 1e-3
    # templates match up to scale and permutation
    Wn = W / np.linalg.norm(W, axis=0)
    Rn = res.W / np.linalg.norm(res.W, axis=0)
    corr = np.abs(Wn.T @ Rn)
    assert np.all(corr.max(axis=1) > 0.99)


def test_fixed_columns_bit_identical(rng):
    V = rng.random((20, 30)) * 1000
    W = rng.random((20, 4)).astype(np.float32)
    mask = np.array([False, True, False, True])
    res = nmf(V.astype(np.float32), W=W, update_W=mask, max_iter=50, random_state=0)
    assert np.array_equal(res.W[:, ~mask], W[:, ~mask])
    assert not np.allclose(res.W[:, mask], W[:, mask])
    res2 = nmf(V, W=W, update_W=False, max_iter=20, random_state=0)
    assert np.array_equal(res2.W, W.astype(np.float64))


def test_fixed_H_kept(rng):
    V = rng.random((20, 30))
    H = rng.random((4, 30))
    res = nmf(V, H=H, update_H=False, max_iter=20, random_state=0)
    assert np.array_equal(res.H, H)


@pytest.mark.parametrize("beta", [0.0, 1.0, 2.0, 0.5])
def test_silence_gives_finite_zero(beta):
    V = np.zeros((10, 12), dtype=np.float32)
    res = nmf(V, 3, beta=beta, max_iter=20, random_state=0)
    assert np.all(np.isfinite(res.W)) and np.all(np.isfinite(res.H))
    assert np.all(np.isfinite(res.losses))
    assert np.abs(res.W @ res.H).max() < 1e-6


def test_zero_rows_and_columns(rng):
    V = rng.random((10, 12))
    V[3] = 0
    V[:, 5] = 0
    for beta in [0, 1, 2]:
        res = nmf(V, 3, beta=beta, max_iter=50, random_state=0)
        assert np.all(np.isfinite(res.W)) and np.all(np.isfinite(res.H))
        assert np.all(np.diff(res.losses) <= 1e-9 * res.losses[0])


def test_float32_preserved_and_inputs_unmodified(rng):
    V = rng.random((15, 20)).astype(np.float32)
    W = rng.random((15, 3)).astype(np.float32)
    H = rng.random((3, 20)).astype(np.float32)
    copies = V.copy(), W.copy(), H.copy()
    res = nmf(V, W=W, H=H, max_iter=10)
    assert res.W.dtype == np.float32 and res.H.dtype == np.float32
    for a, b in zip((V, W, H), copies):
        assert np.array_equal(a, b)
    assert nmf(V.astype(np.float64), 3, max_iter=2).W.dtype == np.float64


def test_same_seed_same_result(rng):
    V = rng.random((15, 20))
    a = nmf(V, 3, random_state=7, max_iter=30)
    b = nmf(V, 3, random_state=7, max_iter=30)
    c = nmf(V, 3, random_state=8, max_iter=30)
    assert np.array_equal(a.W, b.W) and np.array_equal(a.H, b.H)
    assert not np.array_equal(a.W, c.W)


def test_random_init_scale_like_sklearn(rng):
    V = rng.random((50, 60)) * 9
    res = nmf(V, 4, max_iter=0, random_state=0)
    expected = np.sqrt(V.mean() / 4) * np.sqrt(2 / np.pi)  # mean of |N(0, 1)| scaled
    assert res.W.mean() == pytest.approx(expected, rel=0.15)
    assert res.n_iter == 0 and len(res.losses) == 1


def test_tol_stops_and_losses_sampled(rng):
    V = rng.random((20, 25))
    res = nmf(V, 3, max_iter=5000, tol=1e-3, random_state=0)
    assert res.converged and res.n_iter < 5000
    assert len(res.losses) == res.n_iter // res.loss_every + 1
    res = nmf(V, 3, max_iter=37, tol=0, random_state=0, loss_every=5)
    assert res.n_iter == 37 and len(res.losses) == 8 and not res.converged


def test_callback_called_and_can_stop(rng):
    V = rng.random((10, 10))
    seen = []
    res = nmf(V, 2, max_iter=100, tol=0, random_state=0,
              callback=lambda it, loss: seen.append((it, loss)) or it >= 30)
    assert [s[0] for s in seen] == [10, 20, 30]
    assert res.n_iter == 30


@pytest.mark.parametrize("bad, match", [
    (np.array([[1.0, -1.0]]), "negative"),
    (np.array([[1.0, np.nan]]), "NaN"),
    (np.array([[1.0, np.inf]]), "NaN or Inf"),
    (np.ones(3), "2-D"),
    (np.ones((0, 3)), "empty"),
    (np.ones((2, 2)) * 1j, "complex"),
])
def test_bad_V(bad, match):
    with pytest.raises(ParameterError, match=match):
        nmf(bad, 2)


@pytest.mark.parametrize("kw, match", [
    (dict(n_components=0), "n_components"),
    (dict(n_components=-2), "n_components"),
    (dict(n_components=2.5), "n_components"),
    (dict(n_components=2, beta="foo"), "beta"),
    (dict(n_components=2, beta=np.nan), "beta"),
    (dict(n_components=2, beta=99.0), "beta"),
    (dict(n_components=2, tol=-1), "tol"),
    (dict(n_components=2, tol=np.inf), "tol"),
    (dict(n_components=2, max_iter=-1), "max_iter"),
    (dict(n_components=2, init="svd"), "init"),
    (dict(), "n_components"),
    (dict(n_components=2, update_W=False), "W"),
    (dict(n_components=2, update_H=False), "H"),
    (dict(n_components=2, W=np.ones((3, 2))), "shape"),
    (dict(n_components=2, W=-np.ones((4, 2))), "negative"),
    (dict(n_components=2, W=np.ones((4, 2)), update_W=np.array([True])), "update_W"),
    (dict(n_components=2, update_W=np.array([True, False])), "W must be given"),
    (dict(n_components=2, random_state="x"), "random_state"),
])
def test_bad_parameters(kw, match):
    with pytest.raises(ParameterError, match=match):
        nmf(np.ones((4, 5)), **kw)


def test_parameter_error_is_value_error():
    assert issubclass(ParameterError, ValueError)
    assert issubclass(ParameterError, nmfaudio.NmfAudioError)


@pytest.mark.parametrize("beta", [0.0, 0.5, 1.0, 2.0])
def test_sparsity_monotone_with_fixed_W_and_sparser(rng, beta):
    V = rng.random((30, 40)) + 0.01
    W = rng.random((30, 6)) + 0.01
    plain = nmf(V, W=W, update_W=False, beta=beta, max_iter=100, tol=0, random_state=0)
    res = nmf(V, W=W, update_W=False, beta=beta, max_iter=100, tol=0, loss_every=1,
              random_state=0, sparsity=0.5)
    assert np.all(np.diff(res.losses) <= 1e-9 * res.losses[0])
    assert res.H.sum() < plain.H.sum()
    # the reported loss includes the penalty on the mean-normalised problem
    s = V.mean()
    expected = beta_divergence(V, W, res.H, beta) + 0.5 * s ** beta * res.H.sum() / s
    assert res.loss == pytest.approx(expected, rel=1e-6)


def test_sparsity_per_component_and_normalised_free_columns(rng):
    V = rng.random((20, 30)) + 0.01
    W = rng.random((20, 4)) + 0.01
    mask = np.array([False, False, True, True])
    res = nmf(V, W=W, update_W=mask, max_iter=30, random_state=0,
              sparsity=np.array([0, 0, 1.0, 1.0]))
    assert np.array_equal(res.W[:, :2], W[:, :2])
    np.testing.assert_allclose(res.W[:, 2:].sum(axis=0), 1.0, rtol=1e-6)
    with pytest.raises(ParameterError, match="sparsity"):
        nmf(V, W=W, sparsity=np.ones(3))
    with pytest.raises(ParameterError, match="sparsity"):
        nmf(V, W=W, sparsity=-1.0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("beta", BETAS)
@pytest.mark.parametrize("fixed", ["none", "W", "H", "partial"])
def test_accelerated_loss_never_increases_any_beta(rng, beta, fixed, dtype):
    V = (rng.random((30, 40)) ** 2 + 0.01).astype(dtype)
    W0 = rng.random((30, 5)) + 0.01
    H0 = rng.random((5, 40)) + 0.01
    kw = _fixed(fixed, W0, H0)
    res = nmf(V, 5, beta=beta, max_iter=60, tol=0, loss_every=1, accelerate=True, **kw)
    assert res.W.dtype == dtype and res.H.dtype == dtype
    assert np.isfinite(res.W).all() and np.isfinite(res.H).all() and np.isfinite(res.losses).all()
    assert len(res.losses) == 61
    assert np.all(np.diff(res.losses) <= 1e-9 * res.losses[0])
    plain = nmf(V, 5, beta=beta, max_iter=60, tol=0, **kw)
    assert res.loss <= plain.loss * (1 + 1e-6)
    # the reported loss is the divergence of the returned factors
    assert res.loss == pytest.approx(beta_divergence(V, res.W, res.H, beta), rel=1e-4)


@pytest.mark.parametrize("beta", [0.0, 1.0, 2.0, 0.5])
def test_engine_matches_reference_formulas_over_many_iterations(rng, beta):
    """The blocked engine gives the plain-rule iterates (float64, rounding only)."""
    V = rng.random((300, 700)) + 0.01  # several column blocks
    W = rng.random((300, 4)) + 0.1
    H = rng.random((4, 700)) + 0.1
    gamma = 1 / (2 - beta) if beta < 1 else 1.0
    Wr, Hr = W.copy(), H.copy()
    for _ in range(5):
        WH = Wr @ Hr
        Hr = Hr * ((Wr.T @ (WH ** (beta - 2) * V)) / (Wr.T @ WH ** (beta - 1))) ** gamma
        WH = Wr @ Hr
        Wr = Wr * (((WH ** (beta - 2) * V) @ Hr.T) / (WH ** (beta - 1) @ Hr.T)) ** gamma
    res = nmf(V, W=W, H=H, beta=beta, max_iter=5, tol=0)
    np.testing.assert_allclose(res.W, Wr, rtol=1e-9)
    np.testing.assert_allclose(res.H, Hr, rtol=1e-9)
    assert res.loss == pytest.approx(beta_divergence(V, Wr, Hr, beta), rel=1e-9)


@pytest.mark.parametrize("beta", ["kl", "is", 0.5, "euclidean"])
@pytest.mark.parametrize("accelerate", [False, True])
def test_worker_threads_match_one_thread(beta, accelerate):
    rng = np.random.default_rng(3)
    V = (rng.random((300, 5)) @ rng.random((5, 900)) + 0.01).astype(np.float32)
    kw = dict(beta=beta, max_iter=20, tol=0, random_state=0, accelerate=accelerate)
    a = nmfaudio.nmf(V, 5, n_threads=1, **kw)
    b = nmfaudio.nmf(V, 5, n_threads=2, **kw)
    assert a.n_iter == b.n_iter
    np.testing.assert_allclose(b.losses, a.losses, rtol=1e-3)
    np.testing.assert_allclose(b.W @ b.H, a.W @ a.H, rtol=1e-2, atol=1e-3 * float(V.max()))


@pytest.mark.parametrize("bad", ["fast", "2", 0, -1, 1.5, True])
def test_bad_n_threads(bad):
    with pytest.raises(ParameterError, match="n_threads"):
        nmf(np.ones((4, 5)), 2, n_threads=bad)


def test_auto_threads_follow_cores_and_cap():
    from nmfaudio import _threads

    nmf_module = __import__("importlib").import_module("nmfaudio.nmf")
    cores = _threads.usable_cores()
    assert nmf_module._auto_threads() == min(_threads.DEFAULT_CAP, cores)
    with _threads.single_core():  # what batch pool workers set, for every threaded path
        assert nmf_module._auto_threads() == 1
        assert __import__("nmfaudio.supervised").supervised._workers() == 1
        rng = np.random.default_rng(3)
        V = (rng.random((300, 5)) @ rng.random((5, 900)) + 0.01).astype(np.float32)
        a = nmf(V, 5, max_iter=10, random_state=0)
        b = nmf(V, 5, max_iter=10, random_state=0, n_threads=1)
    assert nmf_module._auto_threads() == min(_threads.DEFAULT_CAP, cores)
    np.testing.assert_array_equal(a.W, b.W)  # 1 worker: the same calls


def _frame_losses(V, W, H, beta):
    return np.array([beta_divergence(V[:, [t]], W, H[:, [t]], beta) for t in range(V.shape[1])])


@pytest.mark.parametrize("beta", [0.0, 0.5, 1.0, 1.5])
def test_accelerated_fixed_W_each_frame_monotone_and_independent(rng, beta):
    """W fixed, β ≠ 2: the accelerated steps are safeguarded frame by frame, so every
    frame's loss is non-increasing and a frame's result does not depend on the others."""
    V = (rng.random((40, 30)) ** 3 + 1e-3).astype(np.float32)
    V[:, 5] = 1e-3  # a near-silent frame
    W = (rng.random((40, 6)) + 0.05).astype(np.float32)
    H0 = np.repeat(V.sum(0, keepdims=True) / 6, 6, 0)
    prev = _frame_losses(V, W, H0, beta)
    for n in (1, 2, 3, 5, 8, 13):  # iterates of one run are prefixes of a longer one
        res = nmf(V, W=W, H=H0, beta=beta, update_W=False, max_iter=n, tol=0, accelerate=True)
        assert res.H.dtype == np.float32 and np.all(np.isfinite(res.H)) and np.all(res.H >= 0)
        cur = _frame_losses(V, W, res.H, beta)
        assert np.all(cur <= prev * (1 + 1e-5) + 1e-6), (n, np.max(cur - prev))
        prev = cur
    plain = nmf(V, W=W, H=H0, beta=beta, update_W=False, max_iter=13, tol=0)
    assert res.loss <= plain.loss * (1 + 1e-6)
    # the same frames solved in another company (other frames, other column order, other scale)
    cols = [7, 3, 29, 5, 12]
    other = np.concatenate([V[:, cols], 50.0 * V[:, :4]], axis=1)
    part = nmf(other, W=W, H=np.repeat(other.sum(0, keepdims=True) / 6, 6, 0), beta=beta,
               update_W=False, max_iter=13, tol=0, accelerate=True)
    # BLAS products round a column differently depending on how many columns share the call
    # (measured: W.T @ X[:, idx] != (W.T @ X)[:, idx] bit for bit for most subsets), so the
    # trial losses differ at rounding level and a per-frame safeguard decision can flip
    # where a frame's gain is at its rounding bound. What holds in any company: the frame
    # reaches the same loss to 1e-2 (flips measured at <= 1.3e-3). Exact identity
    # needs column-independent kernels (open in the real-time issue).
    part_loss = _frame_losses(other[:, :len(cols)], W, part.H[:, :len(cols)], beta)
    np.testing.assert_allclose(part_loss, _frame_losses(V, W, res.H, beta)[cols], rtol=1e-2)


@pytest.mark.parametrize("beta", [0.0, 0.5, 1.0])
def test_accelerated_fixed_W_beats_twice_the_plain_iterations(rng, beta):
    """The point of the frame-wise steps: 25 of them do better than 50 plain ones."""
    W = rng.random((60, 8)) + 0.01
    V = W @ (rng.random((8, 50)) ** 4) + 1e-3
    H0 = np.repeat(V.sum(0, keepdims=True) / 8, 8, 0)
    fast = nmf(V, W=W, H=H0, beta=beta, update_W=False, max_iter=25, tol=0, accelerate=True)
    plain = nmf(V, W=W, H=H0, beta=beta, update_W=False, max_iter=50, tol=0)
    assert fast.loss < plain.loss


def test_fused_float32_log_matches_numpy():
    """The loss passes' vectorised float32 log (``_kernels.log32``) is as accurate as numpy's."""
    import numba

    from nmfaudio import _kernels

    @numba.njit(fastmath={"contract"})  # as in the kernels
    def logs(x, out):
        for i in range(x.size):
            out[i] = _kernels.log32(x[i])

    rng = np.random.default_rng(0)
    x = np.concatenate([
        np.exp(rng.uniform(-87, 88, 200_000)), 1 + rng.standard_normal(20_000) * 1e-5,
        [np.finfo(np.float32).tiny, 1.0, 2.0, 0.5, np.sqrt(2), np.finfo(np.float32).max],
    ]).astype(np.float32)
    out = np.empty(x.size, np.float32)
    logs(x, out)
    ref = np.log(x.astype(np.float64))
    err = np.abs(out.astype(np.float64) - ref)
    ulp = np.spacing(np.abs(ref).astype(np.float32)).astype(np.float64)
    ref_np = np.abs(np.log(x).astype(np.float64) - ref)  # numpy's float32 log: up to ~2.2 ulp
    assert np.all(err <= 2.5 * ulp + 1e-9)
    assert err.max() <= 2 * ref_np.max()


@pytest.mark.parametrize("kw, match", [
    (dict(init=(np.ones((5, 2)), np.ones((2, 6)))), r"init=<tuple of 2: <array of shape \(5, 2\).*W= and H="),
    (dict(max_iter=np.arange(100)), r"max_iter=<array of shape \(100,\), dtype int64> must be"),
    (dict(callback=np.zeros(50)), r"callback=<array of shape \(50,\), dtype float64> is not callable"),
    (dict(beta="x" * 200), r"beta='x{10,}\.\.\. is not a known divergence"),
])
def test_error_messages_describe_arrays_briefly(kw, match):
    with pytest.raises(ParameterError, match=match) as info:
        nmf(np.ones((5, 6)), 2, **kw)
    assert len(str(info.value)) < 200 and "\n" not in str(info.value)


def test_frame_safeguard_holds_in_float32_near_an_exact_fit():
    """Near an exact fit a float32 frame loss is a small difference of large sums; an
    over-relaxed step is kept only if it beats the rounding bound, so no frame's true
    (float64) loss goes up (it went up by 2.8 % at step 195 when the check was a plain
    comparison)."""
    from nmfaudio._accel import _FrameRelaxed
    from nmfaudio._mu import _Engine

    rng = np.random.default_rng(3)
    F, K, T = 300, 8, 200
    W = (rng.random((F, K)) + 0.01).astype(np.float32)
    V = W @ (rng.random((K, T)) ** 3).astype(np.float32)
    W = W / W.sum(axis=0)
    H = np.repeat(V.sum(0, keepdims=True) / K, K, 0)
    e = _Engine(np.ascontiguousarray(V), W, H, 1.0, 1.0, np.float32(1e-7), None, None, 1)
    step = _FrameRelaxed(e)
    V64, W64 = V.astype(np.float64), W.astype(np.float64)

    def frame_kl(H):
        X = np.maximum(W64 @ H.astype(np.float64), 1e-7)
        with np.errstate(divide="ignore", invalid="ignore"):
            t = np.where(V64 > 0, V64 * np.log(V64 / X), 0.0)
        return (t - V64 + X).sum(axis=0)

    prev = frame_kl(e.H)
    for _ in range(200):
        step()
        cur = frame_kl(e.H)
        assert np.all(cur <= prev * (1 + 1e-4) + 1e-9), (np.max((cur - prev) / prev))
        prev = cur
    e.close()


@pytest.mark.parametrize("bad", ["no", 1, None, 0.5])
def test_accelerate_must_be_bool(bad):
    with pytest.raises(ParameterError, match="accelerate"):
        nmf(np.ones((4, 5)), 2, accelerate=bad)



@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("beta", [0.0, 0.5, 1.0, 2.0])
@pytest.mark.parametrize("learn_W", [False, True])
def test_loss_every_none_gives_the_same_factors_bit_for_bit(beta, dtype, learn_W):
    # loss_every=None skips the loss passes (the streaming denoiser's frame solves); the
    # factors must be those of a run that logs its loss, and the arguments untouched
    rng = np.random.default_rng(7)
    W = rng.random((40, 6)).astype(dtype) + 0.01
    V = (W @ rng.random((6, 90)).astype(dtype) + 0.05 * rng.random((40, 90))).astype(dtype)
    H0 = np.full((6, 90), 0.5, dtype)
    W_copy, H_copy = W.copy(), H0.copy()
    kw = dict(W=W, H=H0, beta=beta, update_W=learn_W, max_iter=23, tol=0,
              sparsity=np.array([0.0, 0.3, 0.0, 0.1, 0.0, 0.0]))
    want = nmf(V, **kw)
    got = nmf(V, loss_every=None, **kw)
    assert got.H.dtype == dtype and got.W.dtype == dtype
    assert np.array_equal(got.H, want.H) and np.array_equal(got.W, want.W)
    assert got.n_iter == 23 and got.losses.size == 0 and np.isnan(got.loss) and got.loss_every is None
    assert np.array_equal(W, W_copy) and np.array_equal(H0, H_copy)


@pytest.mark.parametrize("kw, named", [(dict(tol=1e-4), "tol=0.0001"), (dict(callback=lambda i, l: None), "callback"),
                                       (dict(accelerate=True), "accelerate=True"),
                                       (dict(continuity=0.1), "continuity")])
def test_loss_every_none_refuses_what_needs_the_loss(kw, named):
    V = np.random.default_rng(0).random((8, 10)) + 0.1
    kw = {"tol": 0, **kw}
    with pytest.raises(ParameterError, match=f"loss_every=None.*{named}"):
        nmf(V, 2, loss_every=None, random_state=0, **kw)
