"""The note-wise training recipe of benchmarks/models/train_models.py, and the bundled models it made."""

import importlib.util
import re
from pathlib import Path

import numpy as np
import pytest

import nmfaudio

ROOT = Path(__file__).resolve().parents[1]


def _train_models():
    spec = importlib.util.spec_from_file_location("train_models", ROOT / "benchmarks/models/train_models.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _harmonic_frames(f0, sr, n_fft, n_frames, rng):
    """Magnitude frames of a harmonic tone at f0 (5 partials, decaying) with a little noise."""
    freqs = np.arange(n_fft // 2 + 1) * sr / n_fft
    spec = sum(0.7 ** h * np.exp(-0.5 * ((freqs - (h + 1) * f0) / 8.0) ** 2) for h in range(5))
    return (spec[:, None] * rng.uniform(0.5, 1.5, n_frames) + 1e-4 * rng.random((freqs.size, n_frames))
            ).astype(np.float32)


@pytest.mark.parametrize("per_note_k, split", [(1, False), (2, False), (1, True)])
def test_learn_notes_one_group_of_templates_per_note_in_pitch_order(per_note_k, split):
    tm = _train_models()
    rng = np.random.default_rng(0)
    sr, n_fft = tm.SR, tm.default_stft(tm.SR).n_fft
    pitches = [45, 52, 57, 64]
    renderings = 2
    per_note = {p: [_harmonic_frames(440 * 2 ** ((p - 69) / 12), sr, n_fft, 12, rng) for _ in range(renderings)]
                for p in pitches}
    d = tm.learn_notes("x", "instrument", per_note, ["synthetic"], ["CC0"], per_note_k, split=split)
    per = per_note_k * (renderings if split else 1)
    assert d.n_components == len(pitches) * per
    np.testing.assert_allclose(d.W.sum(axis=0), 1.0, rtol=1e-4)
    # each note's group of templates peaks at that note's fundamental (±1.5 bins), notes ascending
    for i, p in enumerate(pitches):
        f0_bin = 440 * 2 ** ((p - 69) / 12) * n_fft / sr
        peak = d.W[:, i * per:(i + 1) * per].sum(axis=1).argmax()
        assert abs(peak - f0_bin) <= 1.5, (p, peak, f0_bin)
    assert d.info["recipe"].startswith(f"notes, {per_note_k} per note")


def test_note_midi_plays_every_note_alone_at_every_velocity():
    pytest.importorskip("pretty_midi")
    tm = _train_models()
    pm, notes = tm.note_midi(0, 60, 64)
    played = sorted((n.pitch, n.velocity) for n in pm.instruments[0].notes)
    assert played == sorted((p, v) for p in range(60, 65) for v in tm.VELOCITIES)
    starts = np.array([a for _, a, _ in notes])
    ends = np.array([b for _, _, b in notes])
    assert np.all(starts[1:] >= ends[:-1] - 1e-9)  # segments (note + release) never overlap


NOTE_MODELS = [m for m in nmfaudio.list_models()
               if nmfaudio.load_model(m["name"]).info.get("recipe", "").startswith("notes")]


def test_bundled_instruments_are_note_wise():
    for m in nmfaudio.list_models():  # the index says how each model was made, as the model does
        assert m["recipe"] == nmfaudio.load_model(m["name"]).info.get("recipe", m["recipe"])
        assert m["recipe"] != "unknown"
    names = {m["name"] for m in NOTE_MODELS}
    assert {"piano", "bass", "flute", "violin", "cello", "clarinet", "trumpet"} <= names


@pytest.mark.parametrize("entry", NOTE_MODELS, ids=[m["name"] for m in NOTE_MODELS])
def test_note_wise_model_has_one_template_per_note_low_to_high(entry):
    d = nmfaudio.load_model(entry["name"])
    lo, hi = map(int, re.search(r"MIDI (\d+)-(\d+)", entry["training_material"][0]).groups())
    assert d.n_components == hi - lo + 1
    # the lowest strong spectral peak (above 40 Hz) rises with the template index
    first = int(np.ceil(40 * d.stft.n_fft / d.sr))
    W = d.W[first:]
    low = np.array([np.argmax(W[:, k] > 0.25 * W[:, k].max()) for k in range(W.shape[1])])
    rank = np.corrcoef(np.argsort(np.argsort(low)), np.arange(low.size))[0, 1]
    assert rank > 0.85, rank
