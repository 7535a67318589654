"""Batch separation: inputs, name collisions, local pool, resume, Dask, dead workers."""

import json
import multiprocessing
import os
import signal

import numpy as np
import pytest

import nmfaudio
from nmfaudio import ParameterError, load, save
from nmfaudio.batch import expand_inputs, output_names, read_manifest, separate_many
from nmfaudio.cli import main

# Small and fast: 1 s at 8 kHz, n_fft 512, few iterations.
FAST = dict(n_fft=512, max_iter=15)
FAST_ARGS = ["--n-fft", "512", "--iterations", "15"]


@pytest.fixture
def corpus(tmp_path, two_tone):
    """Three mixtures: two in corpus/, one (stereo) in corpus/sub/."""
    sr, a, b = two_tone
    root = tmp_path / "corpus"
    save(root / "m1.wav", a + b, sr)
    save(root / "m2.wav", 0.5 * a + b, sr)
    save(root / "sub" / "m3.wav", np.stack([a + b, a - b]), sr)
    return root


def _reference(path, **kw):
    y, sr = load(path)
    return nmfaudio.separate(y, sr, n_sources=2, **kw)


def _no_staging_left(out):
    return not [p for p in out.rglob("*") if ".part" in p.name]


# ----------------------------------------------------------------- inputs, names, validation


def test_expand_inputs_files_folders_globs(corpus):
    files = expand_inputs([corpus])
    assert [p.name for p in files] == ["m1.wav", "m2.wav", "m3.wav"]
    assert all(p.is_absolute() for p in files)
    # glob + a duplicate through an explicit path: each file once, in order given
    again = expand_inputs([str(corpus / "sub" / "m3.wav"), str(corpus / "*.wav")])
    assert [p.name for p in again] == ["m3.wav", "m1.wav", "m2.wav"]
    assert [p.name for p in expand_inputs(str(corpus / "**" / "m3.wav"))] == ["m3.wav"]
    # a missing explicit file is kept (it fails when processed, the rest go on)
    assert expand_inputs([corpus / "nope.wav"])[0].name == "nope.wav"
    with pytest.raises(ParameterError, match=r"'.*\*\.flac' matches no file"):
        expand_inputs([str(corpus / "*.flac")])
    (corpus / "empty").mkdir()
    with pytest.raises(ParameterError, match="holds no audio file"):
        expand_inputs([corpus / "empty"])
    with pytest.raises(ParameterError, match="inputs is empty"):
        expand_inputs([])


def test_name_collision_raises_before_any_work(tmp_path, corpus):
    save(corpus / "other" / "m1.wav", np.zeros(800, np.float32), 8000)
    out = tmp_path / "out"
    with pytest.raises(ParameterError, match=r"m1\.wav' and '.*other/m1\.wav' would both write to <out>/m1/"):
        separate_many([corpus], out, n_sources=2, jobs=1, **FAST)
    assert not out.exists()


def test_unique_names_disambiguates_by_parent_folders(tmp_path):
    P = lambda s: tmp_path / s  # noqa: E731
    names = output_names([P("a/take.wav"), P("b/take.wav"), P("c/solo.wav")], unique_names=True)
    assert names == ["a__take", "b__take", "solo"]
    assert output_names([P("x/a/s/t.wav"), P("x/b/s/t.wav")], unique_names=True) == ["a__s__t", "b__s__t"]
    assert output_names([P("a/t.wav"), P("a/t.flac")], unique_names=True) == ["t.wav", "t.flac"]
    with pytest.raises(ParameterError, match="reserved"):
        output_names([P("manifest.jsonl.wav")])


@pytest.mark.parametrize("kwargs, match", [
    (dict(n_sources=2, denoise=True), "only one of dictionaries, n_sources and denoise"),
    (dict(jobs=0), r"jobs=0 must be a positive integer"),
    (dict(n_sources=0), r"n_sources=0 must be"),
    (dict(noise="n.wav"), r"noise='n.wav' \(only used in denoise mode\)"),
    (dict(n_free=2), r"n_free=2 \(only used in supervised"),
    (dict(denoise=True, n_components=4), r"n_components=4 \(only used in unsupervised"),
    (dict(denoise=True, n_fft=512, n_free=1), r"n_free=1 .*n_fft=512"),
    (dict(max_attempts=0), r"max_attempts=0"),
    (dict(client=42), r"client=42 must be a dask.distributed.Client"),
])
def test_invalid_options_name_the_value(tmp_path, corpus, kwargs, match):
    if "client" in kwargs:
        pytest.importorskip("distributed")
    with pytest.raises(ParameterError, match=match):
        separate_many([corpus], tmp_path / "out", **kwargs)


