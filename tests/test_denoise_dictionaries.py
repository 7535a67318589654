"""Trained dictionaries in denoise: a speech dictionary beside a noise sample or region is combined
with the model the input gives without it (nmfaudio.denoise.SPEECH_DICT_WITH_INPUT), and a noise
dictionary beside free speech templates loses its pitch-shifted copies (NOISE_DICT_BASE_ONLY),
offline and in denoise_stream."""

import sys

import numpy as np
import pytest
import soundfile as sf

import nmfaudio
from nmfaudio import _usm

dn = sys.modules["nmfaudio.denoise"]
ds = sys.modules["nmfaudio.denoise_stream"]


@pytest.fixture(scope="module")
def speech(tmp_path_factory):
    y, sr = nmfaudio.load("audio_fixtures/speech/noisy.wav")
    noise, _ = nmfaudio.load("audio_fixtures/speech/train/noise.wav")
    clean, _ = nmfaudio.load("audio_fixtures/speech/train/speech.wav")
    sd = nmfaudio.learn_dictionary(clean, sr, name="speech", n_components=8, pitch_shifts=(1,), max_iter=40)
    nd = nmfaudio.learn_dictionary(noise, sr, name="noise", n_components=6, pitch_shifts=(-1, 2), max_iter=40)
    path = nmfaudio.save(tmp_path_factory.mktemp("dictin") / "noisy.wav", y, sr)
    return {"y": y, "sr": sr, "noise": noise, "sd": sd, "nd": nd, "path": path}


def _kw():
    return dict(Kn=dn.NOISE_COMPONENTS, Ks=dn.SPEECH_COMPONENTS, sparsity=dn.SPARSITY, max_iter=dn.DENOISE_ITER,
                random_state=0)


def test_where_it_applies(speech):
    sd = speech["sd"]
    assert dn.with_input_model(sd, noise_sample=True, voice_model=True)
    assert not dn.with_input_model(sd, noise_sample=True, voice_model=False)
    assert not dn.with_input_model(sd, noise_sample=False, voice_model=True)   # speech dictionary alone
    assert not dn.with_input_model(None, noise_sample=True, voice_model=True)  # no dictionary
    power2 = nmfaudio.SourceDictionary(name="speech", W=sd.W, sr=sd.sr, stft=sd.stft, beta=sd.beta, power=2.0)
    assert not dn.with_input_model(power2, noise_sample=True, voice_model=True)  # the voice model is on magnitudes


def test_noise_sample_combines_the_two_models(speech, monkeypatch):
    """denoise(noise=, speech_dictionary=) is the geometric mean of the dictionary's model and the
    noise-sample mode's, masked at MASK_POWER_SPEECH_DICT_INPUT."""
    y, sr, n, sd = speech["y"], speech["sr"], speech["noise"], speech["sd"]
    got = nmfaudio.denoise(y, sr, noise=n, speech_dictionary=sd)
    monkeypatch.setattr(dn, "SPEECH_DICT_WITH_INPUT", False)
    S, est_d, power = dn._fit(y, sr, sd.stft, n, None, sd, **_kw())
    _, est_in, _ = dn._fit(y, sr, sd.stft, n, None, None, **_kw())
    want = dn._reconstruct(S, _usm.combine(est_d, est_in), params=sd.stft, power=power,
                           mask_power=dn.MASK_POWER_SPEECH_DICT_INPUT, length=y.shape[-1], dtype=y.dtype)["clean"]
    np.testing.assert_allclose(got, want, atol=1e-6)
    alone = nmfaudio.denoise(y, sr, noise=n, speech_dictionary=sd)  # the switch off: the dictionary's model
    assert np.max(np.abs(alone - got)) > 1e-3
    assert got.dtype == y.dtype and got.shape == y.shape


def test_region_takes_no_second_pass(speech, monkeypatch):
    y, sr, sd = speech["y"], speech["sr"], speech["sd"]
    got = nmfaudio.denoise(y, sr, noise_region=(0.0, 0.5), speech_dictionary=sd)
    noise = dn.noise_from_regions(y, sr, (0.0, 0.5), min_samples=sd.stft.n_fft + sd.stft.hop_length)
    monkeypatch.setattr(dn, "SPEECH_DICT_WITH_INPUT", False)
    S, est_d, power = dn._fit(y, sr, sd.stft, noise, None, sd, sample_pass=False, **_kw())
    _, est_in, _ = dn._fit(y, sr, sd.stft, noise, None, None, sample_pass=False, **_kw())
    want = dn._reconstruct(S, _usm.combine(est_d, est_in), params=sd.stft, power=power, mask_power=1.5,
                           length=y.shape[-1], dtype=y.dtype)["clean"]
    np.testing.assert_allclose(got, want, atol=1e-6)


