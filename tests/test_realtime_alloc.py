"""Steady-state process() allocates nothing but its outputs (tracemalloc), and out=."""

import tracemalloc

import numpy as np
import pytest

import nmfaudio
from nmfaudio import ParameterError

SR = 8000
P = nmfaudio.STFTParams(n_fft=512)
#: Python objects of a call (views, small ints, the FFT's bookkeeping): well under one
#: frame buffer of this STFT (8 frames × 257 bins × 16 bytes = 33 KB per block of 1024).
SMALL = 8 * 1024


@pytest.fixture(scope="module")
def processors():
    rng = np.random.default_rng(0)
    a = nmfaudio.learn_dictionary(rng.standard_normal(8000), SR, name="noise", stft_params=P,
                                  n_components=6, max_iter=5, pitch_shifts=())
    b = nmfaudio.learn_dictionary(np.sin(np.arange(8000) * 0.3), SR, name="tone", stft_params=P,
                                  n_components=6, max_iter=5, pitch_shifts=())
    return {"separator": lambda: nmfaudio.StreamSeparator(dictionaries=[a, b]),
            "denoiser": lambda: nmfaudio.StreamDenoiser(sr=SR),
            "denoiser-warm": lambda: nmfaudio.StreamDenoiser(sr=SR, warm_start=4)}


def _peaks(proc, y, n, out=None, calls=30, channels=None):
    """Peak traced bytes of each steady-state call (after a warm-up)."""
    blocks = [y[..., i:i + n] for i in range(0, y.shape[-1] - n + 1, n)]
    for x in blocks[:10]:  # warm-up: buffers sized, kernels compiled
        proc.process(x, out=out)
    peaks = []
    tracemalloc.start()
    try:
        for x in blocks[10:10 + calls]:
            tracemalloc.reset_peak()
            base = tracemalloc.get_traced_memory()[0]
            r = proc.process(x, out=out)
            peaks.append(tracemalloc.get_traced_memory()[1] - base)
            del r
    finally:
        tracemalloc.stop()
    return np.array(peaks)


@pytest.mark.parametrize("kind", ["separator", "denoiser", "denoiser-warm"])
@pytest.mark.parametrize("channels", [None, 2])
def test_steady_state_allocates_only_the_outputs(processors, kind, channels):
    rng = np.random.default_rng(1)
    y = (0.1 * rng.standard_normal(60 * 1024)).astype(np.float32)
    if channels:
        y = np.stack([y, 0.5 * y])
    n = 1024
    proc = processors[kind]()
    shape = y.shape[:-1] + (n,)
    out = {k: np.empty(shape, np.float32) for k in proc.names}
    with_out = _peaks(proc, y, n, out=out)
    assert with_out.max() < SMALL, with_out
    proc.reset()
    fresh = _peaks(proc, y, n)
    outputs = len(proc.names) * np.prod(shape) * 4
    assert fresh.max() < outputs + SMALL, fresh
    assert fresh.min() >= outputs  # the new output arrays are traced: the probe can see them


def test_out_receives_the_same_samples_and_returned_arrays_stay_valid(processors):
    rng = np.random.default_rng(2)
    y = (0.1 * rng.standard_normal(20 * 700)).astype(np.float32)
    a, b = processors["separator"](), processors["separator"]()
    out = {k: np.empty(700, np.float32) for k in a.names}
    returned, kept = [], []
    for i in range(0, y.size, 700):
        r1 = a.process(y[i:i + 700])
        r2 = b.process(y[i:i + 700], out=out)
        assert r2 is out
        for k in a.names:
            np.testing.assert_array_equal(r1[k], out[k])
        returned.append(r1)
        kept.append({k: v.copy() for k, v in r1.items()})
    for r, k in zip(returned, kept):  # no later call overwrote an earlier result
        for name in a.names:
            np.testing.assert_array_equal(r[name], k[name])


def test_out_is_checked(processors):
    proc = processors["separator"]()
    x = np.zeros(100, np.float32)
    good = {k: np.empty(100, np.float32) for k in proc.names}
    proc.process(x, out=good)
    with pytest.raises(ParameterError, match="keys"):
        proc.process(x, out={"noise": good["noise"]})
    with pytest.raises(ParameterError, match=r"shape \(100,\) and dtype float32"):
        proc.process(x, out={k: np.empty(99, np.float32) for k in proc.names})
    with pytest.raises(ParameterError, match="float32"):
        proc.process(x, out={k: np.empty(100, np.float64) for k in proc.names})
    with pytest.raises(ParameterError, match="dict"):
        proc.process(x, out=np.empty((2, 100), np.float32))
    # the failed calls changed nothing: the stream goes on as if they were not made
    ref = processors["separator"]()
    ref.process(x)
    np.testing.assert_array_equal(proc.process(x)["tone"], ref.process(x)["tone"])
