import os

import numpy as np
import pytest
import soundfile as sf

from nmfaudio import AudioFileError, ParameterError, load, save
from nmfaudio.io import save_many


def test_save_load_round_trip(tmp_path, rng):
    y = (0.5 * rng.standard_normal((2, 1000))).astype(np.float32)
    p = save(tmp_path / "a.wav", y, 16000)
    y2, sr = load(p)
    assert sr == 16000 and y2.dtype == np.float32 and y2.shape == (2, 1000)
    np.testing.assert_array_equal(y, y2)  # float WAV is lossless
    mono, _ = load(p, mono=True)
    assert mono.shape == (1000,)
    np.testing.assert_allclose(mono, y.mean(axis=0), atol=1e-7)


def test_flac_and_mono(tmp_path, rng):
    y = (0.2 * rng.uniform(-1, 1, 1000)).astype(np.float32)
    save(tmp_path / "a.flac", y, 8000)
    y2, sr = load(tmp_path / "a.flac")
    assert y2.shape == (1000,) and sr == 8000
    np.testing.assert_allclose(y, y2, atol=2 ** -22)


def test_resample_only_when_asked(tmp_path):
    sr = 16000
    t = np.arange(sr) / sr
    y = (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    save(tmp_path / "a.wav", y, sr)
    y1, sr1 = load(tmp_path / "a.wav", sr=16000)
    np.testing.assert_array_equal(y1, y)
    y2, sr2 = load(tmp_path / "a.wav", sr=8000)
    assert sr2 == 8000 and y2.dtype == np.float32 and abs(len(y2) - 8000) <= 1
    spec = np.abs(np.fft.rfft(y2[1000:7000]))
    assert abs(np.argmax(spec) * 8000 / 6000 - 440) < 2


def test_no_overwrite_unless_asked(tmp_path):
    p = tmp_path / "a.wav"
    save(p, np.zeros(10, np.float32), 8000)
    before = p.read_bytes()
    with pytest.raises(AudioFileError, match="overwrite"):
        save(p, np.ones(10, np.float32) * 0.5, 8000)
    assert p.read_bytes() == before
    save(p, np.ones(10, np.float32) * 0.5, 8000, overwrite=True)
    assert load(p)[0][0] == 0.5
    assert sorted(os.listdir(tmp_path)) == ["a.wav"]  # no temp files left


def test_failed_write_leaves_nothing(tmp_path, monkeypatch):
    def boom(*a, **k):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(sf, "write", boom)
    with pytest.raises(AudioFileError, match="disk on fire"):
        save(tmp_path / "sub" / "a.wav", np.zeros(10, np.float32), 8000)
    assert not (tmp_path / "sub").exists()  # neither a temp file nor the directory it created


def test_save_many_all_or_nothing(tmp_path):
    (tmp_path / "b.wav").write_bytes(b"keep")
    with pytest.raises(AudioFileError, match="exists"):
        save_many({tmp_path / "a.wav": (np.zeros(5, np.float32), 8000),
                   tmp_path / "b.wav": (np.zeros(5, np.float32), 8000)})
    assert sorted(os.listdir(tmp_path)) == ["b.wav"]
    assert (tmp_path / "b.wav").read_bytes() == b"keep"


def test_save_creates_dirs_and_clips_pcm(tmp_path):
    with pytest.warns(UserWarning, match="clipped"):
        save(tmp_path / "x" / "y" / "a.flac", np.array([0.0, 2.0, -3.0], np.float32), 8000)
    y, _ = load(tmp_path / "x" / "y" / "a.flac")
    assert y.max() <= 1.0 and y.min() >= -1.0


@pytest.mark.parametrize("make, match", [
    (lambda p: None, "no such file"),
    (lambda p: p.mkdir(), "directory"),
    (lambda p: p.write_bytes(b""), "empty"),
    (lambda p: p.write_text("hello, I am not audio"), "cannot be read"),
    (lambda p: p.write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt "), "cannot be read"),
])
def test_load_bad_files(tmp_path, make, match):
    p = tmp_path / "bad.wav"
    make(p)
    with pytest.raises(AudioFileError, match=match):
        load(p)


def test_load_nan_samples(tmp_path):
    sf.write(tmp_path / "nan.wav", np.array([0.0, np.nan, 0.1], np.float32), 8000, subtype="FLOAT")
    with pytest.raises(ParameterError, match="NaN"):
        load(tmp_path / "nan.wav")


@pytest.mark.parametrize("name, y, match", [
    ("a.mp4", np.zeros(4, np.float32), "extension"),
    ("a.wav", np.zeros((4, 10000)).T, "channels"),
    ("a.wav", np.array([np.inf, 0.0]), "NaN or Inf"),
])
def test_save_bad_input(tmp_path, name, y, match):
    with pytest.raises(ParameterError, match=match):
        save(tmp_path / name, y, 8000)
    assert not (tmp_path / name).exists()


def test_save_int16(tmp_path):
    y = np.array([0, 16384, -32768], dtype=np.int16)
    save(tmp_path / "a.wav", y, 8000)
    np.testing.assert_allclose(load(tmp_path / "a.wav")[0], [0, 0.5, -1.0])
