"""The universal speech model (nmfaudio._usm) and its use by denoise."""

import json
from pathlib import Path

import numpy as np
import pytest

import nmfaudio
from nmfaudio import _usm
from nmfaudio.models import list_models, load_model
from nmfaudio.stft import STFTParams

dn = __import__("nmfaudio.denoise", fromlist=["denoise"])
SPLIT = Path(__file__).resolve().parents[1] / "benchmarks" / "quality" / "split.json"


def _kl(X, Y):
    return float(np.sum(X * np.log(np.maximum(X, 1e-30) / Y) - X + Y))


def _objective(V, U, groups, Wn, H, lam, eps=_usm.EPS):
    """Penalised loss on the scaled problem (mean(V) = 1), as _usm.fit minimises it."""
    scale = V.mean()
    X, Hs = V / scale, H / scale
    W = np.concatenate([U, Wn], axis=1)
    G = groups.max() + 1
    unit = X.sum() / G
    block = np.bincount(groups, weights=Hs[:U.shape[1]].sum(1), minlength=G)
    return _kl(X, np.maximum(W @ Hs, 1e-30)) + lam * unit * np.sum(np.log(eps * unit + block))


@pytest.fixture(scope="module")
def voices():
    U, groups = _usm.templates(STFTParams(n_fft=256, hop_length=64), 8000, np.float64)
    return U, groups


@pytest.fixture(scope="module")
def planted(voices):
    U, groups = voices
    rng = np.random.default_rng(0)
    F = U.shape[0]
    Wn = rng.random((F, 3)) + 0.05
    Wn /= Wn.sum(0)
    T = 60
    Hs = np.zeros((U.shape[1], T))
    cols = np.flatnonzero(groups == 5)
    Hs[cols] = rng.gamma(1.0, 1.0, (len(cols), T))
    Hn = rng.gamma(2.0, 0.3, (3, T))
    return U @ Hs + Wn @ Hn, Wn, 5


def test_bundled_voice_model_is_listed_with_blocks_and_its_material():
    d = load_model("speech-voices")
    blocks = np.asarray(d.info["blocks"])
    assert blocks.shape == (d.W.shape[1],)
    assert np.all(np.diff(blocks) >= 0) and blocks[0] == 0
    assert len(d.info["voices"]) == blocks.max() + 1
    assert np.all(np.bincount(blocks) == 8)
    assert "speech-voices" in [m["name"] for m in list_models()]
    assert "GPL" in d.info["licence"] and d.info["training_material"]


def test_voice_model_uses_no_voice_of_the_benchmark_split():
    split = json.loads(SPLIT.read_text())["speech"]
    banned = set()
    for part in ("tune", "test"):
        banned |= set(split[part]["voices"]) | set(split[part]["babble_talkers"])
    assert not banned & set(load_model("speech-voices").info["voices"])


def test_penalised_loss_never_increases(voices, planted):
    U, groups = voices
    V, Wn, _ = planted
    losses = [_objective(V, U, groups, Wn, _usm.fit(V, U, groups, Wn, lam=0.2, max_iter=n)[0], 0.2)
              for n in range(1, 16)]
    assert np.all(np.diff(losses) <= 1e-9 * abs(losses[0]))


def test_block_sparsity_picks_the_planted_voice(voices, planted):
    U, groups = voices
    V, Wn, g = planted
    mass = {}
    for lam in (0.0, 0.2):
        H, _ = _usm.fit(V, U, groups, Wn, lam=lam, max_iter=300)
        m = np.bincount(groups, weights=(H[:U.shape[1]] * U.sum(0)[:, None]).sum(1))
        mass[lam] = m[g] / m.sum()
    assert mass[0.2] > 0.9
    assert mass[0.2] > mass[0.0]


