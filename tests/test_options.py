"""Options that the chosen mode would ignore raise (issue #13.2); valid ones still work."""

import numpy as np
import pytest

import nmfaudio
from nmfaudio import ParameterError
from nmfaudio.cli import main


@pytest.fixture
def dicts(two_tone):
    sr, a, b = two_tone
    p = nmfaudio.STFTParams(n_fft=256)
    return [nmfaudio.learn_dictionary(a, sr, name="tone", stft_params=p, n_components=3, max_iter=10),
            nmfaudio.learn_dictionary(b, sr, name="noise", stft_params=p, n_components=3, max_iter=10)]


@pytest.mark.parametrize("kwargs, name", [
    (dict(beta="is"), "beta='is'"),
    (dict(n_components=7), "n_components=7"),
    (dict(grouping="activation"), "grouping='activation'"),
    (dict(mask="binary"), "mask='binary'"),
    (dict(tol=1e-2), "tol=0.01"),
    (dict(window="hamming"), "window='hamming'"),
])
def test_supervised_refuses_unsupervised_options(two_tone, dicts, kwargs, name):
    sr, a, b = two_tone
    with pytest.raises(ParameterError, match=f"{name} \\(only used in unsupervised"):
        nmfaudio.separate(a + b, sr, dictionaries=dicts, max_iter=5, **kwargs)


@pytest.mark.parametrize("kwargs, name", [(dict(n_free=4), "n_free=4"),
                                          (dict(free_sparsity=0.5), "free_sparsity=0.5")])
def test_unsupervised_refuses_supervised_options(two_tone, kwargs, name):
    sr, a, b = two_tone
    with pytest.raises(ParameterError, match=f"{name} \\(only used in supervised"):
        nmfaudio.separate(a + b, sr, n_sources=2, n_fft=256, max_iter=5, **kwargs)


def test_all_ignored_options_are_named_at_once(two_tone, dicts):
    sr, a, b = two_tone
    with pytest.raises(ParameterError, match=r"n_components=7.*beta='is'"):
        nmfaudio.separate(a + b, sr, dictionaries=dicts, n_components=7, beta="is")


def test_valid_options_still_change_the_result(two_tone, dicts):
    sr, a, b = two_tone
    y = a + b
    base = nmfaudio.separate(y, sr, n_sources=2, n_fft=256, max_iter=20)
    other = nmfaudio.separate(y, sr, n_sources=2, n_fft=256, max_iter=20, beta="is", mask="binary")
    assert not np.allclose(base["source1"], other["source1"])
    sup = nmfaudio.separate(y, sr, dictionaries=dicts, max_iter=5)
    res = nmfaudio.separate(y, sr, dictionaries=dicts, max_iter=5, n_free=2, free_sparsity=0.1)
    assert sorted(sup) == ["noise", "tone"] and sorted(res) == ["noise", "residual", "tone"]
    # passing a default explicitly is not an error
    nmfaudio.separate(y, sr, dictionaries=dicts, max_iter=5, beta="kl", mask="soft")


@pytest.mark.parametrize("mode, kwargs, name", [
    ("noise_dictionary+speech", dict(n_noise_components=3), "n_noise_components=3"),
    ("noise_dictionary+speech", dict(segment_seconds=5.0), "segment_seconds=5.0"),
    ("speech", dict(n_speech_components=3), "n_speech_components=3"),
    ("speech", dict(sparsity=0.9), "sparsity=0.9"),
    ("noise_dictionary", dict(n_noise_components=3), "n_noise_components=3"),
    ("noise+speech", dict(segment_seconds=5.0), "segment_seconds=5.0"),
])
def test_denoise_refuses_options_its_mode_ignores(two_tone, dicts, mode, kwargs, name):
    sr, a, b = two_tone
    tone, noise = dicts
    given = {"noise_dictionary": noise} if "noise_dictionary" in mode else {}
    if mode.startswith("noise+"):
        given["noise"] = b
    if "speech" in mode:
        given["speech_dictionary"] = tone
    for fn in (nmfaudio.denoise, nmfaudio.denoise_sources):
        with pytest.raises(ParameterError, match=f"{name} \\(only used in"):
            fn(a + b, sr, max_iter=5, **given, **kwargs)


