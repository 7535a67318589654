"""Property-based tests (hypothesis) of the numerical core.

Random non-negative matrices with exact zeros and magnitudes spanning 1e-30 to 1e6,
every kind of β (named, integer, non-integer, negative), fixed and free factors and
sparsity: the factors stay non-negative and finite, the loss never increases (up to
rounding), a seed fixes the result and the inputs are never modified. Masks, the
STFT round trip and the high-level separate/denoise are checked the same way.
"""

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, assume, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import nmfaudio  # noqa: E402
from nmfaudio import nmf, soft_masks  # noqa: E402

# Small sizes and few examples: the whole module runs in well under a minute.
FAST = settings(max_examples=25, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
SLOW = settings(max_examples=8, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

BETAS = st.one_of(
    st.sampled_from(["is", "kl", "euclidean", 0.0, 0.5, 1.0, 1.5, 2.0, 3.0, -1.0, 2.5, 4.0]),
    st.floats(min_value=-1.0, max_value=3.0, allow_nan=False).map(lambda b: round(b, 3)),
)
# The loss may wiggle by rounding only: a relative tolerance of a few ulps of the largest
# loss, plus an absolute one for near-exact fits (the loss is then a difference of terms
# of the size of V, each rounded). float32 iterates carry more rounding.
REL_TOL = {np.float64: 1e-9, np.float32: 2e-4}
ABS_TOL = {np.float64: 1e-12, np.float32: 1e-6}
NAMED = {"is": 0.0, "kl": 1.0, "euclidean": 2.0}


@st.composite
def spectrograms(draw, max_f=12, max_t=14, dtype=None):
    """Non-negative V with exact zeros and entries whose magnitudes span 1e-30..1e6."""
    F = draw(st.integers(1, max_f))
    T = draw(st.integers(1, max_t))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    lo = draw(st.sampled_from([-30, -12, -3, 0]))
    hi = draw(st.sampled_from([-20, 0, 3, 6]))
    hi = max(lo, hi)
    V = 10.0 ** rng.uniform(lo, hi, (F, T))
    zero_frac = draw(st.sampled_from([0.0, 0.3, 0.9, 1.0]))
    V[rng.random((F, T)) < zero_frac] = 0.0
    if dtype is None:
        dtype = draw(st.sampled_from([np.float64, np.float32]))
    return V.astype(dtype)


def _assert_monotone(res, V):
    losses = np.asarray(res.losses)
    assert np.all(np.isfinite(losses)), losses
    dtype = V.dtype.type
    scale = float(np.max(np.abs(losses)))
    mean = max(float(V.astype(np.float64).mean()), 1e-300)
    atol = ABS_TOL[dtype] * V.size * mean ** res.beta
    rises = np.diff(losses)
    assert np.all(rises <= REL_TOL[dtype] * scale + atol), (float(rises.max()), scale, atol)


@FAST
@given(V=spectrograms(), K=st.integers(1, 4), beta=BETAS, seed=st.integers(0, 2**16),
       init=st.sampled_from(["random", "nndsvda"]))
def test_nmf_free_factors(V, K, beta, seed, init):
    if init == "nndsvda" and K > min(V.shape):
        with pytest.raises(nmfaudio.ParameterError, match="nndsvda"):
            nmf(V, K, beta=beta, init=init)
        return
    V0 = V.copy()
    res = nmf(V, K, beta=beta, max_iter=25, tol=0, loss_every=1, random_state=seed, init=init)
    np.testing.assert_array_equal(V, V0)  # input untouched
    for X, shape in ((res.W, (V.shape[0], K)), (res.H, (K, V.shape[1]))):
        assert X.shape == shape and X.dtype == V.dtype
        assert np.all(np.isfinite(X)) and np.all(X >= 0)
    assert np.isfinite(res.loss)
    _assert_monotone(res, V)
    again = nmf(V, K, beta=beta, max_iter=25, tol=0, loss_every=1, random_state=seed, init=init)
    np.testing.assert_array_equal(res.W, again.W)  # deterministic under a seed
    np.testing.assert_array_equal(res.H, again.H)


@FAST
@given(V=spectrograms(), K=st.integers(1, 4), beta=BETAS, data=st.data())
def test_nmf_fixed_and_partial_factors(V, K, beta, data):
    F, T = V.shape
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16)))
    scale = float(V.mean()) or 1.0
    tilt = data.draw(st.sampled_from([1e-10, 1.0, 1e5]))  # W and H at very different scales
    W0 = (rng.random((F, K)) * np.sqrt(scale) * tilt).astype(V.dtype)
    H0 = (rng.random((K, T)) * np.sqrt(scale) / tilt).astype(V.dtype)
    if data.draw(st.booleans()):
        W0[:, 0] = 0  # an all-zero template must stay harmless
    mode = data.draw(st.sampled_from(["W fixed", "H fixed", "mask"]))
    kw = {}
    if mode == "W fixed":
        kw["update_W"] = False
    elif mode == "H fixed":
        kw["update_H"] = False
    else:
        kw["update_W"] = np.array(data.draw(st.lists(st.booleans(), min_size=K, max_size=K)))
    mask = kw.get("update_W")
    lam = data.draw(st.sampled_from([0.0, 0.1, 2.0])) if mode == "W fixed" else 0.0
    copies = [X.copy() for X in (V, W0, H0)]
    res = nmf(V, W=W0, H=H0, beta=beta, max_iter=20, tol=0, loss_every=1, sparsity=lam, **kw)
    for X, X0 in zip((V, W0, H0), copies):
        np.testing.assert_array_equal(X, X0)  # inputs untouched
    assert np.all(np.isfinite(res.W)) and np.all(res.W >= 0)
    assert np.all(np.isfinite(res.H)) and np.all(res.H >= 0)
    if mode == "W fixed":
        np.testing.assert_array_equal(res.W, W0)
    elif mode == "H fixed":
        np.testing.assert_array_equal(res.H, H0)
    elif isinstance(mask, np.ndarray):
        np.testing.assert_array_equal(res.W[:, ~mask], W0[:, ~mask])  # fixed columns bit-identical
    _assert_monotone(res, V)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("level", [1e-30, 1e-24, 1.0, 1e6])
