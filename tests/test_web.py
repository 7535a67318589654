"""``nmfaudio serve`` in process: the ASGI app through starlette's TestClient (no browser).

Upload limits (declared and streamed), refused files, path traversal, the job
lifecycle of every mode, cancel, the queue, expiry and cleanup. The same server in
a real browser is tested in test_web_browser.py.
"""

import importlib.util
import io
import re
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("starlette")
pytest.importorskip("httpx")
if not any(importlib.util.find_spec(m) for m in ("python_multipart", "multipart")):
    pytest.skip("python-multipart is not installed (web extra)", allow_module_level=True)

import warnings  # noqa: E402

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message=".*httpx2")  # newer starlette would like httpx2
    from starlette.testclient import TestClient  # noqa: E402

from nmfaudio.web import MissingExtraError, create_app, is_loopback  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:.*httpx2")  # newer starlette would like httpx2

ROOT = Path(__file__).resolve().parents[1]
MIX = ROOT / "audio_fixtures" / "music" / "mix.wav"
FINAL = ("done", "failed", "cancelled")


@pytest.fixture
def app(tmp_path):
    return create_app(max_upload_mb=1, workdir=tmp_path / "jobs")


@pytest.fixture
def client(app):
    with TestClient(app) as c:
        yield c


def _upload(client, path=MIX, name=None, data=None, extra_files=None):
    files = [("audio", (name or Path(path).name, Path(path).read_bytes(), "audio/wav"))]
    files += extra_files or []
    return client.post("/api/jobs", files=files, data=data or {})


def _wait(client, job_id, timeout=120):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        s = client.get(f"/api/jobs/{job_id}").json()
        if s["state"] in FINAL:
            return s
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} still {s['state']} after {timeout} s")


def _job_folders(app):
    return sorted(p.name for p in app.state.queue.workdir.iterdir())


def _wav(data: bytes):
    import soundfile

    return soundfile.read(io.BytesIO(data), dtype="float32")


# --- the page ----------------------------------------------------------------------

def test_page_and_its_assets_are_served_by_the_package(client):
    r = client.get("/")
    assert r.status_code == 200 and "text/html" in r.headers["content-type"]
    html = r.text
    assert re.search(r'<input type="file"[^>]*name="audio"', html)
    assert re.search(r'<button type="submit"', html)
    assert "default-src 'self'" in r.headers["content-security-policy"]
    refs = re.findall(r'(?:src|href)="([^"]*)"', html)
    assert refs and all(u.startswith(("/", "#", "data:")) for u in refs), refs
    for asset in ("/static/app.js", "/static/style.css"):
        a = client.get(asset)
        assert a.status_code == 200 and "http://" not in a.text and "https://" not in a.text


def test_config_lists_the_bundled_instruments(client):
    import nmfaudio

    doc = client.get("/api/config").json()
    expected = sorted(m["name"] for m in nmfaudio.list_models() if m["kind"] == "instrument")
    assert sorted(m["name"] for m in doc["instruments"]) == expected
    assert doc["max_upload_mb"] == 1


# --- refused uploads -----------------------------------------------------------------

def test_upload_declared_over_the_limit_gets_413_and_the_server_keeps_serving(app, client):
    r = client.post("/api/jobs", files={"audio": ("big.wav", b"\0" * (2 * 2 ** 20), "audio/wav")})
    assert r.status_code == 413
    assert "limit of 1 MB" in r.json()["error"]
    assert client.get("/api/config").status_code == 200
    assert _job_folders(app) == []


