"""``nmfaudio serve`` in a real browser: Debian's chromium driven by Playwright.

A real server (``python -m nmfaudio serve``, defaults except a small upload limit)
runs in a subprocess for the whole module. Skipped, with the reason, when
``/usr/bin/chromium`` or Playwright is missing (``.ci/run`` installs both).
The separation test screenshots the results page; with NMFAUDIO_UPDATE_SCREENSHOT=1
(or when it is missing) into ``docs/serve.png``, the README's screenshot.
"""

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
MIX = ROOT / "audio_fixtures" / "music" / "mix.wav"
CHROMIUM = os.environ.get("NMFAUDIO_CHROMIUM", "/usr/bin/chromium")
LIMIT_MB = 3

if not Path(CHROMIUM).exists():
    pytest.skip(f"{CHROMIUM} not found (Debian: apt-get install chromium)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (test extra)")
pytest.importorskip("uvicorn")


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("serve")
    port = _free_port()
    env = dict(os.environ, TMPDIR=str(tmp))
    proc = subprocess.Popen([sys.executable, "-m", "nmfaudio", "serve", "--port", str(port),
                             "--max-upload-mb", str(LIMIT_MB)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    end = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(base + "/api/config", timeout=2).read()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > end:
                proc.kill()
                raise RuntimeError(f"nmfaudio serve did not start: {proc.communicate()[1]}")
            time.sleep(0.1)
    yield {"base": base, "port": port, "pid": proc.pid, "tmp": tmp}
    proc.send_signal(signal.SIGINT)
    try:
        proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise
    assert proc.returncode == 0
    left = [p.name for p in tmp.iterdir() if p.name.startswith("nmfaudio-serve-")]
    assert not left, f"job folders left after shutdown: {left}"


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield b
        b.close()


@pytest.fixture
def page(browser, server):
    context = browser.new_context(viewport={"width": 1100, "height": 900}, accept_downloads=True)
    pg = context.new_page()
    pg.console_errors = []
    pg.on("console", lambda m: m.type == "error" and pg.console_errors.append(m.text))
    pg.on("pageerror", lambda e: pg.console_errors.append(str(e)))
    pg.goto(server["base"] + "/")
    pg.wait_for_selector("#instrument-list input", state="attached")
    yield pg
    context.close()


def _wav_file(path, seconds, sr=22050, seed=0):
    import soundfile

    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    y = 0.3 * np.sin(2 * np.pi * 220 * t) + 0.05 * rng.standard_normal(t.size)
    soundfile.write(path, y.astype(np.float32), sr, subtype="PCM_16")
    return path


def _screenshot_path(tmp_path):
    """``docs/serve.png`` when it is missing or NMFAUDIO_UPDATE_SCREENSHOT=1, else a temporary file.

    (So that a test run does not leave the committed screenshot modified.)
    """
    docs = ROOT / "docs" / "serve.png"
    if os.environ.get("NMFAUDIO_UPDATE_SCREENSHOT") == "1" or not docs.exists():
        return docs
    return tmp_path / "serve.png"


def _save_screenshot(png: bytes, path: Path):
    """The README's screenshot, in 256 colours (a quarter of the size, same look)."""
    import io

    from PIL import Image

    img = Image.open(io.BytesIO(png)).convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT)
    tmp = path.with_suffix(".tmp.png")
    img.save(tmp, optimize=True)
    os.replace(tmp, path)


def test_server_listens_on_loopback_only(server):
    psutil = pytest.importorskip("psutil")
    addrs = {c.laddr.ip for c in psutil.Process(server["pid"]).net_connections(kind="inet")
             if c.status == psutil.CONN_LISTEN}
    assert addrs == {"127.0.0.1"}


def test_page_loads_without_console_errors(page):
    assert page.locator('input[type=file][name=audio]').count() == 1
    assert page.locator("button[type=submit]").is_enabled()
    for mode in ("instruments", "dictionaries", "denoise", "drums", "unsupervised"):
        page.select_option("#mode", mode)
    page.select_option("#mode", "denoise")
    page.check("input[name=noise_method][value=region]")
    page.select_option("#mode", "unsupervised")
    assert page.console_errors == []


def test_fixture_separates_into_playable_sources_in_the_browser(page, server, tmp_path):
    started = time.monotonic()
    page.set_input_files("input[name=audio]", str(MIX))
    page.click("button[type=submit]")
    page.wait_for_selector("#sources audio[data-source]", timeout=180_000)
    audios = page.locator("audio[data-source]")
    names = [audios.nth(i).get_attribute("data-source") for i in range(audios.count())]
    assert len(names) >= 2 and "mixture" not in names
    # the browser itself decodes every source: duration known and equal to the mixture's 5 s
    page.wait_for_function("() => [...document.querySelectorAll('audio[data-source]')]"
                           ".every(a => a.readyState >= 1 && Math.abs(a.duration - 5) < 0.05)",
                           timeout=30_000)
    for link in page.locator("#sources a[download]").all():
        r = page.request.get(server["base"] + link.get_attribute("href"))
        assert r.status == 200 and r.headers["content-type"] == "audio/wav"
        assert r.body()[:4] == b"RIFF" and r.body()[8:12] == b"WAVE"
    elapsed = time.monotonic() - started
    assert elapsed < 180
    for img in page.locator("#results img").all():  # spectrograms loaded
        assert img.evaluate("i => i.complete && i.naturalWidth > 100")
    # solo the first source: the others are muted, the soloed one is not
    page.click(f'button[data-solo="{names[0]}"]')
    muted = page.eval_on_selector_all("audio[data-source]", "as => as.map(a => a.muted)")
    assert muted == [False] + [True] * (len(names) - 1)
    page.click(f'button[data-solo="{names[0]}"]')
    page.click(f'button[data-mute="{names[1]}"]')
    muted = page.eval_on_selector_all("audio[data-source]", "as => as.map(a => a.muted)")
    assert muted[1] and not muted[0]
    page.click(f'button[data-mute="{names[1]}"]')
    zip_link = page.locator("#zip")
    with page.expect_download() as dl:
        zip_link.click()
    assert dl.value.suggested_filename == "mix-sources.zip"
    page.evaluate("window.scrollTo(0, 0)")
    _save_screenshot(page.screenshot(full_page=True), _screenshot_path(tmp_path))
    assert page.console_errors == []
    print(f"\nupload to playable sources: {elapsed:.1f} s")


def test_a_text_file_is_refused_with_a_visible_message(page, server):
    page.set_input_files("input[name=audio]", files=[{"name": "notes.txt", "mimeType": "text/plain",
                                                      "buffer": b"this is not audio\n" * 20}])
    with page.expect_response("**/api/jobs") as resp:
        page.click("button[type=submit]")
    assert resp.value.status == 415
    message = page.locator("#message")
    message.wait_for(state="visible")
    assert "'notes.txt' is not an audio file" in message.inner_text()
    assert "Traceback" not in page.content()
    assert page.locator("button[type=submit]").is_enabled()
    # the server keeps serving, and the page can start a job right away
    assert urllib.request.urlopen(server["base"] + "/api/config", timeout=5).status == 200
    page.set_input_files("input[name=audio]", str(MIX))
    with page.expect_response("**/api/jobs") as resp:
        page.click("button[type=submit]")
    assert resp.value.status == 202
    page.wait_for_selector("#sources audio[data-source]", timeout=120_000)


def test_an_oversize_upload_gets_413_and_a_message(page, server, tmp_path):
    big = _wav_file(tmp_path / "long.wav", seconds=LIMIT_MB * 2 ** 20 / 44100 + 10)
    assert big.stat().st_size > LIMIT_MB * 2 ** 20
    page.set_input_files("input[name=audio]", str(big))
    with page.expect_response("**/api/jobs") as resp:
        page.click("button[type=submit]")
    assert resp.value.status == 413
    message = page.locator("#message")
    message.wait_for(state="visible")
    assert f"limit of {LIMIT_MB} MB" in message.inner_text()
    # the only console line allowed is chromium's own note of the refused request
    assert all("status of 413" in e for e in page.console_errors), page.console_errors


def test_path_traversal_gets_404(page, server):
    base = server["base"]
    job = "A" * 22
    for url in (f"/jobs/{job}/files/..%2f..%2fetc%2fpasswd", f"/jobs/{job}/files/%2e%2e/%2e%2e/etc/passwd",
                "/static/..%2f..%2f..%2f..%2fetc%2fpasswd", "/static/..%2fapp.py"):
        r = page.request.get(base + url)
        assert r.status == 404, url
        assert b"root:" not in r.body()
    # a real job's id, and a raw request line the browser would have normalised
    page.set_input_files("input[name=audio]", str(MIX))
    with page.expect_response("**/api/jobs") as resp:
        page.click("button[type=submit]")
    job = resp.value.json()["id"]
    page.wait_for_selector("#sources audio[data-source]", timeout=120_000)
    for tail in ("..%2f..%2f..%2f..%2fetc%2fpasswd", "upload/mixture.wav", "..%2fupload%2fmixture.wav"):
        assert page.request.get(f"{base}/jobs/{job}/files/{tail}").status == 404, tail
    conn = http.client.HTTPConnection("127.0.0.1", server["port"], timeout=10)
    conn.request("GET", f"/jobs/{job}/files/../../../../../../etc/passwd")
    raw = conn.getresponse()
    assert raw.status == 404 and b"root:" not in raw.read()
    conn.close()


def test_cancel_stops_a_running_job(page, server, tmp_path):
    clip = _wav_file(tmp_path / "speech.wav", seconds=20)
    page.select_option("#mode", "denoise")
    page.click("details summary")
    page.fill("input[name=iterations]", "2000")  # ~10 s or more: time to press cancel
    page.set_input_files("input[name=audio]", str(clip))
    page.click("button[type=submit]")
    page.wait_for_function("() => /\\d+%/.test(document.querySelector('#stage').textContent) && "
                           "document.querySelector('#status').dataset.state === 'running'", timeout=60_000)
    t = time.monotonic()
    page.click("#cancel")
    message = page.locator("#message")
    message.wait_for(state="visible", timeout=30_000)
    assert message.inner_text() == "Cancelled."
    print(f"\ncancelled {time.monotonic() - t:.2f} s after the click")
    assert page.locator("#results").is_hidden()
    assert page.locator("button[type=submit]").is_enabled()
    assert page.console_errors == []


def test_a_second_job_waits_with_its_queue_position_shown(browser, server, tmp_path):
    clip = _wav_file(tmp_path / "long.wav", seconds=20)
    context = browser.new_context()
    first, second = context.new_page(), context.new_page()
    for pg in (first, second):
        pg.goto(server["base"] + "/")
        pg.wait_for_selector("#instrument-list input", state="attached")
    first.select_option("#mode", "denoise")
    first.click("details summary")
    first.fill("input[name=iterations]", "2000")
    first.set_input_files("input[name=audio]", str(clip))
    first.click("button[type=submit]")
    first.wait_for_function("() => document.querySelector('#status').dataset.state === 'running'",
                            timeout=60_000)
    second.set_input_files("input[name=audio]", str(MIX))
    second.click("button[type=submit]")
    second.wait_for_function("() => document.querySelector('#status').dataset.state === 'queued'",
                             timeout=30_000)
    assert "next in the queue" in second.locator("#stage").inner_text()
    first.click("#cancel")  # frees the worker: the waiting job starts and finishes
    second.wait_for_selector("#sources audio[data-source]", timeout=120_000)
    assert first.locator("#message").inner_text() == "Cancelled."
    context.close()
