"""The README's API tour must keep running as written."""

import os
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_readme_api_tour_runs(tmp_path, monkeypatch):
    text = (ROOT / "README.md").read_text()
    code = re.search(r"## API tour\n\n```python\n(.*?)```", text, re.S).group(1)
    (tmp_path / "audio_fixtures").symlink_to(ROOT / "audio_fixtures")
    monkeypatch.chdir(tmp_path)
    ns = {}
    exec(compile(code, "README.md", "exec"), ns)
    assert sorted(ns["sources"]) == ["source1", "source2"]
    assert sorted(ns["out"]) == ["piano", "residual"]
    assert ns["clean"].shape == ns["noisy"].shape
    assert os.path.exists(tmp_path / "piano.npz") and os.path.exists(tmp_path / "out" / "source1.wav")


def test_readme_commands_present():
    text = (ROOT / "README.md").read_text()
    main_cmd = re.search(r"<!-- main-command -->\n```bash\n(.*?)\n```", text, re.S).group(1)
    test_cmd = re.search(r"<!-- test-command -->\n```bash\n(.*?)\n```", text, re.S).group(1)
    assert main_cmd.startswith("pip install . && nmfaudio ")
    assert "audio_fixtures/" in main_cmd
    assert test_cmd.startswith('pip install ".[test]"') and "pytest" in test_cmd