def test_upload_streamed_without_length_is_counted_and_gets_413(app, client):
    boundary = "nmfaudio-test-boundary"
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"audio\"; filename=\"big.wav\"\r\n"
            "Content-Type: audio/wav\r\n\r\n").encode()
    sent = []

    def body():  # a generator: httpx sends it chunked, with no Content-Length
        yield head
        for _ in range(40):
            sent.append(1)
            yield b"\0" * 65536
        yield f"\r\n--{boundary}--\r\n".encode()

    r = client.post("/api/jobs", content=body(),
                    headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert r.status_code == 413 and "limit" in r.json()["error"]
    assert _job_folders(app) == []


def test_small_upload_below_the_limit_is_accepted(client):
    # the counter does not refuse what fits: the fixture (~220 kB) is well under 1 MB
    r = _upload(client)
    assert r.status_code == 202
    assert _wait(client, r.json()["id"])["state"] == "done"


@pytest.mark.parametrize("name,content", [("notes.txt", b"not audio at all\n" * 50),
                                          ("fake.wav", b"RIFF\x00\x00\x00\x00WAVEjunk" * 10),
                                          ("empty.wav", b"")])
def test_a_file_that_is_not_audio_is_refused_with_a_message(app, client, name, content):
    r = client.post("/api/jobs", files={"audio": (name, content, "application/octet-stream")})
    if content:
        assert r.status_code == 415
        assert f"{name!r} is not an audio file" in r.json()["error"]
    else:  # an empty file part is "no file"
        assert r.status_code in (400, 415)
    assert "Traceback" not in r.text and str(app.state.queue.workdir) not in r.text
    assert _job_folders(app) == []
    assert _upload(client).status_code == 202  # still serving


@pytest.mark.parametrize("data,needle", [
    ({"mode": "karaoke"}, "mode='karaoke'"), ({"sources": "two"}, "sources='two'"),
    ({"sources": "99"}, "from 2 to 10"), ({"iterations": "-5"}, "iterations='-5'"),
    ({"mode": "instruments"}, "at least one instrument"),
    ({"mode": "instruments", "instruments": "kazoo"}, "instruments='kazoo'"),
    ({"mode": "dictionaries"}, "at least one .npz"),
    ({"mode": "denoise", "noise_method": "sample"}, "needs a noise sample"),
    ({"mode": "denoise", "noise_method": "region", "noise_start": "2", "noise_end": "1"}, "after the start"),
    ({"mode": "denoise", "noise_method": "region", "noise_start": "x", "noise_end": "1"}, "noise_start='x'"),
])
def test_bad_fields_get_400_naming_the_value(client, data, needle):
    r = _upload(client, data=data)
    assert r.status_code == 400 and needle in r.json()["error"], r.json()


def test_no_file_and_not_a_form_are_refused(client):
    assert "no audio file" in client.post("/api/jobs", data={"mode": "drums"}).json()["error"]
    r = client.post("/api/jobs", json={"audio": "mix.wav"})
    assert r.status_code == 400 and "multipart/form-data" in r.json()["error"]


def test_a_bad_dictionary_file_is_refused(client):
    r = _upload(client, data={"mode": "dictionaries"},
                extra_files=[("dictionaries", ("piano.npz", b"PK\x03\x04 broken", "application/zip"))])
    assert r.status_code == 400 and "'piano.npz' is not an nmfaudio dictionary" in r.json()["error"]


# --- results and traversal -------------------------------------------------------------

@pytest.fixture
def done_job(client):
    r = _upload(client, data={"iterations": "30"})
    assert r.status_code == 202, r.text
    s = _wait(client, r.json()["id"])
    assert s["state"] == "done", s
    return s


def test_unsupervised_job_gives_playable_sources_images_and_a_zip(client, done_job):
    import soundfile

    mix, sr = soundfile.read(MIX, dtype="float32")
    res = done_job["results"]
    assert [s["name"] for s in res["sources"]] == ["source1", "source2"]
    total = np.zeros_like(mix)
    for s in res["sources"]:
        r = client.get(s["audio"])
        assert r.status_code == 200 and r.headers["content-type"] == "audio/wav"
        y, rate = _wav(r.content)
        assert rate == sr and y.shape == mix.shape
        total += y
        img = client.get(s["image"])
        assert img.status_code == 200 and img.content.startswith(b"\x89PNG")
    assert np.max(np.abs(total - mix)) < 1e-3  # the sources add up to the mixture
    assert _wav(client.get(res["mixture"]["audio"]).content)[0].shape == mix.shape
    z = client.get(res["zip"] + "?download")
    assert 'attachment; filename="mix-sources.zip"' in z.headers["content-disposition"]
    assert sorted(zipfile.ZipFile(io.BytesIO(z.content)).namelist()) == ["mix/source1.wav", "mix/source2.wav"]


@pytest.mark.parametrize("tail", ["..%2f..%2fetc%2fpasswd", "..%2F..%2F..%2F..%2Fetc%2Fpasswd",
                                  "%2e%2e/%2e%2e/%2e%2e/etc/passwd", "..%5c..%5cetc%5cpasswd",
                                  "upload/mixture.wav", "out/sources.zip", "%2fetc%2fpasswd", "s1.wav/..",
                                  "s9.wav", ""])
def test_result_urls_reach_only_the_jobs_own_results(client, done_job, tail):
    r = client.get(f"/jobs/{done_job['id']}/files/{tail}")
    assert r.status_code == 404
    assert "root:" not in r.text


def test_a_job_id_reaches_only_its_own_job(client, done_job):
    assert client.get(f"/jobs/{'A' * 22}/files/s1.wav").status_code == 404
    assert client.get("/jobs/..%2f..%2f/files/s1.wav").status_code == 404
    assert client.get(f"/api/jobs/{'A' * 22}").status_code == 404
    assert client.get(f"/jobs/{done_job['id']}/files/s1.wav").status_code == 200
    assert len(done_job["id"]) >= 16 and re.fullmatch(r"[A-Za-z0-9_-]+", done_job["id"])


def test_static_files_do_not_leave_the_static_folder(client):
    for tail in ("..%2f__init__.py", "..%2f..%2f..%2fpyproject.toml", "%2e%2e/app.py"):
        assert client.get(f"/static/{tail}").status_code == 404


# --- the other modes -----------------------------------------------------------------

def _train(name):
    path = ROOT / "audio_fixtures" / "music" / "train" / name
    return ("clips", (name, path.read_bytes(), "audio/wav"))


@pytest.mark.parametrize("data,extra,names", [
    ({"mode": "instruments", "instruments": ["piano", "flute"]}, None, ["piano", "flute"]),
    ({"mode": "instruments", "instruments": ["piano"], "residual": "4"}, None, ["piano", "residual"]),
    ({"mode": "dictionaries", "iterations": "10"}, [_train("piano.wav"), _train("flute.wav")], ["piano", "flute"]),
    ({"mode": "denoise", "iterations": "20"}, None, ["clean", "noise"]),
    ({"mode": "denoise", "noise_method": "region", "noise_start": "0", "noise_end": "0.5",
      "iterations": "20"}, None, ["clean", "noise"]),
    ({"mode": "denoise", "noise_method": "sample", "iterations": "20"},
     [("noise", ("n.wav", (ROOT / "audio_fixtures/speech/noise.wav").read_bytes(), "audio/wav"))],
     ["clean", "noise"]),
    ({"mode": "drums", "iterations": "10"}, None, ["kick", "snare", "hihat"]),
])
def test_every_mode_runs_to_named_sources(client, data, extra, names):
    r = _upload(client, data=data, extra_files=extra)
    assert r.status_code == 202, r.text
    s = _wait(client, r.json()["id"])
    assert s["state"] == "done", s
    assert [x["name"] for x in s["results"]["sources"]] == names
    for x in s["results"]["sources"]:
        assert _wav(client.get(x["audio"]).content)[0].size > 0


def test_an_uploaded_dictionary_is_used(client, tmp_path):
    import nmfaudio

    y, sr = nmfaudio.load(ROOT / "audio_fixtures/music/train/piano.wav")
    path = tmp_path / "keys.npz"
    nmfaudio.learn_dictionary(y, sr, name="keys", max_iter=10).save(path)
    r = _upload(client, data={"mode": "dictionaries", "residual": "2"},
                extra_files=[("dictionaries", ("keys.npz", path.read_bytes(), "application/zip"))])
    s = _wait(client, r.json()["id"])
    assert [x["name"] for x in s["results"]["sources"]] == ["keys", "residual"]


def test_a_job_that_fails_reports_one_line_and_the_server_keeps_serving(client, tmp_path):
    import soundfile

    silent = tmp_path / "silent.wav"
    soundfile.write(silent, np.zeros(22050, dtype=np.float32), 22050)
    r = _upload(client, data={"mode": "dictionaries"},
                extra_files=[("clips", ("silent.wav", silent.read_bytes(), "audio/wav"))])
    s = _wait(client, r.json()["id"])
    assert s["state"] == "failed" and "silent" in s["message"] and "\n" not in s["message"]
    region = _upload(client, data={"mode": "denoise", "noise_method": "region", "noise_start": "4",
                                   "noise_end": "60"})
    s = _wait(client, region.json()["id"])
    assert s["state"] == "failed" and "noise region 4:60 s must satisfy" in s["message"]
    assert _upload(client).status_code == 202


# --- cancel, queue, expiry, shutdown -------------------------------------------------------

class _Blocking:
    """A runner that reports progress until cancelled (or released), like a long NMF."""

    def __init__(self):
        self.release = threading.Event()
        self.started = []

    def __call__(self, job):
        self.started.append(job.id)
        report = job.callback(0.0, 1.0, 1000, "working")
        for i in range(100000):
            if report(i % 1000, 0.0) or self.release.wait(0.01):
                break
        job.results = {"track": "x", "mode": "unsupervised", "sources": [], "zip": "all.zip",
                       "mixture": {"audio": "m", "image": "m"}}


def test_cancel_stops_a_running_job_and_removes_its_outputs(app, client):
    runner = _Blocking()
    app.state.queue.runner = runner
    job_id = _upload(client).json()["id"]
    while client.get(f"/api/jobs/{job_id}").json()["state"] != "running":
        time.sleep(0.01)
    assert client.post(f"/api/jobs/{job_id}/cancel").status_code == 200
    s = _wait(client, job_id, timeout=10)
    assert s["state"] == "cancelled" and s["results"] is None
    assert not (app.state.queue.workdir / job_id / "out").exists()


def test_cancel_stops_a_real_separation_through_its_callback(client):
    # denoising runs a fixed number of iterations (no early stop): 2000 take many seconds
    r = _upload(client, data={"mode": "denoise", "iterations": "2000"})
    job_id = r.json()["id"]
    while client.get(f"/api/jobs/{job_id}").json()["progress"] < 0.05:
        time.sleep(0.02)
    t = time.monotonic()
    client.post(f"/api/jobs/{job_id}/cancel")
    s = _wait(client, job_id, timeout=60)
    assert s["state"] == "cancelled", s
    assert s["progress"] < 0.5  # it stopped early, not at the end
    print(f"cancelled {time.monotonic() - t:.2f} s after the request")


def test_one_job_at_a_time_the_others_wait_with_their_position(app, client):
    runner = _Blocking()
    app.state.queue.runner = runner
    ids = [_upload(client).json()["id"] for _ in range(3)]
    while client.get(f"/api/jobs/{ids[0]}").json()["state"] != "running":
        time.sleep(0.01)
    states = [client.get(f"/api/jobs/{i}").json() for i in ids]
    assert [s["state"] for s in states] == ["running", "queued", "queued"]
    assert [s["position"] for s in states] == [None, 1, 2]
    client.post(f"/api/jobs/{ids[1]}/cancel")  # a queued job never starts
    assert client.get(f"/api/jobs/{ids[1]}").json()["state"] == "cancelled"
    assert client.get(f"/api/jobs/{ids[2]}").json()["position"] == 1
    runner.release.set()
    assert _wait(client, ids[2])["state"] == "done"
    assert runner.started == [ids[0], ids[2]]


def test_two_jobs_at_once_with_jobs_2(tmp_path):
    app = create_app(jobs=2, workdir=tmp_path)
    runner = _Blocking()
    app.state.queue.runner = runner
    with TestClient(app) as client:
        ids = [_upload(client).json()["id"] for _ in range(2)]
        end = time.monotonic() + 10
        while len(runner.started) < 2 and time.monotonic() < end:
            time.sleep(0.01)
        assert sorted(runner.started) == sorted(ids)
        runner.release.set()


def test_finished_jobs_expire_with_their_folder(app, client, done_job):
    queue = app.state.queue
    folder = queue.workdir / done_job["id"]
    assert folder.is_dir()
    assert queue.expire() == []  # not yet
    assert queue.expire(now=time.monotonic() + queue.ttl + 1) == [done_job["id"]]
    assert not folder.exists()
    assert client.get(f"/api/jobs/{done_job['id']}").status_code == 404
    assert client.get(done_job["results"]["sources"][0]["audio"]).status_code == 404


def test_shutdown_removes_every_job_folder_and_the_temporary_workdir():
    app = create_app()
    workdir = app.state.queue.workdir
    with TestClient(app) as client:
        s = _wait(client, _upload(client, data={"iterations": "10"}).json()["id"])
        assert s["state"] == "done" and any(workdir.iterdir())
    assert not workdir.exists()


def test_the_janitor_removes_expired_jobs_by_itself(tmp_path):
    app = create_app(workdir=tmp_path, ttl=0.2)
    with TestClient(app) as client:
        job_id = _wait(client, _upload(client, data={"iterations": "10"}).json()["id"])["id"]
        end = time.monotonic() + 10
        while (tmp_path / job_id).exists() and time.monotonic() < end:
            time.sleep(0.05)
        assert not (tmp_path / job_id).exists()


# --- the API, the CLI and the extra ------------------------------------------------------

@pytest.mark.parametrize("kw,needle", [({"max_upload_mb": 0}, "max_upload_mb"), ({"jobs": 0}, "jobs=0"),
                                       ({"jobs": 1.5}, "jobs=1.5"), ({"ttl": -1}, "ttl")])
def test_create_app_refuses_bad_settings(kw, needle):
    from nmfaudio import ParameterError

    with pytest.raises(ParameterError, match=re.escape(needle)):
        create_app(**kw)


def test_missing_web_extra_names_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "uvicorn", None)
    with pytest.raises(MissingExtraError, match=re.escape('pip install "nmfaudio[web]"')):
        create_app()


