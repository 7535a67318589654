"""Progress and silence: bars for drums/evaluate, the numba compile notice, -q, segment-wise evaluate."""

import io
import json
import time

import numpy as np
import pytest

import nmfaudio
from nmfaudio import save
from nmfaudio.cli import main


class _TTY(io.StringIO):
    def isatty(self):
        return True


@pytest.fixture
def pair(tmp_path, two_tone):
    sr, a, b = two_tone
    rng = np.random.default_rng(1)
    refs = [save(tmp_path / "ref_a.wav", a, sr), save(tmp_path / "ref_b.wav", b, sr)]
    ests = [save(tmp_path / "est_a.wav", a + 0.2 * b + 0.01 * rng.standard_normal(sr).astype(np.float32), sr),
            save(tmp_path / "est_b.wav", b + 0.2 * a, sr)]
    mix = save(tmp_path / "mix.wav", a + b, sr)
    return sr, refs, ests, mix


def test_segment_bss_equals_mir_eval_per_segment(rng):
    """Each segment's SDR/SIR/SAR are mir_eval's bss_eval_sources on that segment."""
    import warnings

    from mir_eval.separation import bss_eval_sources

    from nmfaudio._bss_segments import bss_segments

    n = 6000
    R = rng.standard_normal((2, n))
    R[1] = np.convolve(R[1], np.ones(7) / 7, "same")
    E = R + 0.3 * R[::-1] + 0.2 * rng.standard_normal((2, n))
    m = R.sum(axis=0)
    bounds = [(0, 3000), (3000, 6000)]
    got = bss_segments(R, E, m, bounds)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for s, (a, b) in enumerate(bounds):
            sdr, sir, sar, _ = bss_eval_sources(R[:, a:b], E[:, a:b], compute_permutation=False)
            msdr = bss_eval_sources(R[:, a:b], np.stack([m[a:b]] * 2), compute_permutation=False)[0]
            np.testing.assert_allclose(got["sdr"][:, s], sdr, atol=1e-8)
            np.testing.assert_allclose(got["sir"][:, s], sir, atol=1e-8)
            np.testing.assert_allclose(got["sar"][:, s], sar, atol=1e-8)
            np.testing.assert_allclose(got["mix_sdr"][:, s], msdr, atol=1e-8)


def test_evaluate_segment_medians(rng):
    sr = 8000
    R = rng.standard_normal((2, 2, 4 * sr))  # stereo
    E = R + 0.1 * rng.standard_normal(R.shape)
    E[0, :, sr:2 * sr] = R[0, :, sr:2 * sr] + 3.0 * rng.standard_normal((2, sr))  # one bad second
    R[1, :, 3 * sr:] = 0.0  # source 2 silent in the last second: left out of its median
    E[1, :, 3 * sr:] = 0.0
    steps = []
    res = nmfaudio.evaluate(R, E, mixture=R.sum(axis=0), sr=sr, segment=1.0,
                            callback=lambda done, total: steps.append((done, total)))
    assert res["segments"] == {"seconds": 1.0, "count": 4}
    assert steps[-1] == (4, 4) and len(steps) == 4
    whole = nmfaudio.evaluate(R[:, :, :3 * sr], E[:, :, :3 * sr])
    # the median ignores the one bad second that drags the whole-signal SDR down
    assert res["per_source"][0]["sdr"] > whole["per_source"][0]["sdr"] + 5
    seg_si = res["per_source"][0]["si_sdr"]
    assert seg_si == pytest.approx(nmfaudio.si_sdr(R[0, :, :sr], E[0, :, :sr]), abs=3)
    assert res["per_source"][0]["sdr_improvement"] == pytest.approx(
        res["per_source"][0]["sdr"] - (res["per_source"][0]["sdr"] - res["per_source"][0]["sdr_improvement"]))
    with pytest.raises(nmfaudio.ParameterError, match="segment needs the sample rate"):
        nmfaudio.evaluate(R, E, segment=1.0)
    with pytest.raises(nmfaudio.ParameterError, match="at least 1024"):
        nmfaudio.evaluate(R, E, segment=0.01, sr=sr)
    perm = nmfaudio.evaluate(R, E[::-1], sr=sr, segment=1.0, permute=True)
    assert perm["permutation"] == [1, 0]


