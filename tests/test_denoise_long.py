"""Long recordings denoised file to file in bounded memory (nmfaudio.denoise_stream, CLI long path)."""

import io
import json
import sys

import numpy as np
import pytest
import soundfile as sf

import nmfaudio
from nmfaudio.cli import main
from nmfaudio.exceptions import AudioFileError, NmfAudioError, ParameterError, UsageError

ds = sys.modules["nmfaudio.denoise_stream"]
dn = sys.modules["nmfaudio.denoise"]


class _TTY(io.StringIO):
    def isatty(self):
        return True


@pytest.fixture(scope="module")
def speech(tmp_path_factory):
    """Noisy speech (16 kHz, 4 s, float WAV), the noise sample and both dictionaries."""
    root = tmp_path_factory.mktemp("speech")
    y, sr = nmfaudio.load("audio_fixtures/speech/noisy.wav")
    noise, _ = nmfaudio.load("audio_fixtures/speech/train/noise.wav")
    clean, _ = nmfaudio.load("audio_fixtures/speech/train/speech.wav")
    path = nmfaudio.save(root / "noisy.wav", y, sr)
    params = dn.default_denoise_stft(sr)
    sd = nmfaudio.learn_dictionary(clean, sr, name="speech", stft_params=params, n_components=16,
                                   pitch_shifts=(), beta="kl", max_iter=50)
    nd = nmfaudio.learn_noise_dictionary(noise, sr, n_components=8)
    return {"path": path, "y": y, "sr": sr, "noise": noise, "speech_dict": sd, "noise_dict": nd}


def _read(path):
    data, sr = sf.read(str(path), dtype="float32", always_2d=True)
    return data.T if data.shape[1] > 1 else data[:, 0]


@pytest.mark.parametrize("block_seconds", [0.01, 0.37, 100.0])
def test_fully_supervised_equals_offline(speech, tmp_path, block_seconds):
    """Both dictionaries fixed and nothing learned on the input (voice_model=False: no model of
    the input beside them): frame-local, so the stream equals denoise_sources() whatever the blocks."""
    kw = {"noise_dictionary": speech["noise_dict"], "speech_dictionary": speech["speech_dict"], "voice_model": False}
    ref = nmfaudio.denoise_sources(speech["y"], speech["sr"], **kw)
    out = nmfaudio.denoise_stream(speech["path"], tmp_path / "c.wav", noise_out=tmp_path / "n.wav",
                                  block_seconds=block_seconds, **kw)
    assert set(out) == {"clean", "noise"}
    assert sf.info(str(out["clean"])).subtype == "FLOAT"
    clean, noise = _read(out["clean"]), _read(out["noise"])
    assert clean.dtype == np.float32 and clean.shape == speech["y"].shape
    np.testing.assert_allclose(clean, ref["clean"], atol=1e-5)
    np.testing.assert_allclose(noise, ref["noise"], atol=1e-5)
    assert np.abs(clean).max() > 0.05  # not trivially zero


def test_fully_supervised_stereo_and_noise_sample(speech, tmp_path):
    """Stereo, and a noise *sample* beside a speech dictionary (also fully supervised)."""
    y = np.stack([speech["y"], 0.5 * speech["y"][::-1].copy()])
    path = nmfaudio.save(tmp_path / "st.wav", y, speech["sr"])
    kw = {"noise": speech["noise"], "speech_dictionary": speech["speech_dict"], "voice_model": False}
    ref = nmfaudio.denoise(y, speech["sr"], **kw)
    nmfaudio.denoise_stream(path, tmp_path / "c.wav", block_seconds=0.5, **kw)
    got = _read(tmp_path / "c.wav")
    assert got.shape == y.shape
    np.testing.assert_allclose(got, ref, atol=1e-5)


@pytest.mark.parametrize("mode", ["noise", "region", "blind", "speech_dict", "both_dicts"])
def test_no_seams_learned_modes(speech, tmp_path, mode):
    """Learned templates (or the voice model's fit beside two dictionaries), then frame-local
    solves: block boundaries are invisible (the result does not depend on the block size), and
    it is close to the offline denoise."""
    kw = {"noise": {"noise": speech["noise"]}, "region": {"noise_region": (0.0, 0.5)}, "blind": {},
          "speech_dict": {"speech_dictionary": speech["speech_dict"]},
          "both_dicts": {"speech_dictionary": speech["speech_dict"], "noise": speech["noise"]}}[mode]
    outs = []
    for i, bs in enumerate((0.023, 0.7, 100.0)):
        nmfaudio.denoise_stream(speech["path"], tmp_path / f"c{i}.wav", block_seconds=bs, **kw)
        outs.append(_read(tmp_path / f"c{i}.wav"))
    for o in outs[1:]:
        np.testing.assert_allclose(o, outs[0], atol=1e-5)
    offline = nmfaudio.denoise(speech["y"], speech["sr"], **kw)
    err = np.sum((outs[0] - offline) ** 2) / np.sum(offline ** 2)
    assert err < 0.2, err  # the same model, with activations re-solved frame by frame
    assert not np.allclose(outs[0], speech["y"], atol=1e-3)  # it did remove something