def test_mask_power_default_and_override(speech):
    y, sr, n, sd = speech["y"], speech["sr"], speech["noise"], speech["sd"]
    default = nmfaudio.denoise(y, sr, noise=n, speech_dictionary=sd)
    np.testing.assert_array_equal(default, nmfaudio.denoise(y, sr, noise=n, speech_dictionary=sd,
                                                            mask_power=dn.MASK_POWER_SPEECH_DICT_INPUT))
    assert np.max(np.abs(default - nmfaudio.denoise(y, sr, noise=n, speech_dictionary=sd, mask_power=2.0))) > 1e-4
    # without the combination (voice_model=False) the dictionary mode keeps its own default
    off = nmfaudio.denoise(y, sr, noise=n, speech_dictionary=sd, voice_model=False)
    np.testing.assert_array_equal(off, nmfaudio.denoise(y, sr, noise=n, speech_dictionary=sd, voice_model=False,
                                                        mask_power=dn.MASK_POWER_SPEECH_DICT))


def test_float32_in_float32_out_and_input_unchanged(speech):
    y = speech["y"].astype(np.float32)
    keep = y.copy()
    out = nmfaudio.denoise(y, speech["sr"], noise=speech["noise"], speech_dictionary=speech["sd"])
    assert out.dtype == np.float32 and np.all(np.isfinite(out))
    np.testing.assert_array_equal(y, keep)


def test_silence_gives_silence(speech):
    out = nmfaudio.denoise(np.zeros(speech["sr"], np.float32), speech["sr"], noise=speech["noise"],
                           speech_dictionary=speech["sd"])
    assert np.all(out == 0)


@pytest.mark.parametrize("mode", ["noise", "region"])
def test_stream_follows_offline(speech, tmp_path, mode):
    """The stream fits the input's own model on its subsample too (no second pass there): close to
    the offline result, and different from the dictionary's model alone."""
    kw = {"speech_dictionary": speech["sd"]}
    kw.update({"noise": speech["noise"]} if mode == "noise" else {"noise_region": (0.0, 0.5)})
    nmfaudio.denoise_stream(speech["path"], tmp_path / "on.wav", **kw)
    nmfaudio.denoise_stream(speech["path"], tmp_path / "off.wav", voice_model=False, **kw)
    on, _ = sf.read(str(tmp_path / "on.wav"), dtype="float32")
    off, _ = sf.read(str(tmp_path / "off.wav"), dtype="float32")
    ref = nmfaudio.denoise(speech["y"], speech["sr"], **kw)
    err = np.sum((on - ref) ** 2) / np.sum(ref ** 2)
    assert err < 0.05, err
    assert np.sum((on - off) ** 2) / np.sum(ref ** 2) > 4 * err  # the combination is what brought it close


def test_without_pitch_copies(speech):
    nd = speech["nd"]
    assert nd.n_components == 18
    base = nmfaudio.dictionary.without_pitch_copies(nd)
    np.testing.assert_array_equal(base.W, nd.W[:, :6])
    assert base.info["pitch_shifts"] == [] and base.info["base_components"] == 6
    assert base.name == nd.name and base.beta == nd.beta and base.stft == nd.stft and base.sr == nd.sr
    assert nmfaudio.dictionary.without_pitch_copies(base) is base      # none to drop
    odd = nmfaudio.SourceDictionary(name="n", W=nd.W, sr=nd.sr, stft=nd.stft, info={"pitch_shifts": [1.0]})
    assert nmfaudio.dictionary.without_pitch_copies(odd) is odd        # no base count: kept whole
    assert nd.W.shape[1] == 18                                         # the argument is unchanged


def test_noise_dictionary_mode_uses_the_base_templates(speech, monkeypatch):
    y, sr, nd = speech["y"], speech["sr"], speech["nd"]
    got = nmfaudio.denoise(y, sr, noise_dictionary=nd)
    np.testing.assert_array_equal(got, nmfaudio.denoise(y, sr, noise_dictionary=nmfaudio.dictionary.without_pitch_copies(nd)))
    kw = dict(noise_dictionary=nd, speech_dictionary=_same_stft(speech["sd"], nd), voice_model=False)
    both = nmfaudio.denoise(y, sr, **kw)
    monkeypatch.setattr(dn, "NOISE_DICT_BASE_ONLY", False)
    assert np.max(np.abs(nmfaudio.denoise(y, sr, noise_dictionary=nd) - got)) > 1e-4
    # in the two dictionaries' own model the noise dictionary stays whole (tune: its base alone lost 1 dB)
    np.testing.assert_array_equal(nmfaudio.denoise(y, sr, **kw), both)


