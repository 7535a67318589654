"""CLI reporting: --json, --plot, --quiet, progress bars on a terminal, and API callbacks."""

import io
import json
import os

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import soundfile as sf  # noqa: E402

import nmfaudio  # noqa: E402
from nmfaudio import load  # noqa: E402
from nmfaudio.cli import main  # noqa: E402

PNG = b"\x89PNG\r\n\x1a\n"


pytestmark = pytest.mark.usefixtures("repo_root")  # paths like audio_fixtures/...


class _TTY(io.StringIO):
    def isatty(self):
        return True


def _sep_args(mix_file, out, *extra):
    return ["separate", str(mix_file), "-o", str(out), "--n-fft", "512", "--iterations", "20", *extra]


def test_separate_json_is_the_only_stdout(tmp_path, mix_file, capsys):
    assert main(_sep_args(mix_file, tmp_path / "out", "--json")) == 0
    out = capsys.readouterr().out
    doc = json.loads(out)  # the whole of stdout is one JSON document
    assert doc["command"] == "separate"
    assert doc["inputs"]["mix"] == str(mix_file)
    assert set(doc["outputs"]) == {"source1", "source2"}
    for path in doc["outputs"].values():
        assert os.path.exists(path)
    assert doc["sample_rate"] == 8000 and doc["channels"] == 1
    assert doc["duration_seconds"] == pytest.approx(1.0)
    assert 0 < doc["iterations"] <= 20 and doc["final_loss"] > 0
    assert doc["settings"]["n_fft"] == 512 and doc["settings"]["mode"] == "unsupervised"
    assert doc["elapsed_seconds"] >= 0 and doc["plot"] is None


def test_cli_output_equals_api(tmp_path, mix_file, capsys):
    """The CLI's spectrogram-level path gives exactly what nmfaudio.separate gives."""
    assert main(_sep_args(mix_file, tmp_path / "out", "--seed", "3")) == 0
    y, sr = load(mix_file)
    api = nmfaudio.separate(y, sr, n_sources=2, n_fft=512, max_iter=20, random_state=3)
    for name, s in api.items():
        cli, _ = load(tmp_path / "out" / "mix" / f"{name}.wav")
        np.testing.assert_array_equal(cli, s)


def test_separate_plot_and_existing_plot_refused_first(tmp_path, mix_file, capsys):
    fig = tmp_path / "fig.png"
    assert main(_sep_args(mix_file, tmp_path / "out", "--plot", str(fig))) == 0
    assert fig.read_bytes()[:8] == PNG
    capsys.readouterr()
    # an existing figure is refused before any audio is written
    assert main(_sep_args(mix_file, tmp_path / "out2", "--plot", str(fig))) == 1
    err = capsys.readouterr().err
    assert "already exists" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out2").exists()
    assert main(_sep_args(mix_file, tmp_path / "out3", "--plot", str(tmp_path / "f.gif"))) == 1
    assert "must end in .png" in capsys.readouterr().err


def test_quiet_prints_nothing(tmp_path, mix_file, capsys):
    assert main(_sep_args(mix_file, tmp_path / "out", "--quiet")) == 0
    cap = capsys.readouterr()
    assert cap.out == "" and cap.err == ""
    assert (tmp_path / "out" / "mix" / "source1.wav").exists()


def test_progress_bar_only_on_a_terminal(tmp_path, mix_file, capsys, monkeypatch):
    # not a terminal (pytest's capture): no bar
    assert main(_sep_args(mix_file, tmp_path / "a")) == 0
    assert capsys.readouterr().err == ""
    tty = _TTY()
    monkeypatch.setattr("sys.stderr", tty)
    assert main(_sep_args(mix_file, tmp_path / "b", "--json")) == 0
    assert "separate" in tty.getvalue() and "it" in tty.getvalue()  # tqdm drew a bar
    json.loads(capsys.readouterr().out)  # stdout still only JSON
    quiet = _TTY()
    monkeypatch.setattr("sys.stderr", quiet)
    assert main(_sep_args(mix_file, tmp_path / "c", "--quiet")) == 0
    assert quiet.getvalue() == ""


