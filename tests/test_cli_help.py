"""Help that tells the truth, and one --json schema for every command."""

import argparse
import json
import re

import numpy as np
import pytest

import nmfaudio
from nmfaudio import save
from nmfaudio.cli import get_parser, main

COMMON = {"command", "nmfaudio_version", "inputs", "outputs", "settings", "elapsed_seconds"}
AUDIO = {"sample_rate", "channels", "duration_seconds"}


def _subparsers():
    action = next(a for a in get_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return action.choices


def _options():
    for name, sub in _subparsers().items():
        for action in sub._actions:
            if action.option_strings and action.help not in (None, argparse.SUPPRESS):
                yield name, action


def test_numbers_in_help_are_the_real_defaults():
    checked = 0
    for command, action in _options():
        text = " ".join(action.help.split())
        assert "API default" not in text, (command, action.dest)
        m = re.match(r".*\(default (-?\d+(?:\.\d+)?)[;,)]", text)
        if m and isinstance(action.default, (int, float)) and not isinstance(action.default, bool):
            assert float(m.group(1)) == float(action.default), (command, action.dest, text)
            checked += 1
    assert checked >= 8  # the test sees the options it is meant to see


def test_iteration_help_matches_what_runs():
    from nmfaudio.denoise import DENOISE_ITER
    from nmfaudio.drums import DRUMS_ITER
    from nmfaudio.separate import UNSUPERVISED_ITER
    from nmfaudio.supervised import supervised_settings

    d = nmfaudio.SourceDictionary(name="a", W=np.ones((129, 2)), sr=8000, stft=nmfaudio.STFTParams(n_fft=256))
    accelerated = supervised_settings([d, d], n_free=0, max_iter=None)[0]
    plain = supervised_settings([d], n_free=2, max_iter=None)[0]
    helps = {(c, a.dest): " ".join(a.help.split()) for c, a in _options()}
    for command in ("separate", "batch"):
        text = helps[(command, "iterations")]
        assert f"default {UNSUPERVISED_ITER} unsupervised" in text
        assert f"{accelerated} accelerated" in text and f"{plain} plain" in text
    assert f"{DENOISE_ITER} with --denoise" in helps[("batch", "iterations")]
    assert f"default {DENOISE_ITER}" in helps[("denoise", "iterations")]
    assert f"default {DRUMS_ITER}" in helps[("drums", "iterations")]
    import inspect

    # the constants are what the functions really default to
    assert inspect.signature(nmfaudio.denoise).parameters["max_iter"].default == DENOISE_ITER
    assert inspect.signature(nmfaudio.split_drums).parameters["max_iter"].default == DRUMS_ITER
    assert "in total" in helps[("batch", "components")] and "in total" in helps[("separate", "components")]


@pytest.fixture
def inputs(tmp_path, two_tone):
    sr, a, b = two_tone
    files = {"mix": save(tmp_path / "mix.wav", a + b, sr), "a": save(tmp_path / "a.wav", a, sr),
             "b": save(tmp_path / "b.wav", b, sr)}
    rng = np.random.default_rng(0)
    for name in ("tone", "hiss"):
        d = nmfaudio.SourceDictionary(name=name, W=rng.random((129, 3)) + 0.1, sr=sr,
                                      stft=nmfaudio.STFTParams(n_fft=256))
        files[name] = d.save(tmp_path / f"{name}.npz")
    return files


def test_json_documents_share_one_schema(tmp_path, inputs, capsys):
    f = {k: str(v) for k, v in inputs.items()}
    o = str(tmp_path / "out")
    runs = {
        "separate": ["separate", f["mix"], "-o", o + "1", "--n-fft", "256", "--iterations", "5"],
        "separate --block-seconds": ["separate", f["mix"], "--dict", f["tone"], "--dict", f["hiss"],
                                     "--block-seconds", "0.5", "-o", o + "2"],
        "denoise": ["denoise", f["mix"], "-o", o + "3/", "--iterations", "5"],
        "drums": ["drums", f["mix"], "-o", o + "4", "--iterations", "10", "--n-fft", "256"],
        "train": ["train", "tone", f["a"], "-o", o + "5.npz", "--components", "2", "--n-fft", "256",
                  "--pitch-shifts", "0"],
        "batch": ["batch", f["mix"], "-o", o + "6", "--iterations", "5", "--n-fft", "256", "-j", "1"],
        "evaluate": ["evaluate", "--ref", f["a"], f["b"], "--est", f["a"], f["b"], "--mix", f["mix"]],
        "plot": ["plot", f["tone"], "-o", o + "7.png"],
    }
    docs = {}
    for label, argv in runs.items():
        assert main(argv + ["--json"]) == 0, label
        docs[label] = json.loads(capsys.readouterr().out)
    for label, doc in docs.items():
        assert COMMON <= set(doc), (label, COMMON - set(doc))
        assert doc["command"] == label.split()[0]
        if label != "plot":
            assert AUDIO <= set(doc), (label, AUDIO - set(doc))
    for label in ("separate", "separate --block-seconds", "denoise", "drums", "evaluate"):
        assert docs[label]["sample_rate"] == 8000 and docs[label]["channels"] == 1, label
        assert docs[label]["duration_seconds"] == pytest.approx(1.0), label
    for label in ("separate", "separate --block-seconds", "denoise", "drums"):
        for path in docs[label]["outputs"].values():
            assert path is None or path.endswith(".wav"), label
        assert {"format", "bit_depth"} <= set(docs[label]["settings"]), label
    assert docs["batch"]["outputs"]["manifest"].endswith("manifest.jsonl")
    assert docs["evaluate"]["mean"]["sdr"] is None or docs["evaluate"]["mean"]["sdr"] > 50


def test_mask_power_constant_is_the_functions_default():
    import inspect

    from nmfaudio.masking import DEFAULT_MASK_POWER

    for fn in (nmfaudio.separate, nmfaudio.split_drums, nmfaudio.masking.mask_sources):
        assert inspect.signature(fn).parameters["mask_power"].default == DEFAULT_MASK_POWER, fn
    # denoise picks its mask power per mode (None); the CLI leaves the choice to it
    from nmfaudio.cli import denoise as cli_denoise

    assert inspect.signature(nmfaudio.denoise).parameters["mask_power"].default is None
    import argparse

    sub = argparse.ArgumentParser().add_subparsers()
    assert cli_denoise.add_parser(sub).parse_args(["x.wav"]).mask_power is None


def test_model_knobs_reach_the_api(tmp_path, inputs, capsys):
    from nmfaudio import load

    mix = str(inputs["mix"])
    y, sr = load(mix)
    assert main(["separate", mix, "-o", str(tmp_path / "s"), "--n-fft", "256", "--iterations", "10",
                 "--grouping", "activation", "--mask", "binary", "--mask-power", "1.5", "-q"]) == 0
    api = nmfaudio.separate(y, sr, n_sources=2, n_fft=256, max_iter=10, grouping="activation",
                            mask="binary", mask_power=1.5)
    for name, s in api.items():
        np.testing.assert_array_equal(load(tmp_path / "s" / "mix" / f"{name}.wav")[0], s)
    noise = str(inputs["b"])
    assert main(["denoise", mix, "--noise", noise, "-o", str(tmp_path / "d.wav"), "--iterations", "10",
                 "--speech-components", "6", "--sparsity", "0.3", "--mask-power", "1", "-q"]) == 0
    clean = nmfaudio.denoise(y, sr, noise=load(noise)[0], max_iter=10, n_speech_components=6,
                             sparsity=0.3, mask_power=1.0)
    np.testing.assert_array_equal(load(tmp_path / "d.wav")[0], clean)
    assert main(["denoise", mix, "-o", str(tmp_path / "blind.wav"), "--iterations", "10",
                 "--segment-seconds", "inf", "-q"]) == 0
    np.testing.assert_array_equal(load(tmp_path / "blind.wav")[0],
                                  nmfaudio.denoise(y, sr, max_iter=10, segment_seconds=float("inf")))
    for argv, match in (
        (["denoise", mix, "--speech-dict", str(inputs["tone"]), "--sparsity", "0.5"], "ignores --sparsity 0.5"),
        (["denoise", mix, "--noise", noise, "--segment-seconds", "5"], "ignores --segment-seconds 5"),
        (["denoise", mix, "--segment-seconds", "0"], "'0' is not a number of seconds > 0"),
        (["separate", mix, "--dict", str(inputs["tone"]), "--dict", str(inputs["hiss"]), "--mask", "binary"],
         "ignores --mask binary"),
        (["separate", mix, "--free-sparsity", "1"], "--free-sparsity"),
        (["separate", mix, "--mask-power", "0"], "--mask-power: '0' must be more than 0"),
    ):
        assert main(argv + ["-o", str(tmp_path / "x")]) == 2, argv
        err = capsys.readouterr().err
        assert match in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "x").exists()
