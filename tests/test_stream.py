import numpy as np
import pytest

import nmfaudio
from nmfaudio import ParameterError
from nmfaudio.stream import separate_stream


@pytest.fixture(scope="module")
def dicts():
    y_p, sr = nmfaudio.load("audio_fixtures/music/train/piano.wav")
    y_f, _ = nmfaudio.load("audio_fixtures/music/train/flute.wav")
    p = nmfaudio.STFTParams(n_fft=512, hop_length=128)
    kw = dict(n_components=6, stft_params=p, max_iter=30)
    return [nmfaudio.learn_dictionary(y_p, sr, name="piano", **kw),
            nmfaudio.learn_dictionary(y_f, sr, name="flute", **kw)]


@pytest.mark.parametrize("channels", [1, 2])
@pytest.mark.parametrize("block_seconds", [0.02, 0.3])
def test_stream_equals_offline(tmp_path, dicts, channels, block_seconds):
    y, sr = nmfaudio.load("audio_fixtures/music/mix.wav")
    y = y[: int(1.3 * sr) + 37]  # odd length: the last block is partial
    if channels == 2:
        y = np.stack([y, 0.5 * y[::-1]])
    src = tmp_path / "mix.wav"
    nmfaudio.save(src, y, sr)
    # 0.02 s = 3 frames per block at hop 128: many block boundaries
    paths = separate_stream(src, tmp_path / "out", dicts, block_seconds=block_seconds, max_iter=20)
    offline = nmfaudio.separate(y, sr, dictionaries=dicts, max_iter=20)
    assert sorted(paths) == sorted(offline)
    for name, p in paths.items():
        got, sr2 = nmfaudio.load(p)
        assert sr2 == sr and got.shape == y.shape
        assert np.max(np.abs(got - offline[name])) < 1e-5
    total = sum(nmfaudio.load(p)[0] for p in paths.values())
    assert np.max(np.abs(total - y)) < 1e-4


def test_stream_refuses_overwrite_and_wrong_rate(tmp_path, dicts):
    y, sr = nmfaudio.load("audio_fixtures/music/mix.wav")
    src = tmp_path / "mix.wav"
    nmfaudio.save(src, y[:4000], sr)
    separate_stream(src, tmp_path, dicts, block_seconds=0.1, max_iter=2)
    with pytest.raises(nmfaudio.AudioFileError, match="exists"):
        separate_stream(src, tmp_path, dicts, block_seconds=0.1, max_iter=2)
    separate_stream(src, tmp_path, dicts, block_seconds=0.1, max_iter=2, overwrite=True)
    other = tmp_path / "other.wav"
    nmfaudio.save(other, y[:4000], 16000)
    with pytest.raises(ParameterError, match="Hz"):
        separate_stream(other, tmp_path / "o", dicts)
    with pytest.raises(ParameterError, match="block_seconds"):
        separate_stream(src, tmp_path / "o", dicts, block_seconds=0)


def test_cli_block_seconds_matches_offline(tmp_path, dicts, monkeypatch):
    import os

    from nmfaudio.cli import main

    monkeypatch.chdir(os.path.join(os.path.dirname(__file__), ".."))
    y, sr = nmfaudio.load("audio_fixtures/music/mix.wav")
    src = nmfaudio.save(tmp_path / "mix.wav", y[: sr], sr)
    args = []
    for d in dicts:
        d.save(tmp_path / f"{d.name}.npz")
        args += ["--dict", str(tmp_path / f"{d.name}.npz")]
    base = ["separate", str(src), "--iterations", "10"] + args
    assert main(base + ["-o", str(tmp_path / "a"), "--block-seconds", "0.1"]) == 0
    assert main(base + ["-o", str(tmp_path / "b")]) == 0
    for d in dicts:
        a = nmfaudio.load(tmp_path / "a" / "mix" / f"{d.name}.wav")[0]
        b = nmfaudio.load(tmp_path / "b" / "mix" / f"{d.name}.wav")[0]
        assert np.max(np.abs(a - b)) < 1e-4
    assert main(["separate", str(src), "-o", str(tmp_path / "c"), "--block-seconds", "1"]) == 2  # usage error