def _same_stft(sd, nd):
    assert sd.stft == nd.stft
    return sd


def test_stream_noise_dictionary_uses_the_base_templates(speech, tmp_path, monkeypatch):
    nd = speech["nd"]
    nmfaudio.denoise_stream(speech["path"], tmp_path / "a.wav", noise_dictionary=nd)
    nmfaudio.denoise_stream(speech["path"], tmp_path / "b.wav",
                            noise_dictionary=nmfaudio.dictionary.without_pitch_copies(nd))
    monkeypatch.setattr(dn, "NOISE_DICT_BASE_ONLY", False)
    nmfaudio.denoise_stream(speech["path"], tmp_path / "c.wav", noise_dictionary=nd)
    a, b, c = (sf.read(str(tmp_path / f"{k}.wav"), dtype="float32")[0] for k in "abc")
    np.testing.assert_array_equal(a, b)
    assert np.max(np.abs(a - c)) > 1e-4
    monkeypatch.undo()
    ref = nmfaudio.denoise(speech["y"], speech["sr"], noise_dictionary=nd)
    assert np.sum((a - ref) ** 2) / np.sum(ref ** 2) < 0.1  # the stream's frame solves, close to offline


def test_two_dictionaries_combine_with_the_noise_dictionary_mode(speech, monkeypatch):
    """Two dictionaries: their model and the noise-dictionary mode's (free speech templates, voice
    model, the noise dictionary's base templates), geometric mean at mask power 1.5."""
    y, sr, nd = speech["y"], speech["sr"], speech["nd"]
    sd = nmfaudio.learn_dictionary(nmfaudio.load("audio_fixtures/speech/train/speech.wav")[0], sr, name="speech",
                                   n_components=8, pitch_shifts=(1,), max_iter=40)
    got = nmfaudio.denoise(y, sr, noise_dictionary=nd, speech_dictionary=sd)
    alone = nmfaudio.denoise(y, sr, noise_dictionary=nd, speech_dictionary=sd, voice_model=False)
    monkeypatch.setattr(dn, "SPEECH_DICT_WITH_INPUT", False)
    S, est_d, power = dn._fit(y, sr, sd.stft, None, nd, sd, **_kw())
    _, est_in, _ = dn._fit(y, sr, sd.stft, None, nd, None, **_kw())
    want = dn._reconstruct(S, _usm.combine(est_d, est_in), params=sd.stft, power=power, mask_power=1.5,
                           length=y.shape[-1], dtype=y.dtype)["clean"]
    np.testing.assert_allclose(got, want, atol=1e-6)
    np.testing.assert_array_equal(alone, nmfaudio.denoise(y, sr, noise_dictionary=nd, speech_dictionary=sd))
    assert np.max(np.abs(got - alone)) > 1e-3


def test_options_of_the_input_model_are_accepted(speech):
    """n_speech_components / sparsity now reach the input's own model beside a speech dictionary."""
    y, sr, n, sd = speech["y"], speech["sr"], speech["noise"], speech["sd"]
    a = nmfaudio.denoise(y, sr, noise=n, speech_dictionary=sd, n_speech_components=8)
    b = nmfaudio.denoise(y, sr, noise=n, speech_dictionary=sd)
    assert np.max(np.abs(a - b)) > 1e-4
    with pytest.raises(nmfaudio.ParameterError, match="n_speech_components"):
        nmfaudio.denoise(y, sr, speech_dictionary=sd, n_speech_components=8)  # speech dictionary alone


def test_stream_two_dictionaries_follow_offline(speech, tmp_path):
    sd = speech["sd"]
    kw = {"noise_dictionary": speech["nd"], "speech_dictionary": sd}
    nmfaudio.denoise_stream(speech["path"], tmp_path / "on.wav", **kw)
    nmfaudio.denoise_stream(speech["path"], tmp_path / "off.wav", voice_model=False, **kw)
    on, _ = sf.read(str(tmp_path / "on.wav"), dtype="float32")
    off, _ = sf.read(str(tmp_path / "off.wav"), dtype="float32")
    ref = nmfaudio.denoise(speech["y"], speech["sr"], **kw)
    np.testing.assert_allclose(off, nmfaudio.denoise(speech["y"], speech["sr"], voice_model=False, **kw), atol=1e-5)
    err = np.sum((on - ref) ** 2) / np.sum(ref ** 2)
    assert err < 0.05, err
    assert np.sum((on - off) ** 2) / np.sum(ref ** 2) > 2 * err


