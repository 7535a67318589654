"""Every documentation page runs top to bottom as a reader would run it.

Each page's ```python blocks are executed in order, in one namespace, in a fresh empty
folder that holds only a link to ``audio_fixtures/`` — nothing from another page or an
earlier test is available. A page whose block uses a name it never defined, or writes a
file that a later block then refuses to overwrite, fails here.
"""

import re
import warnings
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md"] + sorted((ROOT / "docs").glob("*.md"))
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def _pages_with_code():
    return [p for p in PAGES if BLOCK.search(p.read_text(encoding="utf-8"))]


def test_pages_are_found():
    names = {p.name for p in _pages_with_code()}
    assert {"README.md", "interop.md"} <= names


@pytest.mark.parametrize("page", _pages_with_code(), ids=lambda p: p.name)
def test_page_runs_in_order_in_a_fresh_folder(page, tmp_path, monkeypatch):
    import matplotlib

    matplotlib.use("Agg")
    (tmp_path / "audio_fixtures").symlink_to(ROOT / "audio_fixtures")
    monkeypatch.chdir(tmp_path)
    ns = {"__name__": "__docs__"}
    text = page.read_text(encoding="utf-8")
    for i, match in enumerate(BLOCK.finditer(text)):
        line = text[: match.start()].count("\n") + 2
        code = compile(match.group(1), f"{page.name} (block {i + 1}, line {line})", "exec")
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)
            exec(code, ns)
    import matplotlib.pyplot as plt

    plt.close("all")
