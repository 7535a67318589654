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

The per-source estimates ``W_s H_s`` of a block are computed by a numba kernel
(``_frames.source_models``; they were BLAS matrix products, whose threads made blocks of
2048+ samples 3.6x costlier under load); ``--blas-threads 1`` limits what BLAS is left
(the STFT and masks do not use it) for comparison.

Usage::

    python benchmarks/realtime.py [--seconds 60] [--blocks 128 256 512 1024 2048 4096] [--blas-threads 1]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
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


def run_config(label, n_fft, truth, mix, blocks):
    import nmfaudio

    t = time.perf_counter()
    dicts = dictionaries(n_fft)
    p = dicts[0].stft
    print(f"[{label}] dictionaries: {sum(d.W.shape[1] for d in dicts)} templates, n_fft {p.n_fft}, "
          f"hop {p.hop_length}, learned in {time.perf_counter() - t:.1f} s", file=sys.stderr)
    proc = nmfaudio.StreamSeparator(dictionaries=dicts)
    stream(proc, mix[:5 * SR], 1024)  # warm-up: compile the kernels
    c0 = time.process_time()
    offline = nmfaudio.separate(mix, SR, dictionaries=dicts)
    offline_rtf = len(mix) / SR / (time.process_time() - c0)
    rows, quality = [], None
    for block in blocks:
        cpu, wall, outs = stream(nmfaudio.StreamSeparator(dictionaries=dicts), mix, block, keep=block == 1024)
        budget = block / SR
        rows.append({"config": label, "n_fft": p.n_fft, "block": block,
                     "latency_ms": 1000 * (proc.latency + block) / SR,
                     "cpu_ms": 1000 * np.median(cpu), "cpu_mean": 1000 * cpu.mean(), "wall_p50": 1000 * np.median(wall),
                     "wall_p99": 1000 * np.percentile(wall, 99), "wall_max": 1000 * wall.max(),
                     "budget_ms": 1000 * budget, "over": int(np.sum(wall > budget)), "n_blocks": len(wall),
                     "rtf": len(mix) / SR / cpu.sum(), "offline_rtf": offline_rtf})
        print(f"[{label}] block {block}: {rows[-1]['rtf']:.1f}x real time", file=sys.stderr)
        if outs is not None:
            quality = {name: nmfaudio.si_sdr(truth[name], outs[name]) for name in truth}
            quality["max_diff"] = max(float(np.max(np.abs(outs[k] - offline[k]))) for k in truth)
            quality["offline"] = {name: nmfaudio.si_sdr(truth[name], offline[name]) for name in truth}
    return rows, quality


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=60.0)
    p.add_argument("--blocks", type=int, nargs="+", default=[128, 256, 512, 1024, 2048, 4096])
    p.add_argument("--blas-threads", type=int, default=None,
                   help="limit BLAS threads (threadpoolctl) for the whole run; default: as the environment")
    args = p.parse_args(argv)
    if args.blas_threads is not None:
        import scipy.linalg  # noqa: F401  (load every BLAS first, so that the limit reaches them all)
        from threadpoolctl import threadpool_limits

        import nmfaudio  # noqa: F401

        threadpool_limits(args.blas_threads)
    truth = stems(args.seconds)
    mix = truth["piano"] + truth["flute"]
    configs = [("default STFT", None), ("n_fft 1024", 1024)]
    rows, quality = [], {}
    for label, n_fft in configs:
        r, q = run_config(label, n_fft, truth, mix, args.blocks)
        rows += r
        quality[label] = q
    env = ", ".join(f"{k}={os.environ[k]}" for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS",
                                                     "OMP_NUM_THREADS") if k in os.environ) or "no OPENBLAS_* set"
    from threadpoolctl import threadpool_info

    env += "; BLAS threads " + ", ".join(f"{i['internal_api']} {i['num_threads']}" for i in threadpool_info()
                                         if i.get("user_api") == "blas")
    print(f"StreamSeparator, {args.seconds:g} s synthetic piano+flute mix at {SR} Hz, mono, float32; "
          f"{os.cpu_count()} CPUs; {env}\n")
    print("| STFT | block | latency ms | CPU ms/block median / mean | wall p50 ms | wall p99 ms | wall max ms "
          "| block ms (budget) | blocks over budget | real-time factor (CPU) | offline separate() RTF (CPU) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['config']} (n_fft {r['n_fft']}) | {r['block']} | {r['latency_ms']:.1f} | {r['cpu_ms']:.2f} / {r['cpu_mean']:.2f} "
              f"| {r['wall_p50']:.2f} | {r['wall_p99']:.2f} | {r['wall_max']:.2f} | {r['budget_ms']:.2f} "
              f"| {r['over']} / {r['n_blocks']} | {r['rtf']:.1f}x | {r['offline_rtf']:.1f}x |")
    if any(quality.values()):
        print("\n| STFT | SI-SDR piano (streamed) | SI-SDR flute (streamed) | offline piano / flute "
              "| max abs streamed - offline |")
        print("|---|---:|---:|---:|---:|")
        for label, q in quality.items():
            if q:
                print(f"| {label} | {q['piano']:.2f} dB | {q['flute']:.2f} dB | {q['offline']['piano']:.2f} / "
                      f"{q['offline']['flute']:.2f} dB | {q['max_diff']:.1e} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
