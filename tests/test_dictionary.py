import json

import numpy as np
import pytest

import nmfaudio
from nmfaudio import AudioFileError, ParameterError, SourceDictionary, STFTParams, learn_dictionary


@pytest.fixture
def tone_dicts(two_tone):
    sr, a, b = two_tone
    p = STFTParams(n_fft=512)
    da = learn_dictionary(a, sr, name="tone", n_components=4, stft_params=p, max_iter=50)
    db = learn_dictionary(b, sr, name="noise", n_components=4, stft_params=p, max_iter=50)
    return da, db


def test_learn_dictionary_properties(two_tone):
    sr, a, b = two_tone
    a0 = a.copy()
    d = learn_dictionary([a, a[:4000]], sr, name="tone", n_components=5, stft_params=STFTParams(n_fft=512),
                         max_iter=30, pitch_shifts=())
    assert np.array_equal(a, a0)
    assert d.W.shape == (257, 5) and d.W.dtype == np.float32
    np.testing.assert_allclose(d.W.sum(axis=0), 1.0, rtol=1e-5)
    assert d.sr == sr and d.stft.n_fft == 512 and d.beta == 0.5
    assert d.info["n_clips"] == 2
    with pytest.raises(ValueError):
        d.W[0, 0] = 1.0  # read-only


def test_save_load_round_trip(tmp_path, tone_dicts):
    d = tone_dicts[0]
    p = d.save(tmp_path / "tone.npz")
    e = SourceDictionary.load(p)
    assert e.name == d.name and e.sr == d.sr and e.stft == d.stft and e.beta == d.beta
    assert e.power == d.power and e.info == json.loads(json.dumps(d.info))
    np.testing.assert_array_equal(e.W, d.W)
    with pytest.raises(AudioFileError, match="exists"):
        d.save(p)
    d.save(p, overwrite=True)
    with np.load(p, allow_pickle=False) as data:  # no pickle needed to read it
        assert set(data.files) == {"W", "metadata"}


def test_load_rejects_bad_files(tmp_path, tone_dicts):
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(AudioFileError, match="not a valid"):
        SourceDictionary.load(tmp_path / "junk.npz")
    with pytest.raises(AudioFileError, match="no such"):
        SourceDictionary.load(tmp_path / "missing.npz")
    d = tone_dicts[0]
    meta = d.metadata()
    meta["format_version"] = 99
    np.savez(tmp_path / "future.npz", W=d.W, metadata=np.array(json.dumps(meta)))
    with pytest.raises(AudioFileError, match="version 99"):
        SourceDictionary.load(tmp_path / "future.npz")
    np.savez(tmp_path / "other.npz", W=d.W, metadata=np.array("{}"))
    with pytest.raises(AudioFileError, match="not an nmfaudio dictionary"):
        SourceDictionary.load(tmp_path / "other.npz")


def test_supervised_separation(two_tone, tone_dicts):
    sr, a, b = two_tone
    y = a + b
    out = nmfaudio.separate(y, sr, dictionaries=list(tone_dicts))
    assert list(out) == ["tone", "noise"]
    assert np.max(np.abs(out["tone"] + out["noise"] - y)) < 1e-5

    def sdr(ref, est):
        return 10 * np.log10(np.sum(ref ** 2) / np.sum((ref - est) ** 2))

    assert sdr(a, out["tone"]) > 8 and sdr(b, out["noise"]) > 5


def test_supervised_with_residual_and_stereo(two_tone, tone_dicts):
    sr, a, b = two_tone
    y = np.stack([a + b, a - b])
    out = nmfaudio.separate(y, sr, dictionaries=[tone_dicts[0]], n_free=3, free_sparsity=0.1)
    assert list(out) == ["tone", "residual"]
    assert out["tone"].shape == y.shape
    assert np.max(np.abs(sum(out.values()) - y)) < 1e-5


def test_sample_rate_and_stft_mismatch(two_tone, tone_dicts):
    sr, a, b = two_tone
    with pytest.raises(ParameterError, match="16000 Hz.*8000 Hz"):
        nmfaudio.separate(np.zeros(16000, np.float32), 16000, dictionaries=list(tone_dicts))
    with pytest.raises(ParameterError, match="n_fft=1024 conflicts"):
        nmfaudio.separate(a, sr, dictionaries=list(tone_dicts), n_fft=1024)
    other = learn_dictionary(a, sr, name="x", n_components=2, stft_params=STFTParams(n_fft=256), max_iter=5)
    with pytest.raises(ParameterError, match="STFT"):
        nmfaudio.separate(a, sr, dictionaries=[tone_dicts[0], other])
    with pytest.raises(ParameterError, match="distinct"):
        nmfaudio.separate(a, sr, dictionaries=[tone_dicts[0], tone_dicts[0]])
    with pytest.raises(ParameterError, match="not both"):
        nmfaudio.separate(a, sr, dictionaries=list(tone_dicts), n_sources=2)


@pytest.mark.parametrize("name", ["", "a/b", "..", 3])
def test_bad_names(two_tone, name):
    sr, a, _ = two_tone
    with pytest.raises(ParameterError, match="name"):
        learn_dictionary(a, sr, name=name, n_components=2, max_iter=2)


def test_silent_training_clip():
    with pytest.raises(ParameterError, match="silent"):
        learn_dictionary(np.zeros(8000, np.float32), 8000, name="s", n_components=2)


def test_default_pitch_shifted_copies(two_tone):
    sr, a, _ = two_tone
    d = learn_dictionary(a, sr, name="t", n_components=3, stft_params=STFTParams(n_fft=1024), max_iter=20)
    assert d.n_components == 3 * 9 and d.info["base_components"] == 3
    # the copy shifted by +12 semitones would put the peak at twice the frequency; +4 at 2**(4/12)
    base = np.argmax(d.W[:, 0])
    up4 = np.argmax(d.W[:, 3 * 8])  # blocks: base, then shifts -4..-1, 1..4 (block 8 is +4)
    assert abs(up4 / base - 2 ** (4 / 12)) < 0.05
    np.testing.assert_allclose(d.W.sum(axis=0), 1.0, rtol=1e-5)


def test_pitch_shift_augmentation(two_tone):
    sr, a, _ = two_tone
    d = learn_dictionary(a, sr, name="t", n_components=6, stft_params=STFTParams(n_fft=512),
                         pitch_shifts=(-2, 2), max_iter=30)
    peaks = set(np.argmax(d.W, axis=0))
    assert len(peaks) >= 2 and d.info["pitch_shifts"] == [-2.0, 2.0]
