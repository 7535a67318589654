#!/usr/bin/env python
"""Where named-instrument separation loses: timbre fit, cross-talk, solve and mask (tune part).

    python benchmarks/models/diagnose.py [--data DIR] [--part tune] [--models DIR]

For every music item of the part, with the bundled models of its stems (``INSTRUMENT_MODEL``
of benchmarks/quality/run.py), prints

- ``fit own/other``: how well each true stem's magnitude spectrogram is explained by its own
  model alone and by the best *other* model of the item alone (SNR of the fixed-template
  β-divergence fit, dB). Own ≫ other means the models can tell the instruments apart;
  own ≈ other means any model explains any stem (timbre is not what the templates carry).
- ``kept / leak``: the fraction of each true stem's energy that the mixture's soft masks give
  to its own model (kept) and to the other models (leak), in dB of the stem energy.
- SDR / SI-SDR of the default solve, of the oracle "which model owns which bin" ceiling
  given the stems (ideal ratio mask, what any mask-based method can at most reach) and of
  the solve with dictionaries learned from the item's training clips (the target).

``--models DIR`` reads candidate ``<name>.npz`` files (benchmarks/models/train_models.py
``--out``) instead of the bundled ones. Never tune on ``--part test``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))
sys.path.insert(0, str(HERE.parent / "quality"))

import nmfaudio  # noqa: E402
import run  # noqa: E402
from nmfaudio.models import store  # noqa: E402
from nmfaudio.supervised import frame_init  # noqa: E402


def load_models(names, folder=None):
    if folder is None:
        return [nmfaudio.load_model(n) for n in names]
    return [store.read_model((Path(folder) / f"{n}.npz").read_bytes()) for n in names]


def fixed_fit(V, W, beta, n_iter=40):
    """Fixed-template β fit of V: returns W H."""
    res = nmfaudio.nmf(V, W=W, H=frame_init(V, W.shape[1]).astype(V.dtype), beta=beta,
                       update_W=False, max_iter=n_iter, tol=0, accelerate=True)
    return res.W @ res.H


def snr(V, R):
    return 10 * np.log10(np.sum(V ** 2) / max(np.sum((V - R) ** 2), 1e-20))


def masks_of(S, dicts, *, sparsity=0.0, mask_power=2.0, n_iter=None):
    """Soft masks of a fixed-template solve with an L1 weight on H (``nmf(sparsity=)``)."""
    V = np.abs(S).astype(np.float32)
    W = np.concatenate([d.W for d in dicts], axis=1)
    labels = np.concatenate([np.full(d.n_components, i) for i, d in enumerate(dicts)])
    res = nmfaudio.nmf(V, W=W, H=frame_init(V, W.shape[1]).astype(V.dtype), beta=dicts[0].beta,
                       update_W=False, max_iter=n_iter or (20 if not sparsity else 100), tol=0,
                       accelerate=not sparsity, sparsity=sparsity)
    est = np.stack([res.W[:, labels == s] @ res.H[labels == s] for s in range(len(dicts))])
    return nmfaudio.soft_masks(est, mask_power=mask_power)


def diagnose(item, dicts, *, solve=None):
    """Per-stem rows and the item's scores."""
    params = dicts[0].stft
    S = np.stack([nmfaudio.stft(s, stft_params=params) for s in item.stems])
    Smix = nmfaudio.stft(item.mixture, stft_params=params)
    beta = dicts[0].beta
    rows = []
    for i, n in enumerate(item.names):
        V = np.abs(S[i]).astype(np.float32)
        fits = [snr(V, fixed_fit(V, d.W, beta)) for d in dicts]
        rows.append({"stem": n, "own": fits[i],
                     "other": max([f for j, f in enumerate(fits) if j != i], default=np.nan)})
    solve = solve or (lambda S_, ds: nmfaudio.separate_supervised_spectrogram(S_, ds).masks)
    masks = solve(Smix, dicts)
    for i, r in enumerate(rows):
        e = np.sum(np.abs(S[i]) ** 2)
        share = [np.sum(np.abs(masks[m] * S[i]) ** 2) / e for m in range(len(dicts))]
        r["kept"] = 10 * np.log10(max(share[i], 1e-12))
        r["leak"] = 10 * np.log10(max(sum(share) - share[i], 1e-12))
    est = np.stack([nmfaudio.istft(m * Smix, stft_params=params, length=item.mixture.size) for m in masks])
    refs = dict(zip(item.names, item.stems))
    sc = nmfaudio.evaluate(refs, dict(zip(item.names, est)))["mean"]
    A = np.abs(S) ** 2
    irm = A / np.maximum(A.sum(axis=0), 1e-20)
    est_irm = np.stack([nmfaudio.istft(m * Smix, stft_params=params, length=item.mixture.size) for m in irm])
    sc_irm = nmfaudio.evaluate(refs, dict(zip(item.names, est_irm)))["mean"]
    return rows, (sc["sdr"], sc["si_sdr"]), (sc_irm["sdr"], sc_irm["si_sdr"])


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, default=run.DEFAULT_DATA)
    ap.add_argument("--part", default="tune", choices=("tune", "test"))
    ap.add_argument("--models", default=None)
    ap.add_argument("--models-timgm", default=None,
                    help="model folder for the items rendered with TimGM6mb (e.g. models trained on "
                         "the csound bank only, so that their timbre is held out too)")
    ap.add_argument("--items", default=None, help="comma-separated item ids")
    ap.add_argument("--sparsity", type=float, default=0.0, help="L1 weight on H in the solve")
    ap.add_argument("--mask-power", type=float, default=2.0)
    ap.add_argument("--iters", type=int, default=None)
    ap.add_argument("--quiet", action="store_true", help="per-item lines only")
    args = ap.parse_args(argv)
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)
    entries = [e for e in run.read_manifest(args.data)["items"]
               if e["kind"] == "music" and e.get("part") == args.part
               and (args.items is None or e["id"] in args.items.split(","))]
    solve = None
    if args.sparsity or args.mask_power != 2.0 or args.iters:
        solve = lambda S_, ds: masks_of(S_, ds, sparsity=args.sparsity, mask_power=args.mask_power,  # noqa: E731
                                        n_iter=args.iters)
    allrows, scores = [], []
    print(f"{'item':14s} {'stem':12s} {'model':15s} {'fit own':>7s} {'other':>6s} {'kept':>6s} {'leak':>6s}")
    for e in entries:
        item = run.load_item(args.data, e)
        models = run.instrument_models(item)
        folder = args.models_timgm if e["soundfont"]["mixture"] == "TimGM6mb" and args.models_timgm else args.models
        rows, sc, irm = diagnose(item, load_models(models, folder), solve=solve)
        for r, m in zip(rows, models if not args.quiet else []):
            print(f"{item.id:14s} {r['stem']:12s} {m:15s} {r['own']:7.2f} {r['other']:6.2f} "
                  f"{r['kept']:6.2f} {r['leak']:6.2f}")
        print(f"{item.id:14s} {e['soundfont']['mixture']:12s} SDR {sc[0]:5.2f} SI-SDR {sc[1]:5.2f}   "
              f"ideal ratio mask {irm[0]:5.2f} / {irm[1]:5.2f}", flush=True)
        allrows += rows
        scores.append(sc)
    own = np.array([r["own"] for r in allrows])
    other = np.array([r["other"] for r in allrows])
    leak = np.array([r["leak"] for r in allrows])
    sc = np.array(scores)
    print(f"mean over stems: fit own {own.mean():.2f} dB, best other {other.mean():.2f} dB, "
          f"leak {leak.mean():.2f} dB;  SDR {sc[:, 0].mean():.2f} ± {sc[:, 0].std():.2f}, "
          f"SI-SDR {sc[:, 1].mean():.2f} ± {sc[:, 1].std():.2f}")


if __name__ == "__main__":
    main()
