"""Bounded-memory streaming: peak RSS and real-time factor of ``nmfaudio.separate_stream``.

Writes long 44.1 kHz mono music files (16-bit PCM, built chunk by chunk from the
bundled clips, never held whole), learns two dictionaries (piano, flute; K = 32,
KL) and separates each file in a fresh subprocess with
``separate_stream(..., block_seconds=30)``, reporting that process's peak RSS
(``ru_maxrss``) and wall time. Peak RSS does not depend on the iteration count, so
``--iterations`` can be lowered for the long files to save time; the real-time
factor is reported for the iterations used (default: the library's, 20 accelerated
iterations per frame).

``--baseline DIR`` runs every file a second time with ``PYTHONPATH=DIR`` (e.g. ``/work/main``,
another checkout) so that the two are side by side in one run, and reports CPU time (the
child's user + system) beside wall time: on a shared machine wall time is indicative only.
``--check-seconds S`` first checks streamed == offline ``separate()`` on the first S seconds.

Usage::

    python benchmarks/stream.py --minutes 10 20 120 [--iterations N] [--block-seconds 30] [--baseline /work/main]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
if "--child" not in sys.argv:  # a child imports the nmfaudio of its PYTHONPATH
    sys.path.insert(0, str(HERE.parent))

SR = 44100


def write_long(path, minutes):
    import soundfile as sf

    import _audio

    chunk = _audio.music(60.0, sr=SR, seed=0)
    with sf.SoundFile(str(path), "w", samplerate=SR, channels=1, subtype="PCM_16") as f:
        for i in range(int(round(minutes))):
            # vary the chunks cheaply: circular shift and gain
            f.write(0.9 * np.roll(chunk, 7919 * i) * (0.6 + 0.4 * ((i * 37) % 11) / 10))


def child(args):
    import resource

    import nmfaudio

    dicts = [nmfaudio.SourceDictionary.load(p) for p in args.dicts]
    t = time.perf_counter()
    nmfaudio.separate_stream(args.file, args.out, dicts, block_seconds=args.block_seconds,
                             max_iter=args.iterations, overwrite=True)
    dt = time.perf_counter() - t
    ru = resource.getrusage(resource.RUSAGE_SELF)
    rss = ru.ru_maxrss / 1024  # MiB (Linux: KiB)
    print(json.dumps({"seconds": dt, "cpu": ru.ru_utime + ru.ru_stime, "peak_rss_mib": rss,
                      "version": nmfaudio.__file__}))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--minutes", type=float, nargs="+", default=[10, 20, 120])
    p.add_argument("--iterations", type=int, default=None,
                   help="iterations per frame (default: separate_stream's own)")
    p.add_argument("--block-seconds", type=float, default=30.0)
    p.add_argument("--baseline", default=None,
                   help="a checkout whose nmfaudio runs every file too (PYTHONPATH), side by side")
    p.add_argument("--check-seconds", type=float, default=60.0,
                   help="check streamed == offline separate() on this many seconds first (0: skip)")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--file")
    p.add_argument("--out")
    p.add_argument("--dicts", nargs="*")
    args = p.parse_args(argv)
    if args.child:
        return child(args)

    import nmfaudio

    import _audio

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        dict_paths = []
        for name in ("piano", "flute"):
            y, sr = nmfaudio.load(_audio.MUSIC / "train" / f"{name}.wav", sr=SR)
            d = nmfaudio.learn_dictionary(y, sr, name=name, n_components=32, beta="kl",
                                        stft_params=nmfaudio.STFTParams(n_fft=2048), pitch_shifts=())
            dict_paths.append(str(d.save(tmp / f"{name}.npz")))
        if args.check_seconds:
            check(tmp, dict_paths, args)
        print(f"block {args.block_seconds:g} s, {args.iterations or 'default'} iterations per frame, "
              f"2 dictionaries × 32 templates, n_fft 2048, hop 512, mono {SR} Hz; "
              f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the start")
        print("| code | duration | peak RSS (MiB) | wall time (s) | CPU time (s) | × real time (wall) "
              "| × real time (CPU) |")
        print("|---|---|---:|---:|---:|---:|---:|")
        impls = [("this checkout", str(HERE.parent))] + ([(args.baseline, args.baseline)] if args.baseline else [])
        for minutes in args.minutes:
            f = tmp / f"long_{minutes:g}.wav"
            write_long(f, minutes)
            for label, root in impls:
                cmd = [sys.executable, __file__, "--child", "--file", str(f), "--out", str(tmp / "out"),
                       "--block-seconds", str(args.block_seconds),
                       *(["--iterations", str(args.iterations)] if args.iterations else []),
                       "--dicts", *dict_paths]
                env = dict(os.environ, PYTHONPATH=root)
                res = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=root,
                                                env=env).stdout.strip().splitlines()[-1])
                assert res["version"].startswith(str(Path(root).resolve())), res["version"]
                sec = minutes * 60
                print(f"| {label} | {minutes:g} min | {res['peak_rss_mib']:.0f} | {res['seconds']:.1f} | "
                      f"{res['cpu']:.1f} | {sec / res['seconds']:.1f}× | {sec / res['cpu']:.1f}× |", flush=True)
            f.unlink()


def check(tmp, dict_paths, args):
    """streamed == offline on the first ``args.check_seconds`` of the music (this checkout)."""
    import nmfaudio

    f = tmp / "check.wav"
    write_long(f, 1)
    y, sr = nmfaudio.load(f)
    y = y[:int(args.check_seconds * sr)]
    nmfaudio.save(f, y, sr, overwrite=True)
    dicts = [nmfaudio.SourceDictionary.load(p) for p in dict_paths]
    paths = nmfaudio.separate_stream(f, tmp / "check", dicts, block_seconds=args.block_seconds,
                                     max_iter=args.iterations, overwrite=True)
    off = nmfaudio.separate(y, sr, dictionaries=dicts, max_iter=args.iterations)
    diff = max(float(np.max(np.abs(nmfaudio.load(p)[0] - off[n]))) for n, p in paths.items())
    print(f"streamed vs offline separate() on {len(y) / sr:g} s: max abs difference {diff:.1e}\n")


if __name__ == "__main__":
    main()
