"""Time and peak memory of ``nmfaudio evaluate``: whole-signal BSS-Eval v3 vs ``--segment``.

Writes a stereo pair of references and estimates (synthetic: two coloured-noise/tone
sources, estimates with leakage and artefacts) of ``--minutes`` at 44.1 kHz, then runs
the command line in fresh processes and reports the median wall time and peak RSS of
each mode side by side (the baseline is the whole-signal default).

    python benchmarks/evaluate_segments.py --minutes 3 --repeats 3
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np


def make_pair(folder, minutes, sr=44100):
    import nmfaudio

    rng = np.random.default_rng(0)
    n = int(minutes * 60 * sr)
    t = np.arange(n) / sr
    a = np.stack([0.3 * np.sin(2 * np.pi * 220 * t * (1 + 0.01 * c)) * (np.sin(2 * np.pi * 0.5 * t) > 0)
                  for c in range(2)])
    b = 0.1 * rng.standard_normal((2, n))
    b = np.cumsum(b, axis=1) * 0.02
    b -= b.mean(axis=1, keepdims=True)
    srcs = {"a": a.astype(np.float32), "b": b.astype(np.float32)}
    paths = {}
    for k, s in srcs.items():
        other = srcs["b" if k == "a" else "a"]
        est = s + 0.1 * other + 0.01 * rng.standard_normal(s.shape).astype(np.float32)
        paths[k] = (nmfaudio.save(os.path.join(folder, f"ref_{k}.wav"), s, sr, overwrite=True),
                    nmfaudio.save(os.path.join(folder, f"est_{k}.wav"), est, sr, overwrite=True))
    mix = nmfaudio.save(os.path.join(folder, "mix.wav"), a + b, sr, overwrite=True)
    return paths, mix


def run(argv):
    code = ("import resource, sys\nfrom nmfaudio.cli import main\nrc = main(sys.argv[1:])\n"
            "print('PEAK', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n"
            "sys.exit(rc)")
    t0 = time.perf_counter()
    res = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if res.returncode != 0:
        raise SystemExit(f"failed: {' '.join(argv)}\n{res.stderr}")
    peak_kib = int(res.stderr.split("PEAK")[-1].split()[0])
    return seconds, peak_kib / 2 ** 20, res.stdout


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=3.0)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--segment", type=float, default=1.0)
    ap.add_argument("--no-baseline", action="store_true", help="skip the slow whole-signal run")
    opts = ap.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        paths, mix = make_pair(folder, opts.minutes)
        base = ["evaluate", "--ref", *(str(p[0]) for p in paths.values()),
                "--est", *(str(p[1]) for p in paths.values()), "--mix", str(mix), "--json"]
        modes = [("whole signal (baseline)", base)] if not opts.no_baseline else []
        modes.append((f"--segment {opts.segment:g}", base + ["--segment", str(opts.segment)]))
        rows = []
        for label, argv in modes:
            runs = [run(argv) for _ in range(opts.repeats)]
            sdr = __import__("json").loads(runs[-1][2])["mean"]["sdr"]
            rows.append((label, statistics.median(r[0] for r in runs),
                         statistics.median(r[1] for r in runs), sdr))
    print(f"nmfaudio evaluate, 2 stereo sources of {opts.minutes:g} min at 44.1 kHz, with --mix "
          f"(medians of {opts.repeats} runs)")
    print(f"{'mode':26s} {'seconds':>8s} {'peak GiB':>9s} {'mean SDR':>9s}")
    for label, sec, gib, sdr in rows:
        print(f"{label:26s} {sec:8.1f} {gib:9.2f} {sdr:9.2f}")


if __name__ == "__main__":
    main()