def test_fit_keeps_dtype_leaves_inputs_alone_and_is_finite_on_silence(voices):
    U, groups = voices
    U32 = U.astype(np.float32)
    Wn = np.full((U.shape[0], 2), 1.0 / U.shape[0], np.float32)
    V = np.abs(np.random.default_rng(1).standard_normal((U.shape[0], 12))).astype(np.float32)
    before = (V.copy(), U32.copy(), Wn.copy())
    H, w = _usm.fit(V, U32, groups, Wn, lam=0.2, max_iter=20)
    assert H.dtype == np.float32 and np.all(np.isfinite(H)) and np.all(H >= 0)
    assert np.all(w > 0)
    for a, b in zip((V, U32, Wn), before):
        np.testing.assert_array_equal(a, b)
    for speech in (None, 0.0):
        H0, _ = _usm.fit(np.zeros_like(V), U32, groups, Wn, lam=0.2, max_iter=20, speech=speech)
        assert np.all(H0 == 0) and H0.dtype == np.float32


@pytest.mark.parametrize("q", [1.0, 2.0])
def test_combined_mask_averages_the_two_models_log_ratios(q):
    rng = np.random.default_rng(2)
    a, b = rng.random((2, 2, 5, 7)) + 0.01
    c = _usm.combine(a, b)
    mask = c[0] ** q / (c[0] ** q + c[1] ** q)
    r = 0.5 * (np.log(a[0] / a[1]) + np.log(b[0] / b[1]))
    np.testing.assert_allclose(mask, 1 / (1 + np.exp(-q * r)), rtol=1e-10)


def test_denoise_uses_the_voice_model_beside_free_templates_and_a_speech_dictionary(monkeypatch, speech_like):
    sr = 8000
    y = speech_like(sr, 2 * sr)
    rng = np.random.default_rng(3)
    noisy = (y + 0.05 * rng.standard_normal(y.shape)).astype(np.float32)
    clip = (0.05 * rng.standard_normal(sr)).astype(np.float32)
    speech = nmfaudio.learn_dictionary(y, sr, name="speech", n_components=8, pitch_shifts=())
    # the dictionary's own model (the input's model beside it: tests/test_denoise_dictionaries.py)
    monkeypatch.setattr(dn, "SPEECH_DICT_WITH_INPUT", False)
    on = nmfaudio.denoise(noisy, sr, noise=clip)
    on_d = nmfaudio.denoise(noisy, sr, noise=clip, speech_dictionary=speech)
    alone = nmfaudio.denoise(noisy, sr, speech_dictionary=speech)  # noise learned on the input
    monkeypatch.setattr(dn, "USM_WITH_SPEECH_DICTIONARY", False)
    off_d = nmfaudio.denoise(noisy, sr, noise=clip, speech_dictionary=speech)
    np.testing.assert_array_equal(nmfaudio.denoise(noisy, sr, noise=clip), on)  # free templates: unchanged
    monkeypatch.setattr(dn, "USM_LAMBDA", None)
    off = nmfaudio.denoise(noisy, sr, noise=clip)
    for a in (on, on_d):
        assert a.dtype == np.float32 and np.all(np.isfinite(a))
    assert np.max(np.abs(on - off)) > 1e-4
    assert np.max(np.abs(on_d - off_d)) > 1e-4  # beside the speech dictionary too
    np.testing.assert_array_equal(off_d, nmfaudio.denoise(noisy, sr, noise=clip, speech_dictionary=speech))
    np.testing.assert_array_equal(alone, nmfaudio.denoise(noisy, sr, speech_dictionary=speech))
    monkeypatch.setattr(dn, "USM_LAMBDA", 0.4)
    np.testing.assert_array_equal(
        nmfaudio.denoise(noisy, sr, noise=clip, speech_dictionary=speech, voice_model=False), off_d)


