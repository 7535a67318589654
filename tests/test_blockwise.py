"""Long inputs separated by frame blocks (nmfaudio._blockwise) give what the whole-STFT path gives."""

import importlib

import numpy as np
import pytest

import nmfaudio
from nmfaudio import _blockwise
from nmfaudio.separation import stack_channels
from nmfaudio.stft import STFTParams

sep_mod = importlib.import_module("nmfaudio.separate")

SR = 22050


def _signal(channels, dtype, seconds=4.0):
    rng = np.random.default_rng(channels)
    n = int(seconds * SR)
    t = np.arange(n) / SR
    chans = []
    for c in range(channels):
        tone = np.sin(2 * np.pi * (220 + 110 * c) * t) * (t % 1.0 < 0.5)
        chans.append(0.4 * tone + 0.1 * rng.standard_normal(n))
    y = np.stack(chans) if channels > 1 else chans[0]
    return y.astype(dtype)


def _both(monkeypatch, y, **kw):
    """(reference sources and separation, block-path sources and separation)."""
    ref, sep_ref, _ = sep_mod.separate_with_details(y, SR, keep_masks=True, **kw)
    monkeypatch.setattr(sep_mod, "LONG_MIN_BINS", 0)
    new, sep_new, _ = sep_mod.separate_with_details(y, SR, keep_masks=False, **kw)
    return ref, sep_ref, new, sep_new


@pytest.mark.parametrize("channels", [1, 2])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_magnitudes_equal_abs_stft_bits(channels, dtype):
    y = _signal(channels, dtype)
    p = STFTParams(n_fft=1024)
    assert _blockwise.applies(y, p)
    V = _blockwise.magnitudes(y, p)
    expected = stack_channels(np.abs(nmfaudio.stft(y, stft_params=p)))
    assert V.dtype == expected.dtype == np.dtype(dtype)
    assert V.shape == expected.shape
    assert np.array_equal(V, expected)


@pytest.mark.parametrize("channels", [1, 2])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("mask", ["soft", "binary"])
def test_unsupervised_block_path_matches_reference(monkeypatch, channels, dtype, mask):
    y = _signal(channels, dtype)
    y0 = y.copy()
    ref, sep_ref, new, sep_new = _both(monkeypatch, y, n_fft=1024, max_iter=20, mask=mask)
    assert np.array_equal(y, y0)  # input untouched
    assert sep_new.masks is None and sep_new.S_sources is None
    assert sep_ref.masks is not None
    assert np.array_equal(sep_new.W, sep_ref.W) and np.array_equal(sep_new.H, sep_ref.H)
    assert np.array_equal(sep_new.labels, sep_ref.labels)
    assert list(new) == list(ref)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    for k in ref:
        assert new[k].dtype == y.dtype and new[k].shape == y.shape
        assert new[k].flags.c_contiguous
        if mask == "soft":
            np.testing.assert_allclose(new[k], ref[k], rtol=0, atol=tol)
        else:  # a tie between estimates can flip a bin; nearly every sample agrees
            assert np.mean(np.abs(new[k] - ref[k]) <= tol) > 0.99
    np.testing.assert_allclose(sum(new.values()), y, atol=1e-4)


@pytest.mark.parametrize("channels", [1, 2])
def test_supervised_block_path_matches_reference(monkeypatch, channels):
    dicts = nmfaudio.models.model_dictionaries(["piano", "flute"])
    y = _signal(channels, np.float32)
    y0 = y.copy()
    ref, sep_ref, new, sep_new = _both(monkeypatch, y, dictionaries=dicts, max_iter=5)
    assert np.array_equal(y, y0)
    assert sep_new.masks is None
    assert np.array_equal(sep_new.H, sep_ref.H)
    assert sep_new.loss == sep_ref.loss
    for k in ref:
        assert new[k].dtype == np.float32 and new[k].shape == y.shape
        np.testing.assert_allclose(new[k], ref[k], rtol=0, atol=1e-5)


def test_supervised_with_residual_keeps_whole_path(monkeypatch):
    dicts = nmfaudio.models.model_dictionaries(["piano"])
    monkeypatch.setattr(sep_mod, "LONG_MIN_BINS", 0)
    _, sep, _ = sep_mod.separate_with_details(_signal(1, np.float32), SR, dictionaries=dicts,
                                              n_free=2, max_iter=3, keep_masks=False)
    assert sep.masks is not None  # n_free: frames are not independent, no block path


def test_short_input_same_bits_through_separate():
    y = _signal(2, np.float32, seconds=3.0)
    assert sep_mod.LONG_MIN_BINS > 513 * 2 * 200  # a few seconds stay on the reference path
    out = nmfaudio.separate(y, SR, n_fft=1024, max_iter=10)
    ref, sep, _ = sep_mod.separate_with_details(y, SR, n_fft=1024, max_iter=10)
    assert sep.masks is not None
    for k in ref:
        assert np.array_equal(out[k], ref[k])


def test_separate_uses_block_path_when_long(monkeypatch):
    calls = []
    real = sep_mod._separate_long

    def spy(*a, **k):
        calls.append(1)
        return real(*a, **k)

    monkeypatch.setattr(sep_mod, "LONG_MIN_BINS", 0)
    monkeypatch.setattr(sep_mod, "_separate_long", spy)
    out = nmfaudio.separate(_signal(1, np.float32), SR, n_fft=1024, max_iter=5)
    assert calls == [1] and sorted(out) == ["source1", "source2"]


def test_block_path_refuses_overflowing_samples(monkeypatch):
    monkeypatch.setattr(sep_mod, "LONG_MIN_BINS", 0)
    y = _signal(1, np.float32)
    y[100] = 1e36
    with pytest.raises(nmfaudio.ParameterError, match="overflow"):
        nmfaudio.separate(y, SR, n_fft=1024, max_iter=5)


def test_decimate_frames_takes_group_maxima():
    from nmfaudio.display._common import decimate_frames

    X = np.random.default_rng(0).random((3, 10))
    D, hop = decimate_frames(X, 4, max_columns=4)
    assert hop == 12 and D.shape == (3, 4)
    for j in range(4):
        assert np.array_equal(D[:, j], X[:, 3 * j:3 * j + 3].max(axis=1))
    same, hop1 = decimate_frames(X, 4, max_columns=10)
    assert same is X and hop1 == 4


def test_long_spectrogram_plot_is_decimated():
    import matplotlib

    matplotlib.use("Agg")
    import nmfaudio.display as display
    from nmfaudio.display._common import MAX_COLUMNS

    y = _signal(1, np.float32, seconds=30.0)
    img = display.plot_spectrogram(y, sr=SR, n_fft=256, hop_length=64)
    n_frames = 1 + y.size // 64
    assert n_frames > MAX_COLUMNS
    cols = img.get_array().shape[-1]
    assert cols <= MAX_COLUMNS
    # the time axis still spans the whole signal
    assert abs(img.axes.get_xlim()[1] - y.size / SR) < 0.05 * y.size / SR
    import matplotlib.pyplot as plt

    plt.close(img.figure)
