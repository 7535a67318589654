"""The bad-input matrix: every bad input gets a clear error, legal extremes a finite result.

API: an ``nmfaudio`` exception whose message names the value and what was
expected, or — where the input is legal (silence, a clip shorter than one frame,
integer PCM, many channels) — a finite result of the input's shape.
CLI: one line on stderr, a non-zero exit (2 usage, 1 failure), no traceback and
no output (not even an output directory) left behind.
"""

import json
import os

import numpy as np
import pytest
import soundfile as sf

import nmfaudio
from nmfaudio import AudioFileError, NmfAudioError, ParameterError, SourceDictionary, STFTParams
from nmfaudio.cli import get_parser, main

SR = 8000
FAST = dict(n_fft=256, max_iter=10)


@pytest.fixture(scope="module")
def clip():
    rng = np.random.default_rng(7)
    t = np.arange(SR // 2) / SR
    y = 0.3 * np.sin(2 * np.pi * 440 * t) + 0.05 * rng.standard_normal(t.size)
    return y.astype(np.float32)


@pytest.fixture(scope="module")
def files(tmp_path_factory, clip):
    """Good and bad input files, made once."""
    d = tmp_path_factory.mktemp("inputs")
    nmfaudio.save(d / "good.wav", clip, SR)
    good = (d / "good.wav").read_bytes()
    (d / "text.wav").write_text("hello, I am not audio\n")
    (d / "empty.wav").write_bytes(b"")
    (d / "header.wav").write_bytes(good[:30])      # cut inside the header
    (d / "cut.wav").write_bytes(good[:200])        # header intact, data cut short
    sf.write(d / "nosamples.wav", np.zeros((0, 1), np.float32), SR, subtype="FLOAT")
    sf.write(d / "nan.wav", np.array([0.0, np.nan, 0.1], np.float32), SR, subtype="FLOAT")
    sf.write(d / "inf.wav", np.array([0.0, np.inf, 0.1], np.float32), SR, subtype="FLOAT")
    (d / "folder.wav").mkdir()
    nmfaudio.save(d / "silence.wav", np.zeros(SR // 2, np.float32), SR)
    nmfaudio.save(d / "short.wav", clip[:10], SR)
    nmfaudio.save(d / "six.wav", np.stack([clip * (c + 1) / 8 for c in range(6)]), SR)
    nmfaudio.save(d / "pcm16.wav", clip, SR, subtype="PCM_16")
    nmfaudio.save(d / "dc.wav", np.full(SR // 2, 0.5, np.float32), SR)
    nmfaudio.save(d / "square.wav", np.sign(np.sin(2 * np.pi * 55 * np.arange(SR // 2) / SR) + 1e-9)
                  .astype(np.float32), SR)
    # dictionaries
    params = STFTParams(n_fft=256)
    dct = nmfaudio.learn_dictionary(clip, SR, name="tone", n_components=3, stft_params=params, max_iter=10)
    dct.save(d / "tone.npz")
    nmfaudio.learn_dictionary(clip, SR, name="tone512", n_components=3, stft_params=STFTParams(n_fft=512),
                              max_iter=10).save(d / "tone512.npz")
    SourceDictionary(name="tone16k", W=dct.W, sr=16000, stft=params).save(d / "tone16k.npz")
    (d / "corrupt.npz").write_bytes(b"PK\x03\x04 this is no zip archive")
    (d / "notzip.npz").write_text("plain text")
    (d / "emptydict.npz").write_bytes(b"")
    meta = dct.metadata()
    meta["format_version"] = 99
    with open(d / "newer.npz", "wb") as fh:
        np.savez(fh, W=dct.W, metadata=np.array(json.dumps(meta)))
    meta = dct.metadata()
    meta["sr"] = -5
    with open(d / "badmeta.npz", "wb") as fh:
        np.savez(fh, W=dct.W, metadata=np.array(json.dumps(meta)))
    return d


def cli(argv, capsys):
    """Run the CLI in-process; returns (exit code, stderr)."""
    capsys.readouterr()
    code = main([str(a) for a in argv])
    return code, capsys.readouterr().err


def assert_one_line_error(err):
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("nmfaudio: error:"), err


def assert_no_leftovers(root):
    """No output and no temporary file anywhere under root."""
    left = [p for p in root.rglob("*")]
    assert left == [], left


# --------------------------------------------------------------------------- files

BAD_AUDIO_FILES = [
    ("missing.wav", AudioFileError, "no such file"),
    ("folder.wav", AudioFileError, "is a directory"),
    ("text.wav", AudioFileError, "cannot be read as audio"),
    ("empty.wav", AudioFileError, r"empty \(0 bytes\)"),
    ("header.wav", AudioFileError, "cannot be read as audio"),
    ("cut.wav", AudioFileError, "truncated"),
    ("nosamples.wav", AudioFileError, "no audio samples"),
    ("nan.wav", ParameterError, "NaN or Inf"),
    ("inf.wav", ParameterError, "NaN or Inf"),
]


@pytest.mark.parametrize("name, exc, match", BAD_AUDIO_FILES)
def test_load_bad_file(files, name, exc, match):
    with pytest.raises(exc, match=match) as info:
        nmfaudio.load(files / name)
    assert name in str(info.value)  # the message names the file
    assert isinstance(info.value, NmfAudioError)


def _commands_reading(path, files, out):
    """Every CLI use that reads an audio file, with ``path`` in that role."""
    return {
        "separate": ["separate", path, "-o", out / "sep", "--n-fft", "256", "--iterations", "3"],
        "separate --dict": ["separate", path, "--dict", files / "tone.npz", "--residual", "1",
                            "-o", out / "sep"],
        "denoise": ["denoise", path, "-o", out / "d" / "clean.wav", "--iterations", "3"],
        "denoise --noise": ["denoise", files / "good.wav", "--noise", path, "-o", out / "d" / "c.wav"],
        "train": ["train", "x", path, "-o", out / "t" / "x.npz", "--n-fft", "256"],
        "train (2nd clip)": ["train", "x", files / "good.wav", path, "-o", out / "t" / "x.npz"],
    }


@pytest.mark.parametrize("name, exc, match", BAD_AUDIO_FILES)
def test_cli_bad_audio_file(files, tmp_path, capsys, name, exc, match):
    out = tmp_path / "out"
    for label, argv in _commands_reading(files / name, files, out).items():
        code, err = cli(argv, capsys)
        assert code == 1, (label, err)
        assert_one_line_error(err)
        assert name in err
        assert not out.exists(), label  # no partial output, not even a directory


BAD_DICT_FILES = [
    ("missing.npz", "no such dictionary file"),
    ("folder.wav", "is a directory"),
    ("corrupt.npz", "not a valid nmfaudio dictionary"),
    ("notzip.npz", "not a valid nmfaudio dictionary"),
    ("emptydict.npz", "not a valid nmfaudio dictionary"),
    ("text.wav", "not a valid nmfaudio dictionary"),
    ("newer.npz", "format version 99.*upgrade"),
    ("badmeta.npz", "invalid dictionary metadata"),
]


@pytest.mark.parametrize("name, match", BAD_DICT_FILES)
def test_dictionary_bad_file(files, name, match):
    with pytest.raises(AudioFileError, match=match) as info:
        SourceDictionary.load(files / name)
    assert "allow_pickle" not in str(info.value)  # never advise loading untrusted pickles


@pytest.mark.parametrize("name, match", BAD_DICT_FILES)
def test_cli_bad_dictionary_file(files, tmp_path, capsys, name, match):
    out = tmp_path / "out"
    d = files / name
    for argv in (
        ["separate", files / "good.wav", "--dict", files / "tone.npz", "--dict", d, "-o", out],
        ["denoise", files / "good.wav", "--noise-dict", d, "-o", out / "c.wav"],
        ["denoise", files / "good.wav", "--speech-dict", d, "-o", out / "c.wav"],
    ):
        code, err = cli(argv, capsys)
        assert code == 1, err
        assert_one_line_error(err)
        assert not out.exists()


def test_dictionary_at_another_rate_or_stft(files, clip):
    tone = SourceDictionary.load(files / "tone.npz")
    d16 = SourceDictionary.load(files / "tone16k.npz")
    d512 = SourceDictionary.load(files / "tone512.npz")
    with pytest.raises(ParameterError, match="8000 Hz.*16000 Hz"):
        nmfaudio.separate(clip, SR, dictionaries=[d16], n_free=1)
    with pytest.raises(ParameterError, match="sample rate.*8000.*16000"):
        nmfaudio.separate(clip, SR, dictionaries=[tone, d16])
    with pytest.raises(ParameterError, match="STFT settings"):
        nmfaudio.separate(clip, SR, dictionaries=[tone, d512])
    with pytest.raises(ParameterError, match="n_fft=512 conflicts.*n_fft=256"):
        nmfaudio.separate(clip, SR, dictionaries=[tone], n_free=1, n_fft=512)
    with pytest.raises(ParameterError, match="8000 Hz.*16000 Hz"):
        nmfaudio.denoise(clip, SR, noise_dictionary=d16)
    with pytest.raises(ParameterError, match="different STFT settings"):
        nmfaudio.denoise(clip, SR, noise_dictionary=tone, speech_dictionary=d512)
    with pytest.raises(ParameterError, match="conflicts"):
        nmfaudio.denoise(clip, SR, noise_dictionary=tone, stft_params=STFTParams(n_fft=512))
    S = nmfaudio.stft(clip, n_fft=512)
    with pytest.raises(ParameterError, match="257 frequency bins.*n_fft=256"):
        nmfaudio.separate_supervised_spectrogram(S, [tone])


def test_cli_dictionaries_disagree(files, tmp_path, capsys):
    out = tmp_path / "out"
    for other in ("tone16k.npz", "tone512.npz"):
        code, err = cli(["separate", files / "good.wav", "--dict", files / "tone.npz",
                         "--dict", files / other, "-o", out], capsys)
        assert code == 1
        assert_one_line_error(err)
        assert "disagree" in err
    code, err = cli(["denoise", files / "good.wav", "--noise-dict", files / "tone.npz",
                     "--speech-dict", files / "tone512.npz", "-o", out / "c.wav"], capsys)
    assert code == 1 and "STFT" in err
    assert not out.exists()


def test_cli_dictionary_at_another_rate_is_resampled(files, tmp_path, capsys):
    # legal on the command line: the input is resampled for the dictionary and back
    out = tmp_path / "out"
    for argv, path in (
        (["separate", files / "good.wav", "--dict", files / "tone16k.npz", "--residual", "1", "-o", out],
         out / "good" / "tone16k.wav"),
        (["denoise", files / "good.wav", "--noise-dict", files / "tone16k.npz",
          "-o", out / "clean.wav", "--iterations", "5"], out / "clean.wav"),
    ):
        code, err = cli(argv, capsys)
        assert code == 0, err
        y, sr = nmfaudio.load(path)
        assert sr == SR and y.shape == (SR // 2,) and np.all(np.isfinite(y))


# --------------------------------------------------------------------------- arrays

BAD_ARRAYS = [
    ("empty", np.zeros(0, np.float32), "contains no samples"),
    ("empty 2-D", np.zeros((2, 0), np.float32), "contains no samples"),
    ("no channels", np.zeros((0, 100), np.float32), "zero channels"),
    ("NaN", np.array([0.0, np.nan, 0.5], np.float32), "1 NaN or Inf"),
    ("Inf", np.array([0.0, 0.1, -np.inf], np.float64), "1 NaN or Inf"),
    ("(n, channels)", np.zeros((1000, 2), np.float32), r"\(1000, 2\).*\(n_samples, channels\).*\.T"),
    ("(n, 6 channels)", np.zeros((1000, 6), np.float32), r"pass y\.T"),
    ("3-D", np.zeros((2, 2, 100), np.float32), r"\(2, 2, 100\); expected"),
    ("scalar", np.float32(0.5), r"shape \(\); expected"),
    ("complex", np.zeros(100, np.complex64), "complex"),
    ("bool", np.zeros(100, bool), "boolean"),
    ("strings", np.array(["a", "b"]), "dtype <U1"),
    ("a string", "audio.wav", "numpy array"),
    ("None", None, "numpy array"),
]


def _audio_entry_points():
    return {
        "separate": lambda y: nmfaudio.separate(y, SR, **FAST),
        "denoise": lambda y: nmfaudio.denoise(y, SR, max_iter=5),
        "stft": lambda y: nmfaudio.stft(y, n_fft=256),
        "save": lambda y: nmfaudio.save("/nonexistent-dir-never-written/x.wav", y, SR),
        "learn_dictionary": lambda y: nmfaudio.learn_dictionary(y, SR, name="x", n_components=2,
                                                                stft_params=STFTParams(n_fft=256), max_iter=5),
    }


@pytest.mark.parametrize("label, y, match", BAD_ARRAYS, ids=[b[0] for b in BAD_ARRAYS])
@pytest.mark.parametrize("entry", list(_audio_entry_points()))
def test_bad_audio_array(entry, label, y, match):
    if entry == "stft" and label == "3-D":
        pytest.skip("stft accepts any leading axes (..., n) by design")
    y0 = None if not isinstance(y, np.ndarray) else y.copy()
    if entry == "learn_dictionary":
        match = match.replace(r"y\.T", r"clips\[0\]\.T")
        if label in ("scalar", "a string", "None"):
            match = "clips must be an audio array.*got"
    with pytest.raises(ParameterError, match=match):
        _audio_entry_points()[entry](y)
    if y0 is not None:
        np.testing.assert_array_equal(y, y0)  # never modified


def test_bad_noise_sample():
    y = np.zeros(SR // 4, np.float32)
    with pytest.raises(ParameterError, match="noise contains 1 NaN"):
        nmfaudio.denoise(y, SR, noise=np.array([0.0, np.nan]))
    with pytest.raises(ParameterError, match=r"pass noise\.T"):
        nmfaudio.denoise(y, SR, noise=np.zeros((3000, 2)))
    with pytest.raises(ParameterError, match="silent"):
        nmfaudio.denoise(y, SR, noise=np.zeros(1000))


def _legal_signals(clip):
    n = clip.size
    square = np.sign(np.sin(2 * np.pi * 55 * np.arange(n) / SR) + 1e-9)
    return {
        "silence": np.zeros(n, np.float32),
        "silence 2-ch": np.zeros((2, n), np.float32),
        "DC": np.full(n, 0.5, np.float32),
        "DC negative full scale": np.full(n, -1.0, np.float32),
        "clipped square": square.astype(np.float32),
        "clipped square 2-ch": np.stack([square, -square]).astype(np.float32),
        "impulse": np.eye(1, n, n // 2, dtype=np.float32)[0],
        "1 sample": clip[:1],
        "10 samples (< 1 frame)": clip[:10],
        "255 samples (< n_fft)": clip[:255],
        "10 samples 2-ch": np.stack([clip[:10], clip[5:15]]),
        "int16": (clip * 32767).astype(np.int16),
        "int32": (clip * 2**31).astype(np.int32),
        "float64": clip.astype(np.float64),
        "1-D": clip,
        "2-D (2, n)": np.stack([clip, clip[::-1]]),
        "6 channels": np.stack([clip * (c + 1) / 8 for c in range(6)]),
        "1e-30 level": clip * np.float32(1e-30),
        "1e6 level": clip * np.float32(1e6),
    }


LEGAL = list(_legal_signals(np.zeros(SR // 2, np.float32)))


@pytest.mark.parametrize("label", LEGAL)
@pytest.mark.parametrize("entry", ["separate", "separate --dict", "denoise"])
def test_legal_extremes_give_finite_same_shape(files, clip, entry, label):
    y = _legal_signals(clip)[label]
    y0 = y.copy()
    if entry == "separate":
        out = nmfaudio.separate(y, SR, **FAST)
    elif entry == "separate --dict":
        out = nmfaudio.separate(y, SR, dictionaries=[SourceDictionary.load(files / "tone.npz")],
                                n_free=2, max_iter=10)
    else:
        out = nmfaudio.denoise_sources(y, SR, max_iter=10)
    np.testing.assert_array_equal(y, y0)
    want = np.float32 if y.dtype.kind == "i" else y.dtype
    ref = (y / float(-np.iinfo(y.dtype).min) if y.dtype.kind == "i" else y).astype(np.float64)
    for s in out.values():
        assert s.shape == y.shape and s.dtype == want
        assert np.all(np.isfinite(s))
    total = sum(s.astype(np.float64) for s in out.values())
    peak = float(np.max(np.abs(ref))) or 1.0
    assert np.max(np.abs(total - ref)) <= 1e-4 * peak
    if label.startswith("silence"):
        for s in out.values():
            assert not np.any(s)  # silence in, silence out


@pytest.mark.parametrize("n", [1, 10, 255])
def test_stft_of_short_clip(n, clip):
    S = nmfaudio.stft(clip[:n], n_fft=256)
    assert S.shape == (129, 1 + n // 64) and np.all(np.isfinite(S))
    y = nmfaudio.istft(S, n_fft=256, length=n)
    np.testing.assert_allclose(y, clip[:n], atol=1e-6)
    with pytest.raises(ParameterError, match=f"{n} samples is shorter than n_fft=256"):
        nmfaudio.stft(clip[:n], n_fft=256, center=False)


def test_overflowing_samples():
    y = np.full(1000, np.finfo(np.float32).max / 2, np.float32)
    with pytest.raises(ParameterError, match=r"samples up to 1\.7e\+38.*overflow.*Expected \|y\| <="):
        nmfaudio.stft(y, n_fft=256)
    with pytest.raises(ParameterError, match="overflow"):
        nmfaudio.separate(y, SR, **FAST)


# --------------------------------------------------------------------------- nmf

@pytest.mark.parametrize("V, match", [
    (-np.ones((4, 5)), r"negative values \(min -1\)"),
    (np.full((4, 5), np.nan), "20 NaN or Inf"),
    (np.where(np.eye(4, 5) > 0, np.inf, 1.0), "4 NaN or Inf"),
    (np.ones(5), r"shape \(5,\); expected a 2-D"),
    (np.ones((2, 4, 5)), r"shape \(2, 4, 5\); expected a 2-D"),
    (np.ones((0, 5)), "must not be empty"),
    (np.ones((4, 5), complex), "complex; pass a magnitude"),
    (np.array([["a"]]), "dtype <U1"),
])
def test_nmf_bad_V(V, match):
    V0 = V.copy()
    with pytest.raises(ParameterError, match=match):
        nmfaudio.nmf(V, 2)
    with pytest.raises(ParameterError, match=match):
        nmfaudio.beta_divergence(V, np.ones((4, 2)), np.ones((2, 5)))
    with pytest.raises(ParameterError):
        nmfaudio.NMF(n_components=2).fit(V.T if V.ndim == 2 else V)
    np.testing.assert_array_equal(V, V0)


V_OK = np.random.default_rng(3).random((6, 7))


@pytest.mark.parametrize("kwargs, match", [
    (dict(n_components=0), "n_components=0 must be a positive integer"),
    (dict(n_components=-3), "n_components=-3 must be a positive integer"),
    (dict(n_components=2.5), "n_components=2.5 must be a positive integer"),
    (dict(n_components=True), "n_components=True"),
    (dict(n_components=None), "n_components is required"),
    (dict(beta="banana"), "beta='banana' is not a known divergence; use 'euclidean', 'kl', 'is'"),
    (dict(beta=None), "beta=None must be a string or a real number"),
    (dict(beta=np.nan), "beta=nan must be finite"),
    (dict(beta=np.inf), "beta=inf must be finite"),
    (dict(beta=-np.inf), "beta=-inf must be finite"),
    (dict(beta=7.0), "beta=7.0 must be <= 5.0"),
    (dict(tol=np.nan), "tol=nan must be finite"),
    (dict(tol=-1e-3), "tol=-0.001 must be >= 0"),
    (dict(max_iter=np.inf), "max_iter=inf must be a non-negative integer"),
    (dict(max_iter=-1), "max_iter=-1"),
    (dict(sparsity=np.nan), "sparsity=nan must be finite"),
    (dict(sparsity=np.inf), "sparsity=inf must be finite"),
    (dict(sparsity=-0.5), "sparsity=-0.5 must be >= 0"),
    (dict(sparsity=np.array([0.1, np.nan])), "sparsity weights must be finite"),
    (dict(loss_every=0), "loss_every=0"),
    (dict(init="svd"), "init='svd' is not supported"),
    (dict(init="nndsvda", n_components=7), r"n_components=7 <= min\(n_freq, n_frames\) = 6"),
    (dict(random_state=-1), "random_state=-1 must be a non-negative integer"),
    (dict(random_state="seed"), "random_state='seed'"),
    (dict(update_W=np.array([1, 0])), "boolean array of length n_components=2"),
    (dict(update_W=False), "needs the fixed templates W"),
    (dict(update_H="no"), "update_H='no' must be True or False"),
    (dict(W=np.full((6, 2), np.nan)), "W contains 12 NaN or Inf"),
    (dict(W=-np.ones((6, 2))), "W contains negative values"),
    (dict(W=np.ones((5, 2))), r"W has shape \(5, 2\); expected \(6, 2\)"),
    (dict(H=np.ones((2, 8))), r"H has shape \(2, 8\); expected \(2, 7\)"),
    (dict(callback=3), "callback=3 is not callable"),
])
def test_nmf_bad_parameters(kwargs, match):
    kw = {"n_components": 2, **kwargs}
    with pytest.raises(ParameterError, match=match):
        nmfaudio.nmf(V_OK, **kw)


@pytest.mark.parametrize("call, match", [
    (lambda y: nmfaudio.separate(y, 0), "sr=0 must be a positive integer"),
    (lambda y: nmfaudio.separate(y, float("nan")), "sr=nan must be a positive integer"),
    (lambda y: nmfaudio.separate(y, SR, n_sources=0), "n_sources=0 must be a positive integer"),
    (lambda y: nmfaudio.separate(y, SR, n_components=0), "n_components=0"),
    (lambda y: nmfaudio.separate(y, SR, n_sources=3, n_components=2), "n_components=2 must be >= n_sources=3"),
    (lambda y: nmfaudio.separate(y, SR, beta="bogus"), "beta='bogus'"),
    (lambda y: nmfaudio.separate(y, SR, beta=float("inf")), "beta=inf must be finite"),
    (lambda y: nmfaudio.separate(y, SR, mask_power=float("nan")), "mask_power=nan must be finite"),
    (lambda y: nmfaudio.separate(y, SR, mask_power=0), r"mask_power=0.0 must be > 0"),
    (lambda y: nmfaudio.separate(y, SR, mask="fuzzy"), "mask='fuzzy' must be 'soft' or 'binary'"),
    (lambda y: nmfaudio.separate(y, SR, grouping="astrology"), "grouping='astrology' is not one of"),
    (lambda y: nmfaudio.separate(y, SR, tol=float("nan")), "tol=nan must be finite"),
    (lambda y: nmfaudio.separate(y, SR, n_fft=0), "n_fft=0 must be a positive integer"),
    (lambda y: nmfaudio.separate(y, SR, n_fft=1), "n_fft=1 must be at least 2"),
    (lambda y: nmfaudio.separate(y, SR, n_fft=256, hop_length=512), "hop_length=512 must be <= win_length=256"),
    (lambda y: nmfaudio.separate(y, SR, window="sinc"), "window='sinc' is not supported"),
    (lambda y: nmfaudio.separate(y, SR, random_state=-1), "random_state=-1"),
    (lambda y: nmfaudio.denoise(y, SR, sparsity=float("nan")), "sparsity=nan must be finite"),
    (lambda y: nmfaudio.denoise(y, SR, sparsity=-1), r"sparsity=-1.0 must be >= 0"),
    (lambda y: nmfaudio.denoise(y, SR, mask_power=float("inf")), "mask_power=inf must be finite"),
    (lambda y: nmfaudio.denoise(y, SR, max_iter=0), "max_iter=0 must be a positive integer"),
    (lambda y: nmfaudio.denoise(y, SR, n_noise_components=0), "n_noise_components=0"),
    (lambda y: nmfaudio.denoise(y, SR, random_state=-2), "random_state=-2"),
    (lambda y: nmfaudio.denoise(y, SR, stft_params="big"), "params must be an STFTParams, got str"),
    (lambda y: nmfaudio.learn_dictionary(y, SR, name="x", n_components=0), "n_components=0"),
    (lambda y: nmfaudio.learn_dictionary(y, SR, name="x", power=float("nan")), "power=nan must be finite"),
    (lambda y: nmfaudio.learn_dictionary(y, SR, name="x", pitch_shifts=[float("inf")]), "pitch_shifts=inf"),
    (lambda y: nmfaudio.learn_dictionary(y, SR, name=""), "name='' must be a non-empty string"),
    (lambda y: nmfaudio.learn_dictionary(y, SR, name="a/b"), "name='a/b' cannot be used as a file name"),
    (lambda y: nmfaudio.soft_masks(np.ones((2, 3, 4)), mask_power=float("nan")), "mask_power=nan must be finite"),
    (lambda y: nmfaudio.soft_masks(np.full((2, 3, 4), np.inf)), "NaN or Inf"),
    (lambda y: nmfaudio.soft_masks(-np.ones((2, 3, 4))), "negative values"),
    (lambda y: nmfaudio.apply_masks(np.ones((3, 4), complex), np.full((2, 3, 4), np.nan)), "masks contains 24 NaN"),
    (lambda y: nmfaudio.apply_masks(np.full((3, 4), np.nan, complex), np.ones((2, 3, 4))), "S contains 12 NaN"),
    (lambda y: nmfaudio.istft(np.full((129, 4), np.inf, complex)), "S contains 516 NaN or Inf"),
    (lambda y: nmfaudio.istft(np.ones((129, 4), complex), length=0), "length=0 must be a positive integer"),
    (lambda y: nmfaudio.istft(np.ones((1, 4), complex)), "1 frequency bin"),
    (lambda y: nmfaudio.group_components(np.full((129, 2), np.nan), np.ones((2, 5)), 2, sr=SR, n_fft=256),
     "W contains 258 NaN"),
    (lambda y: nmfaudio.group_components(np.ones((129, 2)), np.ones((3, 5)), 2, sr=SR, n_fft=256),
     "W has 2 components but H has 3 rows"),
    (lambda y: nmfaudio.group_components(np.ones((129, 2)), np.ones((2, 5)), 2, sr=0, n_fft=256), "sr=0"),
    (lambda y: nmfaudio.save("x.m4a", y, SR), r"extension '\.m4a' is not supported; use one of \.aif, \.aiff, \.flac"),
    (lambda y: nmfaudio.save("x.wav", y, 0), "sr=0 must be a positive integer"),
    (lambda y: nmfaudio.save("x.wav", y, SR, subtype="PCM_99"), "subtype='PCM_99' is not valid for WAV"),
    (lambda y: nmfaudio.load("x.wav", sr=-8000), "sr=-8000 must be a positive integer"),
])
def test_bad_parameters(clip, call, match, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ParameterError, match=match):
        call(clip)
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------- CLI

def _subcommands():
    parser = get_parser()
    for action in parser._actions:
        if hasattr(action, "choices") and isinstance(action.choices, dict):
            return sorted(action.choices)
    return []


def test_every_command_is_in_the_matrix():
    assert {"separate", "train", "denoise"} <= set(_subcommands())


@pytest.mark.parametrize("command", _subcommands())
def test_cli_unknown_option_every_command(command, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for argv in ([command, "--no-such-option"], [command, "--no-such-option=3", "x"]):
        code, err = cli(argv, capsys)
        assert code == 2, (argv, err)
        assert_one_line_error(err)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("argv, code, match", [
    ([], 2, "a command is required"),
    (["--bogus"], 2, "unrecognized arguments: --bogus"),
    (["frobnicate"], 2, "invalid choice: 'frobnicate'"),
    (["separate", "{good}", "-o", "{out}", "--sources", "0"], 2, "--sources: '0' must be a positive integer"),
    (["separate", "{good}", "-o", "{out}", "--sources", "two"], 2, "'two' is not an integer"),
    (["separate", "{good}", "-o", "{out}", "--iterations", "-5"], 2, "--iterations: '-5'"),
    (["separate", "{good}", "-o", "{out}", "--n-fft", "0"], 2, "--n-fft: '0'"),
    (["separate", "{good}", "-o", "{out}", "--hop", "nan"], 2, "--hop: 'nan' is not an integer"),
    (["separate", "{good}", "-o", "{out}", "--beta", "banana"], 2, "beta='banana' is not a known divergence"),
    (["separate", "{good}", "-o", "{out}", "--beta", "nan"], 2, "beta=nan must be finite"),
    (["separate", "{good}", "-o", "{out}", "--beta", "inf"], 2, "beta=inf must be finite"),
    (["separate", "{good}", "-o", "{out}", "--beta", "9"], 2, "beta=9.0 must be <= 5.0"),
    (["separate", "{good}", "-o", "{out}", "--seed", "-1"], 2, "--seed: '-1' must be a non-negative"),
    (["separate", "{good}", "-o", "{out}", "--residual", "-1"], 2, "--residual: '-1'"),
    (["separate", "{good}", "-o", "{out}", "--n-fft", "1"], 2, r"--n-fft: '1' is too small"),
    (["separate", "{good}", "-o", "{out}", "--n-fft", "3"], 2, r"2 frequency bins; expected at least 64"),
    (["drums", "{good}", "-o", "{out}", "--n-fft", "32"], 2, r"--n-fft: '32' is too small"),
    (["separate", "{good}", "-o", "{out}", "--hop", "99999"], 1, "hop_length=99999 must be <= win_length"),
    (["separate", "{good}", "-o", "{out}", "--components", "1"], 1, "n_components=1 must be >= n_sources=2"),
    (["separate", "{good}", "-o", "{out}", "--residual", "2"], 2, r"ignores --residual 2 \(only used in supervised"),
    (["separate", "{good}", "-o", "{out}", "--dict", "{dict}", "--sources", "2"], 2, "only one of --dict"),
    (["separate", "{good}", "-o", "{out}", "--dict", "{dict}", "--residual", "1", "--n-fft", "512"], 1,
     "n_fft=512 conflicts"),
    (["separate", "{good}", "-o", "{out}", "--dict", "{dict}"], 2, "add --residual K"),
    (["separate", "{good}", "-o", "{good}"], 1, "is a file, not a folder"),
    (["train", "x", "{good}", "-o", "{out}/x.wav"], 1, "must end in .npz"),
    (["train", "", "{good}", "-o", "{out}/x.npz"], 1, "name='' must be a non-empty string"),
    (["train", "a/b", "{good}", "-o", "{out}/x.npz"], 1, "name='a/b' cannot be used as a file name"),
    (["train", "x", "{good}", "-o", "{out}/x.npz", "--sr", "0"], 2, "--sr: '0' must be a positive"),
    (["train", "x", "{silence}", "-o", "{out}/x.npz", "--n-fft", "256"], 1, "silent"),
    (["denoise", "{good}", "-o", "{out}/c.m4a"], 1, r"extension '\.m4a' is not supported"),
    (["denoise", "{good}", "-o", "{out}/c.wav", "--noise-out", "{out}/n.wma"], 1, "extension '.wma'"),
    (["denoise", "{good}", "-o", "{out}/c.wav", "--noise-out", "{out}/c.wav"], 2, "are the same file"),
    (["denoise", "{good}", "-o", "{out}/c.wav", "--noise", "{good}", "--noise-dict", "{dict}"], 2,
     "not allowed with argument"),
    (["denoise", "{good}", "-o", "{out}/c.wav", "--noise", "{silence}"], 1, "silent"),
    (["denoise", "{good}", "-o", "{good}", "--overwrite"], 2, "is the input file"),
])
def test_cli_bad_values(files, tmp_path, capsys, argv, code, match):
    out = tmp_path / "out"
    subst = {"good": files / "good.wav", "silence": files / "silence.wav", "out": out,
             "dict": files / "tone.npz", "dir": files / "folder.wav"}
    argv = [a.format(**subst) for a in argv]
    got, err = cli(argv, capsys)
    assert got == code, err
    assert_one_line_error(err)
    import re

    assert re.search(match, err), err
    assert not out.exists()


@pytest.mark.parametrize("name, shape", [
    ("silence.wav", (SR // 2,)),
    ("short.wav", (10,)),
    ("six.wav", (6, SR // 2)),
    ("pcm16.wav", (SR // 2,)),
    ("dc.wav", (SR // 2,)),
    ("square.wav", (SR // 2,)),
])
def test_cli_legal_extremes(files, tmp_path, capsys, name, shape):
    out = tmp_path / "out"
    stem = name[:-4]
    code, err = cli(["separate", files / name, "-o", out, "--n-fft", "256", "--iterations", "5"], capsys)
    assert code == 0, err
    code, err = cli(["denoise", files / name, "-o", out / "clean.wav", "--noise-out", out / "noise.wav",
                     "--iterations", "5"], capsys)
    assert code == 0, err
    mix, _ = nmfaudio.load(files / name)
    written = [out / stem / "source1.wav", out / stem / "source2.wav", out / "clean.wav", out / "noise.wav"]
    for p in written:
        y, sr = nmfaudio.load(p)
        assert sr == SR and y.shape == shape and y.dtype == np.float32 and np.all(np.isfinite(y))
        if name == "silence.wav":
            assert not np.any(y)
    # Outputs follow the input's sample format (16-bit PCM in, 16-bit PCM out): then the
    # sources sum to the mixture within a few 16-bit steps, else within float rounding.
    depth = nmfaudio.io.audio_info(files / name).bit_depth
    assert {nmfaudio.io.audio_info(p).bit_depth for p in written} == {depth if depth == 16 else 32}
    tol = 4 / 32768 if depth == 16 else 1e-5
    total = nmfaudio.load(written[0])[0] + nmfaudio.load(written[1])[0]
    assert np.max(np.abs(total - mix)) <= tol * max(1.0, float(np.max(np.abs(mix))))
    assert not [p for p in out.rglob("*.part")]
    assert sorted(os.listdir(out)) == sorted(["clean.wav", "noise.wav", stem])


def test_power_spectrogram_overflow_and_huge_rate(tmp_path):
    loud = np.full(2000, 1e30, np.float32)
    with pytest.raises(ParameterError, match="power 2.0 overflows float32"):
        nmfaudio.learn_dictionary(loud, SR, name="x", n_components=2, power=2.0,
                                  stft_params=STFTParams(n_fft=256))
    with pytest.raises(ParameterError, match="sr=10000000000 is too large"):
        nmfaudio.save(tmp_path / "a.wav", np.zeros(4, np.float32), 10**10)
    assert list(tmp_path.iterdir()) == []


def _generic_argv(command, bad, out):
    """Arguments for ``command`` with ``bad`` in every input slot (positionals and required
    options), read off the parser, so that commands added later are covered too."""
    parser = get_parser()
    sub = next(a for a in parser._actions if isinstance(getattr(a, "choices", None), dict))
    argv = [command]
    for action in sub.choices[command]._actions:
        if action.option_strings and not action.required:
            continue
        if not action.option_strings and action.dest in ("help",):
            continue
        metavar = str(action.metavar or action.dest)
        is_output = action.dest in ("out", "output", "outdir", "out_dir") or "OUT" in metavar.upper()
        if is_output:
            value = str(out / ("result" + (os.path.splitext(metavar)[1] if "." in metavar else "")))
        elif action.type not in (None, str):
            value = "1"
        else:
            value = str(bad)
        argv += ([action.option_strings[0]] if action.option_strings else []) + [value]
    return argv


@pytest.mark.parametrize("bad", ["missing.wav", "text.wav", "empty.wav", "header.wav", "nan.wav"])
# 'models' reads no file; 'live' reads only optional --dict files (tests/test_live.py covers bad ones);
# 'serve' reads none from its arguments (it would start a server)
@pytest.mark.parametrize("command", [c for c in _subcommands() if c not in ("models", "live", "serve")])
def test_cli_every_command_rejects_bad_input_files(files, tmp_path, capsys, monkeypatch, command, bad):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "out"
    argv = _generic_argv(command, files / bad, out)
    code, err = cli(argv, capsys)
    assert code in (1, 2), (argv, err)
    assert_one_line_error(err)
    assert bad in err, (argv, err)  # the error is about the bad file and names it
    if command == "batch":  # by design, batch logs each failed file in OUTDIR/manifest.jsonl
        [log] = [p for p in tmp_path.rglob("*") if p.is_file()]
        assert log.name == "manifest.jsonl" and bad in log.read_text()
        log.unlink()
        for d in sorted(tmp_path.rglob("*"), reverse=True):
            d.rmdir()
    assert list(tmp_path.iterdir()) == []


def test_evaluate_bad_inputs():
    rng = np.random.default_rng(0)
    r = rng.standard_normal((2, 1000))
    with pytest.raises(ParameterError, match="1000 source.*of 2 samples.*transposed"):
        nmfaudio.evaluate(r.T.copy(), r.T.copy())
    with pytest.raises(ParameterError, match="estimates\\[0\\] contains 1 NaN"):
        nmfaudio.evaluate(r, np.where(np.arange(1000) == 3, np.nan, r))
    with pytest.raises(ParameterError, match="500 samples but references\\[0\\] has 1000"):
        nmfaudio.evaluate(r, r[:, :500])
    with pytest.raises(ParameterError, match="silent"):
        nmfaudio.evaluate(r, np.zeros_like(r))
    # a silent estimate is the worst possible, not a perfect one
    assert nmfaudio.si_sdr(r[0], np.zeros(1000)) == -np.inf
    assert nmfaudio.si_sdr(r[0], 2 * r[0]) > 100