def test_collapsed_voice_model_leaves_the_free_model_alone(voices, planted):
    U, groups = voices
    V, Wn, _ = planted
    F, T = V.shape
    est = np.stack([0.5 * V, 0.5 * V])[:, None]  # (2, 1 channel, F, T)
    # the penalty's unit set by a speech mass far above the data's: every block is pushed to zero
    H, _ = _usm.fit(V, U, groups, Wn, lam=5.0, max_iter=100, speech=1e6 * V.sum())
    assert np.sum(H[:U.shape[1]]) < 1e-6 * np.sum(H)
    assert _usm.frame_model(V, Wn, lam=5.0, max_iter=100, params=STFTParams(n_fft=256, hop_length=64), sr=8000,
                            speech=1e6 * V.sum()) is None
    assert _usm.collapsed(0.0, 1.0) and not _usm.collapsed(0.5, 1.0)
    np.testing.assert_array_equal(est, est.copy())


def test_frame_model_keeps_the_blocks_in_use_with_their_weights(voices, planted):
    U, groups = voices
    V, Wn, g = planted
    W, n_s, lam = _usm.frame_model(V, Wn, lam=0.2, max_iter=200, params=STFTParams(n_fft=256, hop_length=64),
                                   sr=8000)
    assert 0 < n_s < U.shape[1] and n_s % 8 == 0
    assert W.shape == (U.shape[0], n_s + Wn.shape[1]) and lam.shape == (W.shape[1],)
    assert np.all(lam[:n_s] > 0) and np.all(lam[n_s:] == 0)
    np.testing.assert_allclose(W[:, n_s:], Wn)
    kept = [c for c in range(U.shape[1]) if any(np.allclose(U[:, c], W[:, j]) for j in range(n_s))]
    assert set(groups[kept]) >= {g}


def test_stream_denoising_uses_the_voice_model(monkeypatch, speech_like, tmp_path):
    sr = 8000
    y = speech_like(sr, 3 * sr)
    rng = np.random.default_rng(4)
    noisy = (y + 0.05 * rng.standard_normal(y.shape)).astype(np.float32)
    clip = (0.05 * rng.standard_normal(sr)).astype(np.float32)
    path = nmfaudio.save(tmp_path / "noisy.wav", noisy, sr)
    outs = {}
    for lam in (None, dn.USM_LAMBDA):
        monkeypatch.setattr(dn, "USM_LAMBDA", lam)
        out = nmfaudio.denoise_stream(path, tmp_path / f"c{lam}.wav", noise=clip, block_seconds=0.5)
        outs[lam] = nmfaudio.load(out["clean"])[0]
    on = outs[dn.USM_LAMBDA]
    assert on.shape == noisy.shape and np.all(np.isfinite(on)) and np.abs(on).max() > 0.05
    assert np.max(np.abs(on - outs[None])) > 1e-4


def test_voice_model_option_equals_turning_the_constant_off(monkeypatch, speech_like, tmp_path):
    sr = 8000
    y = speech_like(sr, 2 * sr)
    rng = np.random.default_rng(5)
    noisy = (y + 0.05 * rng.standard_normal(y.shape)).astype(np.float32)
    clip = (0.05 * rng.standard_normal(sr)).astype(np.float32)
    off = nmfaudio.denoise(noisy, sr, noise=clip, voice_model=False)
    blind_off = nmfaudio.denoise(noisy, sr, voice_model=False)
    path = nmfaudio.save(tmp_path / "noisy.wav", noisy, sr)
    stream_off = nmfaudio.load(nmfaudio.denoise_stream(path, tmp_path / "a.wav", noise=clip,
                                                       voice_model=False)["clean"])[0]
    monkeypatch.setattr(dn, "USM_LAMBDA", None)
    np.testing.assert_array_equal(off, nmfaudio.denoise(noisy, sr, noise=clip))
    np.testing.assert_array_equal(blind_off, nmfaudio.denoise(noisy, sr))
    stream_none = nmfaudio.load(nmfaudio.denoise_stream(path, tmp_path / "b.wav", noise=clip)["clean"])[0]
    np.testing.assert_array_equal(stream_off, stream_none)


