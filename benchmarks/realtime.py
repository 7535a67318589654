"""Real-time cost of ``nmfaudio.StreamSeparator``: CPU and wall time per block, latency, quality.

Two dictionaries (piano, flute) with ``learn_dictionary``'s defaults (16 templates + 8
pitch-shifted copies each = 144, β = 0.5, 200 iterations) are learned from the bundled
training clips resampled to 44.1 kHz with soxr (``audio_fixtures/music/train/*.wav``,
22.05 kHz originals), once with the default STFT at 44.1 kHz (n_fft 4096, hop 1024) and
once with n_fft 1024 (hop 256): the latency/quality trade-off. The test signal is a
synthetic 60 s 44.1 kHz mix of the *held-out* piano and flute stems
(``audio_fixtures/music/piano.wav``, ``flute.wav``, resampled the same way, repeated with
seeded gains and circular shifts), so the streamed sources can be scored against the truth.

For every block size the mix goes through a fresh processor block by block (after a
warm-up stream that compiles the kernels); per block: CPU time (``time.process_time``)
and wall time (``time.perf_counter``). Reported: median CPU ms per block, wall p50/p99/max,
the block's duration (the real-time budget), blocks over budget, real-time factor
(audio seconds / CPU seconds of all blocks; a block in which no frame completes costs
almost nothing, so with blocks shorter than the hop the median is small and p99 is the
cost of one frame) and latency (processor latency + one block).
The baseline beside it is offline ``nmfaudio.separate`` on the same signal with the same
dictionaries (CPU real-time factor), and the quality columns give SI-SDR of the streamed
sources (1024-sample blocks) against the true stems and their largest difference from the
offline result.

``--baseline DIR`` runs the same measurements with ``PYTHONPATH=DIR`` (another checkout,
e.g. ``/work/main``) in a child process, on the same dictionaries and signal, so the two
are side by side in one run (each implementation in its own process, one after the other;
every figure is the median over ``--reps`` streams). A last table gives the cost of
``StreamDenoiser`` (blind, its default STFT at 44.1 kHz) per 1024-sample block.
``--blas-threads 1`` limits what BLAS is left (the STFT and masks do not use it).

Usage::

    python benchmarks/realtime.py [--seconds 60] [--blocks 128 256 512 1024 2048 4096] [--baseline /work/main] [--reps 3]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
if "--child" not in sys.argv:  # a child imports the nmfaudio of its PYTHONPATH
    sys.path.insert(0, str(HERE.parent))

SR = 44100
MUSIC = HERE.parent / "audio_fixtures" / "music"


def _load44(path):
    import soxr

    import nmfaudio

    y, sr = nmfaudio.load(path)
    return np.ascontiguousarray(soxr.resample(y, sr, SR), dtype=np.float32)


def stems(seconds, seed=0):
    """Held-out piano and flute stems tiled to ``seconds`` at 44.1 kHz (seeded gains and shifts)."""
    rng = np.random.default_rng(seed)
    n = int(seconds * SR)
    out = {}
    for name in ("piano", "flute"):
        clip = _load44(MUSIC / f"{name}.wav")
        parts, total = [], 0
        while total < n:
            parts.append(rng.uniform(0.5, 1.0) * np.roll(clip, int(rng.integers(len(clip)))))
            total += len(clip)
        out[name] = np.concatenate(parts)[:n].astype(np.float32)
    return out


def dictionaries(n_fft):
    import nmfaudio

    stft = None if n_fft is None else nmfaudio.STFTParams(n_fft=n_fft)
    return [nmfaudio.learn_dictionary(_load44(MUSIC / "train" / f"{name}.wav"), SR, name=name, stft_params=stft)
            for name in ("piano", "flute")]


def stream(proc, y, block, keep=False):
    """Feed ``y`` block by block; per-block CPU and wall seconds, and the outputs if ``keep``."""
    n_blocks = -(-len(y) // block)
    cpu, wall, outs = np.empty(n_blocks), np.empty(n_blocks), []
    for i in range(n_blocks):
        x = y[i * block:(i + 1) * block]
        c0, w0 = time.process_time(), time.perf_counter()
        out = proc.process(x)
        wall[i], cpu[i] = time.perf_counter() - w0, time.process_time() - c0
        if keep:
            outs.append(out)
    if keep:
        outs.append(proc.flush())
        return cpu, wall, {k: np.concatenate([o[k] for o in outs])[proc.latency:] for k in proc.names}
    proc.reset()
    return cpu, wall, None


def run_config(label, dicts, truth, mix, blocks, reps):
    import nmfaudio

    p = dicts[0].stft
    proc = nmfaudio.StreamSeparator(dictionaries=dicts)
    stream(proc, mix[:5 * SR], 1024)  # warm-up: compile the kernels
    c0 = time.process_time()
    offline = nmfaudio.separate(mix, SR, dictionaries=dicts)
    offline_rtf = len(mix) / SR / (time.process_time() - c0)
    rows, quality = [], None
    for block in blocks:
        runs = []
        for rep in range(reps):
            keep = block == 1024 and rep == 0
            cpu, wall, outs = stream(nmfaudio.StreamSeparator(dictionaries=dicts), mix, block, keep=keep)
            runs.append((cpu, wall))
            if keep:
                quality = {name: nmfaudio.si_sdr(truth[name], outs[name]) for name in truth}
                quality["max_diff"] = max(float(np.max(np.abs(outs[k] - offline[k]))) for k in truth)
                quality["offline"] = {name: nmfaudio.si_sdr(truth[name], offline[name]) for name in truth}
        budget = block / SR
        med = lambda f: float(np.median([f(c, w) for c, w in runs]))  # noqa: E731
        rows.append({"config": label, "n_fft": p.n_fft, "block": block,
                     "latency_ms": 1000 * (proc.latency + block) / SR,
                     "cpu_ms": med(lambda c, w: 1000 * np.median(c)), "cpu_mean": med(lambda c, w: 1000 * c.mean()),
                     "cpu_p99": med(lambda c, w: 1000 * np.percentile(c, 99)),
                     "wall_p50": med(lambda c, w: 1000 * np.median(w)),
                     "wall_p99": med(lambda c, w: 1000 * np.percentile(w, 99)),
                     "wall_max": med(lambda c, w: 1000 * w.max()),
                     "budget_ms": 1000 * budget, "over": med(lambda c, w: int(np.sum(w > budget))),
                     "n_blocks": len(runs[0][1]),
                     "rtf": med(lambda c, w: len(mix) / SR / c.sum()), "offline_rtf": offline_rtf})
        print(f"[{label}] block {block}: {rows[-1]['rtf']:.1f}x real time", file=sys.stderr)
    return rows, quality


def denoise_cost(mix, reps):
    """CPU per 1024-sample block of a blind StreamDenoiser at 44.1 kHz (its default STFT)."""
    import nmfaudio

    den = nmfaudio.StreamDenoiser(sr=SR)
    stream(den, mix[:5 * SR], 1024)
    runs = [stream(nmfaudio.StreamDenoiser(sr=SR), mix, 1024)[0] for _ in range(reps)]
    return {"n_fft": den.params.n_fft, "latency_ms": 1000 * (den.latency + 1024) / SR,
            "cpu_ms": float(np.median([1000 * np.median(c) for c in runs])),
            "cpu_p99": float(np.median([1000 * np.percentile(c, 99) for c in runs])),
            "rtf": float(np.median([len(mix) / SR / c.sum() for c in runs]))}


def child(args):
    """Measure the code on sys.path (this checkout or --baseline) and print JSON."""
    import json

    import nmfaudio

    data = np.load(args.data)
    truth = {"piano": data["piano"], "flute": data["flute"]}
    mix = truth["piano"] + truth["flute"]
    rows, quality = [], {}
    for label, tag in (("default STFT", "default"), ("n_fft 1024", "1024")):
        dicts = [nmfaudio.SourceDictionary.load(Path(args.dicts) / f"{n}_{tag}.npz") for n in ("piano", "flute")]
        r, q = run_config(label, dicts, truth, mix, args.blocks, args.reps)
        rows += r
        quality[label] = q
    print(json.dumps({"rows": rows, "quality": quality, "denoise": denoise_cost(mix, args.reps),
                      "version": nmfaudio.__file__}))


def main(argv=None):
    import json
    import subprocess
    import tempfile

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=60.0)
    p.add_argument("--blocks", type=int, nargs="+", default=[128, 256, 512, 1024, 2048, 4096])
    p.add_argument("--reps", type=int, default=3, help="streams per block size (medians)")
    p.add_argument("--baseline", default=None, help="another checkout measured the same way, side by side")
    p.add_argument("--blas-threads", type=int, default=None,
                   help="limit BLAS threads (threadpoolctl) for the whole run; default: as the environment")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--data", help=argparse.SUPPRESS)
    p.add_argument("--dicts", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.blas_threads is not None:
        import scipy.linalg  # noqa: F401  (load every BLAS first, so that the limit reaches them all)
        from threadpoolctl import threadpool_limits

        import nmfaudio  # noqa: F401

        threadpool_limits(args.blas_threads)
    if args.child:
        return child(args)
    load0 = os.getloadavg()[0]
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        truth = stems(args.seconds)
        np.savez(Path(tmp) / "signal.npz", **truth)
        for tag, n_fft in (("default", None), ("1024", 1024)):
            t = time.perf_counter()
            ds = dictionaries(n_fft)
            for d in ds:
                d.save(Path(tmp) / f"{d.name}_{tag}.npz")
            print(f"dictionaries ({tag}): {sum(d.W.shape[1] for d in ds)} templates, n_fft {ds[0].stft.n_fft}, "
                  f"hop {ds[0].stft.hop_length}, learned in {time.perf_counter() - t:.1f} s", file=sys.stderr)
        impls = [("this checkout", str(HERE.parent))] + ([(args.baseline, args.baseline)] if args.baseline else [])
        for label, root in impls:
            cmd = [sys.executable, __file__, "--child", "--data", str(Path(tmp) / "signal.npz"), "--dicts", tmp,
                   "--reps", str(args.reps), "--blocks", *map(str, args.blocks)]
            if args.blas_threads is not None:
                cmd += ["--blas-threads", str(args.blas_threads)]
            out = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=root,
                                 env=dict(os.environ, PYTHONPATH=root))
            sys.stderr.write(out.stderr)
            results[label] = json.loads(out.stdout.strip().splitlines()[-1])
            assert results[label]["version"].startswith(str(Path(root).resolve())), results[label]["version"]
    env = ", ".join(f"{k}={os.environ[k]}" for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS",
                                                     "OMP_NUM_THREADS") if k in os.environ) or "no OPENBLAS_* set"
    print(f"StreamSeparator, {args.seconds:g} s synthetic piano+flute mix at {SR} Hz, mono, float32; "
          f"{os.cpu_count()} CPUs; {env}; load average {load0:.1f} at the start, "
          f"{os.getloadavg()[0]:.1f} at the end; medians of {args.reps} streams\n")
    print("| code | STFT | block | latency ms | CPU ms/block median / mean / p99 | wall p50 ms | wall p99 ms "
          "| wall max ms | block ms (budget) | blocks over budget | × real time (CPU) | offline separate() (CPU) |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    labels = list(results)
    for i in range(len(results[labels[0]]["rows"])):
        for label in labels:
            r = results[label]["rows"][i]
            print(f"| {label} | {r['config']} (n_fft {r['n_fft']}) | {r['block']} | {r['latency_ms']:.1f} "
                  f"| {r['cpu_ms']:.2f} / {r['cpu_mean']:.2f} / {r['cpu_p99']:.2f} | {r['wall_p50']:.2f} "
                  f"| {r['wall_p99']:.2f} | {r['wall_max']:.2f} | {r['budget_ms']:.2f} "
                  f"| {r['over']:.0f} / {r['n_blocks']} | {r['rtf']:.1f}× | {r['offline_rtf']:.1f}× |")
    print("\n| code | STFT | SI-SDR piano (streamed) | SI-SDR flute (streamed) | offline piano / flute "
          "| max abs streamed − offline |")
    print("|---|---|---:|---:|---:|---:|")
    for label in labels:
        for cfg, q in results[label]["quality"].items():
            if q:
                print(f"| {label} | {cfg} | {q['piano']:.2f} dB | {q['flute']:.2f} dB | {q['offline']['piano']:.2f} / "
                      f"{q['offline']['flute']:.2f} dB | {q['max_diff']:.1e} |")
    print("\n| code | StreamDenoiser (blind) | latency ms | CPU ms/block median / p99 | × real time (CPU) |")
    print("|---|---|---:|---:|---:|")
    for label in labels:
        d = results[label]["denoise"]
        print(f"| {label} | n_fft {d['n_fft']}, 1024-sample blocks | {d['latency_ms']:.1f} "
              f"| {d['cpu_ms']:.2f} / {d['cpu_p99']:.2f} | {d['rtf']:.1f}× |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
