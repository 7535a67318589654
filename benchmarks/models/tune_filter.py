#!/usr/bin/env python
"""Study (not in the library): adapt a spectral *filter* per model instead of its templates.

    python benchmarks/models/tune_filter.py --data DIR [--part tune]

``W_m ← diag(B a_m) W_m``: each named model's templates keep their harmonic structure and
get one smooth gain curve (``B``: mel-band partition of unity, ``a_m ≥ 0`` per band) fitted
to the mixture by β-divergence MU, alternating with H steps, from the fixed-template
solve. The idea: a model rendered from other soundfonts differs from the mix's instrument
mostly by its spectral envelope, which a filter can fix without letting the templates
drift onto another instrument's notes. Prints SDR / SI-SDR mean ± std over the part's
music items per (iterations, bands) and the per-item SDR change.
"""
import argparse
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))
sys.path.insert(0, str(HERE.parent / "quality"))

import nmfaudio  # noqa: E402
import run  # noqa: E402
from nmfaudio._numerics import gamma  # noqa: E402
from nmfaudio.masking import mask_sources, source_estimates, sources_to_audio  # noqa: E402
from nmfaudio.separate import separate_with_details  # noqa: E402

GRID = [(0, 0), (10, 16), (30, 16), (10, 40), (30, 40), (100, 16)]


def bands(F, sr, n_fft, n):
    import librosa
    B = librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n, norm=None, fmin=0).T.astype(np.float64)  # (F, n)
    B[0, 0] = max(B[0, 0], 1.0)
    B /= np.maximum(B.sum(axis=1, keepdims=True), 1e-12)   # partition of unity
    return B


def filter_adapt(V, W, H, labels, beta, n_iter, B):
    n_src = labels.max() + 1
    F, T = V.shape
    Vs = V / V.mean(); H = H / V.mean()
    A = np.ones((B.shape[1], n_src))
    parts = [W[:, labels == m] @ H[labels == m] for m in range(n_src)]   # unfiltered per-model
    g = gamma(beta)
    for _ in range(n_iter):
        G = B @ A   # (F, n_src)
        est = sum(G[:, m:m + 1] * parts[m] for m in range(n_src))
        est = np.maximum(est, 1e-12)
        a1, a2 = est ** (beta - 2) * Vs, est ** (beta - 1)
        for m in range(n_src):
            num = B.T @ (a1 * parts[m]).sum(axis=1)
            den = B.T @ (a2 * parts[m]).sum(axis=1)
            A[:, m] *= (num / np.maximum(den, 1e-12)) ** g
        # re-solve H a few steps with filtered templates
        G = B @ A
        Wf = np.concatenate([G[:, labels[k]:labels[k] + 1] * W[:, k:k + 1] for k in range(W.shape[1])], axis=1)
        WH = np.maximum(Wf @ H, 1e-12)
        H *= (Wf.T @ (WH ** (beta - 2) * Vs) / np.maximum(Wf.T @ WH ** (beta - 1), 1e-12)) ** g
        parts = [W[:, labels == m] @ H[labels == m] for m in range(n_src)]
    G = B @ A
    Wf = np.concatenate([G[:, labels[k]:labels[k] + 1] * W[:, k:k + 1] for k in range(W.shape[1])], axis=1)
    return Wf, H * V.mean()


def score(task):
    data, entry = task
    item = run.load_item(data, entry)
    models = run.instrument_models(item)
    dicts = [nmfaudio.load_model(m) for m in models]
    refs = dict(zip(item.names, item.stems))
    out, sep, params = separate_with_details(item.mixture, item.sr, dictionaries=dicts)
    S = nmfaudio.stft(item.mixture, stft_params=params)
    V = np.abs(S).astype(np.float64)
    rows = []
    for n_iter, nb in GRID:
        if n_iter == 0:
            est = np.stack([out[m] for m in models])
        else:
            Wf, H = filter_adapt(V, sep.W.astype(np.float64), sep.H.astype(np.float64), sep.labels,
                                 dicts[0].beta, n_iter, bands(V.shape[0], item.sr, params.n_fft, nb))
            e = source_estimates(Wf, H, sep.labels, len(models), n_frames=S.shape[-1])
            _, S_src = mask_sources(S, e)
            a = sources_to_audio(S_src, models, stft_params=params, length=item.mixture.size, dtype=np.float32)
            est = np.stack([a[m] for m in models])
        r = nmfaudio.evaluate(refs, dict(zip(item.names, est)))
        rows.append((r["mean"]["sdr"], r["mean"]["si_sdr"]))
    return item.id, rows


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, default=run.DEFAULT_DATA)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--part", default="tune", choices=("tune", "test"))
    args = ap.parse_args(argv)
    entries = [e for e in run.read_manifest(args.data)["items"]
               if e["kind"] == "music" and e["part"] == args.part]
    with ProcessPoolExecutor(args.jobs) as pool:
        res = list(pool.map(score, [(args.data, e) for e in entries]))
    R = np.array([r for _, r in res])
    print(f"{args.part} part, {len(entries)} music items; (iterations, bands): mean ± std over items")
    for j, g in enumerate(GRID):
        d = R[:, j, 0] - R[:, 0, 0]
        print(g, f"SDR {R[:, j, 0].mean():.2f} ± {R[:, j, 0].std():.2f}  SI-SDR {R[:, j, 1].mean():.2f} ± "
              f"{R[:, j, 1].std():.2f}  per-item SDR change {np.round(d, 2)}")


if __name__ == "__main__":
    main()