@pytest.mark.parametrize("mode", ["noise", "dicts"])
def test_stream_partner_model_solves_with_its_own_beta(speech, tmp_path, monkeypatch, mode):
    """The input's model is fitted with the noise-dictionary mode's β (the noise dictionary's; KL with a
    sample) and its frames are solved with the same β, not the speech dictionary's."""
    from nmfaudio import _denoise_blocks as blocks

    made = []
    real = blocks.Model

    def record(*a, **k):
        made.append(k)
        return real(*a, **k)

    monkeypatch.setattr(blocks, "Model", record)
    sd = speech["sd"]
    nd = nmfaudio.SourceDictionary(name="noise", W=speech["nd"].W, sr=sd.sr, stft=sd.stft, beta=0.0,
                                   info=speech["nd"].info)
    kw = {"noise": speech["noise"]} if mode == "noise" else {"noise_dictionary": nd}
    nmfaudio.denoise_stream(speech["path"], tmp_path / "o.wav", speech_dictionary=sd, **kw)
    outer = [k for k in made if k.get("partner") is not None]
    assert len(outer) == 1
    assert outer[0]["beta"] == sd.beta and outer[0]["partner"].beta == (1.0 if mode == "noise" else 0.0)


def test_a_dictionary_of_the_wrong_type_is_named(speech):
    with pytest.raises(nmfaudio.ParameterError, match="speech_dictionary must be a SourceDictionary"):
        nmfaudio.denoise(speech["y"], speech["sr"], noise=speech["noise"], speech_dictionary="speech.npz")
    with pytest.raises(nmfaudio.ParameterError, match="noise_dictionary must be a SourceDictionary"):
        nmfaudio.denoise(speech["y"], speech["sr"], noise_region=(0, 0.5), noise_dictionary="noise.npz")


@pytest.mark.parametrize("kw", [dict(n_speech_components=5), dict(sparsity=0.7)])
def test_input_model_options_refused_without_it(speech, tmp_path, kw):
    """voice_model=False beside a speech dictionary: no input model, so its options would be ignored."""
    y, sr, n, sd = speech["y"], speech["sr"], speech["noise"], speech["sd"]
    name = next(iter(kw))
    with pytest.raises(nmfaudio.ParameterError, match=f"{name}=.*without the input's own model"):
        nmfaudio.denoise(y, sr, noise=n, speech_dictionary=sd, voice_model=False, **kw)
    with pytest.raises(nmfaudio.ParameterError, match=name):
        nmfaudio.denoise_stream(speech["path"], tmp_path / "o.wav", noise=n, speech_dictionary=sd,
                                voice_model=False, **kw)
    assert not (tmp_path / "o.wav").exists()
    nmfaudio.denoise(y, sr, noise=n, speech_dictionary=sd, **kw)  # with it: accepted


def test_stream_two_dictionaries_fit_only_the_input_model_on_the_subsample(speech, tmp_path, monkeypatch):
    """Both fixed: their own model has nothing to learn on the subsample; only the input's model
    (the partner) is fitted there, and without it (voice_model=False) nothing is."""
    calls = []
    real = ds._fit_subsample
    monkeypatch.setattr(ds, "_fit_subsample", lambda *a, **k: calls.append(a[6] is None) or real(*a, **k))
    kw = {"noise_dictionary": speech["nd"], "speech_dictionary": speech["sd"]}
    nmfaudio.denoise_stream(speech["path"], tmp_path / "o.wav", **kw)
    assert calls == [True]  # one fit, without the speech dictionary: the input's model
    nmfaudio.denoise_stream(speech["path"], tmp_path / "p.wav", voice_model=False, **kw)
    assert calls == [True]
    got, _ = sf.read(str(tmp_path / "p.wav"), dtype="float32")
    np.testing.assert_allclose(got, nmfaudio.denoise(speech["y"], speech["sr"], voice_model=False, **kw), atol=1e-5)


@pytest.mark.parametrize("beta, learned", [("kl", 1), (0.5, 2)])
def test_stream_learns_the_kl_noise_model_once(speech, tmp_path, monkeypatch, beta, learned):
    """With a KL speech dictionary the dictionaries' noise model and the input's are the same one."""
    calls = []
    real = dn.learn_noise_dictionary
    monkeypatch.setattr(dn, "learn_noise_dictionary", lambda *a, **k: calls.append(k["beta"]) or real(*a, **k))
    sd = speech["sd"]
    sd = nmfaudio.SourceDictionary(name="speech", W=sd.W, sr=sd.sr, stft=sd.stft, beta=beta)
    nmfaudio.denoise_stream(speech["path"], tmp_path / "o.wav", noise=speech["noise"], speech_dictionary=sd)
    assert len(calls) == learned
