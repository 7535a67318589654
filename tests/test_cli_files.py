"""CLI output files: --format, --bit-depth, --start/--duration, default -o, checks before any work."""

import json
import os

import numpy as np
import pytest
import soundfile as sf

import nmfaudio
from nmfaudio import load, save
from nmfaudio.cli import main
from nmfaudio.exceptions import ParameterError, UsageError


def _no_work(monkeypatch):
    """Make every computation fail loudly: a command that reaches one did not check first."""
    def boom(*a, **k):
        raise AssertionError("computation started before the outputs were checked")

    import importlib

    for module, name in (("nmfaudio.separate", "separate_with_details"),
                         ("nmfaudio.denoise", "denoise_sources"), ("nmfaudio.drums", "split_drums"),
                         ("nmfaudio.io", "load")):
        monkeypatch.setattr(importlib.import_module(module), name, boom)


def _sep(mix, *extra):
    return ["separate", str(mix), "--n-fft", "256", "--iterations", "10", *extra]


def test_format_and_bit_depth(tmp_path, mix_file, capsys):
    out = tmp_path / "o"
    assert main(_sep(mix_file, "-o", str(out), "--format", "flac", "--bit-depth", "16", "-q")) == 0
    files = sorted(p.name for p in (out / "mix").iterdir())
    assert files == ["source1.flac", "source2.flac"]
    info = sf.info(str(out / "mix" / "source1.flac"))
    assert info.format == "FLAC" and info.subtype == "PCM_16"
    y, sr = load(mix_file)
    total = sum(load(out / "mix" / f)[0] for f in files)
    assert np.max(np.abs(total - y)) < 2.5 / 2 ** 15  # two 16-bit roundings
    assert main(_sep(mix_file, "-o", str(tmp_path / "w"), "--bit-depth", "24", "-q")) == 0
    assert sf.info(str(tmp_path / "w" / "mix" / "source1.wav")).subtype == "PCM_24"


@pytest.mark.parametrize("argv_tail, match", [
    (["--format", "mp3", "--bit-depth", "16"], "mp3 has no bit depth"),
    (["--format", "flac", "--bit-depth", "32"], "cannot hold 32-bit float"),
    (["--format", "m4a"], "invalid choice: 'm4a'"),
    (["--bit-depth", "8"], "invalid choice: 8"),
    (["--start", "-1"], "--start: '-1' must be a finite number"),
    (["--duration", "0"], "--duration: '0' must be more than 0"),
])
def test_bad_format_options_are_usage_errors(tmp_path, mix_file, capsys, monkeypatch, argv_tail, match):
    _no_work(monkeypatch)
    for cmd in (_sep(mix_file, "-o", str(tmp_path / "o")),
                ["denoise", str(mix_file), "-o", str(tmp_path / "o") + "/"],
                ["drums", str(mix_file), "-o", str(tmp_path / "o")]):
        assert main(cmd + argv_tail) == 2
        err = capsys.readouterr().err
        assert match in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()


