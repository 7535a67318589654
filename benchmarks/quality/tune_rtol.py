#!/usr/bin/env python
"""Choose the per-frame early stop of the fixed-template solve (``supervised.SUPERVISED_RTOL``).

    python benchmarks/quality/tune_rtol.py [--part tune] [--kind music] [--rtols 0,1e-4,1e-3]

For every item of the part: one dictionary per stem from its training clip
(``learn_dictionary`` defaults), then ``nmfaudio.separate(dictionaries=...)`` once per rtol
(``SUPERVISED_RTOL`` set for the run), scored as ``run.py`` scores ``nmfaudio-supervised``.
Prints one markdown row per rtol: mean SDR and SI-SDR over items, the change against rtol = 0
(mean, min..max over items) and the median over items of the separation's CPU time (the median
of ``--reps`` calls; one thread). Choose on ``tune``; ``--part test`` reports a choice.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("NUMBA_NUM_THREADS", "1")
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))
sys.path.insert(0, str(HERE))

import numpy as np  # noqa: E402

import nmfaudio  # noqa: E402
from nmfaudio import supervised  # noqa: E402
import run  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    ap.add_argument("--part", default="tune", choices=run.PARTS)
    ap.add_argument("--kind", default="music", choices=("music", "speech"))
    ap.add_argument("--rtols", default="0,1e-4,3e-4,1e-3,3e-3")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--data", type=Path, default=HERE / "data")
    args = ap.parse_args(argv)
    rtols = [float(x) for x in args.rtols.split(",")]
    run._limit_threads(1)
    entries = [e for e in run.read_manifest(args.data)["items"]
               if e["kind"] == args.kind and e.get("part") == args.part]
    res = {r: {"sdr": [], "si_sdr": [], "cpu": []} for r in rtols}
    saved = supervised.SUPERVISED_RTOL
    try:
        for e in entries:
            item = run.load_item(args.data, e)
            dicts = [nmfaudio.learn_dictionary(item.train[n], item.sr, name=n) for n in item.names]
            for r in rtols:
                supervised.SUPERVISED_RTOL = r
                times = []
                for _ in range(args.reps):
                    c0 = time.process_time()
                    out = nmfaudio.separate(item.mixture, item.sr, dictionaries=dicts)
                    times.append(time.process_time() - c0)
                est = np.stack([out[n] for n in item.names])
                score, _ = run._score(item, est, False)
                res[r]["sdr"].append(score["sdr"])
                res[r]["si_sdr"].append(score["si_sdr"])
                res[r]["cpu"].append(float(np.median(times)))
            print(f"{item.id}: " + "  ".join(f"{r:g}: {res[r]['sdr'][-1]:.3f}" for r in rtols),
                  file=sys.stderr, flush=True)
    finally:
        supervised.SUPERVISED_RTOL = saved
    base = np.array(res[rtols[0]]["sdr"])
    print(f"\n{args.kind}, {args.part} part, {len(entries)} items (delta against rtol={rtols[0]:g})\n")
    print("| rtol | SDR mean | SI-SDR mean | dSDR mean (min..max) | separate CPU, median |")
    print("|---:|---:|---:|---:|---:|")
    for r in rtols:
        d = np.array(res[r]["sdr"]) - base
        print(f"| {r:g} | {np.mean(res[r]['sdr']):.3f} | {np.mean(res[r]['si_sdr']):.3f} | "
              f"{d.mean():+.4f} ({d.min():+.3f}..{d.max():+.3f}) | "
              f"{np.median(res[r]['cpu']):.3f} s |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
