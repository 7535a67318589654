#!/usr/bin/env python
"""Choose ``separate(..., instruments=[...], adapt=N, adapt_prior=P)`` on the *tune* part only.

    python benchmarks/models/tune_adapt.py --data DIR [--jobs 2] [--part tune]

Prints, per setting, SDR and SI-SDR (mean over each item's sources) as mean ± std and
min … max over the music items of the part, and one row per item. ``--part test`` is for
reporting the chosen setting once, not for choosing.
"""

from __future__ import annotations

import argparse
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))
sys.path.insert(0, str(HERE.parent / "quality"))

import nmfaudio  # noqa: E402
import run  # noqa: E402

#: (adapt, adapt_prior); (0, _) is the fixed-template baseline.
GRID = [(0, 1.0), (10, 0.0), (10, 1.0), (30, 0.0), (30, 1.0), (30, 3.0), (100, 0.3), (100, 1.0),
        (100, 3.0)]


def score(task):
    data, entry, settings = task
    item = run.load_item(data, entry)
    refs = dict(zip(item.names, item.stems))
    rows = []
    for adapt, prior in settings:
        opts = {"adapt": adapt, "adapt_prior": prior} if adapt else {}
        est = run._instruments(item, **opts)
        r = nmfaudio.evaluate(refs, dict(zip(item.names, est)))
        rows.append((r["mean"]["sdr"], r["mean"]["si_sdr"]))
    return item.id, rows


def _cell(v):
    return f"{v.mean():5.2f} ± {v.std():4.2f} ({v.min():5.2f} … {v.max():5.2f})"


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, default=run.DEFAULT_DATA)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--part", default="tune", choices=("tune", "test"))
    ap.add_argument("--grid", default=None, help="settings as 'adapt:prior,adapt:prior'")
    args = ap.parse_args(argv)
    grid = GRID if args.grid is None else [
        (int(a), float(p)) for a, p in (t.split(":") for t in args.grid.split(","))]
    entries = [e for e in run.read_manifest(args.data)["items"]
               if e["kind"] == "music" and e.get("part") == args.part]
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        results = list(pool.map(score, [(args.data, e, grid) for e in entries]))
    res = np.array([rows for _, rows in results])  # (items, settings, 2)
    print(f"{args.part} part, {len(entries)} music items; mean ± std (min … max) over items")
    print(f"{'adapt':>5s} {'prior':>5s}  {'SDR (dB)':34s} {'SI-SDR (dB)':34s} {'ΔSDR>0':>6s}")
    for j, (a, p) in enumerate(grid):
        better = int((res[:, j, 0] > res[:, 0, 0] + 0.05).sum())
        print(f"{a:5d} {p:5.1f}  {_cell(res[:, j, 0]):34s} {_cell(res[:, j, 1]):34s} {better:3d}/{len(entries)}")
    print("per item, SDR / SI-SDR:")
    for (iid, rows) in results:
        print(f"  {iid:16s} " + "  ".join(f"{s:5.2f}/{t:5.2f}" for s, t in rows))


if __name__ == "__main__":
    main()
