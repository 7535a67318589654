"""Bundled models: listing, loading, metadata, packaging, named-instrument separation."""

import json
import subprocess
import sys
from importlib import resources

import numpy as np
import pytest

import nmfaudio
from nmfaudio.cli import main

REQUIRED = ["piano", "electric-piano", "organ", "guitar", "bass", "violin", "cello", "strings",
            "trumpet", "saxophone", "clarinet", "flute", "marimba", "drums", "speech"]
BUDGET_BYTES = 10 * 1024 * 1024
NAMES = [m["name"] for m in nmfaudio.list_models()]


def test_required_models_listed():
    assert set(REQUIRED) <= set(NAMES)
    assert NAMES == sorted(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_model_loads_with_valid_templates(name):
    d = nmfaudio.load_model(name)
    assert isinstance(d, nmfaudio.SourceDictionary) and d.name == name
    assert d.W.dtype == np.float32 and d.W.shape == (d.stft.n_freq, d.n_components)
    assert np.all(np.isfinite(d.W)) and (d.W >= 0).all()
    np.testing.assert_allclose(d.W.sum(axis=0), 1.0, rtol=1e-4)  # unit-sum columns (dictionary convention)
    assert d.n_components >= 8 and len(np.unique(d.W.argmax(axis=0))) > 1  # not degenerate


@pytest.mark.parametrize("entry", nmfaudio.list_models(), ids=NAMES)
def test_metadata_complete_and_consistent(entry):
    assert entry["kind"] in ("instrument", "speech", "noise")
    assert entry["training_material"] and all(s.strip() for s in entry["training_material"])
    assert entry["licence"].strip()
    assert not any("fluidr3" in s.lower().replace("_", "") for s in entry["training_material"])
    d = nmfaudio.load_model(entry["name"])
    assert d.info["licence"] == entry["licence"] and d.info["training_material"] == entry["training_material"]
    assert (d.sr, d.n_components, d.stft.n_fft) == (entry["sr"], entry["n_components"], entry["n_fft"])


def test_unknown_name_lists_known_names():
    with pytest.raises(nmfaudio.ParameterError) as err:
        nmfaudio.load_model("kazoo")
    assert "kazoo" in str(err.value) and "piano" in str(err.value) and "speech" in str(err.value)
    with pytest.raises(nmfaudio.ParameterError):
        nmfaudio.load_model(3)


def test_files_are_package_resources_within_budget():
    root = resources.files("nmfaudio.models")
    total = 0
    for m in nmfaudio.list_models():
        f = root.joinpath(m["file"])
        assert f.is_file()
        size = len(f.read_bytes())
        assert size == m["bytes"]
        total += size
    assert root.joinpath("index.json").is_file() and root.joinpath("MODELS.md").is_file()
    assert 0 < total <= BUDGET_BYTES


def test_package_data_declares_the_files():
    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11
    from pathlib import Path

    cfg = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())
    data = cfg["tool"]["setuptools"]["package-data"]["nmfaudio.models"]
    assert "*.npz" in data and "index.json" in data


