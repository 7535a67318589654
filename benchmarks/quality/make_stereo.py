#!/usr/bin/env python3
"""Stereo items for the quality benchmark: the music items' stems, panned.

Reads the music items of a set built by make_set.py and writes, for each,
``stereo-NN/`` (NN as in ``music-NN``) with a 2-channel ``mixture.wav`` and
2-channel ``stems/<instrument>.wav``, plus ``manifest_stereo.json`` beside
``manifest.json`` (same format; kind ``"stereo"``). Each stem gets a seeded
pan position in [-0.9, 0.9], at least 0.4 apart from the others, with the
constant-power law ``L = cos θ``, ``R = sin θ``, ``θ = (p + 1) π / 4``. The
mixture is the exact float32 sum of the stereo stems in manifest order.

    python benchmarks/quality/make_set.py        # first
    python benchmarks/quality/make_stereo.py [--seed 0] [--out benchmarks/quality/data]

Only numpy, scipy and soundfile are needed (no system package).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def pan_positions(rng, n, spread=0.9, min_gap=0.4):
    for _ in range(1000):
        p = np.sort(rng.uniform(-spread, spread, n))
        if n < 2 or np.min(np.diff(p)) >= min_gap:
            return rng.permutation(p)
    return np.linspace(-spread, spread, n)


def write_f32(path, x, sr):
    """Float32 WAV (channels last on disk), byte-reproducible (scipy writer)."""
    from scipy.io import wavfile
    os.makedirs(os.path.dirname(path), exist_ok=True)
    wavfile.write(path, sr, np.ascontiguousarray(np.asarray(x, dtype=np.float32).T))


def main(argv=None):
    import soundfile as sf

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=os.path.join(HERE, "data"))
    args = ap.parse_args(argv)
    out = os.path.abspath(args.out)
    man_path = os.path.join(out, "manifest.json")
    if not os.path.isfile(man_path):
        sys.exit(f"{man_path} not found: build the set with make_set.py first")
    with open(man_path) as f:
        man = json.load(f)
    rng = np.random.default_rng(args.seed)
    items = []
    for it in man["items"]:
        if it["kind"] != "music":
            continue
        item_id = it["id"].replace("music-", "stereo-")
        d = os.path.join(out, item_id)
        if os.path.isdir(d):
            shutil.rmtree(d)
        pans = pan_positions(rng, len(it["stems"]))
        stems, paths, pan_info = [], {}, {}
        for (name, rel), p in zip(it["stems"].items(), pans):
            x, sr = sf.read(os.path.join(out, rel), dtype="float32")
            theta = (p + 1) * np.pi / 4
            st = np.stack([np.float32(np.cos(theta)) * x, np.float32(np.sin(theta)) * x])
            stems.append(st)
            path = os.path.join(d, "stems", name + ".wav")
            write_f32(path, st, sr)
            paths[name] = os.path.relpath(path, out)
            pan_info[name] = round(float(p), 3)
        mix = stems[0].copy()
        for s in stems[1:]:
            mix = mix + s
        write_f32(os.path.join(d, "mixture.wav"), mix, sr)
        items.append({**{k: v for k, v in it.items() if k not in ("stems", "mixture", "train")},
                      "id": item_id, "kind": "stereo", "channels": 2,
                      "mixture": os.path.relpath(os.path.join(d, "mixture.wav"), out),
                      "stems": paths, "train": dict(it["train"]), "pan": pan_info,
                      "from_item": it["id"]})
        print(f"  {item_id}: {' '.join(f'{k}@{v:+.2f}' for k, v in pan_info.items())}")
    stereo = {k: v for k, v in man.items() if k != "items"}
    stereo.update(generator="benchmarks/quality/make_stereo.py", seed=args.seed,
                  format="2-channel WAV, float32; stems panned with the constant-power law; "
                         "mixture == float32 sum of stems added in listed order",
                  items=items)
    with open(os.path.join(out, "manifest_stereo.json"), "w") as f:
        json.dump(stereo, f, indent=1)
    # verify the exact sums
    for it in items:
        mix, _ = sf.read(os.path.join(out, it["mixture"]), dtype="float32")
        acc = None
        for rel in it["stems"].values():
            s, _ = sf.read(os.path.join(out, rel), dtype="float32")
            acc = s if acc is None else acc + s
        if not np.array_equal(acc, mix):
            sys.exit(f"{it['id']}: mixture != float32 sum of stems")
    print(f"wrote {len(items)} stereo items and manifest_stereo.json in {out}")


if __name__ == "__main__":
    main()
