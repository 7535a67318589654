#!/usr/bin/env python
"""Blind denoising of one long recording whose noise changes: does the noise floor track it?

    python benchmarks/quality/changing_noise.py [--part tune|test] [--windows 1.5 3]

The 18 speech items of a part are joined end to end into one recording (the two items of each
noise type next to each other, noise types in manifest order): the talker changes every 6 s,
the noise recording every 12 s, the SNR every 6 s (0 / 5 / 10 dB), abruptly. Each method
denoises the whole recording without a noise sample; its output is cut back into the 6-s
items and scored against their true stems (speech SDR, SI-SDR, STOI; *harmed*: STOI below the
noisy input's − 0.02), beside the same method run on each item alone (the quality benchmark's
own setting, where nothing changes within an item).

With ``--stationary`` the noises are replaced by one stationary pink noise running through the
whole recording (each item's SNR kept), so only the talker changes: do local models cost
anything when the noise does not change?

Methods: offline ``nmfaudio.denoise(y, sr)`` and the long-file path ``nmfaudio.denoise_stream``
(file to file), each with the minimum-statistics window set to each of ``--windows`` seconds
(``MINSTAT_SECONDS``) and the local models' segment length to each of ``--segments`` seconds
(``nmfaudio._segments.SECONDS``; ``inf``: one model for the whole recording). The input
column gives the wall time of the whole recording (one BLAS thread; indicative).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))
sys.path.insert(0, str(HERE))

import nmfaudio  # noqa: E402
import run  # noqa: E402
from nmfaudio import _segments  # noqa: E402

dn = sys.modules["nmfaudio.denoise"]


def _joined(items):
    """Items ordered by noise type (pairs side by side); the joined mixture and the cut points."""
    order = sorted(range(len(items)), key=lambda i: ([it.info["noise_type"] for it in items].index(
        items[i].info["noise_type"]), i))
    items = [items[i] for i in order]
    cuts = np.cumsum([0] + [it.mixture.shape[-1] for it in items])
    return items, np.concatenate([it.mixture for it in items]), cuts


def _stationary(items, seed=0):
    """The same items with their noise replaced by one stationary noise running through the whole
    recording (pink, seeded), scaled to each item's SNR: only the talker changes."""
    import dataclasses

    n = sum(it.mixture.shape[-1] for it in items)
    rng = np.random.default_rng(seed)
    spec = np.fft.rfft(rng.standard_normal(n))
    spec[1:] /= np.sqrt(np.arange(1, spec.shape[0]))  # 1/f power
    noise = np.fft.irfft(spec, n).astype(np.float32)
    out, a = [], 0
    for it in items:
        m = it.mixture.shape[-1]
        js, jn = it.names.index("speech"), it.names.index("noise")
        s = it.stems[js]
        seg = noise[a:a + m]
        seg = seg * np.float32(np.sqrt(np.sum(s.astype(np.float64) ** 2) / np.sum(seg.astype(np.float64) ** 2)
                                       / 10 ** (it.info["snr_db"] / 10)))
        stems = it.stems.copy()
        stems[jn] = seg
        out.append(dataclasses.replace(it, mixture=(s + seg).astype(np.float32), stems=stems))
        a += m
    return out


def _denoise(y, sr, method, window, tmp, segment):
    saved = dn.MINSTAT_SECONDS, _segments.SECONDS
    dn.MINSTAT_SECONDS, _segments.SECONDS = window, segment
    try:
        if method == "offline":
            return nmfaudio.denoise(y, sr)
        src, dst = Path(tmp) / "in.wav", Path(tmp) / "out.wav"
        nmfaudio.save(src, y, sr, subtype="FLOAT", overwrite=True)
        nmfaudio.denoise_stream(src, dst, overwrite=True)
        out, _ = nmfaudio.load(dst)
        return out[: y.shape[-1]]
    finally:
        dn.MINSTAT_SECONDS, _segments.SECONDS = saved


def _scores(item, clean):
    mix, _ = run._score(item, np.stack([item.mixture] * len(item.names)), False)
    s, _ = run._score(item, run._speech_and_rest(item, clean.astype(item.mixture.dtype)), False, mix)
    return s["sdr"], s["si_sdr"], s["stoi"], s["stoi_improvement"]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--part", choices=["tune", "test"], default="tune")
    ap.add_argument("--windows", type=float, nargs="+", default=[3.0])
    ap.add_argument("--segments", type=float, nargs="+", default=[_segments.SECONDS],
                    help="local-model segment lengths in seconds (inf: one model for the whole recording)")
    ap.add_argument("--stationary", action="store_true",
                    help="replace the noises by one stationary pink noise through the whole recording "
                         "(each item's SNR kept): only the talker changes")
    ap.add_argument("--alone", action="store_true", help="also each item denoised alone (the reference)")
    ap.add_argument("--methods", nargs="+", default=["offline", "stream"], choices=["offline", "stream"])
    args = ap.parse_args(argv)
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)
    data = HERE / "data"
    entries = [e for e in run.read_manifest(data)["items"] if e["kind"] == "speech" and e["part"] == args.part]
    items, y, cuts = _joined([run.load_item(data, e) for e in entries])
    if args.stationary:
        items = _stationary(items)
        y = np.concatenate([it.mixture for it in items])
    sr = items[0].sr
    what = "one stationary pink noise, the talker changes every 6 s" if args.stationary else \
        "noise changes every 12 s"
    print(f"`{args.part}: {len(items)} speech items joined into one {y.shape[-1] / sr:.0f}-s recording "
          f"({what}); blind`\n")
    print("| method | window (s) | segments (s) | input | SDR mean / median / min | SI-SDR mean | STOI mean | harmed "
          "| worst ΔSTOI |")
    print("|---|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for method in args.methods:
            for window in args.windows:
                for seg in args.segments:
                    t0 = time.perf_counter()
                    whole = _denoise(y, sr, method, window, tmp, seg)
                    dt = time.perf_counter() - t0
                    outs = [whole[a:b] for a, b in zip(cuts[:-1], cuts[1:])]
                    _row(method, window, seg, f"joined ({dt:.0f} s)", items, outs)
                if args.alone:  # 6-s items: one segment whatever the length
                    _row(method, window, "—", "each item alone", items,
                         [_denoise(it.mixture, sr, method, window, tmp, args.segments[0]) for it in items])
    return 0


def _row(method, window, seg, label, items, outs):
    a = np.array([_scores(it, o) for it, o in zip(items, outs)])
    print(f"| {method} | {window:g} | {seg} | {label} | {a[:, 0].mean():.2f} / {np.median(a[:, 0]):.2f} / "
          f"{a[:, 0].min():.2f} | {a[:, 1].mean():.2f} | {a[:, 2].mean():.3f} | "
          f"{int((a[:, 3] < -0.02).sum())}/{len(items)} | {a[:, 3].min():+.3f} |", flush=True)

if __name__ == "__main__":
    sys.exit(main())