def test_import_loads_no_model():
    code = ("import nmfaudio, nmfaudio.models as m; "
            "print(m._load.cache_info().currsize, m._index.cache_info().currsize)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["0", "0"]


def test_load_returns_cached_read_only_object():
    a, b = nmfaudio.load_model("piano"), nmfaudio.load_model("piano")
    assert a is b and not a.W.flags.writeable


def test_list_models_returns_copies():
    first = nmfaudio.list_models()
    first[0]["training_material"].append("tampered")
    first[0]["name"] = "tampered"
    assert nmfaudio.list_models()[0]["name"] != "tampered"
    assert "tampered" not in nmfaudio.list_models()[0]["training_material"]


def _tones(sr, seconds=1.0):
    t = np.arange(int(sr * seconds)) / sr
    a = (0.3 * np.sin(2 * np.pi * 110 * t)).astype(np.float32)
    b = (0.2 * np.sin(2 * np.pi * 880 * t) * (t % 0.25 < 0.12)).astype(np.float32)
    return a, b


def test_separate_with_instruments_matches_supervised_path():
    d = nmfaudio.load_model("piano")
    a, b = _tones(d.sr)
    y = a + b
    out = nmfaudio.separate(y, d.sr, instruments=["bass", "flute"], max_iter=10)
    ref = nmfaudio.separate(y, d.sr, dictionaries=[nmfaudio.load_model("bass"), nmfaudio.load_model("flute")],
                            max_iter=10)
    assert sorted(out) == ["bass", "flute"]
    for k in out:
        assert out[k].dtype == np.float32 and out[k].shape == y.shape
        np.testing.assert_array_equal(out[k], ref[k])


def test_separate_with_instruments_resamples_other_rates():
    a, b = _tones(16000)
    y = np.stack([a + b, 0.5 * (a + b)])  # stereo at 16 kHz, models are at 22.05 kHz
    out = nmfaudio.separate(y, 16000, instruments=["bass", "flute"], max_iter=10)
    assert all(v.shape == y.shape and v.dtype == np.float32 for v in out.values())
    resid = y - sum(out.values())
    assert np.sqrt(np.mean(resid ** 2)) < 0.05 * np.sqrt(np.mean(y ** 2))
    # the low tone mostly goes to bass
    assert np.sum(out["bass"][0] * a) > np.sum(out["flute"][0] * a)


@pytest.mark.parametrize("bad, words", [
    (["piano", "piano"], ["piano", "more than once"]),
    (["piano", "kazoo"], ["kazoo", "bass"]),
    ([], ["empty"]),
])
def test_separate_refuses_bad_instrument_lists(bad, words):
    y = np.zeros(4000, np.float32)
    with pytest.raises(nmfaudio.ParameterError) as err:
        nmfaudio.separate(y, 22050, instruments=bad)
    assert all(w in str(err.value) for w in words)


def test_separate_refuses_instruments_with_dictionaries():
    y = np.zeros(4000, np.float32)
    with pytest.raises(nmfaudio.ParameterError, match="not several"):
        nmfaudio.separate(y, 22050, instruments=["piano"], n_sources=2)


@pytest.mark.parametrize("option", [dict(beta="is"), dict(n_components=7), dict(grouping="kmeans"),
                                    dict(mask="binary"), dict(tol=1e-3), dict(window="hamming")])
def test_separate_with_instruments_refuses_unsupervised_options(option):
    """They were silently ignored before: instruments= is supervised separation."""
    y = np.zeros(4000, np.float32)
    name = next(iter(option))
    with pytest.raises(nmfaudio.ParameterError, match=rf"ignores {name}="):
        nmfaudio.separate(y, 22050, instruments=["piano"], **option)


def test_separate_instruments_is_separate_with_instruments():
    from nmfaudio.models.instruments import separate_instruments

    y = 0.1 * np.random.default_rng(0).standard_normal(11025).astype(np.float32)
    a = separate_instruments(y, 16000, ["piano", "flute"], max_iter=3)
    b = nmfaudio.separate(y, 16000, instruments=["piano", "flute"], max_iter=3)
    assert list(a) == ["piano", "flute"] and all(np.array_equal(a[k], b[k]) for k in a)
    assert a["piano"].shape == y.shape and a["piano"].dtype == np.float32
    with pytest.raises(nmfaudio.ParameterError, match="ignores beta="):
        separate_instruments(y, 16000, ["piano"], beta="is")


def test_cli_models_table_and_json(capsys):
    assert main(["models"]) == 0
    text = capsys.readouterr().out
    assert all(n in text for n in REQUIRED) and "licence" in text
    assert main(["models", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [m["name"] for m in data] == NAMES
    assert all(m["licence"] and m["training_material"] and m["bytes"] > 0 for m in data)


def test_model_templates_map_a_model_to_another_stft():
    """At the model's own STFT the mapped templates are the model's (unit sum, float64); at
    another STFT they have its bins, unit sum, no zeros; the two users share them."""
    from nmfaudio.denoise import _speech_prior
    from nmfaudio.models import model_templates

    m = nmfaudio.load_model("speech")
    same = model_templates("speech", m.stft, m.sr)
    assert same.dtype == np.float64 and same.shape == m.W.shape
    np.testing.assert_allclose(same, m.W / m.W.sum(axis=0), rtol=1e-5, atol=1e-8 * same.max())
    p = nmfaudio.STFTParams(n_fft=512)
    other = model_templates("speech", p, 16000)
    assert other.shape == (p.n_freq, m.W.shape[1]) and np.all(other > 0)
    np.testing.assert_allclose(other.sum(axis=0), 1.0, rtol=1e-12)
    den = nmfaudio.StreamDenoiser(sr=16000)
    np.testing.assert_array_equal(den._W_speech0, model_templates("speech", den.params, 16000))
    np.testing.assert_array_equal(_speech_prior(p, 16000, np.float32), other.astype(np.float32))
    with pytest.raises(nmfaudio.ParameterError, match="unknown model"):
        model_templates("kazoo", p, 16000)
