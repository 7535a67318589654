#!/usr/bin/env python
"""Streamed == offline on held-out material: ``StreamSeparator`` fed random block sizes.

    python benchmarks/stream_equality.py [--part test] [--kinds music,speech] [--seeds 3]

For every item of the part of ``benchmarks/quality`` (built by ``make_set.py``): one dictionary
per stem from its training clip (``learn_dictionary`` defaults), then the mixture through a fresh
``nmfaudio.StreamSeparator`` in blocks whose sizes are drawn log-uniformly from 1…8192 samples
(seeded; so 1-sample blocks and 8192-sample blocks both occur), and ``nmfaudio.separate`` on the
whole mixture with the same dictionaries. Prints, per item, the number of blocks, the smallest and
largest block, and the largest absolute difference between the streamed sources (latency removed)
and the offline ones over all seeds and sources; exits 1 if any exceeds 1e-5 (issue #16).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE / "quality"))

import nmfaudio  # noqa: E402
import run  # noqa: E402

TOL = 1e-5


def block_sizes(n, rng, largest=8192):
    """Log-uniform block sizes in 1…largest covering ``n`` samples."""
    sizes, total = [], 0
    while total < n:
        s = int(np.exp(rng.uniform(0.0, np.log(largest + 1))))
        s = max(1, min(largest, s))
        sizes.append(s)
        total += s
    return sizes


def streamed(proc, y, sizes):
    outs, i = [], 0
    for s in sizes:
        outs.append(proc.process(y[i:i + s]))
        i += s
    outs.append(proc.flush())
    return {k: np.concatenate([o[k] for o in outs])[proc.latency:proc.latency + len(y)] for k in proc.names}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    ap.add_argument("--part", default="test", choices=run.PARTS)
    ap.add_argument("--kinds", default="music,speech")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--data", type=Path, default=HERE / "quality" / "data")
    args = ap.parse_args(argv)
    kinds = args.kinds.split(",")
    entries = [e for e in run.read_manifest(args.data)["items"]
               if e["kind"] in kinds and e.get("part") == args.part]
    print(f"StreamSeparator vs separate(), {args.part} part, {len(entries)} items, "
          f"{args.seeds} random block sequences each (log-uniform 1…8192 samples)\n")
    print("| item | sources | blocks (per sequence, median) | smallest / largest block | max abs streamed − offline |")
    print("|---|---|---:|---:|---:|")
    worst = 0.0
    for e in entries:
        item = run.load_item(args.data, e)
        dicts = [nmfaudio.learn_dictionary(item.train[n], item.sr, name=n) for n in item.names]
        off = nmfaudio.separate(item.mixture, item.sr, dictionaries=dicts)
        diff, counts, lo, hi = 0.0, [], 8192, 1
        for seed in range(args.seeds):
            sizes = block_sizes(len(item.mixture), np.random.default_rng(seed))
            out = streamed(nmfaudio.StreamSeparator(dictionaries=dicts), item.mixture, sizes)
            diff = max(diff, max(float(np.max(np.abs(out[n] - off[n]))) for n in item.names))
            counts.append(len(sizes))
            lo, hi = min(lo, min(sizes)), max(hi, max(sizes))
        worst = max(worst, diff)
        print(f"| {item.id} | {', '.join(item.names)} | {int(np.median(counts))} | {lo} / {hi} | {diff:.1e} |",
              flush=True)
    print(f"\nlargest difference {worst:.1e} (bound {TOL:g}): {'OK' if worst <= TOL else 'FAILED'}")
    return 0 if worst <= TOL else 1


if __name__ == "__main__":
    sys.exit(main())