def test_loopback_detection():
    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("::1")
    assert is_loopback("[::1]") and is_loopback("127.0.0.2")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.10") and not is_loopback("example.org")


@pytest.mark.parametrize("argv,needle", [(["--port", "70000"], "--port"), (["--port", "x"], "--port"),
                                         (["--max-upload-mb", "0"], "--max-upload-mb"),
                                         (["--jobs", "0"], "--jobs")])
def test_serve_usage_errors_exit_2(capsys, argv, needle):
    from nmfaudio.cli import main

    assert main(["serve", *argv]) == 2
    err = capsys.readouterr().err
    assert needle in err and len(err.strip().splitlines()) == 1


def test_serve_is_listed_and_defaults_to_loopback():
    from nmfaudio.cli import get_parser

    parser = get_parser()
    args = parser.parse_args(["serve"])
    assert (args.host, args.port, args.open, args.max_upload_mb, args.jobs) == ("127.0.0.1", 8765, False, 200, 1)
    assert "serve" in parser.format_help()


def _start(argv, env=None):
    proc = subprocess.Popen([sys.executable, "-m", "nmfaudio", "serve", *argv], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env)
    line = proc.stdout.readline()
    return proc, line


def test_serve_on_another_host_prints_a_warning():
    proc, line = _start(["--host", "0.0.0.0", "--port", "0"])
    try:
        assert line.startswith("nmfaudio serve: http://"), line
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    assert "warning: listening on 0.0.0.0" in err and "no password" in err
    assert proc.returncode in (0, 143), err  # 143: the CLI's code for "terminated"


def test_serve_on_loopback_prints_no_warning_and_stops_cleanly_on_ctrl_c(tmp_path):
    import os
    import signal

    env = dict(os.environ, TMPDIR=str(tmp_path))
    proc, line = _start(["--port", "0"], env=env)
    try:
        assert re.match(r"nmfaudio serve: http://127\.0\.0\.1:\d+/", line), line
        assert [p.name for p in tmp_path.iterdir() if p.name.startswith("nmfaudio-serve-")]
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    assert "warning" not in err and "stopped" in out
    assert proc.returncode == 0, err
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("nmfaudio-serve-")]


def test_serve_on_a_busy_port_fails_in_one_line(capsys):
    import socket

    from nmfaudio.cli import main

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        assert main(["serve", "--port", str(port)]) == 1
    err = capsys.readouterr().err
    assert f"cannot listen on 127.0.0.1 port {port}" in err and "--port" in err
    assert len(err.strip().splitlines()) == 1
