"""Speed of ``nmfaudio.nmf`` against scikit-learn's ``NMF(solver="mu")``.

Same magnitude spectrogram (60 s of music at 22.05 kHz, n_fft 2048, hop 512:
1025 × 2584), K = 32, identical initial W/H, ``tol = 0``, for float32/float64
and β ∈ {2, 1, 0}. Runs alternate between the two libraries (and the GEMM
floor) to cancel drift; medians are reported.

- ms/iter: wall time of one call (validation, setup and loss checks included)
  divided by the iterations run.
- sk/nmfaudio: scikit-learn's ms/iter (the faster of its thread settings) over ours.
- floor: time of the matrix products the plain update cannot avoid on these
  shapes (β = 2: WᵀV, VHᵀ and the K×K products; β = 1: two W H plus Wᵀ R and
  R Hᵀ; other β: two W H plus four products with Wᵀ / Hᵀ), each product timed
  alone with 1 and with 2 BLAS threads, the faster kept; "floor fraction" =
  floor / nmfaudio ms/iter (1.0 = nothing but the unavoidable products).

``--time-to-loss`` also measures, for float32 KL, the time scikit-learn needs
for 200 iterations and the time nmfaudio (plain and ``accelerate=True``) needs
to reach the loss scikit-learn ended at.

Usage::

    python benchmarks/speed.py                 # full table (about 10 minutes)
    python benchmarks/speed.py --iters 50 --reps 3 --betas 1 --dtypes float32
    python benchmarks/speed.py --time-to-loss --no-table
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import _audio  # noqa: E402
import nmfaudio  # noqa: E402
from threadpoolctl import threadpool_info, threadpool_limits  # noqa: E402

K = 32


def sklearn_mu(V, W0, H0, beta, n_iter, threads):
    from sklearn.decomposition import non_negative_factorization

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ctx = threadpool_limits(threads) if threads else _null()
        with ctx:
            c = time.process_time()
            t = time.perf_counter()
            W, H, n = non_negative_factorization(
                V, W=W0.copy(), H=H0.copy(), n_components=K, init="custom", solver="mu",
                beta_loss=beta, max_iter=n_iter, tol=0)
            dt = time.perf_counter() - t
            CPU[0] = time.process_time() - c
    return dt, W, H, n


class _null:
    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False


CPU = [0.0]  # process CPU time of the last timed call


def ours(V, W0, H0, beta, n_iter, **kw):
    c = time.process_time()
    t = time.perf_counter()
    res = nmfaudio.nmf(V, W=W0, H=H0, beta=beta, max_iter=n_iter, tol=0, **kw)
    dt = time.perf_counter() - t
    CPU[0] = time.process_time() - c
    return dt, res


def floor_products(V, W, H, beta):
    """Callables for the matrix products one plain iteration cannot avoid."""
    F, T = V.shape
    dt = V.dtype
    WH = np.empty((F, T), dt)
    KT = np.empty((K, T), dt)
    FK = np.empty((F, K), dt)
    R = np.ascontiguousarray(V)  # any F×T operand of the right layout
    prods = []
    if beta == 2:
        prods += [lambda: np.matmul(W.T, R, out=KT), lambda: np.matmul(R, H.T, out=FK),
                  lambda: W.T @ W, lambda: (W.T @ W) @ H, lambda: H @ H.T, lambda: W @ (H @ H.T)]
    else:
        n_pairs = 1 if beta == 1 else 2
        prods.append(lambda: np.matmul(W, H, out=WH))
        prods += [lambda: np.matmul(W.T, R, out=KT)] * n_pairs
        prods.append(lambda: np.matmul(W, H, out=WH))
        prods += [lambda: np.matmul(R, H.T, out=FK)] * n_pairs
    return prods


def time_floor(prods, repeat=3):
    """Sum over the products of the best wall time (1 or 2 BLAS threads, ``repeat`` tries),
    and the same with 1 thread in CPU time."""
    best, cpu = [], []
    for p in prods:
        per, per_cpu = [], []
        for threads in (1, 2):
            with threadpool_limits(threads):
                p()
                for _ in range(repeat):
                    c = time.process_time()
                    t = time.perf_counter()
                    p()
                    per.append(time.perf_counter() - t)
                    if threads == 1:
                        per_cpu.append(time.process_time() - c)
        best.append(min(per))
        cpu.append(min(per_cpu))
    return sum(best), sum(cpu)


def blas_settings():
    info = [f"{d.get('internal_api')} {d.get('version')} ({d.get('architecture')}, "
            f"{d.get('num_threads')} threads, {Path(d.get('filepath', '')).name})"
            for d in threadpool_info()]
    env = {k: os.environ.get(k) for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE",
                                          "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")}
    return info, env


def cpu_model():
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        for line in out.splitlines():
            if line.startswith("Model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def table(args, V64):
    rows = []
    for dtname in args.dtypes:
        dtype = np.dtype(dtname)
        V = np.ascontiguousarray(V64, dtype=dtype)
        rng = np.random.default_rng(0)
        avg = np.sqrt(V.mean() / K)
        W0 = (avg * np.abs(rng.standard_normal((V.shape[0], K)))).astype(dtype)
        H0 = (avg * np.abs(rng.standard_normal((K, V.shape[1])))).astype(dtype)
        for beta in args.betas:
            prods = floor_products(V, W0, H0, beta)
            ours(V, W0, H0, beta, 2, n_threads=args.threads)  # warm up (numba compilation, page faults)
            t_ours, t_sk, t_floor = [], {s: [] for s in args.sk_threads}, []
            c_ours, c_sk, c_floor = [], [], []
            for _ in range(args.reps):
                dt, res = ours(V, W0, H0, beta, args.iters, n_threads=args.threads)
                t_ours.append(dt / res.n_iter)
                c_ours.append(CPU[0] / res.n_iter)
                for s in args.sk_threads:
                    dt, W, H, n = sklearn_mu(V, W0, H0, beta, args.iters, None if s == "default" else int(s))
                    t_sk[s].append(dt / n)
                    if s == "1":
                        c_sk.append(CPU[0] / n)
                fw, fc = time_floor(prods)
                t_floor.append(fw)
                c_floor.append(fc)
            m_ours = statistics.median(t_ours) * 1e3
            m_sk = {s: statistics.median(v) * 1e3 for s, v in t_sk.items()}
            best_sk = min(m_sk.values())
            m_floor = statistics.median(t_floor) * 1e3
            mc_ours = statistics.median(c_ours) * 1e3
            mc_sk = statistics.median(c_sk) * 1e3 if c_sk else float("nan")
            mc_floor = statistics.median(c_floor) * 1e3
            loss_ours = nmfaudio.beta_divergence(V.astype(np.float64), res.W, res.H, beta)
            loss_sk = nmfaudio.beta_divergence(V.astype(np.float64), W, H, beta)
            row = dict(dtype=dtname, beta=beta, ours=m_ours, sk=m_sk, ratio=best_sk / m_ours,
                       floor=m_floor, frac=m_floor / m_ours, loss_ours=loss_ours, loss_sk=loss_sk)
            rows.append(row)
            sk_txt = " / ".join(f"{m_sk[s]:.2f}" for s in args.sk_threads)
            print(f"| {dtname} | {beta:g} | {m_ours:.2f} | {sk_txt} | {row['ratio']:.2f}× | "
                  f"{m_floor:.2f} | {row['frac']:.2f} | {mc_ours:.2f} | {mc_sk:.2f} | "
                  f"{mc_sk / mc_ours:.2f}× | {mc_floor:.2f} | {mc_floor / mc_ours:.2f} | "
                  f"{loss_ours / loss_sk:.4f} |", flush=True)
    return rows


def time_to_loss(args, V64):
    dtype = np.float32
    V = np.ascontiguousarray(V64, dtype=dtype)
    rng = np.random.default_rng(0)
    avg = np.sqrt(V.mean() / K)
    W0 = (avg * np.abs(rng.standard_normal((V.shape[0], K)))).astype(dtype)
    H0 = (avg * np.abs(rng.standard_normal((K, V.shape[1])))).astype(dtype)
    ours(V, W0, H0, "kl", 2, accelerate=True, n_threads=args.threads)
    sk_s = None if args.sk_threads[0] == "default" else int(args.sk_threads[0])
    dt, W, H, n = sklearn_mu(V, W0, H0, 1.0, 200, sk_s)
    target = nmfaudio.beta_divergence(V, W, H, "kl")

    def reach(accelerate):
        stop = lambda it, loss: loss <= target  # noqa: E731
        c = time.process_time()
        t = time.perf_counter()
        res = nmfaudio.nmf(V, W=W0, H=H0, beta="kl", max_iter=2000, tol=0, callback=stop,
                           accelerate=accelerate, loss_every=args.ttl_every,
                           n_threads=args.threads)
        CPU[0] = time.process_time() - c
        return time.perf_counter() - t, res

    settings = [None if v == "default" else int(v) for v in args.sk_threads]
    t_sk = {v: [] for v in args.sk_threads}
    c_sk = {v: [] for v in args.sk_threads}
    t_plain, t_acc, c_plain, c_acc = [], [], [], []
    for _ in range(args.reps):
        for name, thr in zip(args.sk_threads, settings):
            t_sk[name].append(sklearn_mu(V, W0, H0, 1.0, 200, thr)[0])
            c_sk[name].append(CPU[0])
        dt, rp = reach(False)
        t_plain.append(dt)
        c_plain.append(CPU[0])
        dt, ra = reach(True)
        t_acc.append(dt)
        c_acc.append(CPU[0])
    m = lambda x: statistics.median(x)  # noqa: E731
    best = min(args.sk_threads, key=lambda v: m(t_sk[v]))
    print(f"target loss (scikit-learn, 200 KL iterations, float32): {target:.6g}; speed-ups are "
          f"against scikit-learn's faster setting in this run ({best} thr)")
    print("| run | wall to target (s) | speed-up (wall) | CPU to target (s) | speed-up (CPU) | "
          "iterations | final loss / target |")
    print("|---|---|---|---|---|---|---|")
    ref_t, ref_c = m(t_sk[best]), m(c_sk[best])
    for name in args.sk_threads:
        print(f"| scikit-learn MU, 200 it ({name} thr) | {m(t_sk[name]):.3f} | "
              f"{ref_t / m(t_sk[name]):.2f}× | {m(c_sk[name]):.3f} | {ref_c / m(c_sk[name]):.2f}× | "
              f"200 | 1.0000 |")
    for name, t, c, r in (("nmfaudio plain", t_plain, c_plain, rp),
                          ("nmfaudio accelerate=True", t_acc, c_acc, ra)):
        print(f"| {name} | {m(t):.3f} | {ref_t / m(t):.2f}× | {m(c):.3f} | "
              f"{ref_c / m(c):.2f}× | {r.n_iter} | {r.loss / target:.4f} |", flush=True)
    return ref_t / m(t_acc)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--iters", type=int, default=200)
    p.add_argument("--threads", type=lambda v: v if v == "auto" else int(v), default="auto",
                   help="nmfaudio's n_threads: 'auto' (its default: 2 worker threads over frame "
                        "blocks on 2 cores, 1 BLAS thread each) or a number")
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--dtypes", nargs="+", default=["float32", "float64"])
    p.add_argument("--betas", nargs="+", type=float, default=[2.0, 1.0, 0.0])
    p.add_argument("--sk-threads", nargs="+", default=["default", "1"],
                   help="scikit-learn BLAS thread settings to time ('default' = as configured)")
    p.add_argument("--seconds", type=float, default=60.0)
    p.add_argument("--time-to-loss", action="store_true")
    p.add_argument("--ttl-every", type=int, default=1, help="loss_every for the time-to-loss runs")
    p.add_argument("--no-table", action="store_true")
    args = p.parse_args(argv)

    import sklearn

    V64 = _audio.spectrogram(args.seconds).astype(np.float64)
    info, env = blas_settings()
    print(f"CPU: {cpu_model()}, {os.cpu_count()} vCPUs; numpy {np.__version__}, "
          f"scikit-learn {sklearn.__version__}, Python {platform.python_version()}")
    print("BLAS: " + "; ".join(info))
    print("env: " + ", ".join(f"{k}={v}" for k, v in env.items()))
    print(f"nmfaudio: n_threads={args.threads!r} ('auto' is its default: one worker thread per "
          "usable core, at most 2, over frame blocks with 1 BLAS thread each; a number n: n such "
          "workers); "
          "scikit-learn: as in the column header ('default' = the BLAS setting above)")
    print("wall = time.perf_counter, CPU = time.process_time of this process (robust to other "
          "processes competing for the cores; for 1 thread it is the compute spent)")
    print(f"V: {V64.shape}, K = {K}, {args.iters} iterations, tol = 0, median of {args.reps}")
    if not args.no_table:
        print()
        sk_cols = " / ".join(f"sklearn ms/iter ({s} thr)" for s in args.sk_threads)
        print(f"| dtype | β | nmfaudio ms/iter | {sk_cols} | sk/nmfaudio | floor ms/iter | "
              f"floor fraction | CPU: nmfaudio | CPU: sklearn (1 thr) | CPU: sk/nmfaudio | "
              f"CPU: floor (1 thr) | CPU: floor fraction | loss nmfaudio/sk |")
        print("|---|---|---|---|" + "---|---|---|---|---|---|---|---|---|")
        table(args, V64)
    if args.time_to_loss:
        print()
        time_to_loss(args, V64)


if __name__ == "__main__":
    main()