@pytest.mark.parametrize("bad", ["no", 0, None])
def test_voice_model_must_be_a_bool(bad, speech_like):
    y = speech_like(8000, 8000)
    with pytest.raises(nmfaudio.ParameterError, match="voice_model must be True or False"):
        nmfaudio.denoise(y, 8000, voice_model=bad)


def test_voice_model_off_with_a_speech_dictionary_is_refused(speech_like):
    y = speech_like(8000, 8000)
    speech = nmfaudio.learn_dictionary(y, 8000, name="speech", n_components=4, pitch_shifts=())
    with pytest.raises(nmfaudio.ParameterError, match="voice_model"):
        nmfaudio.denoise(y, 8000, speech_dictionary=speech, voice_model=False)


def test_cli_no_voice_model(tmp_path):
    from nmfaudio.cli import main

    root = Path(__file__).resolve().parents[1]
    noisy = root / "audio_fixtures" / "speech" / "noisy.wav"
    noise = root / "audio_fixtures" / "speech" / "train" / "noise.wav"
    out = {}
    for flag in ([], ["--no-voice-model"]):
        o = tmp_path / f"c{len(flag)}.wav"
        assert main(["denoise", str(noisy), "--noise", str(noise), "-o", str(o), "-q", *flag]) == 0
        out[len(flag)] = nmfaudio.load(o)[0]
    y, sr = nmfaudio.load(noisy)
    ref = nmfaudio.denoise(y, sr, noise=nmfaudio.load(noise, sr=sr)[0], voice_model=False)
    np.testing.assert_allclose(out[1], ref, atol=1e-4)  # 16-bit or float file of the same result
    assert np.max(np.abs(out[0] - out[1])) > 1e-4


def test_fit_survives_every_voice_block_being_pruned(voices):
    # noise alone under a strong penalty: the pruning empties every voice block, and the fit
    # goes on with the noise templates only (it once failed on an empty block list)
    U, groups = voices
    U = U.astype(np.float32)  # float32 activations underflow to zero, which prunes every block
    rng = np.random.default_rng(1)
    Wn = rng.random((U.shape[0], 3)) + 0.05
    Wn = (Wn / Wn.sum(0)).astype(np.float32)
    V = (Wn @ rng.gamma(2.0, 0.3, (3, 40))).astype(np.float32)
    H, w = _usm.fit(V, U, groups, Wn, lam=50.0, max_iter=60)
    assert H.dtype == np.float32
    Ku = U.shape[1]
    assert np.all(np.isfinite(H)) and np.all(H[:Ku] == 0)
    assert np.all(w == 50.0 / _usm.EPS)
    assert np.sum(Wn @ H[Ku:]) > 0.5 * V.sum()


def test_no_voice_model_beside_two_dictionaries(monkeypatch, speech_like):
    # two dictionaries (tune part: the voice model lost 0.35 dB beside them and harmed 3 items):
    # their model takes no voice model; the input's own model beside them (noise-dictionary mode,
    # which has one) is what voice_model switches (tests/test_denoise_dictionaries.py)
    sr = 8000
    y = speech_like(sr, 2 * sr)
    rng = np.random.default_rng(4)
    clip = (0.05 * rng.standard_normal(sr)).astype(np.float32)
    noisy = (y + 0.05 * rng.standard_normal(y.shape)).astype(np.float32)
    speech = nmfaudio.learn_dictionary(y, sr, name="speech", n_components=8, pitch_shifts=())
    noise = nmfaudio.learn_dictionary(clip, sr, name="noise", n_components=4, pitch_shifts=())
    assert not dn.voices_apply(noise, speech, noise_sample=False)
    alone = nmfaudio.denoise(noisy, sr, noise_dictionary=noise, speech_dictionary=speech, voice_model=False)
    monkeypatch.setattr(dn, "USM_LAMBDA", None)  # no voice model anywhere: the dictionaries' model is unchanged
    np.testing.assert_array_equal(
        nmfaudio.denoise(noisy, sr, noise_dictionary=noise, speech_dictionary=speech, voice_model=False), alone)