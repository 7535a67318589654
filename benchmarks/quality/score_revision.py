#!/usr/bin/env python
"""Score an earlier revision's denoisers on today's benchmark items, beside nothing else.

    python benchmarks/quality/score_revision.py --rev d06faff [--part test]

Checks the revision out into a temporary git worktree, runs *its* ``nmfaudio.denoise(y, sr,
noise=clip)``, ``nmfaudio.denoise(y, sr)`` (blind) and ``learn_dictionary`` × 2 +
``separate(dictionaries=...)`` with its defaults on every speech item of the part (in a child
process whose ``sys.path`` starts at the worktree), then scores the outputs with today's
``run._score`` (SDR, SI-SDR, STOI, PESQ-WB of the speech; *harmed*: STOI below the noisy
input's − 0.02). d06faff is the last commit of the first round: the code behind the issue's
held-out table, so this tells how hard our test part is next to that held-out set.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

import run  # noqa: E402

CHILD = r'''
import json, sys, numpy as np, soundfile as sf
tree, data, out, part = sys.argv[1:5]
sys.path.insert(0, tree)
import nmfaudio
assert nmfaudio.__file__.startswith(tree), nmfaudio.__file__
for e in json.load(open(f"{data}/manifest.json"))["items"]:
    if e["kind"] != "speech" or e["part"] != part:
        continue
    y, sr = sf.read(f"{data}/{e['mixture']}", dtype="float32")
    tr = {n: sf.read(f"{data}/{p}", dtype="float32")[0] for n, p in e["train"].items()}
    res = {"noise sample": nmfaudio.denoise(y, sr, noise=tr["noise"]), "blind": nmfaudio.denoise(y, sr)}
    dicts = [nmfaudio.learn_dictionary(tr[n], sr, name=n) for n in ("speech", "noise")]
    res["speech + noise dictionaries"] = nmfaudio.separate(y, sr, dictionaries=dicts)["speech"]
    np.savez(f"{out}/{e['id']}.npz", **{k: np.asarray(v) for k, v in res.items()})
    print(e["id"], flush=True)
'''


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rev", required=True)
    ap.add_argument("--part", choices=["tune", "test"], default="test")
    args = ap.parse_args(argv)
    data = HERE / "data"
    with tempfile.TemporaryDirectory(prefix="nmfaudio-rev-") as tmp:
        tree, out = Path(tmp) / "tree", Path(tmp) / "out"
        out.mkdir()
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-f", str(tree), args.rev],
                       check=True, capture_output=True)
        try:
            subprocess.run([sys.executable, "-c", CHILD, str(tree), str(data), str(out), args.part],
                           check=True, stdout=subprocess.DEVNULL,
                           env={**__import__("os").environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"})
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], capture_output=True)
        rows = {}
        for e in run.read_manifest(data)["items"]:
            if e["kind"] != "speech" or e["part"] != args.part:
                continue
            item = run.load_item(data, e)
            z = np.load(out / f"{e['id']}.npz")
            mix = run._score(item, np.stack([item.mixture for _ in item.names]), False, None)[0]
            for k in z.files:
                s = run._score(item, run._speech_and_rest(item, z[k].astype(item.mixture.dtype)), False, None)[0]
                rows.setdefault(k, []).append([s["sdr"], s["si_sdr"], s["stoi"], s["pesq"],
                                               s["stoi"] < mix["stoi"] - 0.02])
    print(f"`{args.part}: {len(next(iter(rows.values())))} speech items; nmfaudio at {args.rev}, its defaults`\n")
    print("| mode | SDR mean / median / min … max | SI-SDR | STOI | PESQ-WB | harmed |")
    print("|---|---|---:|---:|---:|---:|")
    for k, a in rows.items():
        a = np.array(a, float)
        print(f"| {k} | {a[:, 0].mean():.2f} / {np.median(a[:, 0]):.2f} / {a[:, 0].min():.1f} … {a[:, 0].max():.1f} | "
              f"{a[:, 1].mean():.2f} | {a[:, 2].mean():.3f} | {a[:, 3].mean():.2f} | {int(a[:, 4].sum())}/{len(a)} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
