#!/usr/bin/env python
"""Tune StreamDenoiser on the *tune* part only: SI-SDR of the speech (mean, min) per setting.

    python benchmarks/quality/tune_stream_denoise.py [--blind] [--jobs 2]

Prints one row per setting; the test part is never read.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))
sys.path.insert(0, str(HERE))

import nmfaudio  # noqa: E402
import nmfaudio.realtime_denoise as rd  # noqa: E402
import run  # noqa: E402

GRID = {
    "floor_ratio": [1.5, 2.0, 3.0],
    "memory_seconds": [1.0, 4.0],
    "sparsity": [0.0, 0.1],
    "mask_power": [1.0, 2.0],
}


def si_sdr(e, r):
    a = np.dot(e, r) / np.dot(r, r)
    return 10 * np.log10(np.sum((a * r) ** 2) / max(np.sum((e - a * r) ** 2), 1e-20))


def score(task):
    entry, blind, setting = task
    item = run.load_item(run.DEFAULT_DATA, entry)
    rd.FLOOR_RATIO = setting["floor_ratio"]
    kw = {k: v for k, v in setting.items() if k != "floor_ratio"}
    den = (nmfaudio.StreamDenoiser(sr=item.sr, **kw) if blind
           else nmfaudio.StreamDenoiser(noise=item.train["noise"], sr=item.sr, **kw))
    y = item.mixture
    parts = [den.process(y[i:i + 1024]) for i in range(0, y.size, 1024)] + [den.flush()]
    est = np.concatenate([p["speech"] for p in parts])[den.latency:]
    return si_sdr(est, item.stems[item.target])


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--blind", action="store_true")
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args(argv)
    entries = [e for e in run.read_manifest(run.DEFAULT_DATA)["items"]
               if e["kind"] == "speech" and e.get("part") == "tune"]
    keys = list(GRID)
    settings = [dict(zip(keys, vals)) for vals in itertools.product(*GRID.values())]
    print(f"{'blind' if args.blind else 'noise sample'}: {len(entries)} tune items")
    print("| " + " | ".join(keys) + " | SI-SDR mean | min |")
    print("|" + "---|" * (len(keys) + 2))
    with ProcessPoolExecutor(args.jobs) as ex:
        for s in settings:
            vals = list(ex.map(score, [(e, args.blind, s) for e in entries]))
            print("| " + " | ".join(str(s[k]) for k in keys) + f" | {np.mean(vals):.2f} | {np.min(vals):.2f} |",
                  flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