# ----------------------------------------------------------------- local pool


def test_local_pool_outputs_manifest_failures_and_resume(tmp_path, corpus):
    (corpus / "broken.wav").write_bytes(b"this is not audio")
    out = tmp_path / "out"
    # a staging folder left by a worker that died in an earlier run
    (out / ".m1.part-deadbeef").mkdir(parents=True)
    (out / ".m1.part-deadbeef" / "source1.wav").write_bytes(b"half")
    seen = []
    report = separate_many([corpus], out, n_sources=2, jobs=2, callback=seen.append, **FAST)

    assert not report.ok
    assert sorted(r["name"] for r in report.done) == ["m1", "m2", "m3"]
    [bad] = report.failed
    assert bad["name"] == "broken" and "cannot be read as audio" in bad["error"]
    assert len(seen) == 4
    for name, src in (("m1", corpus / "m1.wav"), ("m3", corpus / "sub" / "m3.wav")):
        ref = _reference(src, **FAST)
        y, _ = load(src)
        got = {k: load(out / name / f"{k}.wav")[0] for k in ("source1", "source2")}
        assert got["source1"].shape == y.shape
        np.testing.assert_allclose(got["source1"] + got["source2"], y, atol=1e-5)
        for k in got:
            np.testing.assert_allclose(got[k], ref[k], atol=1e-4)
    assert _no_staging_left(out)
    assert not (out / "broken").exists()

    lines = (out / "manifest.jsonl").read_text().splitlines()
    recs = [json.loads(line) for line in lines]
    assert len(recs) == 4 and {r["status"] for r in recs} == {"done", "failed"}
    done = next(r for r in recs if r["name"] == "m2")
    assert done["outputs"] == ["m2/source1.wav", "m2/source2.wav"]
    assert done["seconds"] > 0 and done["audio_seconds"] == 1.0 and done["error"] is None

    # Re-run: done files are skipped, the broken one is tried (and fails) again.
    before = (out / "m1" / "source1.wav").stat().st_mtime_ns
    (out / "manifest.jsonl").open("a").write('{"name": "m2", "stat')  # a line cut by a crash
    again = separate_many([corpus], out, n_sources=2, jobs=2, **FAST)
    assert sorted(os.path.basename(s) for s in again.skipped) == ["m1.wav", "m2.wav", "m3.wav"]
    assert [r["name"] for r in again.records] == ["broken"]
    assert (out / "m1" / "source1.wav").stat().st_mtime_ns == before
    assert len(read_manifest(out / "manifest.jsonl")) == 5

    # Other settings: nothing is skipped, and existing outputs are never replaced.
    (corpus / "broken.wav").unlink()
    third = separate_many([corpus], out, n_sources=2, jobs=2, n_fft=512, max_iter=5)
    assert len(third.failed) == 3 and all("--overwrite" in r["error"] for r in third.failed)
    assert (out / "m1" / "source1.wav").stat().st_mtime_ns == before