@pytest.mark.parametrize("extra, mode, voices", [
    ([], "speech dictionary", False),
    (["--noise", "audio_fixtures/speech/train/noise.wav"], "noise sample + speech dictionary", True),
    (["--noise-dict", "NOISE"], "noise dictionary + speech dictionary", True),
    (["--noise-dict", "NOISE", "--no-voice-model"], "noise dictionary + speech dictionary", False),
    # a region counts as a noise sample for the option check (the input's model takes --sparsity)
    (["--noise-region", "0:0.5", "--sparsity", "0.2"], "noise region + speech dictionary", True),
])
def test_denoise_json_names_the_speech_dictionary_mode(tmp_path, capsys, extra, mode, voices):
    F = "audio_fixtures/speech/"
    for name, clip in (("speech", "train/speech.wav"), ("noise", "train/noise.wav")):
        assert main(["train", name, F + clip, "-o", str(tmp_path / f"{name}.npz"), "--components", "4",
                     "--n-fft", "512", "-q"]) == 0
    extra = [str(tmp_path / "noise.npz") if a == "NOISE" else a for a in extra]
    capsys.readouterr()
    assert main(["denoise", F + "noisy.wav", "--speech-dict", str(tmp_path / "speech.npz"), *extra,
                 "-o", str(tmp_path / "c.wav"), "--iterations", "10", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["settings"]["mode"] == mode and doc["settings"]["voice_model"] is voices
    assert sf.info(str(tmp_path / "c.wav")).frames > 0


def test_train_plot_and_denoise_json(tmp_path, capsys):
    F = "audio_fixtures/speech/"
    d = tmp_path / "noise.npz"
    assert main(["train", "noise", F + "train/noise.wav", "-o", str(d), "--components", "4",
                 "--n-fft", "512", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["outputs"]["dictionary"] == str(d) and doc["settings"]["components"] == 4
    assert doc["iterations"] > 0 and doc["duration_seconds"] == pytest.approx(3.0)

    fig = tmp_path / "den.png"
    assert main(["denoise", F + "noisy.wav", "--noise-dict", str(d), "-o", str(tmp_path / "c.wav"),
                 "--iterations", "20", "--json", "--plot", str(fig)]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["command"] == "denoise" and doc["settings"]["mode"] == "noise dictionary"
    assert doc["outputs"] == {"clean": str(tmp_path / "c.wav"), "noise": None}
    assert doc["settings"]["voice_model"] is True
    assert doc["iterations"] == 20 and doc["final_loss_iteration"] == 20 and doc["final_loss"] > 0
    assert fig.read_bytes()[:8] == PNG


def test_plot_command(tmp_path, capsys, rng):
    d = nmfaudio.SourceDictionary(name="hiss", W=rng.random((257, 6)), sr=8000,
                                  stft=nmfaudio.STFTParams(n_fft=512))
    d.save(tmp_path / "hiss.npz")
    out = tmp_path / "hiss.png"
    assert main(["plot", str(tmp_path / "hiss.npz"), "-o", str(out), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["outputs"]["figure"] == str(out) and out.read_bytes()[:8] == PNG
    assert doc["inputs"]["dictionaries"][str(tmp_path / "hiss.npz")]["n_components"] == 6
    # audio files: spectrograms
    assert main(["plot", "audio_fixtures/speech/noisy.wav", "audio_fixtures/speech/clean.wav",
                 "-o", str(tmp_path / "s.svg")]) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / "s.svg")
    for argv, msg in [
        (["plot", str(tmp_path / "hiss.npz"), "-o", str(out)], "already exists"),
        (["plot", str(tmp_path / "hiss.npz"), "audio_fixtures/speech/noisy.wav", "-o",
          str(tmp_path / "x.png")], "not both"),
        (["plot", str(tmp_path / "hiss.npz"), "-o", str(tmp_path / "x.jpg")], "must end in"),
        (["plot", str(tmp_path / "missing.npz"), "-o", str(tmp_path / "y.png")], "no such"),
    ]:
        assert main(argv) == 1
        err = capsys.readouterr().err
        assert msg in err and len(err.strip().splitlines()) == 1


def test_api_callbacks_report_progress(two_tone):
    sr, a, b = two_tone
    seen = []
    nmfaudio.separate(a + b, sr, n_sources=2, n_fft=512, max_iter=30, tol=0,
                      callback=lambda it, loss: seen.append((it, loss)))
    assert [it for it, _ in seen] == [10, 20, 30]
    seen.clear()
    nmfaudio.learn_dictionary(b, sr, name="n", n_components=3, max_iter=20, tol=0,
                              stft_params=nmfaudio.STFTParams(n_fft=256),
                              callback=lambda it, loss: seen.append(it))
    assert seen == [10, 20]
    seen.clear()
    nmfaudio.denoise(a + b, sr, noise=b, max_iter=20, callback=lambda it, loss: seen.append(it) or True)
    assert seen == [10]  # returning True stops early


def test_no_arguments_lists_the_commands(capsys):
    from nmfaudio.cli import main

    assert main([]) == 2
    err = capsys.readouterr().err
    assert "a command is required" in err
    for command in ("separate", "train", "denoise", "evaluate", "plot", "batch", "drums", "models"):
        assert command in err


def test_debug_after_the_subcommand(tmp_path, capsys):
    from nmfaudio.cli import main

    missing = str(tmp_path / "missing.wav")
    assert main(["separate", missing, "-o", str(tmp_path / "o")]) == 1
    assert "no such file" in capsys.readouterr().err
    with pytest.raises(Exception, match="no such file"):  # --debug re-raises, wherever it stands
        main(["separate", missing, "-o", str(tmp_path / "o"), "--debug"])
    with pytest.raises(Exception, match="no such file"):
        main(["--debug", "separate", missing, "-o", str(tmp_path / "o")])
