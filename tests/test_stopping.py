"""A stop asked for by denoise's callback ends every pass after the one it stopped (the voice
model, the second pass, the input's own model beside a speech dictionary): nmfaudio._stopping."""

import sys

import numpy as np
import pytest

import nmfaudio
from nmfaudio import _stopping

dn = sys.modules["nmfaudio.denoise"]


@pytest.fixture(scope="module")
def speech():
    y, sr = nmfaudio.load("audio_fixtures/speech/noisy.wav")
    noise, _ = nmfaudio.load("audio_fixtures/speech/train/noise.wav")
    clean, _ = nmfaudio.load("audio_fixtures/speech/train/speech.wav")
    sd = nmfaudio.learn_dictionary(clean, sr, name="speech", n_components=8, pitch_shifts=(), max_iter=30)
    return {"y": y, "sr": sr, "noise": noise, "sd": sd}


def _stop_at_once():
    calls = []

    def cb(iteration, loss):
        calls.append(iteration)
        return True

    return cb, calls


def test_stopping_remembers_a_stop():
    answers = iter([False, True, False])
    seen = []
    s = _stopping.wrap(lambda it, loss: seen.append(it) or next(answers))
    assert [s(i, 0.0) for i in range(5)] == [False, True, True, True, True]
    assert seen == [0, 1] and _stopping.stopped(s)
    assert _stopping.wrap(s) is s and _stopping.wrap(None) is None
    assert not _stopping.stopped(None) and not _stopping.stopped(lambda i, l: True)


@pytest.mark.parametrize("mode", ["noise", "blind", "speech_dict", "region"])
def test_a_stop_skips_the_later_passes(speech, monkeypatch, mode):
    y, sr = speech["y"], speech["sr"]
    kw = {"noise": {"noise": speech["noise"]}, "blind": {"segment_seconds": float("inf")},
          "speech_dict": {"noise": speech["noise"], "speech_dictionary": speech["sd"]},
          "region": {"noise_region": (0.0, 0.5)}}[mode]
    cb, calls = _stop_at_once()
    got = nmfaudio.denoise(y, sr, callback=cb, **kw)
    assert len(calls) == 1  # asked once: nothing after the stop calls it again
    # the same as the first model alone, stopped at the same point
    monkeypatch.setattr(dn, "USM_LAMBDA", None)
    monkeypatch.setattr(dn, "BLIND_SECOND_PASS", None)
    monkeypatch.setattr(dn, "SAMPLE_SECOND_PASS", None)
    monkeypatch.setattr(dn, "SPEECH_DICT_WITH_INPUT", False)
    cb2, _ = _stop_at_once()
    mp = {"mask_power": dn.MASK_POWER_SPEECH_DICT_INPUT} if mode == "speech_dict" else {}
    np.testing.assert_array_equal(got, nmfaudio.denoise(y, sr, callback=cb2, **kw, **mp))
    assert np.all(np.isfinite(got)) and got.dtype == y.dtype


def test_a_callback_that_never_stops_changes_nothing(speech):
    y, sr = speech["y"], speech["sr"]
    calls = []
    got = nmfaudio.denoise(y, sr, noise=speech["noise"], callback=lambda it, loss: calls.append(it) and False)
    np.testing.assert_array_equal(got, nmfaudio.denoise(y, sr, noise=speech["noise"]))
    assert calls  # it was called


def test_blind_local_models_all_stop(speech):
    """Blind local models (segments): a stop ends every remaining segment's passes too."""
    y = np.tile(speech["y"], 5)  # 20 s: local models
    cb, calls = _stop_at_once()
    out = nmfaudio.denoise(y, speech["sr"], callback=cb, max_iter=50)
    assert len(calls) == 1 and out.shape == y.shape and np.all(np.isfinite(out))
