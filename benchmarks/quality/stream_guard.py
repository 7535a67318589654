#!/usr/bin/env python
"""The babble guard in ``StreamDenoiser`` with a noise sample (issue #14): tune / test.

    python benchmarks/quality/stream_guard.py [--part tune|test] [--rows 0,2]

Rows set ``nmfaudio.realtime_denoise.GUARD_SPREAD`` / ``GUARD_FLOOR_DB`` (first row: no guard);
every row runs ``StreamDenoiser(noise=<clip>)`` in 1024-sample blocks, as ``run.py``'s
``nmfaudio-stream-denoise``, on the part's 18 items of ``data/`` and 16 of ``data-hard/``
(``hard_items.py``). Prints ``run.comparison_table`` rows for the 18, the 16 hard and all items.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))
sys.path.insert(0, str(HERE))

import run  # noqa: E402
from nmfaudio import realtime_denoise as rd  # noqa: E402

#: the offline sample-mode threshold (0.25, inside the tune gap of the clip's spread: other noises
#: <= 0.220, babble >= 0.299) at two floors, then (after those, still harming babble) higher ones
ROWS = [{"GUARD_SPREAD": None}, {"GUARD_SPREAD": 0.25, "GUARD_FLOOR_DB": -10.0},
        {"GUARD_SPREAD": 0.25, "GUARD_FLOOR_DB": -15.0}, {"GUARD_SPREAD": 0.25, "GUARD_FLOOR_DB": -8.0},
        {"GUARD_SPREAD": 0.25, "GUARD_FLOOR_DB": -6.0}, {"GUARD_SPREAD": 0.25, "GUARD_FLOOR_DB": -4.0},
        {"GUARD_SPREAD": 0.25, "GUARD_FLOOR_DB": -3.0}]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--part", choices=["tune", "test"], default="tune")
    ap.add_argument("--rows", default=None, help="row indices, e.g. 0,5 (no guard; the default chosen on tune)")
    args = ap.parse_args(argv)
    run._limit_threads(1)
    rows = [ROWS[int(i)] for i in args.rows.split(",")] if args.rows else ROWS
    scores = {i: [] for i in range(len(rows))}
    ids = []
    for data in (run.DEFAULT_DATA, HERE / "data-hard"):
        for e in run.read_manifest(data)["items"]:
            if e["kind"] != "speech" or e.get("part") != args.part:
                continue
            item = run.load_item(data, e)
            mix, _ = run._score(item, np.stack([item.mixture] * len(item.names)), False)
            ids.append(e["id"])
            for i, r in enumerate(rows):
                saved = {k: getattr(rd, k) for k in r}
                try:
                    for k, v in r.items():
                        setattr(rd, k, v)
                    est = run.nmfaudio_stream_denoise(item)
                finally:
                    for k, v in saved.items():
                        setattr(rd, k, v)
                scores[i].append(run._score(item, est, False, mix)[0])
            print(f"  {e['id']} done", file=sys.stderr, flush=True)
    label = {i: ", ".join(f"{k}={v}" for k, v in r.items()) for i, r in enumerate(rows)}
    for name, keep in (("18 items", lambda i: "hard" not in i), ("16 hard", lambda i: "hard" in i),
                       ("all", lambda i: True)):
        sel = [j for j, i in enumerate(ids) if keep(i)]
        print(f"\n`{args.part}: {name} ({len(sel)})`\n")
        print("\n".join(run.comparison_table({label[i]: [scores[i][j] for j in sel] for i in scores})))
        for i in scores:
            h = [f"{ids[j]} {scores[i][j]['stoi_improvement']:+.3f}" for j in sel
                 if scores[i][j]["stoi_improvement"] < -run.HARM]
            print(f"  harmed, {label[i]}: {', '.join(h) or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
