"""Speed of the long-signal STFT: the current path against the one it replaced.

Since the streaming work, every STFT path computes a frame as librosa does (window
product in float64, numpy's FFT, rounded to the signal's precision), so a frame gets the
same bits from ``stft``, the threaded long path and :class:`nmfaudio.StreamingSTFT`. The
previous long path multiplied by a float32 window and used ``scipy.fft`` (up to 4.3e-6
apart from librosa). This prints both, side by side in one run, alternating, medians.

    python benchmarks/stft.py [--minutes 10] [--reps 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import nmfaudio  # noqa: E402
from nmfaudio import _stft_blocks  # noqa: E402


def previous(y, p):
    """The replaced path: float32 window, scipy.fft, blocks of 256 frames on the same threads."""
    import scipy.fft

    win = _stft_blocks.window(p).astype(y.dtype)
    pad = p.n_fft // 2
    x = np.pad(y, pad)
    T = p.n_frames(y.size)
    out = np.empty((p.n_freq, T), np.complex64)
    hop, N = p.hop_length, p.n_fft

    def job(a, b):
        fr = np.lib.stride_tricks.as_strided(x[a * hop:], shape=(b - a, N),
                                             strides=(hop * x.itemsize, x.itemsize), writeable=False)
        out[:, a:b] = scipy.fft.rfft(fr * win, axis=-1).T

    edges = list(range(0, T, 256)) + [T]
    _stft_blocks.run([lambda a=a, b=b: job(a, b) for a, b in zip(edges[:-1], edges[1:])])
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--reps", type=int, default=5)
    args = ap.parse_args(argv)
    sr = 44100
    y = (0.3 * np.random.default_rng(0).standard_normal(int(args.minutes * 60 * sr))).astype(np.float32)
    p = nmfaudio.STFTParams(n_fft=2048)
    cur, old = [], []
    nmfaudio.stft(y[:sr * 5], stft_params=p)
    previous(y[:sr * 5], p)
    for _ in range(args.reps):
        t = time.perf_counter(); S1 = nmfaudio.stft(y, stft_params=p); cur.append(time.perf_counter() - t)
        t = time.perf_counter(); S0 = previous(y, p); old.append(time.perf_counter() - t)
    env = {k: os.environ.get(k, "unset") for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    print(f"{args.minutes:g} min of 44.1 kHz float32 mono, n_fft 2048, hop 512; {args.reps} runs; {env}")
    print("| path | median s | min s | max abs diff vs librosa-arithmetic |")
    print("|---|---:|---:|---:|")
    print(f"| previous (float32 window, scipy.fft) | {statistics.median(old):.3f} | {min(old):.3f} | "
          f"{float(np.max(np.abs(S0 - S1))):.2e} |")
    print(f"| current (float64 window, numpy.fft) | {statistics.median(cur):.3f} | {min(cur):.3f} | 0 |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