def test_cli_batch_in_process(tmp_path, corpus, capsys):
    out = tmp_path / "out"
    argv = ["batch", str(corpus / "*.wav"), str(corpus / "sub"), "-o", str(out), "--sources", "2",
            "--jobs", "2", *FAST_ARGS]
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert "3 separated, 0 already done, 0 failed" in captured.out and captured.err == ""
    assert sorted(p.name for p in out.iterdir()) == ["m1", "m2", "m3", "manifest.jsonl"]

    # again, quietly: everything already done, nothing printed
    assert main(argv + ["--quiet"]) == 0
    assert capsys.readouterr().out == ""
    assert main(argv + ["--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["ok"] and doc["done"] == 0 and doc["skipped"] == 3 and doc["failed"] == []

    # a missing file fails on its own line, the exit code says so
    assert main(argv[:2] + [str(tmp_path / "gone.wav")] + argv[2:] + ["--quiet"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "gone.wav" in err[0] and "no such file" in err[0]


@pytest.mark.parametrize("argv, match", [
    (["batch", "x.wav", "-o", "o", "--sources", "2", "--denoise"], "not allowed with"),
    (["batch", "x.wav", "-o", "o", "--noise", "n.wav"], "--noise n.wav (only used in denoise mode)"),
    (["batch", "x.wav", "-o", "o", "--jobs", "2", "--scheduler", "tcp://127.0.0.1:1"], "not both"),
    (["batch", "x.wav", "-o", "o", "--jobs", "0"], "must be a positive integer"),
    (["batch", "-o", "o"], "required"),
])
def test_cli_usage_errors_are_one_line(tmp_path, monkeypatch, capsys, argv, match):
    monkeypatch.chdir(tmp_path)
    assert main(argv) in (1, 2)
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and match in err


def test_supervised_and_denoise_modes(tmp_path, two_tone, capsys):
    sr, a, b = two_tone
    corpus = tmp_path / "c"
    save(corpus / "x.wav", a + b, sr)
    save(corpus / "y.wav", 0.7 * a + b, sr)
    stft = nmfaudio.STFTParams(n_fft=512)
    dicts = [nmfaudio.learn_dictionary(a, sr, name="tone", n_components=4, stft_params=stft, max_iter=30),
             nmfaudio.learn_dictionary(b, sr, name="noise", n_components=4, stft_params=stft, max_iter=30)]
    paths = [d.save(tmp_path / f"{d.name}.npz") for d in dicts]
    out = tmp_path / "sup"
    assert main(["batch", str(corpus), "-o", str(out), "--quiet", "--jobs", "1", "--iterations", "20",
                 "--residual", "2", *sum((["--dict", str(p)] for p in paths), [])]) == 0
    assert sorted(p.name for p in (out / "x").iterdir()) == ["noise.wav", "residual.wav", "tone.wav"]
    ref = nmfaudio.separate(a + b, sr, dictionaries=dicts, n_free=2, max_iter=20)
    np.testing.assert_allclose(load(out / "x" / "tone.wav")[0], ref["tone"], atol=1e-4)

    noise_file = save(tmp_path / "noise_only.wav", b, sr)
    capsys.readouterr()
    report = separate_many([corpus], tmp_path / "dn", denoise=True, noise=noise_file, jobs=1,
                           max_iter=20, progress=True)
    assert report.ok and len(report.done) == 2
    try:  # the bar is drawn only where tqdm is installed
        import tqdm  # noqa: F401
    except ImportError:
        assert capsys.readouterr().err == ""
    else:
        assert "2/2" in capsys.readouterr().err
    ref = nmfaudio.denoise(a + b, sr, noise=b, max_iter=20)
    np.testing.assert_allclose(load(tmp_path / "dn" / "x" / "clean.wav")[0], ref, atol=1e-4)
    # same noise sample (by content): skipped; another one: redone, so refused without overwrite
    again = separate_many([corpus], tmp_path / "dn", denoise=True, noise=noise_file, max_iter=20)
    assert len(again.skipped) == 2 and not again.records
    other = save(tmp_path / "noise2.wav", 0.5 * b, sr)
    third = separate_many([corpus], tmp_path / "dn", denoise=True, noise=other, jobs=1, max_iter=20)
    assert len(third.failed) == 2 and "already exists" in third.failed[0]["error"]


# ----------------------------------------------------------------- dead workers


def _kill_a_busy_worker(killed):
    """Callback: on the first finished file, SIGKILL a pool worker that is still working."""

    def cb(rec):
        if killed:
            return
        idle = int(rec["worker"].rsplit(":", 1)[1])
        busy = [p for p in multiprocessing.active_children() if p.pid != idle]
        assert busy, "no other worker to kill"
        os.kill(busy[0].pid, signal.SIGKILL)
        killed.append(busy[0].pid)

    return cb


def test_killed_worker_file_is_retried(tmp_path, corpus):
    for i in range(3):
        save(corpus / f"extra{i}.wav", load(corpus / "m1.wav")[0] * (0.5 + 0.1 * i), 8000)
    out = tmp_path / "out"
    killed = []
    report = separate_many([corpus], out, n_sources=2, jobs=2, max_attempts=2,
                           callback=_kill_a_busy_worker(killed), **FAST)
    assert killed
    assert report.ok and len(report.done) == 6
    assert max(r["attempts"] for r in report.done) == 2  # the killed worker's file, run again
    assert _no_staging_left(out)
    for r in report.done:  # every output complete
        parts = [load(out / o)[0] for o in r["outputs"]]
        y = load(r["input"])[0]
        np.testing.assert_allclose(parts[0] + parts[1], y, atol=1e-5)


def test_killed_worker_file_is_reported_then_resumed(tmp_path, corpus):
    out = tmp_path / "out"
    killed = []
    report = separate_many([corpus], out, n_sources=2, jobs=2, max_attempts=1,
                           callback=_kill_a_busy_worker(killed), **FAST)
    assert killed and not report.ok
    assert len(report.done) + len(report.failed) == 3
    lost = report.failed
    assert lost and all("worker process died" in r["error"] for r in lost)
    for r in lost:  # nothing half-written
        assert not (out / r["name"]).exists()
    assert _no_staging_left(out)
    again = separate_many([corpus], out, n_sources=2, jobs=2, **FAST)
    assert again.ok and sorted(r["name"] for r in again.done) == sorted(r["name"] for r in lost)


# ----------------------------------------------------------------- Dask


@pytest.fixture(scope="module")
def dask_cluster():
    distributed = pytest.importorskip("distributed")
    # Threads in this process, but the scheduler listens on loopback TCP like a real one.
    cluster = distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                       protocol="tcp", host="127.0.0.1", dashboard_address=None)
    yield cluster
    cluster.close()


def test_dask_local_cluster_api_and_cli(tmp_path, corpus, dask_cluster, capsys, monkeypatch):
    import distributed

    from nmfaudio._batch_exec import _Model

    (corpus / "broken.wav").write_bytes(b"junk")
    out = tmp_path / "out"
    scattered, submitted = [], []
    with distributed.Client(dask_cluster, set_as_default=False) as client:
        scatter, submit = client.scatter, client.submit

        def spy_scatter(data, **kw):
            scattered.append((type(data), kw.get("broadcast")))
            return scatter(data, **kw)

        def spy_submit(fn, *args, **kw):
            submitted.append(args)
            return submit(fn, *args, **kw)

        monkeypatch.setattr(client, "scatter", spy_scatter)
        monkeypatch.setattr(client, "submit", spy_submit)
        report = separate_many([corpus], out, n_sources=2, client=client, **FAST)
    # the settings/dictionaries go to every worker once; tasks only reference them
    assert scattered == [(_Model, True)]
    assert len(submitted) == 4
    assert not any(isinstance(a, _Model) for args in submitted for a in args)
    assert sorted(r["name"] for r in report.done) == ["m1", "m2", "m3"]
    assert [r["name"] for r in report.failed] == ["broken"]
    assert all(r["worker"].startswith("inproc://") or r["worker"].startswith("tcp://")
               for r in report.records)
    ref = _reference(corpus / "m2.wav", **FAST)
    np.testing.assert_allclose(load(out / "m2" / "source2.wav")[0], ref["source2"], atol=1e-4)

    out2 = tmp_path / "out2"
    argv = ["batch", str(corpus / "m1.wav"), str(corpus / "sub"), "-o", str(out2), "--sources", "2",
            "--scheduler", dask_cluster.scheduler_address, *FAST_ARGS]
    assert main(argv) == 0
    assert "2 separated" in capsys.readouterr().out
    np.testing.assert_array_equal(load(out2 / "m1" / "source1.wav")[0], load(out / "m1" / "source1.wav")[0])


def test_dask_unreachable_scheduler_is_one_line(tmp_path, corpus, capsys, monkeypatch):
    pytest.importorskip("distributed")
    monkeypatch.setattr("nmfaudio._batch_exec._CONNECT_TIMEOUT", "1s")
    assert main(["batch", str(corpus), "-o", str(tmp_path / "o"),
                 "--scheduler", "tcp://127.0.0.1:9"]) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "cannot connect to the Dask scheduler" in err


@pytest.mark.skipif(not os.environ.get("NMFAUDIO_SLOW_TESTS"),
                    reason="starts and restarts Dask worker processes (~15-40 s); "
                           "set NMFAUDIO_SLOW_TESTS=1 to run it")
def test_dask_killed_worker_task_is_rescheduled(tmp_path, corpus):
    """A Dask worker process killed mid-file: the nanny restarts it, the task runs again."""
    distributed = pytest.importorskip("distributed")
    save(corpus / "m4.wav", load(corpus / "m1.wav")[0] * 0.8, 8000)
    out = tmp_path / "out"
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, protocol="tcp",
                                  host="127.0.0.1", dashboard_address=None) as cluster, \
            distributed.Client(cluster, set_as_default=False) as client:
        pids = client.run(os.getpid)
        killed = []

        def cb(rec):
            if not killed:
                busy = [pid for addr, pid in pids.items() if addr != rec["worker"]]
                os.kill(busy[0], signal.SIGKILL)
                killed.append(busy[0])

        report = separate_many([corpus], out, n_sources=2, client=client, callback=cb, **FAST)
    assert killed
    assert report.ok and sorted(r["name"] for r in report.done) == ["m1", "m2", "m3", "m4"]
    assert _no_staging_left(out)
    for r in report.done:
        parts = [load(out / o)[0] for o in r["outputs"]]
        np.testing.assert_allclose(parts[0] + parts[1], load(r["input"])[0], atol=1e-5)


def test_pool_worker_leaves_outputs_staged_until_the_parent_commits(tmp_path, corpus):
    """A local-pool worker only stages its outputs; the parent renames them into place
    after the worker has reported, so a worker killed after writing never leaves
    outputs that the manifest calls failed."""
    from nmfaudio import _batch_exec
    from nmfaudio._batch_exec import _Model

    model = _Model("unsupervised", {"n_sources": 2, "n_components": None, "n_fft": 512,
                                    "hop_length": None, "max_iter": 5, "random_state": 0})
    out = tmp_path / "out"
    out.mkdir()
    job = {"index": 0, "input": str(corpus / "m1.wav"), "name": "m1", "out_dir": str(out),
           "overwrite": False, "settings": model.fingerprint()}
    rec = _batch_exec._run_job(job, model, "test", commit=False)
    assert rec["status"] == "done", rec["error"]
    assert not (out / "m1").exists() and ".part" in rec["staging"]
    rec = _batch_exec._finish(rec, job)
    assert "staging" not in rec and _no_staging_left(out)
    assert sorted(p.name for p in (out / "m1").iterdir()) == ["source1.wav", "source2.wav"]
    # the folder appeared between the worker's report and the commit: the record turns
    # failed and the staged copy is removed
    rec = _batch_exec._run_job(dict(job, name="m2"), model, "test", commit=False)
    (out / "m2").mkdir()
    (out / "m2" / "theirs.txt").write_text("not ours")
    rec = _batch_exec._finish(rec, dict(job, name="m2"))
    assert rec["status"] == "failed" and "created by someone else" in rec["error"]
    assert rec["outputs"] == [] and _no_staging_left(out)
    assert [p.name for p in (out / "m2").iterdir()] == ["theirs.txt"]


def test_supervised_fingerprint_names_the_resolved_solver(tmp_path, two_tone):
    """The manifest's settings resolve the supervised defaults (20 accelerated iterations):
    asking for them explicitly skips the done files; another count redoes them."""
    from nmfaudio._batch_exec import _Model
    from nmfaudio._batch_plan import load_dictionaries as _load_dictionaries

    sr, a, b = two_tone
    stft = nmfaudio.STFTParams(n_fft=512)
    dicts = [nmfaudio.learn_dictionary(a, sr, name="tone", n_components=2, stft_params=stft, max_iter=10),
             nmfaudio.learn_dictionary(b, sr, name="noise", n_components=2, stft_params=stft, max_iter=10)]
    save(tmp_path / "c" / "x.wav", a + b, sr)
    out = tmp_path / "out"
    first = separate_many([tmp_path / "c"], out, dictionaries=dicts, jobs=1)
    assert first.ok and len(first.done) == 1
    again = separate_many([tmp_path / "c"], out, dictionaries=dicts, jobs=1, max_iter=20)
    assert len(again.skipped) == 1 and not again.records
    other = separate_many([tmp_path / "c"], out, dictionaries=dicts, jobs=1, max_iter=100, overwrite=True)
    assert len(other.done) == 1 and not other.skipped
    assert _Model("supervised", {"max_iter": None}, dictionaries=_load_dictionaries(dicts)).fingerprint() \
        != first.done[0]["settings"]  # an unresolved manifest (written before) does not match


def test_staging_cleanup_spares_names_that_extend_another(tmp_path):
    from nmfaudio._batch_exec import _remove_staging

    mine = tmp_path / ".a.part-0123abcd"
    theirs = tmp_path / ".a.part-x.part-89abcdef"
    mine.mkdir()
    theirs.mkdir()
    _remove_staging(tmp_path, "a")
    assert not mine.exists() and theirs.exists()