def test_subsample_frames_read_where_they_are(speech):
    """The chosen frames read one by one are the bits of the STFT's columns."""
    from nmfaudio import _denoise_blocks as blocks

    p = dn.default_denoise_stft(speech["sr"])
    S = nmfaudio.stft(speech["y"], stft_params=p)
    picks = np.unique(np.linspace(0, S.shape[-1] - 1, 17).round().astype(np.int64))
    with sf.SoundFile(str(speech["path"])) as f:
        got = blocks.frames_at(blocks.Reader(f, "x", 0, f.frames, 1000), picks, p, 1, 1.0, None)
    np.testing.assert_array_equal(got, np.abs(S)[:, picks])


@pytest.mark.parametrize("win", [3, 4, 65, 299, 300, 301, 1000])
def test_floor_at_picks_equals_the_offline_floor(win):
    from nmfaudio import _denoise_blocks as blocks
    from nmfaudio import _minstat

    rng = np.random.default_rng(0)
    V = rng.random((2, 5, 300)).astype(np.float32)
    picks = np.unique(np.r_[0, rng.integers(0, 300, 40), 299])
    for step in (1, 37, 400):
        fl = blocks.FloorAt(picks, 300, win, 10)
        for a in range(0, 300, step):
            fl.push(V[:, :, a:a + step])
        for c in range(2):
            ref = _minstat.floor(V[c], win, 10)[:, picks]
            np.testing.assert_array_equal(fl.result()[c], ref)


def test_small_subsample_and_callback(speech, tmp_path):
    calls = []
    nmfaudio.denoise_stream(speech["path"], tmp_path / "c.wav", noise=speech["noise"], block_seconds=0.5,
                            subsample_frames=20, callback=lambda d, t: calls.append((d, t)))
    assert len(calls) >= 8
    done = [d for d, _ in calls]
    total = 2 * speech["y"].size / speech["sr"]
    assert all(t == pytest.approx(total) for _, t in calls)
    assert done == sorted(done) and done[-1] == pytest.approx(total)
    assert np.isfinite(_read(tmp_path / "c.wav")).all()


def test_excerpt_and_integer_output(speech, tmp_path):
    """offset/duration cut the input as load() does; 16-bit FLAC output is clipped with a warning."""
    sr = speech["sr"]
    kw = {"noise_dictionary": speech["noise_dict"], "speech_dictionary": speech["speech_dict"], "voice_model": False}
    nmfaudio.denoise_stream(speech["path"], tmp_path / "c.wav", offset=0.5, duration=2.0, **kw)
    part = speech["y"][int(0.5 * sr):int(2.5 * sr)]
    np.testing.assert_allclose(_read(tmp_path / "c.wav"), nmfaudio.denoise(part, sr, **kw), atol=1e-5)
    loud = nmfaudio.save(tmp_path / "loud.wav", 4 * speech["y"], sr)
    with pytest.warns(UserWarning, match="clipped"):
        nmfaudio.denoise_stream(loud, tmp_path / "c.flac", bit_depth=16, **kw)
    assert sf.info(str(tmp_path / "c.flac")).subtype == "PCM_16"


def test_bad_inputs(speech, tmp_path):
    path = speech["path"]
    with pytest.raises(UsageError, match="noise region 3:9 s"):
        nmfaudio.denoise_stream(path, tmp_path / "c.wav", noise_region=(3, 9))
    with pytest.raises(AudioFileError, match="cannot read"):
        nmfaudio.denoise_stream(tmp_path / "missing.wav", tmp_path / "c.wav")
    (tmp_path / "junk.wav").write_bytes(b"not audio")
    with pytest.raises(AudioFileError, match="cannot read"):
        nmfaudio.denoise_stream(tmp_path / "junk.wav", tmp_path / "c.wav")
    with pytest.raises(UsageError, match="is the input file"):
        nmfaudio.denoise_stream(path, path, overwrite=True)
    y = speech["y"].copy()
    y[40000] = np.nan
    bad = tmp_path / "nan.wav"
    sf.write(str(bad), y, speech["sr"], subtype="FLOAT")
    with pytest.raises(ParameterError, match=r"NaN/Inf samples at 2\.500 s"):
        nmfaudio.denoise_stream(bad, tmp_path / "c.wav", block_seconds=1.0)
    assert not (tmp_path / "c.wav").exists()  # nothing partial left behind
    nmfaudio.save(tmp_path / "exists.wav", speech["y"], speech["sr"])
    with pytest.raises(AudioFileError, match="already exists"):
        nmfaudio.denoise_stream(path, tmp_path / "exists.wav")
    with pytest.raises(ParameterError, match="trained at 16000 Hz"):
        other = nmfaudio.save(tmp_path / "8k.wav", speech["y"][::2].copy(), 8000)
        nmfaudio.denoise_stream(other, tmp_path / "c.wav", speech_dictionary=speech["speech_dict"])
    with pytest.raises(ParameterError, match="only one of noise"):
        nmfaudio.denoise_stream(path, tmp_path / "c.wav", noise=speech["noise"], noise_region=(0, 1))
    with pytest.raises(NmfAudioError):
        nmfaudio.denoise_stream(path, tmp_path / "c.wav", frame_iter=0)


