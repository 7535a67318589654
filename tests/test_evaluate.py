import json
import warnings
from pathlib import Path

import numpy as np
import pytest

import nmfaudio
from nmfaudio import ParameterError, evaluate, load, oracle_separate, save, si_sdr
from nmfaudio.cli import main

FIXTURES = Path(__file__).resolve().parent.parent / "audio_fixtures"


@pytest.fixture(autouse=True)
def _one_blas_thread():
    """BSS-Eval solves dense 512-tap systems; on a busy two-core machine two BLAS threads
    spin against each other and make this file ~5x slower, so run it single-threaded."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        yield


def _mir_eval(refs, ests, permute=False):
    from mir_eval.separation import bss_eval_sources

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        return bss_eval_sources(np.asarray(refs, np.float64), np.asarray(ests, np.float64),
                                compute_permutation=permute)


def _naive_si_sdr(s, e):
    s, e = np.ravel(s).astype(np.float64), np.ravel(e).astype(np.float64)
    target = (np.sum(e * s) / np.sum(s * s)) * s
    return 10 * np.log10(np.sum(target ** 2) / np.sum((e - target) ** 2))


@pytest.fixture
def two(rng):
    """Two 0.25 s sources and noisy, leaky estimates of them."""
    refs = rng.standard_normal((2, 2000)) * np.array([[1.0], [0.5]])
    ests = refs + 0.3 * refs[::-1] + 0.2 * rng.standard_normal((2, 2000))
    return refs, ests


@pytest.fixture
def three(rng):
    """Three 0.25 s sources and noisy, leaky estimates of them."""
    refs = rng.standard_normal((3, 2000)) * np.array([[1.0], [0.5], [2.0]])
    ests = refs + 0.3 * refs[[1, 2, 0]] + 0.2 * rng.standard_normal((3, 2000))
    return refs, ests


def test_agrees_with_mir_eval(three):
    refs, ests = three
    res = evaluate(refs, ests)
    sdr, sir, sar, perm = _mir_eval(refs, ests)
    got = {k: [r[k] for r in res["per_source"]] for k in ("sdr", "sir", "sar")}
    np.testing.assert_allclose(got["sdr"], sdr, atol=0.01)
    np.testing.assert_allclose(got["sir"], sir, atol=0.01)
    np.testing.assert_allclose(got["sar"], sar, atol=0.01)
    assert res["permutation"] == [0, 1, 2]
    assert res["mean"]["sdr"] == pytest.approx(np.mean(sdr))
    assert [r["name"] for r in res["per_source"]] == ["source1", "source2", "source3"]
    json.dumps(res, allow_nan=False)  # plain JSON


def test_float32_and_lists_give_the_same(two):
    refs, ests = two
    a = evaluate(refs, ests)
    b = evaluate(list(refs.astype(np.float32)), list(ests.astype(np.float32)))
    for ra, rb in zip(a["per_source"], b["per_source"]):
        for k in ("sdr", "sir", "sar", "si_sdr"):
            assert rb[k] == pytest.approx(ra[k], abs=0.01)


def test_si_sdr_matches_naive_formula_and_ignores_gain(rng):
    s = rng.standard_normal(3000)
    e = s + 0.4 * rng.standard_normal(3000)
    assert si_sdr(s, e) == pytest.approx(_naive_si_sdr(s, e), abs=1e-9)
    assert si_sdr(s, 0.1 * e) == pytest.approx(si_sdr(s, e), abs=1e-9)
    assert si_sdr(s, 3 * s) > 200  # a perfect estimate: only rounding error is left
    stereo_s, stereo_e = rng.standard_normal((2, 1000)), rng.standard_normal((2, 1000))
    assert si_sdr(stereo_s, stereo_e) == pytest.approx(_naive_si_sdr(stereo_s, stereo_e))
    res = evaluate(s[None], e[None])
    assert res["per_source"][0]["si_sdr"] == pytest.approx(_naive_si_sdr(s, e), abs=1e-9)
    assert res["per_source"][0]["sir"] is None  # one source: no interference, infinite SIR


def test_improvement_is_metric_minus_mixture_metric(two):
    refs, ests = two
    mix = refs.sum(axis=0)
    res = evaluate(refs, ests, mixture=mix)
    mix_res = evaluate(refs, np.stack([mix] * 2))
    for r, m in zip(res["per_source"], mix_res["per_source"]):
        assert r["sdr_improvement"] == pytest.approx(r["sdr"] - m["sdr"], abs=1e-9)
        assert r["si_sdr_improvement"] == pytest.approx(r["si_sdr"] - m["si_sdr"], abs=1e-9)
    assert res["mean"]["sdr_improvement"] == pytest.approx(
        np.mean([r["sdr_improvement"] for r in res["per_source"]]))


def test_permute_finds_the_order(three):
    refs, ests = three
    order = [2, 0, 1]
    plain = evaluate(refs, ests)
    res = evaluate(refs, ests[order], permute=True)
    # permutation[j] is the index of the estimate matched to reference j
    assert res["permutation"] == [order.index(j) for j in range(3)]
    for a, b in zip(plain["per_source"], res["per_source"]):
        assert b["sdr"] == pytest.approx(a["sdr"], abs=1e-6)
        assert b["si_sdr"] == pytest.approx(a["si_sdr"], abs=1e-9)
    # without permute the wrong order scores badly
    assert evaluate(refs, ests[order])["mean"]["sdr"] < plain["mean"]["sdr"] - 10


def test_dicts_are_matched_by_key(two):
    refs, ests = two
    R = {"a": refs[0], "b": refs[1]}
    E = {"b": ests[1], "a": ests[0]}
    res = evaluate(R, E)
    assert [r["name"] for r in res["per_source"]] == ["a", "b"]
    assert res["mean"]["sdr"] == pytest.approx(evaluate(refs, ests)["mean"]["sdr"])


def test_multichannel_scores_concatenated_channels(rng):
    refs = rng.standard_normal((2, 2, 2000))
    ests = refs + 0.3 * rng.standard_normal((2, 2, 2000))
    res = evaluate(refs, ests, mixture=refs.sum(axis=0))
    flat = evaluate(refs.reshape(2, -1), ests.reshape(2, -1), mixture=refs.sum(axis=0).ravel())
    assert res == flat


@pytest.mark.parametrize("refs, ests, match", [
    (np.ones((2, 100)), np.ones((2, 90)), "90 samples"),
    (np.ones((2, 100)), np.ones((3, 100)), "3 source"),
    ([np.ones(100), np.ones(90)], [np.ones(100), np.ones(100)], r"references\[1\] has shape"),
    (np.ones(100), np.ones(100), "n_sources"),
    (np.ones((2, 100)), np.full((2, 100), np.nan), "NaN"),
    (np.stack([np.ones(100), np.zeros(100)]), np.ones((2, 100)), r"references\[1\] is silent"),
    (np.ones((2, 100)), np.stack([np.ones(100), np.zeros(100)]), r"estimates\[1\] is silent"),
    ({"a": np.ones(100)}, {"b": np.ones(100)}, "keys"),
    ("refs.wav", np.ones((1, 100)), "array"),
])
def test_bad_input(refs, ests, match):
    with pytest.raises(ParameterError, match=match):
        evaluate(refs, ests)


def test_bad_mixture(two):
    refs, ests = two
    with pytest.raises(ParameterError, match="mixture has shape"):
        evaluate(refs, ests, mixture=refs.sum(axis=0)[:-1])
    with pytest.raises(ParameterError, match="silent"):
        si_sdr(np.zeros(10), np.ones(10))


# ---------------------------------------------------------------- oracle


def _fixture_sources(kind):
    names = {"music": ("piano", "flute"), "speech": ("clean", "noise")}[kind]
    return np.stack([load(FIXTURES / kind / f"{n}.wav")[0] for n in names])


@pytest.mark.parametrize("kind", ["music", "speech"])
def test_oracle_far_above_mixture_and_sums_to_mixture(kind):
    src = _fixture_sources(kind)
    mix = src.sum(axis=0)
    est = oracle_separate(src)
    assert est.shape == src.shape and est.dtype == np.float32
    assert np.max(np.abs(est.sum(axis=0) - mix)) < 1e-5
    res = evaluate(src, est, mixture=mix)
    for row in res["per_source"]:
        assert row["sdr_improvement"] >= 10, row
        assert row["si_sdr_improvement"] >= 10, row


def test_oracle_options_and_containers(two_tone):
    sr, a, b = two_tone
    src = {"tone": a, "noise": b}
    soft = oracle_separate(src, n_fft=512)
    assert list(soft) == ["tone", "noise"]
    binary = oracle_separate([a, b], mask="binary", n_fft=512)
    assert np.max(np.abs(binary.sum(axis=0) - (a + b))) < 1e-5
    stereo = np.stack([np.stack([a, 0.5 * a]), np.stack([b, 0.2 * b])]).astype(np.float64)
    est = oracle_separate(stereo, n_fft=512, mask_power=1.0)
    assert est.shape == stereo.shape and est.dtype == np.float64
    assert np.max(np.abs(est.sum(axis=0) - stereo.sum(axis=0))) < 1e-9
    given = oracle_separate([a, b], n_fft=512, mixture=2 * (a + b))
    assert np.max(np.abs(given.sum(axis=0) - 2 * (a + b))) < 1e-5
    with pytest.raises(ParameterError, match="mask="):
        oracle_separate([a, b], mask="ideal")
    with pytest.raises(ParameterError, match="power"):
        oracle_separate([a, b], mask_power=0)
    with pytest.raises(ParameterError, match="source 1 has shape"):
        oracle_separate([a, b[:-1]])
    with pytest.raises(ParameterError, match="mixture has shape"):
        oracle_separate([a, b], mixture=a[:-1])
    with pytest.raises(ParameterError, match="n_sources"):
        oracle_separate(a)


def test_exported():
    for name in ("evaluate", "si_sdr", "oracle_separate"):
        assert callable(getattr(nmfaudio, name)) and name in nmfaudio.__all__


# ---------------------------------------------------------------- CLI


@pytest.fixture
def wav_set(tmp_path, two_tone):
    sr, a, b = two_tone
    est = oracle_separate([a, b], n_fft=512)
    paths = {
        "a": save(tmp_path / "ref" / "tone.wav", a, sr),
        "b": save(tmp_path / "ref" / "noise.wav", b, sr),
        "ea": save(tmp_path / "est" / "s1.wav", est[0], sr),
        "eb": save(tmp_path / "est" / "s2.wav", est[1], sr),
        "mix": save(tmp_path / "mix.wav", a + b, sr),
    }
    return {k: str(v) for k, v in paths.items()}


def test_cli_json(wav_set, capsys):
    p = wav_set
    code = main(["evaluate", "--ref", p["a"], p["b"], "--est", p["ea"], p["eb"], "--mix", p["mix"],
                 "--json"])
    assert code == 0
    out = json.loads(capsys.readouterr().out)  # stdout is only JSON
    assert [r["name"] for r in out["per_source"]] == ["tone", "noise"]
    assert out["per_source"][1]["estimate"] == p["eb"]
    assert out["mean"]["sdr_improvement"] > 10


def test_cli_table_and_permute(wav_set, capsys):
    p = wav_set
    assert main(["evaluate", "--ref", p["a"], p["b"], "--est", p["eb"], p["ea"], "--permute"]) == 0
    out = capsys.readouterr().out
    assert "SDR" in out and "SI-SDR" in out and "mean" in out and "SDRi" not in out
    assert f"tone <- {p['ea']}" in out


@pytest.mark.parametrize("which, code, match", [
    (lambda p: ["--ref", p["a"], p["b"], "--est", p["ea"]], 1, "1 --est"),
    (lambda p: ["--ref", p["a"], "--est", "/nonexistent/x.wav"], 1, "x.wav"),
    (lambda p: ["--est", p["ea"]], 2, "--ref"),
])
def test_cli_errors_are_one_line(wav_set, capsys, which, code, match):
    assert main(["evaluate"] + which(wav_set)) == code
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and err.startswith("nmfaudio: error:")
    assert match in err


def test_cli_sample_rate_mismatch(wav_set, tmp_path, two_tone, capsys):
    sr, a, _ = two_tone
    other = save(tmp_path / "other.wav", a, sr * 2)
    assert main(["evaluate", "--ref", wav_set["a"], "--est", str(other)]) == 1
    assert "sample rates" in capsys.readouterr().err


# --------------------------------------------------------------------------- perceptual metrics

SPEECH = FIXTURES / "speech"


@pytest.fixture(scope="module")
def speech():
    """3 s of the clean speech fixture and of its recorded noise, same length."""
    clean, sr = load(SPEECH / "clean.wav")
    noise, sr_n = load(SPEECH / "noise.wav")
    assert sr == sr_n
    n = min(len(clean), len(noise), 3 * sr)
    return clean[:n].astype(np.float64), noise[:n].astype(np.float64), sr


def _at_snr(clean, noise, snr_db):
    g = np.sqrt(np.sum(clean ** 2) / (np.sum(noise ** 2) * 10 ** (snr_db / 10)))
    return clean + g * noise


def test_default_metrics_unchanged(two):
    refs, ests = two
    res = evaluate(refs, ests, mixture=refs.sum(axis=0))
    assert set(res["mean"]) == {"sdr", "sir", "sar", "si_sdr", "sdr_improvement",
                                "si_sdr_improvement"}
    from nmfaudio.evaluate import METRICS

    assert METRICS == ("sdr", "sir", "sar", "si_sdr")
    assert evaluate(refs, ests, metrics=METRICS) == evaluate(refs, ests)


def test_metric_subset_only_asked_keys(two):
    refs, ests = two
    res = evaluate(refs, ests, metrics=["si_sdr"], mixture=refs.sum(axis=0))
    assert set(res["per_source"][0]) == {"name", "si_sdr", "si_sdr_improvement"}
    assert res["per_source"][0]["si_sdr"] == pytest.approx(si_sdr(refs[0], ests[0]))


def test_stoi_clean_high_noise_low(speech):
    clean, noise, sr = speech
    res = evaluate(clean[None], np.stack([clean]), metrics=("stoi",), sr=sr)
    assert res["per_source"][0]["stoi"] > 0.99
    low = evaluate(clean[None], noise[None], metrics=("stoi",), sr=sr)["mean"]["stoi"]
    assert low < 0.4
    mid = evaluate(clean[None], _at_snr(clean, noise, 0)[None], metrics=("stoi",), sr=sr)
    assert low < mid["mean"]["stoi"] < 0.99


def test_pesq_monotone_in_snr_and_resampled(speech):
    from nmfaudio.io import resample

    clean, noise, sr = speech
    # at 22050 Hz, so that the resampling to 16 kHz is exercised
    clean, noise, sr = resample(clean, sr, 22050), resample(noise, sr, 22050), 22050
    scores = [evaluate(clean[None], _at_snr(clean, noise, snr)[None], metrics=("pesq",),
                       sr=sr)["mean"]["pesq"] for snr in (-5, 5, 15, 25)]
    assert all(a < b for a, b in zip(scores, scores[1:])), scores
    assert 1.0 <= scores[0] and scores[-1] <= 4.7
    top = evaluate(clean[None], clean[None], metrics=("pesq",), sr=sr)["mean"]["pesq"]
    assert top > 4.4


def test_perceptual_improvement_over_mixture(speech):
    clean, noise, sr = speech
    mix = _at_snr(clean, noise, 0)
    better = _at_snr(clean, noise, 10)
    res = evaluate(clean[None], better[None], mixture=mix, metrics=("stoi", "pesq", "sdr"), sr=sr)
    row = res["per_source"][0]
    assert row["stoi_improvement"] > 0 and row["pesq_improvement"] > 0
    assert row["sdr_improvement"] == pytest.approx(10, abs=1.0)
    assert list(row) == ["name", "sdr", "stoi", "pesq", "sdr_improvement", "stoi_improvement",
                         "pesq_improvement"]


@pytest.mark.parametrize("kwargs, match", [
    ({"metrics": ("stoi",)}, "sr="),
    ({"metrics": ("pesq",), "sr": 0}, "sr=0"),
    ({"metrics": ("sdr", "loudness")}, "loudness"),
    ({"metrics": ()}, "one or more"),
    ({"metrics": 3}, "sequence"),
])
def test_metric_arguments_validated(two, kwargs, match):
    refs, ests = two
    with pytest.raises(ParameterError, match=match):
        evaluate(refs, ests, **kwargs)


@pytest.mark.parametrize("metric, module", [("stoi", "pystoi"), ("pesq", "pesq")])
def test_missing_metric_package_names_the_extra(two, monkeypatch, metric, module):
    import builtins

    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name == module or name.startswith(module + "."):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    refs, ests = two
    with pytest.raises(ParameterError, match=r'pip install "nmfaudio\[metrics\]"') as info:
        evaluate(refs, ests, metrics=(metric,), sr=8000)
    assert module in str(info.value)
    # the default metrics do not need the optional packages
    assert evaluate(refs, ests)["mean"]["sdr"] is not None


def test_import_does_not_load_metric_packages():
    import subprocess
    import sys

    code = "import sys, nmfaudio; print(any(m in sys.modules for m in ('pystoi', 'pesq')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_cli_metrics(speech, tmp_path, capsys):
    clean, noise, sr = speech
    ref = save(tmp_path / "speech.wav", clean.astype(np.float32), sr)
    est = save(tmp_path / "est.wav", _at_snr(clean, noise, 10).astype(np.float32), sr)
    mix = save(tmp_path / "mix.wav", _at_snr(clean, noise, 0).astype(np.float32), sr)
    code = main(["evaluate", "--ref", str(ref), "--est", str(est), "--mix", str(mix),
                 "--metrics", "si_sdr,stoi,pesq", "--json"])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out["mean"]) == {"si_sdr", "stoi", "pesq", "si_sdr_improvement",
                                "stoi_improvement", "pesq_improvement"}
    assert main(["evaluate", "--ref", str(ref), "--est", str(est), "--metrics", "stoi"]) == 0
    table = capsys.readouterr().out
    assert "STOI" in table and "SDR" not in table
    assert main(["evaluate", "--ref", str(ref), "--est", str(est), "--metrics", "bogus"]) == 1
    assert "bogus" in capsys.readouterr().err
