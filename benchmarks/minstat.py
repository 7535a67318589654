#!/usr/bin/env python
"""Minimum-statistics noise floor of blind denoising: ``nmfaudio._minstat.floor`` (sorted sliding
window, numba) beside the ``scipy.ndimage.percentile_filter`` it replaced, in one run.

    python benchmarks/minstat.py [--minutes 1 3 10] [--seconds 1.5 3] [--reps 3]

Magnitude-sized random spectrograms at 44.1 kHz with the denoiser's default STFT (4096 / 1024:
2049 bins); the window in seconds as ``MINSTAT_SECONDS``; the 10th percentile. Prints the median
wall time of each over ``--reps`` runs and checks that both agree on every frame whose window
lies inside the signal (at the ends the floor's window is truncated, scipy's is padded).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import nmfaudio  # noqa: E402,F401
from nmfaudio import _minstat  # noqa: E402

dn = sys.modules["nmfaudio.denoise"]


def _median_time(fn, reps):
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return float(np.median(times)), out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, nargs="+", default=[1.0, 3.0, 10.0])
    ap.add_argument("--seconds", type=float, nargs="+", default=[1.5, 3.0])
    ap.add_argument("--reps", type=int, default=3)
    args = ap.parse_args(argv)
    from scipy.ndimage import percentile_filter

    sr = 44100
    p = dn.default_denoise_stft(sr)
    _minstat.floor(np.ones((2, 10), np.float32), 3, 10)  # compile outside the timing
    print(f"STFT {p.n_fft} / {p.hop_length} at {sr} Hz, float32, 10th percentile, median of {args.reps}")
    print("| minutes | window (s) | frames | scipy percentile_filter (s) | _minstat.floor (s) | speed-up | interior equal |")
    print("|---|---|---|---|---|---|---|")
    rng = np.random.default_rng(0)
    for minutes in args.minutes:
        T = int(minutes * 60 * sr / p.hop_length)
        V = rng.random((p.n_fft // 2 + 1, T), dtype=np.float32)
        for sec in args.seconds:
            win = _minstat.window_frames(sec, sr, p.hop_length)
            lo, hi = _minstat.bounds(win)
            t_sp, ref = _median_time(lambda: percentile_filter(V, 10, size=(1, win), mode="nearest"), args.reps)
            t_ms, got = _median_time(lambda: _minstat.floor(V, win, 10), args.reps)
            same = np.array_equal(got[:, lo:T - hi], ref[:, lo:T - hi])
            print(f"| {minutes:g} | {sec:g} | {win} | {t_sp:.2f} | {t_ms:.2f} | {t_sp / t_ms:.1f}× | {same} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