@pytest.mark.parametrize("beta", ["is", 0.5, "kl", "euclidean", 3.0, -1.0])
@pytest.mark.parametrize("case", ["random", "nndsvda", "tiny fixed W"])
def test_nmf_monotone_at_extreme_scales(dtype, level, beta, case):
    # Regression: in float32, V around 1e-24 (or fixed templates around 1e-10) drove the
    # denominators under the eps floor and the loss jumped up by up to 100 %.
    rng = np.random.default_rng(1)
    V = (rng.random((12, 14)) * level).astype(dtype)
    if case == "tiny fixed W":
        W = (rng.random((12, 3)) * 1e-10).astype(dtype)
        res = nmf(V, W=W, update_W=False, beta=beta, max_iter=25, tol=0, loss_every=1,
                  random_state=0)
    else:
        res = nmf(V, 3, beta=beta, init=case, max_iter=25, tol=0, loss_every=1, random_state=0)
    _assert_monotone(res, V)
    assert res.losses[-1] < res.losses[0]


@FAST
@given(V=spectrograms(), K=st.integers(1, 4), beta=BETAS,
       lam=st.sampled_from([0.01, 0.5, 5.0]), seed=st.integers(0, 100))
def test_nmf_sparsity_with_free_W_stays_finite(V, K, beta, lam, seed):
    # With W learned the penalised loss is not guaranteed monotone (the column
    # renormalisation moves mass into H), but everything must stay finite and >= 0.
    res = nmf(V, K, beta=beta, max_iter=20, tol=0, sparsity=lam, random_state=seed)
    assert np.all(np.isfinite(res.W)) and np.all(res.W >= 0)
    assert np.all(np.isfinite(res.H)) and np.all(res.H >= 0)
    assert np.all(np.isfinite(res.losses))


@FAST
@given(V=spectrograms(dtype=np.float64), K=st.integers(1, 3), seed=st.integers(0, 100))
def test_nmf_accelerated_euclidean_monotone(V, K, seed):
    res = nmf(V, K, beta="euclidean", accelerate=True, max_iter=15, tol=0, loss_every=1,
              random_state=seed)
    assert np.all(np.isfinite(res.W)) and np.all(res.H >= 0)
    _assert_monotone(res, V)


@FAST
@given(data=st.data(), n_src=st.integers(1, 4), power=st.sampled_from([0.5, 1.0, 2.0, 3.7]))
def test_soft_masks_sum_to_one(data, n_src, power):
    est = data.draw(spectrograms(max_f=6, max_t=6))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16)))
    scales = 10.0 ** rng.uniform(-30, 6, n_src)
    X = np.stack([est * s * rng.random(est.shape) for s in scales]).astype(est.dtype)
    X0 = X.copy()
    M = soft_masks(X, mask_power=power)
    np.testing.assert_array_equal(X, X0)
    assert M.shape == X.shape and M.dtype == X.dtype
    assert np.all(np.isfinite(M)) and np.all(M >= 0) and np.all(M <= 1)
    np.testing.assert_allclose(M.sum(axis=0), 1.0, atol=1e-5 if X.dtype == np.float32 else 1e-12)


