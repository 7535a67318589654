"""Output safety: nothing is overwritten without being asked, nothing is half-written.

Existing files are only replaced with ``overwrite=True`` / ``--overwrite``; every write
goes to a temporary ``.part`` file that is renamed into place, so a failure or a signal
(SIGINT, SIGTERM) during a write leaves the old file or none, no ``.part`` temporary
and no directory created for the failed write.
"""

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import nmfaudio
from nmfaudio import AudioFileError, SourceDictionary, STFTParams
from nmfaudio.cli import main
from nmfaudio.io import save_many

ROOT = Path(__file__).resolve().parents[1]
SR = 8000


@pytest.fixture
def mix(tmp_path):
    rng = np.random.default_rng(1)
    y = (0.2 * rng.standard_normal(SR // 2)).astype(np.float32)
    return nmfaudio.save(tmp_path / "in" / "mix.wav", y, SR)


def parts_under(root):
    return sorted(str(p) for p in Path(root).rglob("*.part"))


def cli(argv, capsys):
    capsys.readouterr()
    code = main([str(a) for a in argv])
    return code, capsys.readouterr().err


# --------------------------------------------------------------------------- refusing to overwrite

def test_save_and_dictionary_refuse_to_overwrite(tmp_path):
    p = tmp_path / "a.wav"
    nmfaudio.save(p, np.zeros(8, np.float32), SR)
    before = p.read_bytes()
    with pytest.raises(AudioFileError, match=r"a\.wav' already exists; pass overwrite=True"):
        nmfaudio.save(p, np.ones(8, np.float32) / 2, SR)
    with pytest.raises(AudioFileError, match="already exists"):
        save_many({tmp_path / "b.wav": (np.zeros(8, np.float32), SR), p: (np.zeros(8, np.float32), SR)})
    assert p.read_bytes() == before and sorted(os.listdir(tmp_path)) == ["a.wav"]
    d = SourceDictionary(name="x", W=np.ones((129, 2), np.float32) / 129, sr=SR, stft=STFTParams(n_fft=256))
    d.save(tmp_path / "x.npz")
    before = (tmp_path / "x.npz").read_bytes()
    with pytest.raises(AudioFileError, match="already exists; pass overwrite=True"):
        d.save(tmp_path / "x.npz")
    assert (tmp_path / "x.npz").read_bytes() == before
    d.save(tmp_path / "x.npz", overwrite=True)
    nmfaudio.save(p, np.ones(8, np.float32) / 2, SR, overwrite=True)
    assert nmfaudio.load(p)[0][0] == 0.5
    assert parts_under(tmp_path) == []


def _writing_commands(mix, out):
    return {
        "separate": (["separate", mix, "-o", out, "--n-fft", "256", "--iterations", "3"],
                     [out / "mix" / "source1.wav", out / "mix" / "source2.wav"]),
        "denoise": (["denoise", mix, "-o", out / "clean.wav", "--noise-out", out / "noise.wav",
                     "--iterations", "3"], [out / "clean.wav", out / "noise.wav"]),
        "train": (["train", "x", mix, "-o", out / "x.npz", "--n-fft", "256", "--components", "2"],
                  [out / "x.npz"]),
    }


@pytest.mark.parametrize("command", ["separate", "denoise", "train"])
def test_cli_refuses_to_overwrite(mix, tmp_path, capsys, command):
    out = tmp_path / "deep" / "er" / "out"  # output directories are created as needed
    argv, targets = _writing_commands(mix, out)[command]
    code, err = cli(argv, capsys)
    assert code == 0, err
    assert all(t.exists() for t in targets)
    before = {t: t.read_bytes() for t in targets}
    for victim in targets:  # any single existing output blocks the whole run
        others = [t for t in targets if t != victim]
        for t in targets:
            t.unlink(missing_ok=True)
        victim.write_bytes(before[victim])
        code, err = cli(argv, capsys)
        assert code == 1
        assert len(err.strip().splitlines()) == 1 and "--overwrite" in err and str(victim.name) in err
        assert victim.read_bytes() == before[victim]
        assert not any(t.exists() for t in others)  # all or nothing
    code, err = cli(argv + ["--overwrite"], capsys)
    assert code == 0, err
    assert all(t.exists() for t in targets)
    assert parts_under(tmp_path) == []


def test_cli_failing_write_leaves_nothing(mix, tmp_path, capsys, monkeypatch):
    # the second output fails to write: the first must not appear either
    real_write = sf.write
    calls = []

    def flaky(file, *a, **k):
        calls.append(file)
        if len(calls) == 2:
            raise OSError("No space left on device")
        return real_write(file, *a, **k)

    monkeypatch.setattr(sf, "write", flaky)
    out = tmp_path / "new" / "out"
    for command in ("separate", "denoise"):
        calls.clear()
        argv, targets = _writing_commands(mix, out)[command]
        code, err = cli(argv, capsys)
        assert code == 1 and "No space left" in err and len(err.strip().splitlines()) == 1
        assert not (tmp_path / "new").exists()  # no file, no .part, no created directory


def test_failing_write_keeps_old_file(tmp_path, monkeypatch):
    p = tmp_path / "a.wav"
    nmfaudio.save(p, np.zeros(8, np.float32), SR)
    before = p.read_bytes()

    def boom(file, *a, **k):
        Path(file).write_bytes(b"RIFF half a header")  # a partial temp file
        raise OSError("I/O error")

    monkeypatch.setattr(sf, "write", boom)
    with pytest.raises(AudioFileError, match="I/O error"):
        nmfaudio.save(p, np.ones(8, np.float32), SR, overwrite=True)
    assert p.read_bytes() == before and os.listdir(tmp_path) == ["a.wav"]


def test_unwritable_destinations(mix, tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(AudioFileError, match="cannot create directory"):
        nmfaudio.save(blocker / "a.wav", np.zeros(8, np.float32), SR)
    with pytest.raises(AudioFileError, match="cannot create directory"):
        save_many({blocker / "x" / "a.wav": (np.zeros(8, np.float32), SR)})
    (tmp_path / "d.wav").mkdir()
    with pytest.raises(AudioFileError, match="is a directory"):
        nmfaudio.save(tmp_path / "d.wav", np.zeros(8, np.float32), SR, overwrite=True)
    code, err = cli(["separate", mix, "-o", blocker, "--n-fft", "256", "--iterations", "2"], capsys)
    assert code == 1 and "is a file, not a folder" in err and "Traceback" not in err
    assert blocker.read_text() == "not a directory"


# --------------------------------------------------------------------------- signals mid-write

# A child process whose audio writer is slowed down (chunks with pauses), so that the
# signal arrives while the temporary file is half written; it says WRITING when it is.
CHILD_PRELUDE = textwrap.dedent("""
    import signal, sys, time
    import numpy as np
    import soundfile as sf
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even if started ignoring SIGINT

    def slow_write(file, data, samplerate, subtype=None, endian=None, format=None, closefd=True):
        data = np.asarray(data)
        channels = 1 if data.ndim == 1 else data.shape[1]
        with sf.SoundFile(file, "w", samplerate, channels, subtype, endian, format, closefd) as f:
            for i in range(0, len(data), 1000):
                f.write(data[i:i + 1000])
                f.flush()
                if i == 1000:
                    print("WRITING", flush=True)
                time.sleep(0.02)

    sf.write = slow_write
""")


def run_child(code, tmp_path, sig, watch):
    """Run ``code`` in a child; send ``sig`` once it is mid-write; return (rc, stderr)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.Popen([sys.executable, "-c", CHILD_PRELUDE + textwrap.dedent(code)],
                            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        line = proc.stdout.readline()
        assert line.strip() == "WRITING", (line, proc.stderr.read() if proc.poll() is not None else "")
        assert parts_under(watch), "the temporary file should exist mid-write"
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return proc.returncode, err


@pytest.mark.parametrize("existing", [False, True])
def test_api_save_interrupted(tmp_path, existing):
    dest = tmp_path / "sub" / "big.wav"
    if existing:
        nmfaudio.save(dest, np.full(100, 0.25, np.float32), SR)
        before = dest.read_bytes()
    rc, err = run_child(f"""
        import nmfaudio
        y = np.full((2, 200_000), 0.5, np.float32)
        nmfaudio.save({str(dest)!r}, y, {SR}, overwrite=True)
    """, tmp_path, signal.SIGINT, tmp_path / "sub")
    assert rc != 0 and "KeyboardInterrupt" in err
    assert parts_under(tmp_path) == []
    if existing:
        assert dest.read_bytes() == before  # the old file, untouched
    else:
        assert not dest.exists() and not dest.parent.exists()


@pytest.mark.parametrize("command, sig, rc, message", [
    ("separate", signal.SIGTERM, 143, "terminated"),
    ("denoise", signal.SIGINT, 130, "interrupted"),
])
def test_cli_interrupted_mid_write(tmp_path, sig, rc, message, command):
    y = (0.1 * np.random.default_rng(0).standard_normal(SR)).astype(np.float32)
    mix = nmfaudio.save(tmp_path / "mix.wav", y, SR)
    out = tmp_path / "out"
    argv = {"separate": ["separate", str(mix), "-o", str(out), "--n-fft", "256", "--iterations", "2"],
            "denoise": ["denoise", str(mix), "-o", str(out / "c.wav"), "--noise-out",
                        str(out / "n.wav"), "--iterations", "2"]}[command]
    got, err = run_child(f"""
        from nmfaudio.cli import main
        sys.exit(main({argv!r}))
    """, tmp_path, sig, out)
    assert got == rc, err
    assert err.strip() == f"nmfaudio: {message}"  # one line, no traceback
    assert parts_under(tmp_path) == []
    assert not out.exists()  # all or nothing: no file, no directory


def test_real_write_signalled_at_a_random_moment(tmp_path):
    # Unpatched libsndfile writing ~24 MB; whenever the signal lands, the destination is
    # either absent or complete and no temporary file remains.
    dest = tmp_path / "big.wav"
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    code = textwrap.dedent(f"""
        import signal, numpy as np, nmfaudio
        signal.signal(signal.SIGINT, signal.default_int_handler)
        y = np.linspace(-0.5, 0.5, 3_000_000, dtype=np.float32)
        print("READY", flush=True)
        nmfaudio.save({str(dest)!r}, np.stack([y, -y]), {SR})
    """)
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "READY"
        deadline = time.monotonic() + 20
        while not parts_under(tmp_path) and not dest.exists() and time.monotonic() < deadline:
            time.sleep(0.001)
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert parts_under(tmp_path) == []
    if dest.exists():
        y, sr = nmfaudio.load(dest)
        assert y.shape == (2, 3_000_000) and sr == SR
