#!/usr/bin/env python
"""Unsupervised separation grouped with the bundled models (issue #15 item 5), *tune* part only.

    python benchmarks/models/tune_grouping.py --data DIR [--jobs 2] [--part tune]

For each music item: the default unsupervised NMF (``separate(y, sr, n_sources=N)``,
its factors reused) grouped by MFCC k-means (the default) or by the bundled models
(:func:`nmfaudio.grouping.model_labels` variants), and "top-N": the N models of the
library most used by a fixed-template solve with all of them, then
``separate(instruments=top N)``. Best-permutation SDR / SI-SDR, mean ± std (min … max).
"""

from __future__ import annotations

import argparse
import itertools
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))
sys.path.insert(0, str(HERE.parent / "quality"))

import nmfaudio  # noqa: E402
import run  # noqa: E402
from nmfaudio.masking import mask_sources, source_estimates, sources_to_audio  # noqa: E402
from nmfaudio.separate import separate_with_details  # noqa: E402

#: Similarity of a component to a model: cosine on W ** c (a number), or "fit" (β-divergence fit).
VARIANTS = [1.0, 0.5, "fit"]
TOP_N = True
LIBRARY = [m["name"] for m in nmfaudio.list_models() if m["kind"] == "instrument"]


def model_similarity(W, compress):
    """(K, n_models): max cosine between each component and the templates of each model."""
    Wc = W.astype(np.float64) ** compress
    Wc /= np.maximum(np.linalg.norm(Wc, axis=0), 1e-300)
    out = []
    for name in LIBRARY:
        M = nmfaudio.load_model(name).W.astype(np.float64) ** compress
        M /= np.maximum(np.linalg.norm(M, axis=0), 1e-300)
        out.append((Wc.T @ M).max(axis=1))
    return np.stack(out, axis=1)


def model_fit(W, beta=0.5, n_iter=50):
    """(K, n_models): minus the relative β-divergence of each component fitted by each model's templates."""
    Wn = (W / np.maximum(W.sum(axis=0), 1e-30)).astype(np.float64)
    out = []
    for name in LIBRARY:
        M = nmfaudio.load_model(name).W.astype(np.float64)
        fit = nmfaudio.nmf(Wn, W=M, update_W=False, beta=beta, max_iter=n_iter, tol=0,
                           accelerate=True)
        WH = np.maximum(fit.W @ fit.H, 1e-12)
        V = np.maximum(Wn, 1e-12)
        d = (V ** beta + (beta - 1) * WH ** beta - beta * V * WH ** (beta - 1)) / (beta * (beta - 1))
        out.append(-d.sum(axis=0))
    return np.stack(out, axis=1)


def labels_by_models(W, H, n_sources, compress):
    """Pick the n_sources models that explain the components best (energy-weighted), label by nearest."""
    S = model_fit(W) if compress == "fit" else model_similarity(W, compress)
    e = np.linalg.norm(W, axis=0) * np.linalg.norm(H, axis=1)
    best, best_score = None, -np.inf
    for combo in itertools.combinations(range(S.shape[1]), n_sources):
        score = float(e @ S[:, combo].max(axis=1))
        if score > best_score:
            best, best_score = combo, score
    labels = S[:, best].argmax(axis=1)
    for s in range(n_sources):  # every source gets a component
        if not np.any(labels == s):
            free = [k for k in range(len(labels)) if np.sum(labels == labels[k]) > 1]
            k = max(free, key=lambda k: S[k, best[s]] - S[k, best[labels[k]]])
            labels[k] = s
    return labels


def top_models(item, n):
    out = nmfaudio.separate(item.mixture, item.sr, instruments=LIBRARY)
    energy = {k: float(np.sum(v ** 2)) for k, v in out.items()}
    top = sorted(energy, key=energy.get, reverse=True)[:n]
    res = nmfaudio.separate(item.mixture, item.sr, instruments=top)
    return np.stack([res[k] for k in top]), top


def score(task):
    data, entry = task
    item = run.load_item(data, entry)
    n = len(item.names)
    refs = dict(zip(item.names, item.stems))
    out, sep, params = separate_with_details(item.mixture, item.sr, n_sources=n)
    S = nmfaudio.stft(item.mixture, stft_params=params)
    ests = {"mfcc (default)": np.stack(list(out.values()))}
    for c in VARIANTS:
        labels = labels_by_models(sep.W, sep.H, n, c)
        est = source_estimates(sep.W, sep.H, labels, n, n_frames=S.shape[-1])
        _, S_src = mask_sources(S, est)
        audio = sources_to_audio(S_src, [str(i) for i in range(n)], stft_params=params,
                                 length=item.mixture.size, dtype=item.mixture.dtype)
        ests[f"models {c}"] = np.stack(list(audio.values()))
    top = []
    if TOP_N:
        ests["top-N models"], top = top_models(item, n)
    rows = {}
    for k, est in ests.items():
        r = nmfaudio.evaluate(refs, dict(zip(item.names, est)), permute=True)
        rows[k] = (r["mean"]["sdr"], r["mean"]["si_sdr"])
    return item.id, rows, top


def _cell(v):
    return f"{v.mean():5.2f} ± {v.std():4.2f} ({v.min():5.2f} … {v.max():5.2f})"


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, default=run.DEFAULT_DATA)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--part", default="tune", choices=("tune", "test"))
    args = ap.parse_args(argv)
    entries = [e for e in run.read_manifest(args.data)["items"]
               if e["kind"] == "music" and e.get("part") == args.part]
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        results = list(pool.map(score, [(args.data, e) for e in entries]))
    keys = list(results[0][1])
    print(f"{args.part} part, {len(entries)} music items, best permutation; mean ± std (min … max)")
    for k in keys:
        v = np.array([r[k] for _, r, _ in results])
        print(f"{k:16s} SDR {_cell(v[:, 0])}  SI-SDR {_cell(v[:, 1])}")
    for iid, r, top in results:
        print(f"  {iid:16s} " + "  ".join(f"{s:5.2f}/{t:5.2f}" for s, t in r.values())
              + f"   top: {','.join(top)}")


if __name__ == "__main__":
    main()
