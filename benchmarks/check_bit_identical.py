"""Bit-identity check of nmf() / nmfd() across a refactoring.

    python benchmarks/check_bit_identical.py save REF.npz      # on the old code
    python benchmarks/check_bit_identical.py compare REF.npz   # on the new code

Runs nmf() for β in (0, 0.5, 1, 1.5, 2) × several modes (plain; accelerate=True;
W fixed with and without accelerate — the frame-wise path; H fixed; sparsity;
continuity with W learned and fixed; partial update_W masks, plain and accelerated;
2 worker threads; a run stopped by tol; max_iter not a multiple of loss_every) and
nmfd() (plain, sparsity, W fixed, H fixed), in float32 and float64, and saves W, H,
losses, loss, n_iter and converged of each run. ``compare`` re-runs everything and
requires every array to be equal bit for bit (``np.array_equal``, NaN never equal)
and every scalar to be equal; it prints a table and exits 1 on any difference.
"""

from __future__ import annotations

import sys

import numpy as np

import nmfaudio
from nmfaudio import nmf, nmfd

BETAS = (0.0, 0.5, 1.0, 1.5, 2.0)
DTYPES = (np.float32, np.float64)
F, T, K = 48, 70, 5


def _data(dtype):
    rng = np.random.default_rng(2024)
    W = rng.random((F, K)) + 0.02
    V = W @ (rng.random((K, T)) ** 3) + 0.01 * rng.random((F, T))
    V[:, 9] = 1e-4  # a near-silent frame
    V[3, :] = 0.0   # a zero row (floors)
    Wi = rng.random((F, K)) + 0.05
    Hi = rng.random((K, T)) + 0.05
    Wc = rng.random((F, K, 3)) + 0.05
    return V.astype(dtype), Wi.astype(dtype), Hi.astype(dtype), Wc.astype(dtype)


def _nmf_modes(V, Wi, Hi):
    mask = np.array([True, False, True, False, False])
    base = dict(max_iter=37, tol=0, n_threads=1)
    return {
        "plain": dict(n_components=K, random_state=0, **base),
        "plain_tol": dict(n_components=K, random_state=1, max_iter=300, tol=1e-3, n_threads=1),
        "plain_2threads": dict(n_components=K, random_state=0, max_iter=25, tol=0, n_threads=2),
        "accel": dict(n_components=K, random_state=0, accelerate=True, **base),
        "accel_tol": dict(W=Wi, H=Hi, accelerate=True, max_iter=300, tol=1e-4, n_threads=1),
        "fixedW": dict(W=Wi, H=Hi, update_W=False, **base),
        "fixedW_accel": dict(W=Wi, H=Hi, update_W=False, accelerate=True, **base),
        "fixedW_accel_nomH": dict(W=Wi, update_W=False, accelerate=True, random_state=3, **base),
        "fixedH": dict(W=Wi, H=Hi, update_H=False, **base),
        "fixedH_accel": dict(W=Wi, H=Hi, update_H=False, accelerate=True, **base),
        "sparsity": dict(n_components=K, random_state=0, sparsity=0.3, **base),
        "sparsity_accel": dict(n_components=K, random_state=0, sparsity=0.3, accelerate=True, **base),
        "fixedW_sparsity_accel": dict(W=Wi, H=Hi, update_W=False, sparsity=0.2, accelerate=True, **base),
        "continuity": dict(n_components=K, random_state=0, continuity=0.5, **base),
        "continuity_sparsity": dict(W=Wi, H=Hi, continuity=np.arange(K) * 0.2, sparsity=0.1, **base),
        "fixedW_continuity": dict(W=Wi, H=Hi, update_W=False, continuity=0.5, accelerate=True, **base),
        "mask": dict(W=Wi, H=Hi, update_W=mask, **base),
        "mask_accel": dict(W=Wi, H=Hi, update_W=mask, accelerate=True, **base),
        "mask_sparsity": dict(W=Wi, H=Hi, update_W=mask, sparsity=0.2, **base),
        "mask_sparsity_accel": dict(W=Wi, H=Hi, update_W=mask, sparsity=0.2, accelerate=True, **base),
        "mask_continuity": dict(W=Wi, H=Hi, update_W=mask, continuity=0.3, **base),
        "nndsvda": dict(n_components=K, init="nndsvda", random_state=0, **base),
    }


def _nmfd_modes(Wc, Hi):
    base = dict(max_iter=23, tol=0)
    return {
        "nmfd": dict(n_components=K, n_lags=3, random_state=0, **base),
        "nmfd_tol": dict(n_components=K, n_lags=3, random_state=0, max_iter=200, tol=1e-3),
        "nmfd_sparsity": dict(n_components=K, n_lags=3, random_state=0, sparsity=0.2, **base),
        "nmfd_fixedW": dict(W=Wc, H=Hi, update_W=False, **base),
        "nmfd_fixedH": dict(W=Wc, H=Hi, update_H=False, **base),
    }


def run_all():
    out = {}
    for dtype in DTYPES:
        V, Wi, Hi, Wc = _data(dtype)
        for beta in BETAS:
            for name, kw in _nmf_modes(V, Wi, Hi).items():
                r = nmf(V, beta=beta, **kw)
                _store(out, f"{name}|{beta}|{np.dtype(dtype).name}", r)
            for name, kw in _nmfd_modes(Wc, Hi).items():
                r = nmfd(V, beta=beta, **kw)
                _store(out, f"{name}|{beta}|{np.dtype(dtype).name}", r)
    return out


def _store(out, key, r):
    out[key + "|W"] = r.W
    out[key + "|H"] = r.H
    out[key + "|losses"] = r.losses
    out[key + "|scalars"] = np.array([r.loss, r.n_iter, float(getattr(r, "converged", False))])


def main(argv):
    if len(argv) != 3 or argv[1] not in ("save", "compare"):
        print(__doc__)
        return 2
    res = run_all()
    if argv[1] == "save":
        np.savez(argv[2], **res)
        print(f"saved {len(res) // 4} runs ({len(res)} arrays) to {argv[2]}")
        return 0
    ref = np.load(argv[2])
    bad = []
    for key in sorted(set(ref.files) | set(res)):
        a, b = ref.get(key) if key in ref.files else None, res.get(key)
        if a is None or b is None or a.dtype != b.dtype or not np.array_equal(a, b):
            bad.append(key)
    runs = {k.rsplit("|", 1)[0] for k in res}
    print(f"nmfaudio {nmfaudio.__version__}: {len(runs)} runs, {len(res)} arrays compared "
          f"with np.array_equal (dtype included)")
    print(f"{'mode':24s} " + " ".join(f"{b:>5}" for b in BETAS))
    order = list(_nmf_modes(*_data(np.float64)[:3])) + list(_nmfd_modes(None, None))
    modes = [m for m in order if any(k.startswith(m + "|") for k in runs)]
    for m in modes:
        cells = []
        for beta in BETAS:
            keys = [k for k in bad if k.startswith(f"{m}|{beta}|")]
            cells.append("  ok " if not keys else " DIFF")
        print(f"{m:24s} " + " ".join(cells))
    if bad:
        print(f"{len(bad)} arrays differ, e.g. {bad[:8]}")
        return 1
    print("all bit-identical (float32 and float64)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