def test_denoise_valid_options_work(two_tone, dicts):
    sr, a, b = two_tone
    y = a + b
    blind = nmfaudio.denoise(y, sr, max_iter=5, n_noise_components=3, n_speech_components=3, sparsity=0.2)
    sample = nmfaudio.denoise(y, sr, noise=b, max_iter=5, n_noise_components=3, sparsity=0.2)
    speech = nmfaudio.denoise(y, sr, speech_dictionary=dicts[0], max_iter=5, n_noise_components=3)
    for out in (blind, sample, speech):
        assert out.shape == y.shape and np.all(np.isfinite(out))


def test_separate_many_refuses_what_its_mode_ignores(tmp_path, mix_file):
    with pytest.raises(ParameterError, match=r"n_components=4 \(only used in unsupervised"):
        nmfaudio.separate_many([mix_file], tmp_path / "o", denoise=True, n_components=4)
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("extra, flag", [
    (["--components", "7"], "--components 7"),
    (["--beta", "euclidean"], "--beta"),
])
def test_cli_separate_with_dict_refuses_unsupervised_flags(tmp_path, mix_file, dicts, capsys, extra, flag):
    paths = [str(d.save(tmp_path / f"{d.name}.npz")) for d in dicts]
    argv = ["separate", str(mix_file), "-o", str(tmp_path / "out"), "--dict", paths[0],
            "--dict", paths[1]] + extra
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert flag in err and "unsupervised" in err
    assert not (tmp_path / "out").exists()


def test_cli_residual_without_dict_and_batch_noise_without_denoise_exit_2(tmp_path, mix_file, capsys):
    assert main(["separate", str(mix_file), "-o", str(tmp_path / "o"), "--residual", "2"]) == 2
    assert "--residual 2" in capsys.readouterr().err
    assert main(["batch", str(mix_file), "-o", str(tmp_path / "o"), "--noise", str(mix_file)]) == 2
    assert "--noise" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_block_seconds_keeps_json_and_plot(tmp_path, mix_file, dicts, capsys):
    import json

    pytest.importorskip("matplotlib")
    paths = [str(d.save(tmp_path / f"{d.name}.npz")) for d in dicts]
    fig = tmp_path / "sep.png"
    argv = ["separate", str(mix_file), "-o", str(tmp_path / "out"), "--dict", paths[0], "--dict",
            paths[1], "--block-seconds", "0.5", "--json", "--plot", str(fig), "-q"]
    assert main(argv) == 0
    doc = json.loads(capsys.readouterr().out)  # ONE document, not bare paths
    assert sorted(doc["outputs"]) == ["noise", "tone"]
    assert doc["settings"]["mode"] == "supervised" and doc["sample_rate"] == 8000
    assert all((tmp_path / "out" / "mix" / f"{n}.wav").exists() for n in ("noise", "tone"))
    assert fig.stat().st_size > 0


def test_separate_file_resamples_and_names_outputs_once(tmp_path, two_tone, dicts):
    sr, a, b = two_tone
    from nmfaudio.files import separate_file

    path = nmfaudio.save(tmp_path / "take.wav", nmfaudio.io.resample(a + b, sr, 16000), 16000)
    res = separate_file(path, tmp_path / "o", dictionaries=dicts, max_iter=5)
    assert res.paths == {n: tmp_path / "o" / "take" / f"{n}.wav" for n in ("tone", "noise")}
    y, file_sr = nmfaudio.load(res.paths["tone"])
    assert file_sr == 16000 and res.processing_sr == 8000 and y.shape[-1] == 16000
    with pytest.raises(ParameterError, match="trained at 8000 Hz"):
        separate_file(path, tmp_path / "o2", dictionaries=dicts, resample=False, max_iter=5)
    with pytest.raises(nmfaudio.AudioFileError, match="already exists"):
        separate_file(path, tmp_path / "o", dictionaries=dicts, max_iter=5)
