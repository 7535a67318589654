"""split_drums and the `nmfaudio drums` command on a synthetic kick/snare/hi-hat loop."""

import numpy as np
import pytest

import nmfaudio
from nmfaudio import ParameterError, load, save
from nmfaudio.cli import main

SR = 22050


def _hits(n, times, shape):
    out = np.zeros(n)
    for t in times:
        a = int(t * SR)
        seg = shape[: n - a]
        out[a:a + len(seg)] += seg
    return out


@pytest.fixture(scope="module")
def drum_loop():
    """2 s at 22050 Hz: stems (kick, snare, hihat) and their float32 sum."""
    rng = np.random.default_rng(7)
    n = 2 * SR
    t = np.arange(int(0.3 * SR)) / SR
    kick = np.sin(2 * np.pi * (50 * t + 60 * 0.03 * (1 - np.exp(-t / 0.03)))) * np.exp(-t / 0.12)
    snare = (0.5 * np.sin(2 * np.pi * 190 * t) * np.exp(-t / 0.05)
             + rng.standard_normal(len(t)) * np.exp(-t / 0.07) * 0.6)
    from scipy.signal import butter, sosfilt
    hat = sosfilt(butter(4, 6000, "highpass", fs=SR, output="sos"),
                  rng.standard_normal(len(t))) * np.exp(-t / 0.025)
    beat = 0.25
    stems = np.stack([
        _hits(n, [0.02 + i * 2 * beat for i in range(4)], kick),
        _hits(n, [0.02 + beat + i * 2 * beat for i in range(4)], snare * 0.6),
        _hits(n, [0.02 + i * beat / 2 for i in range(16)], hat * 0.8),
    ]).astype(np.float32)
    return stems, stems.sum(axis=0)


def _snr(ref, est):
    return 10 * np.log10(np.sum(ref.astype(float) ** 2) / np.sum((ref - est.astype(float)) ** 2))


def test_split_drums_finds_each_drum(drum_loop):
    stems, mix = drum_loop
    keep = mix.copy()
    out = nmfaudio.split_drums(mix, SR, n_fft=1024, max_iter=100)
    assert list(out) == ["kick", "snare", "hihat"]
    assert np.array_equal(mix, keep)
    for name, ref in zip(out, stems):
        est = out[name]
        assert est.dtype == np.float32 and est.shape == mix.shape
        assert np.all(np.isfinite(est))
        # each output is clearly separated and closest to its own drum
        assert _snr(ref, est) > 4.0, (name, _snr(ref, est))
        corr = [abs(np.corrcoef(est, r)[0, 1]) for r in stems]
        assert int(np.argmax(corr)) == list(out).index(name), (name, corr)
    total = sum(out.values())
    assert np.max(np.abs(total - mix)) < 1e-4


def test_split_drums_stereo_keeps_layout(drum_loop):
    stems, mix = drum_loop
    y = np.stack([mix, 0.5 * mix])
    out = nmfaudio.split_drums(y, SR, n_fft=1024, max_iter=40)
    assert out["kick"].shape == y.shape
    np.testing.assert_allclose(sum(out.values()), y, atol=1e-4)
    # the quieter channel gets the same split, scaled
    for est in out.values():
        assert np.linalg.norm(est[1] - 0.5 * est[0]) < 0.1 * np.linalg.norm(0.5 * est[0])


def test_drum_templates_shapes_and_character():
    W = nmfaudio.drum_templates(sr=44100, n_fft=2048, n_lags=10, per_drum=2)
    assert W.shape == (1025, 6, 10)
    np.testing.assert_allclose(W.sum(axis=(0, 2)), 1.0)
    f = np.arange(1025) * 44100 / 2048
    centroid = (W.sum(axis=2) * f[:, None]).sum(axis=0)
    assert centroid[0] < centroid[2] < centroid[4]   # kick < snare < hi-hat


@pytest.mark.parametrize("kwargs, match", [
    ({"max_iter": 0}, "max_iter=0"), ({"fixed_iter": 500}, "fixed_iter=500"),
    ({"mask_power": 0}, "mask_power=0"), ({"n_lags": -2}, "n_lags=-2"),
])
def test_split_drums_validation(drum_loop, kwargs, match):
    _, mix = drum_loop
    with pytest.raises(ParameterError, match=match):
        nmfaudio.split_drums(mix, SR, **kwargs)


def test_cli_drums_writes_three_files_and_respects_overwrite(tmp_path, drum_loop, capsys):
    _, mix = drum_loop
    src = save(tmp_path / "loop.wav", mix, SR)
    out = tmp_path / "out"
    args = ["drums", str(src), "-o", str(out), "--n-fft", "1024", "--iterations", "20"]
    assert main(args) == 0
    names = sorted(p.name for p in (out / "loop").iterdir())
    assert names == ["hihat.wav", "kick.wav", "snare.wav"]
    y, sr = load(out / "loop" / "kick.wav")
    assert sr == SR and y.shape == mix.shape
    before = (out / "loop" / "kick.wav").read_bytes()
    capsys.readouterr()
    assert main(args) == 1
    err = capsys.readouterr().err
    assert "--overwrite" in err and len(err.strip().splitlines()) == 1
    assert (out / "loop" / "kick.wav").read_bytes() == before
    assert main(args + ["--overwrite"]) == 0


def test_cli_drums_errors_are_one_line(tmp_path, capsys):
    assert main(["drums", str(tmp_path / "missing.wav"), "-o", str(tmp_path)]) == 1
    assert main(["drums", str(tmp_path / "loop.wav"), "--n-fft", "16"]) == 2  # usage error
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all(line.startswith("nmfaudio: error:") for line in err)


def test_cli_drums_json_summary(tmp_path, drum_loop, capsys):
    import json

    _, mix = drum_loop
    src = save(tmp_path / "loop.wav", mix, SR)
    assert main(["drums", str(src), "-o", str(tmp_path / "o"), "--n-fft", "1024",
                 "--iterations", "5", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["command"] == "drums" and sorted(doc["outputs"]) == ["hihat", "kick", "snare"]
    assert doc["settings"]["max_iter"] == 5 and doc["settings"]["hop_length"] == 256
    assert doc["sample_rate"] == SR
