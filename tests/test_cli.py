import numpy as np
import pytest

from nmfaudio import load
from nmfaudio.cli import main


pytestmark = pytest.mark.usefixtures("repo_root")  # paths like audio_fixtures/...


def test_separate_writes_sources(tmp_path, mix_file, capsys):
    out = tmp_path / "out"
    code = main(["separate", str(mix_file), "-o", str(out), "--sources", "2", "--n-fft", "512",
                 "--iterations", "30"])
    assert code == 0
    files = sorted(p.name for p in (out / "mix").iterdir())
    assert files == ["source1.wav", "source2.wav"]
    y, sr = load(mix_file)
    total = sum(load(out / "mix" / f)[0] for f in files)
    assert np.max(np.abs(total - y)) < 1e-5


def test_existing_output_refused_then_overwritten(tmp_path, mix_file, capsys):
    out = tmp_path / "out"
    args = ["separate", str(mix_file), "-o", str(out), "--n-fft", "512", "--iterations", "5"]
    assert main(args) == 0
    before = (out / "mix" / "source1.wav").read_bytes()
    capsys.readouterr()
    assert main(args) == 1
    err = capsys.readouterr().err
    assert "--overwrite" in err and len(err.strip().splitlines()) == 1
    assert (out / "mix" / "source1.wav").read_bytes() == before
    assert main(args + ["--overwrite"]) == 0


@pytest.mark.parametrize("argv, code", [
    ([], 2),
    (["separate"], 2),
    (["separate", "x.wav"], 1),  # -o defaults to ./separated: the missing input fails
    (["frobnicate"], 2),
    (["separate", "x.wav", "-o", "o", "--sources", "0"], 2),
    (["separate", "x.wav", "-o", "o", "--beta", "banana"], 2),
    (["separate", "x.wav", "-o", "o", "--bogus"], 2),
    (["separate", "/nonexistent/x.wav", "-o", "o"], 1),
])
def test_errors_are_one_line(argv, code, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == code
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert err.startswith("nmfaudio: error:")


def test_help_and_version(capsys):
    assert main(["--help"]) == 0
    assert "separate" in capsys.readouterr().out
    assert main(["--version"]) == 0


def test_train_separate_denoise_on_fixtures(tmp_path, capsys):
    F = "audio_fixtures/"
    for name in ("piano", "flute"):
        assert main(["train", name, F + f"music/train/{name}.wav", "-o", str(tmp_path / f"{name}.npz"),
                     "--components", "8"]) == 0
    assert main(["separate", F + "music/mix.wav", "--dict", str(tmp_path / "piano.npz"),
                 "--dict", str(tmp_path / "flute.npz"), "-o", str(tmp_path / "out"), "--bit-depth", "32"]) == 0
    assert sorted(p.name for p in (tmp_path / "out" / "mix").iterdir()) == ["flute.wav", "piano.wav"]
    mix, _ = load(F + "music/mix.wav")
    total = load(tmp_path / "out" / "mix" / "piano.wav")[0] + load(tmp_path / "out" / "mix" / "flute.wav")[0]
    assert np.max(np.abs(total - mix)) < 1e-5
    assert main(["denoise", F + "speech/noisy.wav", "--noise", F + "speech/train/noise.wav",
                 "-o", str(tmp_path / "clean.wav"), "--noise-out", str(tmp_path / "noise.wav")]) == 0
    clean, sr = load(tmp_path / "clean.wav")
    noisy, _ = load(F + "speech/noisy.wav")
    assert sr == 16000 and clean.shape == noisy.shape
    assert main(["denoise", F + "speech/noisy.wav", "-o", str(tmp_path / "clean.wav")]) == 1
    assert main(["separate", F + "music/mix.wav", "--dict", str(tmp_path / "missing.npz"),
                 "-o", str(tmp_path / "o2")]) == 1
    assert not (tmp_path / "o2").exists()


def test_denoise_noise_region_cuts_the_sample_from_the_input(tmp_path, capsys):
    import numpy as np

    import nmfaudio
    from nmfaudio.cli import main

    out = tmp_path / "clean.wav"
    code = main(["denoise", "audio_fixtures/speech/noisy.wav", "--noise-region", "0:0.25,3.5:4",
                 "-o", str(out), "--iterations", "30", "-q", "--bit-depth", "32"])
    assert code == 0, capsys.readouterr().err
    y, sr = nmfaudio.load("audio_fixtures/speech/noisy.wav")
    expected = nmfaudio.denoise(y, sr, noise_region=[(0, 0.25), (3.5, 4)], max_iter=30)
    got, _ = nmfaudio.load(out)
    np.testing.assert_allclose(got, expected, atol=1e-6)


@pytest.mark.parametrize("region, match", [("0-1", "not START:END"), ("1:x", "not START:END"),
                                           ("3:9", "must satisfy"), ("0:0.01", "two STFT frames")])
def test_denoise_bad_noise_region_exits_2(tmp_path, capsys, region, match):
    from nmfaudio.cli import main

    code = main(["denoise", "audio_fixtures/speech/noisy.wav", "--noise-region", region,
                 "-o", str(tmp_path / "c.wav")])
    err = capsys.readouterr().err
    assert code == 2 and match in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "c.wav").exists()


def test_denoise_too_short_noise_file_exits_1(tmp_path, capsys):
    import soundfile as sf
    from nmfaudio.cli import main

    y, sr = sf.read("audio_fixtures/speech/noisy.wav", dtype="float32")
    sf.write(tmp_path / "n.wav", y[:1000], sr)
    code = main(["denoise", "audio_fixtures/speech/noisy.wav", "--noise", str(tmp_path / "n.wav"),
                 "-o", str(tmp_path / "c.wav")])
    err = capsys.readouterr().err
    assert code == 1 and "has 1000 samples" in err and "two STFT frames" in err, err  # a data error, as a silent one
    assert not (tmp_path / "c.wav").exists()


def test_denoise_noise_region_and_noise_are_exclusive(tmp_path, capsys):
    from nmfaudio.cli import main

    code = main(["denoise", "audio_fixtures/speech/noisy.wav", "--noise-region", "0:1",
                 "--noise", "audio_fixtures/speech/noise.wav", "-o", str(tmp_path / "c.wav")])
    assert code == 2 and "not allowed with" in capsys.readouterr().err