def test_start_and_duration_process_an_excerpt(tmp_path, mix_file, capsys):
    out = tmp_path / "o"
    assert main(_sep(mix_file, "-o", str(out), "--start", "0.25", "--duration", "0.5", "--json")) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["duration_seconds"] == pytest.approx(0.5)
    assert doc["settings"]["start_seconds"] == 0.25 and doc["settings"]["max_duration_seconds"] == 0.5
    part, sr = load(mix_file, offset=0.25, duration=0.5)
    a, b = (load(out / "mix" / f"source{i}.wav")[0] for i in (1, 2))
    assert a.shape == part.shape == (sr // 2,)
    assert np.max(np.abs(a + b - part)) < 1e-5
    assert main(_sep(mix_file, "-o", str(tmp_path / "p"), "--start", "5")) == 1
    assert "past the end" in capsys.readouterr().err
    assert not (tmp_path / "p").exists()


def test_default_output_folder(tmp_path, mix_file, capsys, monkeypatch):
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    assert main(_sep(mix_file, "-q")) == 0
    assert sorted(os.listdir(work / "separated" / "mix")) == ["source1.wav", "source2.wav"]
    assert main(["denoise", str(mix_file), "--iterations", "5", "-q"]) == 0
    assert (work / "mix_denoised.wav").exists()
    assert main(["denoise", str(mix_file), "--iterations", "5"]) == 1  # never over an existing file
    assert "--overwrite" in capsys.readouterr().err
    assert "./separated" in _help("separate") and "_denoised" in _help("denoise")
    assert "./separated" in _help("drums") and "./separated" in _help("batch")


def _help(command):
    import contextlib
    import io

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert main([command, "--help"]) == 0
    return " ".join(buf.getvalue().split())


def test_denoise_into_a_folder(tmp_path, mix_file, capsys):
    folder = tmp_path / "dn"
    folder.mkdir()
    assert main(["denoise", str(mix_file), "-o", str(folder), "--noise-out", str(folder),
                 "--format", "flac", "--iterations", "5", "-q"]) == 0
    assert sorted(os.listdir(folder)) == ["mix_denoised.flac", "mix_noise.flac"]
    assert main(["denoise", str(mix_file), "-o", str(tmp_path / "new") + "/", "--iterations", "5",
                 "-q"]) == 0
    assert (tmp_path / "new" / "mix_denoised.wav").exists()
    assert main(["denoise", str(mix_file), "-o", str(tmp_path / "c.flac"), "--format", "wav"]) == 2
    assert "does not end in .wav" in capsys.readouterr().err


def test_output_checked_before_any_work(tmp_path, mix_file, capsys, monkeypatch):
    _no_work(monkeypatch)
    blocker = tmp_path / "file.wav"
    blocker.write_bytes(b"user data")
    for argv in (_sep(mix_file, "-o", str(blocker)),
                 ["drums", str(mix_file), "-o", str(blocker)],
                 ["denoise", str(mix_file), "-o", str(blocker / "c.wav")],
                 ["batch", str(mix_file), "-o", str(blocker)]):
        assert main(argv) == 1, argv  # an output that cannot be written: a failure (issue #18)
        err = capsys.readouterr().err
        assert str(blocker) in err and "not a folder" in err and len(err.strip().splitlines()) == 1
    assert blocker.read_bytes() == b"user data"
    # the input as its own output, even with --overwrite
    before = mix_file.read_bytes()
    assert main(["denoise", str(mix_file), "-o", str(mix_file), "--overwrite"]) == 2
    assert "is the input file" in capsys.readouterr().err
    assert main(["denoise", str(mix_file), "-o", str(tmp_path / "c.wav"), "--noise-out",
                 str(mix_file), "--overwrite"]) == 2
    assert mix_file.read_bytes() == before
    # a rate the format cannot take (Opus: 8-48 kHz steps; the fixture is 8 kHz, so 44.1 kHz)
    loud = save(tmp_path / "cd.wav", np.zeros(4410, np.float32), 44100)
    assert main(["denoise", str(loud), "-o", str(tmp_path / "c.opus")]) == 1
    assert "OPUS takes" in capsys.readouterr().err
    assert not (tmp_path / "c.opus").exists()


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root can write anywhere")
def test_read_only_folder_fails_before_work(tmp_path, mix_file, capsys, monkeypatch):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        _no_work(monkeypatch)
        assert main(_sep(mix_file, "-o", str(ro))) == 1
        assert "no write permission" in capsys.readouterr().err
    finally:
        ro.chmod(0o700)


def test_channel_mask_is_kept(tmp_path, two_tone, capsys):
    sr, a, b = two_tone
    src = save(tmp_path / "three.wav", np.stack([a, b, a + b]), sr, channel_mask=0x7)  # FL FR FC
    assert main(_sep(src, "-o", str(tmp_path / "o"), "-q")) == 0
    info = nmfaudio.io.audio_info(tmp_path / "o" / "three" / "source1.wav")
    assert info.channels == 3 and info.channel_mask == 0x7


def test_batch_format(tmp_path, mix_file, capsys):
    out = tmp_path / "b"
    args = ["batch", str(mix_file), "-o", str(out), "--format", "flac", "--bit-depth", "16",
            "--iterations", "5", "-j", "1", "--json"]
    assert main(args) == 0
    doc = json.loads(capsys.readouterr().out)
    assert sorted(os.listdir(out / "mix")) == ["source1.flac", "source2.flac"]
    assert sf.info(str(out / "mix" / "source1.flac")).subtype == "PCM_16"
    assert doc["done"] == 1
    assert main(args) == 0  # the manifest knows these outputs: skipped
    assert json.loads(capsys.readouterr().out)["skipped"] == 1


def test_file_api_parameters(tmp_path, mix_file):
    from nmfaudio.files import denoise_target, output_extension, separate_file

    assert output_extension("FLAC") == ".flac"
    with pytest.raises(ParameterError, match="format='m4a' is not supported"):
        output_extension("m4a")
    assert denoise_target("a/talk.wav", tmp_path) == tmp_path / "talk_denoised.wav"
    with pytest.raises(UsageError, match="is the input file"):
        nmfaudio.denoise_file(mix_file, mix_file, overwrite=True)
    res = separate_file(mix_file, tmp_path / "s", format="aiff", bit_depth=24, n_sources=2,
                        n_fft=256, max_iter=5, offset=0.5)
    assert sorted(p.name for p in res.paths.values()) == ["source1.aiff", "source2.aiff"]
    assert sf.info(str(res.paths["source1"])).subtype == "PCM_24"
    assert res.duration_seconds == pytest.approx(0.5)


def test_train_without_name_is_a_usage_error(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(os.path.join(os.path.dirname(__file__), ".."))
    clip = "audio_fixtures/music/train/piano.wav"
    out = tmp_path / "p.npz"
    for argv in (["train", clip, "audio_fixtures/music/train/flute.wav", "-o", str(out)],
                 ["train", "take1.wav", clip, "-o", str(out)],  # an audio name, even if missing
                 ["train", clip, "-o", str(out)]):
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1 and err.startswith("nmfaudio: error:")
        assert "nmfaudio train NAME CLIP" in err
    assert not out.exists()
    assert main(["train", "piano", clip, "-o", str(out), "--components", "4", "--pitch-shifts", "0",
                 "-q"]) == 0
    assert nmfaudio.SourceDictionary.load(out).name == "piano"


def test_one_dictionary_alone_is_refused(tmp_path, mix_file, capsys, monkeypatch, rng):
    d = nmfaudio.SourceDictionary(name="tone", W=rng.random((129, 4)) + 0.1, sr=8000,
                                  stft=nmfaudio.STFTParams(n_fft=256))
    d.save(tmp_path / "tone.npz")
    y, sr = load(mix_file)
    with pytest.raises(UsageError, match="n_free=K"):
        nmfaudio.separate(y, sr, dictionaries=[d])
    with pytest.raises(UsageError, match="n_free=K"):
        nmfaudio.separate_file(mix_file, tmp_path / "api", dictionaries=[d])
    _no_work(monkeypatch)
    assert main(["separate", str(mix_file), "--dict", str(tmp_path / "tone.npz"), "-o",
                 str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "--residual K" in err and "second --dict" in err and len(err.strip().splitlines()) == 1
    assert main(["separate", str(mix_file), "--instruments", "piano", "-o", str(tmp_path / "o")]) == 2
    assert "--residual K" in capsys.readouterr().err
    assert not (tmp_path / "o").exists() and not (tmp_path / "api").exists()


def test_separate_instruments(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(os.path.join(os.path.dirname(__file__), ".."))
    mix = "audio_fixtures/music/mix.wav"
    out = tmp_path / "o"
    assert main(["separate", mix, "--instruments", "piano", "flute", "-o", str(out), "--json",
                 "--bit-depth", "32"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["inputs"]["instruments"] == ["piano", "flute"] and set(doc["outputs"]) == {"piano", "flute"}
    assert doc["settings"]["mode"] == "supervised"
    y, sr = load(mix)
    api = nmfaudio.separate(y, sr, instruments=["piano", "flute"])
    for name in ("piano", "flute"):
        np.testing.assert_allclose(load(out / "mix" / f"{name}.wav")[0], api[name], atol=1e-6)
    for argv, match in (
        (["--instruments", "banjo"], "unknown instrument 'banjo'; available: bass, cello"),
        (["--instruments", "piano", "--dict", "x.npz"], "only one of --dict, --instruments"),
        (["--instruments", "piano", "--sources", "2"], "only one of --dict, --instruments"),
    ):
        assert main(["separate", mix, "-o", str(tmp_path / "bad"), *argv]) == 2
        err = capsys.readouterr().err
        assert match in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "bad").exists()


def test_unwritable_folder_reported_before_work(tmp_path, mix_file, capsys, monkeypatch):
    """As the read-only test above, where it is skipped (root): the permission check itself."""
    import nmfaudio.io as io_module

    real = os.access
    target = tmp_path / "locked"
    target.mkdir()
    monkeypatch.setattr(io_module.os, "access",
                        lambda p, mode: False if os.path.samefile(p, target) else real(p, mode))
    _no_work(monkeypatch)
    assert main(_sep(mix_file, "-o", str(target))) == 1
    err = capsys.readouterr().err
    assert f"no write permission in {str(target)!r}" in err and len(err.strip().splitlines()) == 1
    assert list(target.iterdir()) == []


def test_batch_rate_the_format_cannot_take_fails_that_file_only(tmp_path, mix_file, capsys):
    odd = save(tmp_path / "in" / "odd.wav", (0.1 * np.sin(np.arange(4410) * 0.2)).astype(np.float32), 22050)
    argv = ["batch", str(mix_file), str(odd), "-o", str(tmp_path / "b"), "--format", "opus",
            "--iterations", "5", "--n-fft", "256", "-j", "1", "--json"]
    assert main(argv) == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["done"] == 1 and [f["input"] for f in doc["failed"]] == [str(odd)]
    assert "OPUS takes 8000, 12000, 16000, 24000, 48000 Hz" in doc["failed"][0]["error"]
    assert sorted(os.listdir(tmp_path / "b" / "mix")) == ["source1.opus", "source2.opus"]
    assert not (tmp_path / "b" / "odd").exists()


def test_unreadable_file_named_once(tmp_path, capsys):
    bad = tmp_path / "text.wav"
    bad.write_text("not audio")
    assert main(["separate", str(bad), "-o", str(tmp_path / "o")]) == 1
    err = capsys.readouterr().err
    assert err.count(str(bad)) == 1 and "cannot be read as audio" in err
    with pytest.raises(nmfaudio.AudioFileError) as info:
        load(bad)
    assert str(info.value).count(str(bad)) == 1


def test_too_short_input_is_named_not_transposed(tmp_path, capsys):
    one = tmp_path / "one.wav"
    sf.write(str(one), np.zeros((1, 2), np.float32), 8000)  # stereo, one sample
    for cmd in (["separate", str(one), "-o", str(tmp_path / "o")],
                ["denoise", str(one), "-o", str(tmp_path / "o") + "/"],
                ["drums", str(one), "-o", str(tmp_path / "o")]):
        assert main(cmd) == 1
        err = capsys.readouterr().err
        assert "only 1 sample(s) per channel" in err and "y.T" not in err
    assert not (tmp_path / "o").exists()


def test_separate_never_writes_over_its_input(tmp_path, two_tone, capsys):
    sr, a, b = two_tone
    src = save(tmp_path / "source1" / "source1.wav", a + b, sr)  # out/<track>/<source>.wav itself
    before = src.read_bytes()
    assert main(["separate", str(src), "-o", str(tmp_path), "--overwrite", "--n-fft", "256"]) == 2
    assert "is the input file" in capsys.readouterr().err
    assert src.read_bytes() == before and sorted(os.listdir(src.parent)) == ["source1.wav"]


@pytest.mark.parametrize("fmt, subtype, expect", [
    ("WAV", "FLOAT", ("WAV", "FLOAT")),
    ("WAV", "PCM_24", ("WAV", "PCM_24")),
    ("FLAC", "PCM_16", ("FLAC", "PCM_16")),
    ("AIFF", "PCM_16", ("AIFF", "PCM_16")),
    ("OGG", "VORBIS", ("OGG", "VORBIS")),
    ("WAV", "PCM_U8", ("WAV", "FLOAT")),     # 8-bit: not written, float WAV instead
    ("WAV", "PCM_32", ("WAV", "FLOAT")),     # 32-bit integer: float WAV
])
def test_outputs_follow_the_input_format_and_depth(tmp_path, fmt, subtype, expect):
    rng = np.random.default_rng(0)
    y = (0.3 * rng.standard_normal(8000)).clip(-0.9, 0.9).astype(np.float32)
    ext = {"WAV": "wav", "FLAC": "flac", "AIFF": "aiff", "OGG": "ogg"}[fmt]
    src = tmp_path / f"in.{ext}"
    sf.write(str(src), y, 8000, format=fmt, subtype=subtype)
    assert main(_sep(src, "-o", str(tmp_path / "sep"), "-q")) == 0
    assert main(["drums", str(src), "-o", str(tmp_path / "dr"), "--iterations", "3", "-q"]) == 0
    assert main(["denoise", str(src), "-o", str(tmp_path / "dn") + os.sep, "--iterations", "3", "-q"]) == 0
    written = [*(tmp_path / "sep" / "in").iterdir(), *(tmp_path / "dr" / "in").iterdir(),
               *(tmp_path / "dn").iterdir()]
    assert len(written) == 2 + len(nmfaudio.drums.DRUMS) + 1
    for p in written:
        info = sf.info(str(p))
        assert (info.format, info.subtype) == expect, p
        assert p.suffix == "." + ext or expect[0] == "WAV"


def test_given_format_or_file_name_keeps_the_input_depth_where_it_fits(tmp_path):
    rng = np.random.default_rng(1)
    y = (0.2 * rng.standard_normal(8000)).astype(np.float32)
    pcm16, flt = tmp_path / "a.wav", tmp_path / "b.wav"
    sf.write(str(pcm16), y, 8000, subtype="PCM_16")
    sf.write(str(flt), y, 8000, subtype="FLOAT")
    assert main(_sep(pcm16, "-o", str(tmp_path / "o1"), "--format", "flac", "-q")) == 0
    assert sf.info(str(tmp_path / "o1" / "a" / "source1.flac")).subtype == "PCM_16"
    assert main(_sep(flt, "-o", str(tmp_path / "o2"), "--format", "flac", "-q")) == 0  # float: FLAC's 24
    assert sf.info(str(tmp_path / "o2" / "b" / "source1.flac")).subtype == "PCM_24"
    assert main(["denoise", str(pcm16), "-o", str(tmp_path / "c.flac"), "--iterations", "3", "-q"]) == 0
    assert sf.info(str(tmp_path / "c.flac")).subtype == "PCM_16"
    assert main(["denoise", str(pcm16), "-o", str(tmp_path / "d.ogg"), "--iterations", "3", "-q"]) == 0
    assert sf.info(str(tmp_path / "d.ogg")).subtype == "VORBIS"
    assert main(_sep(pcm16, "-o", str(tmp_path / "o3"), "--bit-depth", "32", "-q")) == 0
    assert sf.info(str(tmp_path / "o3" / "a" / "source1.wav")).subtype == "FLOAT"