def test_cli_evaluate_segment_and_progress(pair, capsys, monkeypatch):
    sr, refs, ests, mix = pair
    argv = ["evaluate", "--ref", *map(str, refs), "--est", *map(str, ests), "--mix", str(mix), "--json"]
    tty = _TTY()
    monkeypatch.setattr("sys.stderr", tty)
    assert main(argv + ["--segment", "0.25"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["segments"]["count"] == 4 and doc["per_source"][0]["sdr"] > 5
    assert "evaluate" in tty.getvalue() and "segment" in tty.getvalue()  # tqdm drew a bar
    whole = _TTY()
    monkeypatch.setattr("sys.stderr", whole)
    assert main(argv) == 0
    assert "evaluate" in whole.getvalue() and "pass" in whole.getvalue()
    json.loads(capsys.readouterr().out)
    quiet = _TTY()
    monkeypatch.setattr("sys.stderr", quiet)
    assert main(argv + ["-q"]) == 0
    assert quiet.getvalue() == ""


def test_drums_progress_and_quiet(tmp_path, capsys, monkeypatch):
    sr = 22050
    y = np.zeros(sr, np.float32)
    y[::5512] = 1.0
    src = save(tmp_path / "loop.wav", y, sr)
    tty = _TTY()
    monkeypatch.setattr("sys.stderr", tty)
    assert main(["drums", str(src), "-o", str(tmp_path / "a"), "--iterations", "20"]) == 0
    assert "drums" in tty.getvalue() and "/20 " in tty.getvalue()  # a bar over the iterations
    capsys.readouterr()
    quiet = _TTY()
    monkeypatch.setattr("sys.stderr", quiet)
    assert main(["drums", str(src), "-o", str(tmp_path / "b"), "--iterations", "20", "-q"]) == 0
    assert quiet.getvalue() == "" and capsys.readouterr().out == ""


def test_split_drums_callback_counts_both_phases():
    sr = 22050
    y = np.zeros(sr, np.float32)
    y[::5512] = 1.0
    seen = []
    nmfaudio.split_drums(y, sr, max_iter=40, fixed_iter=20, callback=lambda it, loss: seen.append(it))
    assert seen == [10, 20, 30, 40]
    seen.clear()
    nmfaudio.split_drums(y, sr, max_iter=40, fixed_iter=20,
                         callback=lambda it, loss: seen.append(it) or True)
    assert seen == [10]  # True stops both phases
    with pytest.raises(nmfaudio.ParameterError, match="callback"):
        nmfaudio.split_drums(y, sr, callback=3)


def test_quiet_silences_warnings(tmp_path, capsys):
    sr = 8000
    loud = save(tmp_path / "loud.wav", (1.5 * np.sin(np.arange(sr) * 0.3)).astype(np.float32), sr)
    argv = ["separate", str(loud), "--n-fft", "256", "--iterations", "5", "--bit-depth", "16"]
    assert main(argv + ["-o", str(tmp_path / "a")]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert err and all(line.startswith("nmfaudio: warning:") and "clipped" in line for line in err)
    assert main(argv + ["-o", str(tmp_path / "b"), "-q"]) == 0
    cap = capsys.readouterr()
    assert cap.err == "" and cap.out == ""


def test_compile_notice():
    """Numba compile events longer than the threshold give one line; shorter ones none."""
    from numba.core import event

    from nmfaudio.cli._progress import CompileNotice

    def compile_for(seconds, notice):
        event.start_event("numba:compile")
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline and not notice.shown:
            time.sleep(0.01)
        event.end_event("numba:compile")

    out = io.StringIO()
    with CompileNotice(after=0.05, stream=out) as notice:
        compile_for(5.0, notice)  # returns as soon as the notice is shown
    assert notice.shown and out.getvalue().count("compiling numba kernels") == 1
    out = io.StringIO()
    with CompileNotice(after=60, stream=out) as notice:
        compile_for(0.05, notice)
    assert not notice.shown and out.getvalue() == ""
    with CompileNotice(enabled=False) as notice:  # disabled: no listener at all
        compile_for(0.01, notice)
    assert not notice.shown


def test_drums_plot(tmp_path, capsys):
    import matplotlib

    matplotlib.use("Agg")
    sr = 22050
    y = np.zeros(sr, np.float32)
    y[::5512] = 1.0
    src = save(tmp_path / "loop.wav", y, sr)
    fig = tmp_path / "drums.png"
    assert main(["drums", str(src), "-o", str(tmp_path / "a"), "--iterations", "10", "--plot", str(fig),
                 "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["plot"] == str(fig)
    assert fig.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main(["drums", str(src), "-o", str(tmp_path / "b"), "--plot", str(fig)]) == 1  # exists: refused first
    assert "already exists" in capsys.readouterr().err and not (tmp_path / "b").exists()
