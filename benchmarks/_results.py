"""The one writer of ``benchmarks/RESULTS.md``.

Each benchmark script owns one section of the file, between ``<!-- NAME:start -->`` and
``<!-- NAME:end -->``; :func:`write_section` replaces that section with the script's current
tables and leaves the rest of the file alone (a section that is missing is appended). The file
keeps current tables only: earlier numbers are in git history
(``git log -p benchmarks/RESULTS.md``).

Used by ``benchmarks/quality/run.py`` (``quality``), ``benchmarks/quality/models.py``
(``models``) and ``benchmarks/batch.py`` (``batch``); the ``speed`` section gathers the printed
tables of ``speed.py``, ``pipeline.py`` and ``stream.py`` with their discussion and is edited by
hand between the same kind of markers. Import it as ``from benchmarks._results import
write_section`` with the repository root on ``sys.path``.
"""

from __future__ import annotations

import os
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
TITLE = "# Benchmark results\n"


def markers(name: str) -> tuple:
    """The start and end markers of section ``name``."""
    return f"<!-- {name}:start -->", f"<!-- {name}:end -->"


def write_section(name: str, markdown: str, path=RESULTS) -> Path:
    """Put ``markdown`` between the markers of section ``name`` in ``path`` (atomically).

    ``markdown`` is the section's content without the markers. Everything outside the
    section is kept byte for byte; if the section is not in the file yet it is appended.
    Returns the path written.
    """
    path = Path(path)
    start, end = markers(name)
    block = f"{start}\n{markdown.strip(chr(10))}\n{end}\n"
    text = path.read_text() if path.exists() else TITLE
    if text.count(start) > 1 or text.count(end) > 1:
        raise ValueError(f"{path}: section {name!r} appears more than once")
    if start in text and end in text:
        head, rest = text.split(start, 1)
        _, tail = rest.split(end, 1)
        tail = tail.lstrip("\n")
        text = head + block + ("\n" + tail if tail else "")
    else:
        text = text.rstrip("\n") + "\n\n" + block
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
    return path
