import numpy as np
import pytest

from nmfaudio import ParameterError, STFTParams, istft, stft


@pytest.mark.parametrize("dtype, cdtype", [(np.float32, np.complex64), (np.float64, np.complex128)])
@pytest.mark.parametrize("n_fft, hop", [(2048, None), (512, 128), (1024, 256), (256, 64)])
def test_round_trip(rng, dtype, cdtype, n_fft, hop):
    y = (0.5 * rng.standard_normal(12345)).astype(dtype)
    S = stft(y, n_fft=n_fft, hop_length=hop)
    assert S.dtype == cdtype
    assert S.shape[0] == 1 + n_fft // 2
    assert S.flags["C_CONTIGUOUS"]
    y2 = istft(S, n_fft=n_fft, hop_length=hop, length=len(y))
    assert y2.dtype == dtype
    assert np.max(np.abs(y - y2)) < 1e-5


def test_multichannel_shapes(rng):
    y = rng.standard_normal((3, 5000)).astype(np.float32)
    S = stft(y, n_fft=512)
    assert S.shape == (3, 257, 1 + 5000 // 128)
    y2 = istft(S, length=5000)
    assert y2.shape == y.shape and np.max(np.abs(y - y2)) < 1e-5


def test_params_object(rng):
    p = STFTParams(n_fft=1024)
    assert p.hop_length == 256 and p.win_length == 1024 and p.n_freq == 513
    assert STFTParams.from_dict(p.to_dict()) == p
    assert STFTParams(n_fft=1024, hop_length=256) == p
    y = rng.standard_normal(4000)
    S = stft(y, stft_params=p)
    assert S.shape[1] == p.n_frames(4000)
    with pytest.raises(Exception):
        p.n_fft = 3  # frozen


def test_short_clip_and_input_unchanged(rng):
    y = rng.standard_normal(100).astype(np.float32)
    y0 = y.copy()
    S = stft(y, n_fft=2048)
    assert np.array_equal(y, y0)
    y2 = istft(S, length=100)
    assert y2.shape == (100,) and np.max(np.abs(y2 - y)) < 1e-5


@pytest.mark.parametrize("kw, match", [
    (dict(n_fft=0), "n_fft"),
    (dict(n_fft=512, hop_length=1024), "hop_length"),
    (dict(n_fft=512, win_length=1024), "win_length"),
    (dict(window="kaiserx"), "window"),
    (dict(hop_length=-3), "hop_length"),
])
def test_bad_params(kw, match):
    with pytest.raises(ParameterError, match=match):
        stft(np.zeros(4096), **kw)


@pytest.mark.parametrize("y, match", [
    (np.array([0.0, np.nan, 1.0]), "NaN"),
    (np.zeros(0), "no samples"),
    (np.zeros((44100, 2)), r"\(n_samples, channels\)"),
    (np.zeros((2, 2, 2, 2)).reshape(2, 2, 4)[..., :0], "no samples"),
    ("file.wav", "numpy array"),
])
def test_bad_audio(y, match):
    with pytest.raises(ParameterError, match=match):
        stft(y)


def test_istft_bad_input():
    with pytest.raises(ParameterError, match="frequency bins"):
        istft(np.zeros((100, 10), np.complex64), n_fft=512)


@pytest.mark.parametrize("window", ["hann", "hamming", "blackman", "boxcar"])
@pytest.mark.parametrize("n_fft,win_length", [(2, 1), (2, 2), (8, 5), (512, 512), (2048, 1500),
                                              (4096, 4096), (1025, 1024)])
def test_window_is_librosas_bit_for_bit(window, n_fft, win_length):
    # the Hann window is built without importing librosa.filters; it must be librosa's exactly
    import librosa

    from nmfaudio.stft import STFTParams, window as stft_window

    p = STFTParams(n_fft=n_fft, hop_length=max(1, win_length // 4), win_length=win_length, window=window)
    ref = librosa.util.pad_center(librosa.filters.get_window(window, win_length, fftbins=True), size=n_fft)
    got = stft_window(p)
    assert got.dtype == ref.dtype and got.shape == (n_fft,)
    np.testing.assert_array_equal(got, ref)
