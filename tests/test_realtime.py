"""StreamSeparator: block-wise output equals offline separation after the latency."""

import numpy as np
import pytest

import nmfaudio
from nmfaudio import ParameterError

SR = 8000
P = nmfaudio.STFTParams(n_fft=256)


@pytest.fixture(scope="module")
def dicts():
    rng = np.random.default_rng(0)
    t = np.arange(8000) / SR
    a = nmfaudio.learn_dictionary(rng.standard_normal(8000) * 0.1, SR, name="noise", stft_params=P,
                                  n_components=4, max_iter=20, pitch_shifts=())
    b = nmfaudio.learn_dictionary(np.sin(2 * np.pi * 440 * t) * (1 + np.sin(2 * np.pi * 2 * t)), SR,
                                  name="tone", stft_params=P, n_components=4, max_iter=20, pitch_shifts=(-1, 1))
    return [a, b]


def _mix(n, channels=None, seed=1, dtype=np.float32):
    rng = np.random.default_rng(seed)
    t = np.arange(n) / SR
    y = 0.1 * rng.standard_normal(n) + 0.5 * np.sin(2 * np.pi * 440 * t)
    if channels:
        y = np.stack([y * (0.5 + c) for c in range(channels)])
    return y.astype(dtype)


def _stream(proc, y, sizes):
    outs, i = [], 0
    for n in sizes:
        if i >= y.shape[-1]:
            break
        outs.append(proc.process(y[..., i:i + n]))
        i += n
    if i < y.shape[-1]:
        outs.append(proc.process(y[..., i:]))
    outs.append(proc.flush())
    return {k: np.concatenate([o[k] for o in outs], axis=-1) for k in proc.names}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_block_sizes_equal_offline(dicts, seed):
    y = _mix(9000, seed=seed)
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, 3000, size=200)
    proc = nmfaudio.StreamSeparator(dictionaries=dicts)
    out = _stream(proc, y, sizes)
    off = nmfaudio.separate(y, SR, dictionaries=dicts)
    for name in proc.names:
        got = out[name]
        assert got.shape == (y.size + proc.latency,) and got.dtype == np.float32
        assert np.all(got[:proc.latency] == 0)
        np.testing.assert_allclose(got[proc.latency:], off[name], atol=1e-5, rtol=0)


def test_stereo_float64_and_one_sample_blocks(dicts):
    y = _mix(1500, channels=2, dtype=np.float64)
    proc = nmfaudio.StreamSeparator(dictionaries=dicts)
    out = _stream(proc, y, [1] * 700 + [3] * 300)
    off = nmfaudio.separate(y, SR, dictionaries=dicts)
    for name in proc.names:
        assert out[name].dtype == np.float64 and out[name].shape == (2, 1500 + proc.latency)
        np.testing.assert_allclose(out[name][:, proc.latency:], off[name], atol=1e-5, rtol=0)


def test_outputs_sum_to_delayed_input_and_silence_is_silent(dicts):
    y = _mix(4000)
    proc = nmfaudio.StreamSeparator(dictionaries=dicts)
    out = _stream(proc, y, [512] * 10)
    total = sum(out.values())[proc.latency:]
    np.testing.assert_allclose(total, y, atol=1e-4)
    silent = _stream(proc, np.zeros(3000, np.float32), [700] * 5)
    assert all(np.all(v == 0) for v in silent.values())


def test_block_sizes_do_not_matter_bitwise_for_activations(dicts):
    """The same stream cut two ways gives outputs equal to rounding of the overlap-add only."""
    y = _mix(6000, seed=5)
    a = _stream(nmfaudio.StreamSeparator(dictionaries=dicts), y, [64] * 200)
    b = _stream(nmfaudio.StreamSeparator(dictionaries=dicts), y, [5000, 1000])
    for name in a:
        np.testing.assert_allclose(a[name], b[name], atol=1e-6, rtol=0)


def test_bad_blocks_raise_and_processor_stays_usable(dicts):
    proc = nmfaudio.StreamSeparator(dictionaries=dicts)
    y = _mix(2000)
    first = proc.process(y[:1000])
    bad = y[1000:1500].copy()
    bad[3] = np.nan
    with pytest.raises(ParameterError, match="NaN"):
        proc.process(bad)
    with pytest.raises(ParameterError, match="stream started with"):
        proc.process(np.zeros((2, 100), np.float32))
    with pytest.raises(ParameterError, match="dtype"):
        proc.process(np.zeros(100, np.float64))
    with pytest.raises(ParameterError, match="dtype"):
        proc.process(np.zeros(100, np.int16))
    with pytest.raises(ParameterError, match="sr=44100"):
        proc.process(y[:10], sr=44100)
    with pytest.raises(ParameterError, match="shape"):
        proc.process(np.zeros((1, 1, 5), np.float32))
    # the failed calls changed nothing: continuing gives the uninterrupted result
    rest = proc.process(y[1000:])
    tail = proc.flush()
    ref = _stream(nmfaudio.StreamSeparator(dictionaries=dicts), y, [1000, 1000])
    for name in proc.names:
        got = np.concatenate([first[name], rest[name], tail[name]])
        np.testing.assert_array_equal(got, ref[name])
    proc.reset()
    assert proc.process(np.zeros((2, 10), np.float32))["tone"].shape == (2, 10)


def test_constructor_errors(dicts):
    with pytest.raises(ParameterError, match="exactly one"):
        nmfaudio.StreamSeparator()
    with pytest.raises(ParameterError, match="exactly one"):
        nmfaudio.StreamSeparator(dictionaries=dicts, instruments=["piano"])
    with pytest.raises(ParameterError, match="mask_power"):
        nmfaudio.StreamSeparator(dictionaries=dicts, mask_power=0)
    with pytest.raises(ParameterError, match="flush"):
        nmfaudio.StreamSeparator(dictionaries=dicts).flush()


def test_input_block_not_modified(dicts):
    y = _mix(3000)
    keep = y.copy()
    proc = nmfaudio.StreamSeparator(dictionaries=dicts)
    proc.process(y)
    proc.flush()
    np.testing.assert_array_equal(y, keep)
