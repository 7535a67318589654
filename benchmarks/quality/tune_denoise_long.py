#!/usr/bin/env python
"""The long-recording denoiser (nmfaudio.denoise_stream) forced on the 6-second speech items.

    python benchmarks/quality/tune_denoise_long.py --part tune --mode noise [--grid frames]
    python benchmarks/quality/tune_denoise_long.py --part test --mode noise region blind --grid chosen

Each setting runs denoise_stream (file to file) on every item of the part and is scored
against the offline nmfaudio.denoise with the same mode (the first row). Prints one markdown
row per (mode, setting): mean / median / min..max of SDR, SI-SDR, STOI and PESQ-WB of the
speech, and mean SDR difference to offline. Settings: ``frame_iter`` (iterations of each
frame's solve), ``acc`` (accelerated frame steps), ``max_iter`` (learning iterations) and
``cap`` (subsample size; the items have ~259 frames, so ``cap`` below that emulates the
sparse subsample of a long file). Choose on ``tune``, report on ``test``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))
sys.path.insert(0, str(HERE))

import nmfaudio  # noqa: E402
import run  # noqa: E402

ds = sys.modules["nmfaudio.denoise_stream"]

GRIDS = {
    "frames": [{"frame_iter": 5, "acc": False}, {"frame_iter": 10, "acc": False},
               {"frame_iter": 20, "acc": False}, {"frame_iter": 10, "acc": True},
               {"frame_iter": 20, "acc": True}, {"frame_iter": 30, "acc": True}],
    "learn": [{"max_iter": 50}, {"max_iter": 100}, {"cap": 128}, {"cap": 64},
              {"cap": 64, "max_iter": 50}],
    "chosen": [{}],
    "voices": [{}, {"frame_iter": 30, "acc": True}, {"frame_iter": 60, "acc": True}],
    "voice-iter": [{"voice_iter": 10}, {"voice_iter": 20}, {"voice_iter": 30}, {"voice_iter": 50}],
    "test": [{}, {"frame_iter": 20}],
}
METRICS = ("sdr", "si_sdr", "stoi", "pesq")


def _offline(item, mode):
    if mode == "noise":
        return nmfaudio.denoise(item.mixture, item.sr, noise=item.train["noise"])
    if mode == "blind":
        return nmfaudio.denoise(item.mixture, item.sr)
    lead = item.train["noise"]
    y = np.concatenate([lead, item.mixture])
    return nmfaudio.denoise(y, item.sr, noise_region=(0.0, lead.size / item.sr))[lead.size:]


def _stream(item, mode, setting, tmp):
    opts = {}
    if "frame_iter" in setting:
        opts["frame_iter"] = setting["frame_iter"]
    if "max_iter" in setting:
        opts["max_iter"] = setting["max_iter"]
    if "cap" in setting:
        opts["subsample_frames"] = setting["cap"]
    saved, saved_v = ds.FRAME_ACCELERATE, ds.VOICE_FRAME_ITER
    ds.FRAME_ACCELERATE = setting.get("acc", saved)
    ds.VOICE_FRAME_ITER = setting.get("voice_iter", saved_v)
    try:
        y, lead = item.mixture, None
        if mode == "noise":
            opts["noise"] = item.train["noise"]
        elif mode == "region":
            lead = item.train["noise"]
            y = np.concatenate([lead, item.mixture])
            opts["noise_region"] = (0.0, lead.size / item.sr)
        src = Path(tmp) / "in.wav"
        nmfaudio.save(src, y, item.sr, overwrite=True)
        out = Path(tmp) / "out.wav"
        nmfaudio.denoise_stream(src, out, overwrite=True, **opts)
        clean = nmfaudio.load(out)[0]
    finally:
        ds.FRAME_ACCELERATE, ds.VOICE_FRAME_ITER = saved, saved_v
    return clean if lead is None else clean[lead.size:]


def _row(label, rows, ref=None):
    cells = [label]
    for k in METRICS:
        v = np.array([r[k] for r in rows], float)
        cells.append(f"{v.mean():.2f} / {np.median(v):.2f} / {v.min():.2f}..{v.max():.2f}"
                     if k in ("sdr", "si_sdr") else
                     f"{v.mean():.3f} / {np.median(v):.3f} / {v.min():.2f}..{v.max():.2f}")
    if ref is not None:
        d = np.array([r["sdr"] for r in rows]) - np.array([r["sdr"] for r in ref])
        cells.append(f"{d.mean():+.2f} (median {np.median(d):+.2f}, worst {d.min():+.2f})")
    else:
        cells.append("—")
    return "| " + " | ".join(cells) + " |"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--part", choices=run.PARTS, default="tune")
    ap.add_argument("--mode", nargs="+", choices=["noise", "region", "blind"], default=["noise"])
    ap.add_argument("--grid", choices=sorted(GRIDS), default="frames")
    ap.add_argument("--items", type=int, default=None)
    args = ap.parse_args(argv)
    run._limit_threads(1)
    entries = [e for e in run.read_manifest(run.DEFAULT_DATA)["items"]
               if e["kind"] == "speech" and e.get("part") == args.part][:args.items]
    settings = GRIDS[args.grid]
    scores = {}
    with tempfile.TemporaryDirectory() as tmp:
        for e in entries:
            item = run.load_item(run.DEFAULT_DATA, e)
            for mode in args.mode:
                sc = run._score(item, run._speech_and_rest(item, _offline(item, mode)), False)[0]
                scores.setdefault((mode, -1), []).append(sc)
                for i, s in enumerate(settings):
                    clean = _stream(item, mode, s, tmp)
                    sc = run._score(item, run._speech_and_rest(item, clean), False)[0]
                    scores.setdefault((mode, i), []).append(sc)
            print(f"  {e['id']} done", file=sys.stderr, flush=True)
    print(f"{args.part} part, {len(entries)} speech items; defaults: frame_iter={ds.FRAME_ITER}, "
          f"accelerated={ds.FRAME_ACCELERATE}, "
          f"learning max_iter={sys.modules['nmfaudio.denoise'].DENOISE_ITER}, "
          f"cap={ds.SUBSAMPLE_FRAMES}")
    print("| mode / setting | SDR mean / median / min..max | SI-SDR | STOI | PESQ-WB | SDR − offline |")
    print("|---|---|---|---|---|---|")
    for mode in args.mode:
        ref = scores[(mode, -1)]
        print(_row(f"{mode}: offline denoise()", ref))
        for i, s in enumerate(settings):
            label = ", ".join(f"{k}={v}" for k, v in s.items()) or "defaults"
            print(_row(f"{mode}: stream {label}", scores[(mode, i)], ref), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
