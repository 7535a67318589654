"""benchmarks/denoise.py's command line and the classic enhancers' adapters in benchmarks/quality/run.py."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "benchmarks" / "quality" / "data"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("denoise_bench", ROOT / "benchmarks/denoise.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_default_methods_are_registered_speech_methods(bench):
    args = bench.parse_args([])
    assert args.methods == bench.METHOD_NAMES
    for name in args.methods:
        assert "speech" in bench.quality.METHODS[name].kinds, name
    assert not args.tune and args.jobs == 1


@pytest.mark.parametrize("argv, message", [
    (["--methods", "nmfaudio-denoise,no-such-method"], "no-such-method"),
    (["--methods", "nmfaudio-drums"], "do not run on speech"),
    (["--methods", "oracle,oracle"], "twice"),
    (["--methods", ","], "empty"),
    (["--jobs", "0"], "got 0"),
    (["--threads", "two"], "'two'"),
    (["--no-such-flag"], "--no-such-flag"),
])
def test_bad_arguments_are_refused_before_any_data_is_read(bench, capsys, argv, message):
    with pytest.raises(SystemExit) as exc:
        bench.parse_args(argv + ["--data", "/nonexistent"])
    assert exc.value.code == 2
    assert message in capsys.readouterr().err


def test_unknown_item_is_refused(bench, tmp_path):
    (tmp_path / "manifest.json").write_text('{"items": []}')
    with pytest.raises(SystemExit, match="speech-test-99"):
        bench.main(["--data", str(tmp_path), "--items", "speech-test-99", "--no-write"])


def _item(bench, n=4000):
    rng = np.random.default_rng(1)
    speech, noise = rng.standard_normal((2, n)).astype(np.float32)
    return bench.quality.Item(id="x", kind="speech", part="test", sr=8000, names=["speech", "noise"],
                              mixture=speech + noise, stems=np.stack([speech, noise]),
                              train={"noise": rng.standard_normal(1000).astype(np.float32)},
                              info={})


def test_lead_adapter_crops_the_noise_clip_and_pads_short_output(bench):
    q = bench.quality
    item = _item(bench)
    seen = {}

    def enhancer(y, n_lead):  # identity that drops the last 100 samples, like logmmse
        seen["y"], seen["n"] = y, n_lead
        return y[:-100]

    out = q._with_lead(item, enhancer)
    assert seen["n"] == item.train["noise"].size
    np.testing.assert_array_equal(seen["y"][:seen["n"]], item.train["noise"])
    assert out.shape == item.mixture.shape and out.dtype == np.float32
    np.testing.assert_array_equal(out[:-100], item.mixture[:-100])
    assert not out[-100:].any()


def test_pyroomacoustics_adapter_removes_the_streaming_delay(bench):
    q = bench.quality
    item = _item(bench)
    half = q.PRA_FRAME // 2
    delayed = lambda y: np.concatenate([np.zeros(half), y[:-half]])  # noqa: E731
    est = q._pra(item, delayed)
    np.testing.assert_allclose(est[0], item.mixture, atol=1e-6)
    np.testing.assert_allclose(est[1], 0, atol=1e-6)
    mix = item.mixture.copy()
    q._pra(item, delayed)
    np.testing.assert_array_equal(item.mixture, mix)


def test_importing_logmmse_keeps_numpy_error_state(bench):
    if importlib.util.find_spec("logmmse") is None:
        pytest.skip("logmmse not installed (benchmark venv only)")
    before = np.geterr()
    assert bench.quality._importable("logmmse")()
    assert np.geterr() == before


@pytest.mark.skipif(not (DATA / "manifest.json").is_file(), reason="benchmark set not built")
def test_one_item_end_to_end(bench, capsys, tmp_path):
    out = tmp_path / "rows.json"
    code = bench.main(["--items", "speech-test-00", "--methods", "mixture,oracle", "--no-write",
                       "--json", str(out)])
    text = capsys.readouterr().out
    assert code == 0
    assert "### test part (1 speech items)" in text
    assert "| `oracle` | true stems" in text and "| `mixture` |" in text
    import json
    rows = json.loads(out.read_text())["rows"]
    by = {r["method"]: r for r in rows}
    assert by["oracle"]["sdr"] > by["mixture"]["sdr"]
    assert by["mixture"]["stoi_improvement"] == pytest.approx(0.0, abs=1e-9)