def test_inputs_not_modified(speech, tmp_path):
    noise = speech["noise"].copy()
    before = speech["path"].read_bytes()
    nmfaudio.denoise_stream(speech["path"], tmp_path / "c.wav", noise=noise)
    np.testing.assert_array_equal(noise, speech["noise"])
    assert speech["path"].read_bytes() == before


def test_cli_long_path_forced_by_threshold(speech, tmp_path, monkeypatch, capsys):
    """A short input forced to the long path: same result as denoise_stream, a bar on a terminal."""
    noise_path = nmfaudio.save(tmp_path / "noise.wav", speech["noise"], speech["sr"])
    monkeypatch.setenv("NMFAUDIO_DENOISE_LONG_SECONDS", "1")
    tty = _TTY()
    monkeypatch.setattr("sys.stderr", tty)
    assert main(["denoise", str(speech["path"]), "--noise", str(noise_path), "-o",
                 str(tmp_path / "cli.wav"), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["settings"]["block_seconds"] == ds.BLOCK_SECONDS
    assert "denoise" in tty.getvalue()  # the tqdm bar was drawn
    nmfaudio.denoise_stream(speech["path"], tmp_path / "api.wav", noise=speech["noise"])
    np.testing.assert_array_equal(_read(tmp_path / "cli.wav"), _read(tmp_path / "api.wav"))
    quiet = _TTY()
    monkeypatch.setattr("sys.stderr", quiet)
    assert main(["denoise", str(speech["path"]), "--noise-region", "0:0.5", "-o",
                 str(tmp_path / "q.wav"), "-q"]) == 0
    assert quiet.getvalue() == "" and capsys.readouterr().out == ""
    # below the threshold: the offline path, as before
    monkeypatch.setenv("NMFAUDIO_DENOISE_LONG_SECONDS", "1000")
    assert main(["denoise", str(speech["path"]), "--noise", str(noise_path), "-o",
                 str(tmp_path / "off.wav"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["settings"]["block_seconds"] is None
    np.testing.assert_allclose(_read(tmp_path / "off.wav"),
                               nmfaudio.denoise(speech["y"], speech["sr"], noise=speech["noise"]), atol=1e-6)


def test_cli_block_seconds_flag_keeps_input_format(speech, tmp_path, capsys):
    """--block-seconds forces the long path; a 16-bit FLAC input gives 16-bit FLAC out."""
    flac = nmfaudio.save(tmp_path / "in.flac", speech["y"], speech["sr"], bit_depth=16)
    assert main(["denoise", str(flac), "--noise-region", "0:0.5", "--block-seconds", "1", "-o",
                 str(tmp_path) + "/", "--noise-out", str(tmp_path) + "/", "-q"]) == 0
    info = sf.info(str(tmp_path / "in_denoised.flac"))
    assert info.subtype == "PCM_16" and info.frames == speech["y"].size
    assert (tmp_path / "in_noise.flac").exists()


@pytest.mark.parametrize("seconds,overlap", [(100.0, 2.0), (1.0, 0.25), (0.6, 0.3)])
@pytest.mark.parametrize("channels", [1, 2])
def test_blind_local_models_equal_offline(speech, tmp_path, monkeypatch, seconds, overlap, channels):
    """Blind: the stream fits the same segments as denoise() (one segment when the file is short,
    several with short segments) and gives its result, whatever the block size."""
    from nmfaudio import _segments

    monkeypatch.setattr(_segments, "SECONDS", seconds)
    monkeypatch.setattr(_segments, "OVERLAP_SECONDS", overlap)
    y = speech["y"] if channels == 1 else np.stack([speech["y"], 0.5 * speech["y"][::-1].copy()])
    path = nmfaudio.save(tmp_path / "in.wav", y, speech["sr"])
    ref = nmfaudio.denoise_sources(y, speech["sr"], max_iter=30)
    p = dn.default_denoise_stft(speech["sr"])
    T = p.n_frames(y.shape[-1])
    n_segs = len(_segments.bounds(T, _segments.frames(seconds, speech["sr"], p.hop_length),
                                  _segments.frames(overlap, speech["sr"], p.hop_length)))
    assert (n_segs == 1) == (seconds == 100.0)
    for i, bs in enumerate((0.05, 1.3, 100.0)):
        out = nmfaudio.denoise_stream(path, tmp_path / f"c{i}.wav", noise_out=tmp_path / f"n{i}.wav",
                                      block_seconds=bs, max_iter=30)
        clean, noise = _read(out["clean"]), _read(out["noise"])
        assert clean.shape == y.shape and clean.dtype == np.float32
        np.testing.assert_allclose(clean, ref["clean"], atol=1e-5)
        np.testing.assert_allclose(noise, ref["noise"], atol=1e-5)
    assert not np.allclose(clean, y, atol=1e-3)


def test_local_model_segments_cover_the_frames_and_weights_sum_to_one():
    from nmfaudio import _segments

    for T, seg, ov in [(10, 4, 1), (100, 20, 5), (1000, 431, 43), (31, 20, 2), (30, 20, 2), (5, 2, 10)]:
        segs = _segments.bounds(T, seg, ov)
        assert segs[0][0] == 0 and segs[-1][1] == T
        total = np.zeros(T)
        for i, (a, b) in enumerate(segs):
            assert 0 <= a < b <= T
            if i:
                assert segs[i - 1][0] < a <= segs[i - 1][1]  # in order, overlapping or touching
            w = _segments.weights(segs, i)
            assert w.shape == (b - a,) and np.all(w > 0) and np.all(w <= 1)
            total[a:b] += w
        np.testing.assert_allclose(total, 1.0, atol=1e-12)
    assert _segments.bounds(30, 20, 2) == [(0, 30)]  # up to 1.5 segments: one model


def test_blind_one_model_on_request_is_the_subsample_path(speech, tmp_path):
    """segment_seconds=inf: the two-pass subsample path (one model), close to offline's one model."""
    out = nmfaudio.denoise_stream(speech["path"], tmp_path / "c.wav", segment_seconds=float("inf"))
    got = _read(out["clean"])
    ref = nmfaudio.denoise(speech["y"], speech["sr"], segment_seconds=float("inf"))
    assert not np.allclose(got, ref, atol=1e-5)  # frame-local solves, not the offline fit
    assert np.sum((got - ref) ** 2) / np.sum(ref ** 2) < 0.2
    with pytest.raises(nmfaudio.ParameterError, match="segment_seconds"):
        nmfaudio.denoise_stream(speech["path"], tmp_path / "d.wav", segment_seconds=-2)


def test_default_subsample_follows_the_file_length():
    # at most 2048 frames, at most an eighth of a file's frames, never fewer than 1024
    assert ds.default_subsample(10 ** 6) == ds.SUBSAMPLE_FRAMES == 2048
    assert ds.default_subsample(12000) == 1500
    assert ds.default_subsample(7750) == ds.SUBSAMPLE_MIN == 1024
    assert ds.default_subsample(300) == 1024  # a short file is learned on all its frames


@pytest.mark.parametrize("bad", [0, -3, 2.5, "many"])
def test_subsample_frames_must_be_a_positive_int(speech, tmp_path, bad):
    with pytest.raises(ParameterError, match="subsample_frames"):
        nmfaudio.denoise_stream(speech["path"], tmp_path / "o.wav", noise=speech["noise"], subsample_frames=bad)
    assert not (tmp_path / "o.wav").exists()


def test_voice_model_beside_two_fixed_models_is_fitted_on_the_subsample(speech, tmp_path):
    # a speech dictionary and a noise sample: the voice model still joins (as offline), so the
    # default differs from voice_model=False, and both follow their offline counterparts
    kw = {"speech_dictionary": speech["speech_dict"], "noise": speech["noise"]}
    outs = {}
    for vm in (True, False):
        nmfaudio.denoise_stream(speech["path"], tmp_path / f"{vm}.wav", voice_model=vm, **kw)
        outs[vm] = _read(tmp_path / f"{vm}.wav")
    assert np.max(np.abs(outs[True] - outs[False])) > 1e-3
    on = nmfaudio.denoise(speech["y"], speech["sr"], **kw)
    np.testing.assert_allclose(outs[False], nmfaudio.denoise(speech["y"], speech["sr"], voice_model=False, **kw),
                               atol=1e-5)
    err = np.sum((outs[True] - on) ** 2) / np.sum(on ** 2)
    assert err < 0.2, err
