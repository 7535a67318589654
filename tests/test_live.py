"""nmfaudio.live / `nmfaudio live`: tested with fake streams and a fake sounddevice (no audio device here)."""

import builtins
import functools
import re
import sys
import time
import types
from pathlib import Path

import numpy as np
import pytest

import nmfaudio
from nmfaudio import ParameterError
from nmfaudio import live
from nmfaudio.cli import main
from nmfaudio.live import ArrayStream, AudioDeviceError, run_live

MUSIC = Path(__file__).resolve().parents[1] / "audio_fixtures" / "music"
P = nmfaudio.STFTParams(n_fft=512)


@pytest.fixture(scope="module")
def dicts():
    out = []
    for name in ("piano", "flute"):
        clip, sr = nmfaudio.load(MUSIC / "train" / f"{name}.wav")
        out.append(nmfaudio.learn_dictionary(clip, sr, name=name, stft_params=P, n_components=8, max_iter=20,
                                             pitch_shifts=()))
    return out


@pytest.fixture(scope="module")
def dict_files(dicts, tmp_path_factory):
    folder = tmp_path_factory.mktemp("dicts")
    return [str(d.save(folder / f"{d.name}.npz")) for d in dicts]


@pytest.fixture(scope="module")
def mix():
    return nmfaudio.load(MUSIC / "mix.wav")[0][:40000]  # a whole number of blocks for no block size


def _padded(y, block):
    return np.concatenate([y, np.zeros(-len(y) % block, y.dtype)])


class _Recorder:
    """A stream_factory that plays ``y`` and keeps the streams it made."""

    def __init__(self, y):
        self.y, self.streams = y, []

    def __call__(self, **kwargs):
        self.kwargs = kwargs
        self.streams.append(ArrayStream(self.y, **kwargs))
        return self.streams[-1]


@pytest.mark.parametrize("block", [256, 1024, 1500])
def test_fake_stream_output_is_offline_separation_delayed(dicts, mix, block):
    proc = nmfaudio.StreamSeparator(dictionaries=dicts)
    rec = _Recorder(mix)
    report = run_live(proc, source=["flute", "piano"], block_size=block, stream_factory=rec)
    y = _padded(mix, block)
    out = rec.streams[0].output
    assert out.shape == (2, len(y)) and out.dtype == np.float32
    assert rec.kwargs["channels"] == (1, 2) and rec.kwargs["samplerate"] == 22050
    assert rec.kwargs["blocksize"] == block and rec.kwargs["dtype"] == "float32"
    offline = nmfaudio.separate(y, 22050, dictionaries=dicts)
    L = proc.latency
    assert np.all(out[:, :L] == 0)
    for ch, name in enumerate(["flute", "piano"]):
        np.testing.assert_allclose(out[ch, L:], offline[name][:len(y) - L], atol=1e-5, rtol=0)
    assert report.blocks == len(y) // block and len(report.block_seconds) == report.blocks
    assert report.latency_samples == L + block
    assert report.latency_ms == pytest.approx(1000 * (L + block) / 22050)
    assert 0 < report.block_ms(50) <= report.block_ms(99)
    assert report.xruns >= report.slow_blocks and report.status_xruns == 0
    assert not report.interrupted and "xrun" in report.summary()


def test_default_source_is_the_first_and_duration_stops(dicts, mix):
    proc = nmfaudio.StreamSeparator(dictionaries=dicts)
    seen = []
    rec = _Recorder(mix)
    report = run_live(proc, block_size=512, duration=0.5, stream_factory=rec,
                      on_block=lambda block, outs, seconds: seen.append((block.copy(), outs["piano"].copy())))
    n_blocks = int(np.ceil(0.5 * 22050 / 512))
    assert report.blocks == n_blocks == len(seen)
    out = rec.streams[0].output
    assert out.shape[0] == 1
    played = np.concatenate([s[1] for s in seen])
    np.testing.assert_array_equal(out[0, :len(played)], played)   # the first source: piano
    assert np.all(out[0, len(played):] == 0)                       # silence after the duration
    np.testing.assert_array_equal(np.concatenate([s[0] for s in seen]), mix[:len(played)])


