"""Output formats: every writable extension, bit depths, clipping that never wraps, channel masks."""

import numpy as np
import pytest
import soundfile as sf

import nmfaudio
from nmfaudio import AudioFileError, ParameterError
from nmfaudio.io import AudioInfo, audio_info, subtype_for

SR = 48000


@pytest.fixture
def tone():
    t = np.arange(SR // 4) / SR
    return np.stack([0.5 * np.sin(2 * np.pi * 440 * t), 0.3 * np.sin(2 * np.pi * 660 * t)]).astype(np.float32)


@pytest.mark.parametrize("ext, subtype, depth", [
    ("wav", "FLOAT", 32), ("flac", "PCM_24", 24), ("aiff", "FLOAT", 32),
    ("ogg", "VORBIS", None), ("opus", "OPUS", None), ("mp3", "MPEG_LAYER_III", None),
])
def test_every_format_writes_and_reads_back(tmp_path, tone, ext, subtype, depth):
    path = nmfaudio.save(tmp_path / f"a.{ext}", tone, SR)
    info = audio_info(path)
    assert (info.subtype, info.bit_depth, info.channels, info.sr) == (subtype, depth, 2, SR)
    y, sr = nmfaudio.load(path)
    assert sr == SR and y.dtype == np.float32 and y.shape[0] == 2
    n = min(y.shape[1], tone.shape[1])
    if depth is not None:
        np.testing.assert_allclose(y[:, :n], tone[:, :n], atol=2.0 ** -22)
    else:  # lossy codecs may delay the signal: compare levels, not samples
        assert abs(np.sqrt(np.mean(y ** 2)) - np.sqrt(np.mean(tone ** 2))) < 0.05


@pytest.mark.parametrize("ext, depth, subtype", [("wav", 16, "PCM_16"), ("wav", 24, "PCM_24"),
                                                 ("flac", 16, "PCM_16"), ("aiff", 24, "PCM_24"),
                                                 ("wav", 32, "FLOAT")])
def test_bit_depth_selects_the_sample_format(tmp_path, tone, ext, depth, subtype):
    path = nmfaudio.save(tmp_path / f"a.{ext}", tone, SR, bit_depth=depth)
    assert audio_info(path).subtype == subtype == subtype_for(path, bit_depth=depth)
    y, _ = nmfaudio.load(path)
    np.testing.assert_allclose(y, tone, atol=2.0 ** -(min(depth, 24) - 1))


def test_integer_output_clips_and_never_wraps(tmp_path):
    y = np.array([0.0, 0.5, 1.7, -3.0, 0.9999], np.float32)
    with pytest.warns(UserWarning, match=r"up to 3\.000 .*clipped for PCM_16"):
        path = nmfaudio.save(tmp_path / "c.wav", y, 8000, bit_depth=16)
    z, _ = nmfaudio.load(path)
    assert z[2] > 0.99 and z[3] == -1.0  # a wrap would turn 1.7 negative
    np.testing.assert_allclose(z[[0, 1, 4]], y[[0, 1, 4]], atol=2 ** -15)


def test_float_output_keeps_overs(tmp_path):
    y = np.array([0.0, 1.7, -3.0], np.float32)
    z, _ = nmfaudio.load(nmfaudio.save(tmp_path / "f.wav", y, 8000))
    np.testing.assert_array_equal(z, y)


def test_channel_mask_is_written_and_read(tmp_path):
    y = np.zeros((6, 100), np.float32)
    path = nmfaudio.save(tmp_path / "s.wav", y, SR, bit_depth=24, channel_mask=0x60F)
    info = audio_info(path)
    assert info.channel_mask == 0x60F and info.subtype == "PCM_24"
    assert nmfaudio.load(path)[0].shape == (6, 100)
    plain = audio_info(nmfaudio.save(tmp_path / "p.wav", y[:2], SR))
    assert plain.channel_mask is None


def test_writable_follows_the_input(tmp_path, tone):
    cases = {"a.flac": dict(bit_depth=16), "a.wav": dict(bit_depth=24), "a.mp3": {}, "a.opus": {}}
    for name, kw in cases.items():
        info = audio_info(nmfaudio.save(tmp_path / name, tone, SR, **kw))
        ext, depth = info.writable()
        assert ext == "." + name.split(".")[1] and depth == kw.get("bit_depth")
    eight = AudioInfo("FLAC", "PCM_S8", SR, 1, 10, 8, None)
    assert eight.writable() == (".flac", 16)


@pytest.mark.parametrize("name, kw, match", [
    ("a.flac", dict(bit_depth=32), "not possible in FLAC"),
    ("a.mp3", dict(bit_depth=16), "lossy format"),
    ("a.wav", dict(bit_depth=12), r"bit_depth=12 is not supported; expected one of \(16, 24, 32\)"),
    ("a.wav", dict(bit_depth=True), "bit_depth=True"),
    ("a.wav", dict(bit_depth=16, subtype="PCM_24"), "not both"),
    ("a.opus", {}, "OPUS takes 8000, 12000, 16000, 24000, 48000 Hz"),
    ("a.wav", dict(channel_mask=0x3), "names 2 speakers but the audio has 6 channels"),
    ("a.flac", dict(channel_mask=0x3F), "WAV files only"),
    ("a.wav", dict(channel_mask=-1), "positive 32-bit"),
])
def test_bad_output_settings_are_refused_before_writing(tmp_path, name, kw, match):
    y = np.zeros((6, 100), np.float32)
    sr = 44100 if name.endswith(".opus") else SR
    with pytest.raises(ParameterError, match=match):
        nmfaudio.save(tmp_path / name, y, sr, **kw)
    assert list(tmp_path.iterdir()) == []


def test_audio_info_errors(tmp_path):
    with pytest.raises(AudioFileError, match="no such file"):
        audio_info(tmp_path / "missing.wav")
    bad = tmp_path / "bad.wav"
    bad.write_text("not audio")
    with pytest.raises(AudioFileError, match="cannot be read as audio"):
        audio_info(bad)


def test_save_many_applies_bit_depth(tmp_path, tone):
    paths = nmfaudio.io.save_many({tmp_path / "x.flac": (tone, SR), tmp_path / "y.wav": (tone, SR)},
                                  bit_depth=16)
    assert [sf.info(str(p)).subtype for p in paths] == ["PCM_16", "PCM_16"]


def test_load_offset_and_duration(tmp_path):
    y = np.arange(8000, dtype=np.float32) / 8000
    path = nmfaudio.save(tmp_path / "r.wav", y, 8000)
    part, sr = nmfaudio.load(path, offset=0.25, duration=0.5)
    np.testing.assert_array_equal(part, y[2000:6000])
    np.testing.assert_array_equal(nmfaudio.load(path, offset=0.5)[0], y[4000:])
    np.testing.assert_array_equal(nmfaudio.load(path, duration=10.0)[0], y)


@pytest.mark.parametrize("kw, match", [(dict(offset=1.0), r"offset=1 s is at or past the end .* \(1\.000 s long\)"),
                                       (dict(offset=-0.1), "offset=-0.1 must be >= 0"),
                                       (dict(duration=0), "duration=0.0 must be > 0"),
                                       (dict(duration=float("inf")), "duration=inf must be finite")])
def test_load_bad_offset_duration(tmp_path, kw, match):
    path = nmfaudio.save(tmp_path / "r.wav", np.zeros(8000, np.float32), 8000)
    with pytest.raises(ParameterError, match=match):
        nmfaudio.load(path, **kw)