@FAST
@given(n=st.integers(1, 3000), n_fft=st.sampled_from([16, 64, 256]),
       hop_div=st.sampled_from([2, 4]), dtype=st.sampled_from([np.float32, np.float64]),
       channels=st.sampled_from([0, 1, 2]), seed=st.integers(0, 2**16),
       level=st.sampled_from([1e-30, 1e-3, 1.0, 1e6]))
def test_stft_istft_round_trip(n, n_fft, hop_div, dtype, channels, seed, level):
    rng = np.random.default_rng(seed)
    shape = (n,) if channels == 0 else (channels, n)
    y = (level * rng.uniform(-1, 1, shape)).astype(dtype)
    y0 = y.copy()
    S = nmfaudio.stft(y, n_fft=n_fft, hop_length=n_fft // hop_div)
    assert S.dtype == (np.complex64 if dtype == np.float32 else np.complex128)
    assert np.all(np.isfinite(S))
    y2 = nmfaudio.istft(S, n_fft=n_fft, hop_length=n_fft // hop_div, length=n)
    np.testing.assert_array_equal(y, y0)
    assert y2.shape == y.shape and y2.dtype == y.dtype and np.all(np.isfinite(y2))
    tol = 1e-5 if dtype == np.float32 else 1e-12
    assert np.max(np.abs(y2 - y)) <= tol * level


SIGNALS = ["noise", "silence", "dc", "square", "impulse", "tiny", "loud"]


def _signal(kind, n, channels, dtype, seed):
    rng = np.random.default_rng(seed)
    shape = (n,) if channels == 0 else (channels, n)
    t = np.arange(n) / 8000.0
    if kind == "noise":
        y = 0.3 * rng.standard_normal(shape)
    elif kind == "silence":
        y = np.zeros(shape)
    elif kind == "dc":
        y = np.full(shape, 0.5)
    elif kind == "square":
        y = np.broadcast_to(np.sign(np.sin(2 * np.pi * 110 * t) + 1e-9), shape).copy()
    elif kind == "impulse":
        y = np.zeros(shape)
        y[..., n // 2] = 1.0
    elif kind == "tiny":
        y = 1e-30 * rng.standard_normal(shape)
    else:
        y = 1e6 * rng.standard_normal(shape)
    if dtype == np.int16:
        return (np.clip(y, -1, 1) * 32767).astype(np.int16)
    return y.astype(dtype)


@SLOW
@given(kind=st.sampled_from(SIGNALS), n=st.sampled_from([1, 37, 300, 2500]),
       channels=st.sampled_from([0, 1, 2, 6]), dtype=st.sampled_from([np.float32, np.float64, np.int16]),
       seed=st.integers(0, 100))
def test_separate_outputs_finite_same_shape(kind, n, channels, dtype, seed):
    assume(n >= channels)  # (channels, n) with fewer samples than channels reads as transposed
    y = _signal(kind, n, channels, dtype, seed)
    y0 = y.copy()
    out = nmfaudio.separate(y, 8000, n_sources=2, n_fft=128, max_iter=15)
    np.testing.assert_array_equal(y, y0)
    want = np.float32 if dtype == np.int16 else dtype
    ref = y / 32768.0 if dtype == np.int16 else y.astype(np.float64)
    for s in out.values():
        assert s.shape == y.shape and s.dtype == want and np.all(np.isfinite(s))
    total = sum(s.astype(np.float64) for s in out.values())
    peak = max(float(np.max(np.abs(ref))), np.finfo(np.float64).tiny)
    assert np.max(np.abs(total - ref)) <= 1e-4 * peak  # the sources add up to the mixture
    if kind == "silence":
        assert all(not np.any(s) for s in out.values())  # silence -> silence


@SLOW
@given(kind=st.sampled_from(SIGNALS), n=st.sampled_from([1, 37, 300, 2500]),
       channels=st.sampled_from([0, 2, 6]), dtype=st.sampled_from([np.float32, np.float64]),
       seed=st.integers(0, 100))
def test_denoise_outputs_finite_same_shape(kind, n, channels, dtype, seed):
    assume(n >= channels)
    y = _signal(kind, n, channels, dtype, seed)
    y0 = y.copy()
    parts = nmfaudio.denoise_sources(y, 8000, max_iter=10, n_speech_components=4,
                                     n_noise_components=3)
    np.testing.assert_array_equal(y, y0)
    for s in parts.values():
        assert s.shape == y.shape and s.dtype == y.dtype and np.all(np.isfinite(s))
    if kind == "silence":
        assert not np.any(parts["clean"])