class _SlowProcessor:
    names, sr, latency = ["a"], 8000, 0

    def __init__(self, slow_blocks):
        self.slow, self.calls = set(slow_blocks), 0

    def process(self, block):
        self.calls += 1
        if self.calls in self.slow:
            time.sleep(0.01)  # 5x the 2 ms a 16-sample block lasts at 8 kHz
        return {"a": block}


class _FlaggingStream(ArrayStream):
    """Reports a driver xrun on every third callback."""

    def start(self):
        self.active = True
        out = np.zeros((self.blocksize, 1), np.float32)
        for i in range(0, len(self._input), self.blocksize):
            flagged = (i // self.blocksize) % 3 == 2
            status = _Flags(flagged)
            self.callback(self._input[i:i + self.blocksize], out, self.blocksize, None, status)
        self.active = False


class _Flags:
    def __init__(self, on):
        self.on = on

    def __bool__(self):
        return self.on


def test_slow_blocks_and_driver_flags_count_as_xruns():
    proc = _SlowProcessor(slow_blocks=[2, 5])
    report = run_live(proc, block_size=16, stream_factory=functools.partial(ArrayStream, np.ones(16 * 6)),
                      warm_up=False)
    assert report.blocks == 6 and report.slow_blocks == 2 and report.xruns == 2
    report = run_live(_SlowProcessor([]), block_size=16, warm_up=False,
                      stream_factory=functools.partial(_FlaggingStream, np.ones(16 * 9)))
    assert report.status_xruns == 3 and report.xruns >= 3


def test_warm_up_runs_noise_through_the_processor_then_resets_it():
    class Counting(_SlowProcessor):
        latency = 40

        def __init__(self):
            super().__init__([])
            self.resets, self.warm = 0, []

        def process(self, block):
            self.warm.append(float(np.abs(block).max()))
            return super().process(block)

        def reset(self):
            self.resets += 1

    proc = Counting()
    opened = {}

    def factory(**kw):
        opened.update(calls=proc.calls, resets=proc.resets)
        return ArrayStream(np.ones(32), **kw)

    run_live(proc, block_size=16, stream_factory=factory)
    assert opened == {"calls": 5, "resets": 1}           # 40 + 2 * 16 samples in 16-sample blocks
    assert all(0 < m < 0.01 for m in proc.warm[:5])     # low-level noise, not silence
    assert proc.calls == 7                              # then the two blocks of the stream


def test_processor_error_mid_stream_is_raised_and_the_stream_closed(dicts, mix):
    y = mix[:8192].copy()
    y[5000] = np.nan
    rec = _Recorder(y)
    with pytest.raises(ParameterError, match="NaN"):
        run_live(nmfaudio.StreamSeparator(dictionaries=dicts), block_size=1024, stream_factory=rec)
    assert rec.streams[0].closed
    assert np.all(rec.streams[0].output[:, 5120:] == 0)   # nothing played after the bad block


def test_ctrl_c_returns_the_report_so_far(dicts, mix):
    class Interrupted(ArrayStream):
        def __enter__(self):
            out = np.zeros((self.blocksize, 1), np.float32)
            for i in range(3):
                self.callback(self._input[i * 1024:(i + 1) * 1024], out, 1024, None, _Flags(False))
            raise KeyboardInterrupt

    report = run_live(nmfaudio.StreamSeparator(dictionaries=dicts), block_size=1024,
                      stream_factory=functools.partial(Interrupted, mix))
    assert report.interrupted and report.blocks == 3


@pytest.mark.parametrize("kwargs, match", [
    ({"block_size": 0}, "block_size=0"), ({"block_size": 8}, "block_size=8"),
    ({"block_size": 1024.0}, "block_size=1024.0"), ({"block_size": True}, "block_size=True"),
    ({"block_size": 100000}, "block_size=100000"),
    ({"duration": -1}, "duration=-1"), ({"duration": float("nan")}, "duration=nan"),
    ({"source": "drums"}, "drums"), ({"source": []}, r"source=\[\]"),
])
def test_bad_arguments(dicts, kwargs, match):
    def never(**kw):
        raise AssertionError("no stream should be opened")

    with pytest.raises(ParameterError, match=match):
        run_live(nmfaudio.StreamSeparator(dictionaries=dicts), stream_factory=never, **kwargs)


# --------------------------------------------------------------- sounddevice and devices

def _fake_sounddevice(devices, default=(0, 1), stream=None):
    """A module with sounddevice's query_devices/Stream/PortAudioError over a device list."""

    class PortAudioError(Exception):
        pass

    def query_devices(device=None, kind=None):
        if device is None and kind is None:
            return "\n".join(f"  {i} {d['name']}" for i, d in enumerate(devices))
        if device is None:
            device = default[0 if kind == "input" else 1]
        if not isinstance(device, int) or not 0 <= device < len(devices):
            raise PortAudioError(f"Error querying device {device}")
        d = dict(devices[device])
        if kind and d[f"max_{kind}_channels"] < 1:
            raise ValueError(f"Not an {kind} device: {d['name']!r}")
        return d

    return types.SimpleNamespace(PortAudioError=PortAudioError, query_devices=query_devices,
                                 Stream=stream)


MIC = {"name": "mic", "max_input_channels": 1, "max_output_channels": 0}
SPEAKERS = {"name": "speakers", "max_input_channels": 0, "max_output_channels": 2}


def _cli(argv, capsys):
    code = main(["live"] + argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_plays_the_fake_devices(dict_files, mix, dicts, monkeypatch, capsys):
    rec = _Recorder(mix[:22050])
    monkeypatch.setattr(live, "import_sounddevice", lambda: _fake_sounddevice([MIC, SPEAKERS], stream=rec))
    code, out, err = _cli(["--dict", dict_files[0], "--dict", dict_files[1], "--source", "flute",
                           "--block-size", "512", "--input-device", "0", "--output-device", "1"], capsys)
    assert code == 0, err
    assert "playing flute at 22050 Hz" in out and "xrun" in out and "blocks" in out
    assert rec.kwargs["device"] == (0, 1) and rec.kwargs["channels"] == (1, 1)
    y = _padded(mix[:22050], 512)
    proc = nmfaudio.StreamSeparator(dictionaries=dicts)
    expected = np.concatenate([proc.process(y[i:i + 512])["flute"] for i in range(0, len(y), 512)])
    np.testing.assert_array_equal(rec.streams[0].output[0], expected)


def test_cli_denoises_with_a_noise_clip(monkeypatch, capsys):
    y, sr = nmfaudio.load("audio_fixtures/speech/noisy.wav")
    rec = _Recorder(y[:16000])
    monkeypatch.setattr(live, "import_sounddevice", lambda: _fake_sounddevice([MIC, SPEAKERS], stream=rec))
    code, out, err = _cli(["--noise", "audio_fixtures/speech/train/noise.wav", "--block-size", "512"], capsys)
    assert code == 0, err
    assert "playing speech at 16000 Hz" in out
    noise, _ = nmfaudio.load("audio_fixtures/speech/train/noise.wav")
    den = nmfaudio.StreamDenoiser(noise=noise, sr=sr)
    x = _padded(y[:16000], 512)
    expected = np.concatenate([den.process(x[i:i + 512])["speech"] for i in range(0, len(x), 512)])
    np.testing.assert_allclose(rec.streams[0].output[0], expected, atol=1e-6)


def test_cli_blind_denoise_runs_at_the_chosen_rate(monkeypatch, capsys):
    y, _ = nmfaudio.load("audio_fixtures/speech/noisy.wav")
    rec = _Recorder(y[:8000])
    monkeypatch.setattr(live, "import_sounddevice", lambda: _fake_sounddevice([MIC, SPEAKERS], stream=rec))
    code, out, err = _cli(["--denoise", "--sr", "16000"], capsys)
    assert code == 0, err
    assert "playing speech at 16000 Hz" in out and rec.kwargs["samplerate"] == 16000


def test_cli_all_sources_and_duration(dict_files, mix, monkeypatch, capsys):
    rec = _Recorder(mix)
    monkeypatch.setattr(live, "import_sounddevice", lambda: _fake_sounddevice([MIC, SPEAKERS], stream=rec))
    code, out, err = _cli(["--dict", dict_files[0], "--dict", dict_files[1], "--all-sources",
                           "--duration", "0.1"], capsys)
    assert code == 0, err
    assert rec.kwargs["channels"] == (1, 2) and rec.kwargs["blocksize"] == 1024
    assert "playing piano, flute" in out and "3 blocks" in out


@pytest.mark.parametrize("devices, default, argv, match", [
    ([], (-1, -1), [], "no input audio device found"),
    ([MIC], (0, -1), [], "no output audio device found"),
    ([MIC, SPEAKERS], (0, 1), ["--input-device", "7"], "input device 7 is not usable"),
    ([MIC, SPEAKERS], (0, 1), ["--output-device", "0"], "output device 0 is not usable.*Not an output"),
    ([MIC, dict(SPEAKERS, max_output_channels=1)], (0, 1), ["--all-sources"], "has 1 channel.*2 are needed"),
])
def test_cli_device_errors_are_one_line(dict_files, monkeypatch, capsys, devices, default, argv, match):
    def never(**kw):
        raise AssertionError("no stream should be opened")

    monkeypatch.setattr(live, "import_sounddevice", lambda: _fake_sounddevice(devices, default, stream=never))
    code, out, err = _cli(["--dict", dict_files[0], "--dict", dict_files[1]] + argv, capsys)
    assert code == 1
    assert len(err.strip().splitlines()) == 1 and re.search(match, err), err
    assert "playing" not in out


def test_cli_stream_refused_by_portaudio(dict_files, monkeypatch, capsys):
    sd = _fake_sounddevice([MIC, SPEAKERS])

    def refuse(**kw):
        raise sd.PortAudioError("Invalid sample rate")

    sd.Stream = refuse
    monkeypatch.setattr(live, "import_sounddevice", lambda: sd)
    code, out, err = _cli(["--dict", dict_files[0], "--dict", dict_files[1]], capsys)
    assert code == 1 and "cannot open the audio stream at 22050 Hz" in err and "Invalid sample rate" in err


def test_cli_list_devices(monkeypatch, capsys):
    monkeypatch.setattr(live, "import_sounddevice", lambda: _fake_sounddevice([MIC, SPEAKERS]))
    code, out, err = _cli(["--list-devices"], capsys)
    assert code == 0 and "mic" in out and "speakers" in out
    monkeypatch.setattr(live, "import_sounddevice", lambda: _fake_sounddevice([]))
    assert _cli(["--list-devices"], capsys)[1].strip() == "no audio devices found (PortAudio sees none)"


def _block_import(monkeypatch, error):
    real = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name == "sounddevice":
            raise error
        return real(name, *args, **kwargs)

    monkeypatch.delitem(sys.modules, "sounddevice", raising=False)
    monkeypatch.setattr(builtins, "__import__", fake_import)


@pytest.mark.parametrize("error, match", [
    (ImportError("No module named 'sounddevice'"), 'pip install "nmfaudio\\[live\\]"'),
    (OSError("PortAudio library not found"), "libportaudio2"),
])
def test_missing_sounddevice_or_portaudio(dict_files, monkeypatch, capsys, error, match):
    _block_import(monkeypatch, error)
    with pytest.raises(AudioDeviceError, match=match):
        live.import_sounddevice()
    for argv in (["--list-devices"], ["--dict", dict_files[0], "--dict", dict_files[1]]):
        code, out, err = _cli(argv, capsys)
        assert code == 1 and len(err.strip().splitlines()) == 1
        assert re.search(match, err), err


@pytest.mark.parametrize("argv", [
    ["--block-size", "0"], ["--block-size", "8"], ["--block-size", "abc"], ["--block-size", "100000"],
    ["--duration", "0"], ["--duration", "x"], ["--input-device", " "],
])
def test_cli_usage_errors_exit_2(dict_files, argv, capsys):
    code, out, err = _cli(["--dict", dict_files[0]] + argv, capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1 and argv[0] in err


@pytest.mark.parametrize("argv, match", [
    ([], "give one of --dict D.npz ..., --instruments"),
    (["--dict", "D", "--instruments", "piano"], "got --dict and --instruments"),
    (["--noise", "N.wav", "--denoise"], "got --noise and --denoise"),
    (["--dict", "D", "--sr", "16000"], "--sr applies to --denoise only"),
    (["--dict", "D", "--source", "piano", "--all-sources"], "not both"),
])
def test_cli_option_conflicts_exit_2(argv, match, capsys):
    code, out, err = _cli(argv, capsys)
    assert code == 2 and match in err


@pytest.mark.parametrize("bad", ["missing.npz", "text.npz"])
def test_cli_bad_dictionary_file_is_one_line(dict_files, monkeypatch, capsys, tmp_path, bad):
    (tmp_path / "text.npz").write_text("not a dictionary")
    monkeypatch.setattr(live, "import_sounddevice", lambda: _fake_sounddevice([MIC, SPEAKERS]))
    code, out, err = _cli(["--dict", dict_files[0], "--dict", str(tmp_path / bad)], capsys)
    assert code == 1 and len(err.strip().splitlines()) == 1 and bad in err, err


def test_cli_unknown_source_exit_2(dict_files, monkeypatch, capsys):
    monkeypatch.setattr(live, "import_sounddevice", lambda: _fake_sounddevice([MIC, SPEAKERS]))
    code, out, err = _cli(["--dict", dict_files[0], "--dict", dict_files[1], "--source", "drums"], capsys)
    assert code == 2 and "the sources are piano, flute" in err


def test_audio_callback_allocates_nothing_in_steady_state(dicts, mix):
    # The callback reuses its block and output arrays (process(block, out=...)): after the
    # first calls, a block costs only Python bookkeeping (~2 KB), well below one block of
    # samples (a copy of the input or one output alone is 8 KB at 2048 samples).
    import tracemalloc

    from nmfaudio.live import _Callback

    proc = nmfaudio.StreamSeparator(dictionaries=dicts)
    n = 2048
    cb = _Callback(proc, ["piano", "flute"], n, None, None)
    outdata = np.zeros((n, 2), np.float32)
    blocks = [np.ascontiguousarray(mix[i:i + n, None]) for i in range(0, len(mix) - n + 1, n)]
    for x in blocks[:8]:
        cb(x, outdata, n, None, None)
    peaks = []
    tracemalloc.start()
    try:
        for x in blocks[8:]:
            tracemalloc.reset_peak()
            base = tracemalloc.get_traced_memory()[0]
            cb(x, outdata, n, None, None)
            peaks.append(tracemalloc.get_traced_memory()[1] - base)
    finally:
        tracemalloc.stop()
    assert cb.error is None
    assert np.median(peaks) < 4096, peaks
    # and what it plays is the separator's output for that block
    ref = nmfaudio.StreamSeparator(dictionaries=dicts)
    for x in blocks[:-1]:
        ref.process(x[:, 0])
    last = ref.process(blocks[-1][:, 0])
    np.testing.assert_array_equal(outdata[:, 0], last["piano"])
    np.testing.assert_array_equal(outdata[:, 1], last["flute"])
