#!/usr/bin/env python
"""A universal speech model with block sparsity (Sun & Mysore, ICASSP 2013) for ``denoise``, tune part.

    python benchmarks/quality/usm.py [--rows NAME,...] [--items N] [--part tune]

The free speech templates of today's noise-sample denoiser also take the noise events the clip
did not show (``diagnose_denoise.py --experiment limits``). A universal speech model replaces
them by fixed templates: one small KL-NMF dictionary per training voice, all concatenated, and a
block-sparsity penalty ``λ Σ_g log(ε + ‖H_g‖₁)`` on the activations, so that the recording
picks the few voice blocks it resembles (the penalty's multiplicative update adds
``λ / (ε + ‖H_g‖₁)`` to the denominator of block ``g``).

The voices are none of ``split.json`` (tune or test voices or babble talkers): klettres native
speakers of the languages the split does not use, and the espeak-ng voices of the bundled speech
model. Rows: the block size K per voice, λ, and optionally a few free components (given to the
noise or to the speech); the noise templates are today's (16 learned on the clip, fixed).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))
sys.path.insert(0, str(HERE))

import nmfaudio  # noqa: E402
import run  # noqa: E402
from nmfaudio.dictionary import spectrogram  # noqa: E402
import learned_mask  # noqa: E402

sys.path.insert(0, str(HERE.parent / "models"))
from train_models import ESPEAK, SENTENCES  # noqa: E402  (the bundled speech model's voices and text)

dn = sys.modules["nmfaudio.denoise"]
SR = 22050
KLETTRES = ["ar", "cs", "da", "en", "en_GB", "he", "hu", "id", "lt", "ml", "nb", "nds", "nn", "pt_BR", "tn", "uk"]
ROWS = {
    "usm K8 λ0": {"K": 8, "lam": 0.0},
    "usm K8 λ0.03": {"K": 8, "lam": 0.03},
    "usm K8 λ0.1": {"K": 8, "lam": 0.1},
    "usm K8 λ0.15": {"K": 8, "lam": 0.15},
    "usm K8 λ0.3": {"K": 8, "lam": 0.3},
    "usm K16 λ0.1": {"K": 16, "lam": 0.1},
    "usm K8 λ0.1 + 8 free noise": {"K": 8, "lam": 0.1, "free": 8, "free_to": "noise"},
    "usm K8 λ0.1 + 8 free speech": {"K": 8, "lam": 0.1, "free": 8, "free_to": "speech"},
    "usm K8 λ0.1 + 16 free speech": {"K": 8, "lam": 0.1, "free": 16, "free_to": "speech"},
    "mean of the default's and usm K8 λ0.1's gains": {"K": 8, "lam": 0.1, "average": True},
    "mean of the default's and usm K16 λ0.1's gains": {"K": 16, "lam": 0.1, "average": True},
    "mean of gains: usm K8 λ0.15": {"K": 8, "lam": 0.15, "average": True},
    "mean of gains: usm K8 λ0.2": {"K": 8, "lam": 0.2, "average": True},
    "gains 0.6 default + 0.4 usm K8 λ0.1": {"K": 8, "lam": 0.1, "average": 0.4},
    "gains 0.4 default + 0.6 usm K8 λ0.1": {"K": 8, "lam": 0.1, "average": 0.6},
    "geometric mean of gains: usm K8 λ0.1": {"K": 8, "lam": 0.1, "average": "geo"},
    "mean of gains: usm K8 60 s λ0.1": {"K": 8, "lam": 0.1, "average": True, "seconds": 60.0},
    "geometric mean of gains: usm K8 λ0.2": {"K": 8, "lam": 0.2, "average": "geo"},
    "geometric mean of the models: usm K8 λ0.1": {"K": 8, "lam": 0.1, "average": "model"},
    "geometric mean of the models: usm K8 λ0.2": {"K": 8, "lam": 0.2, "average": "model"},
}


def voices():
    banned = set()
    import json
    split = json.loads((HERE / "split.json").read_text())["speech"]
    for part in ("tune", "test"):
        banned |= set(split[part]["voices"]) | set(split[part]["babble_talkers"])
    vs = [f"klettres:{k}" for k in KLETTRES] + [f"espeak:{v}" for v in ESPEAK]
    from _split_sources import voice_files
    return [v for v in vs if v not in banned and (not v.startswith("klettres") or voice_files(v))]


def build_usm(K, seconds=30.0):
    """``(W (F, n_voices * K), block index per column)``, cached in data/."""
    cache = HERE / "data" / f"usm-K{K}-{int(seconds)}s.npz"
    if cache.exists():
        z = np.load(cache)
        return z["W"], z["g"]
    from _split_sources import VoicePool
    pool = VoicePool(np.random.default_rng(0), SENTENCES * 4, SR)
    params = dn.default_denoise_stft(SR)
    Ws, gs = [], []
    for i, v in enumerate(voices()):
        x, _ = pool.take(v, seconds)
        V = spectrogram(x.astype(np.float32), stft_params=params, power=1.0)[1]
        e = V.sum(0)
        V = np.ascontiguousarray(V[:, e > 1e-3 * np.median(e[e > 0])])
        res = nmfaudio.nmf(V, K, beta=1.0, max_iter=200, random_state=0)
        W = res.W / np.maximum(res.W.sum(0, keepdims=True), 1e-12)
        Ws.append(W)
        gs += [i] * K
        print(f"  usm {v}: {V.shape[1]} frames", file=sys.stderr, flush=True)
    W, g = np.concatenate(Ws, axis=1).astype(np.float32), np.array(gs)
    np.savez(cache, W=W, g=g)
    return W, g


def fit(V, U, g, Wn, *, lam, free=0, iters=100, eps=1e-3, seed=0):
    """KL MU with U, Wn fixed, optional free columns learned; block penalty on U's rows of H."""
    rng = np.random.default_rng(seed)
    V = V.astype(np.float64)
    scale = V.mean()
    X = V / scale
    F, T = X.shape
    Wf = rng.random((F, free)) + 0.1 if free else np.zeros((F, 0))
    Wf /= np.maximum(Wf.sum(0, keepdims=True), 1e-12)
    Ku, Kn = U.shape[1], Wn.shape[1]
    H = np.full((Ku + Kn + free, T), X.sum(0, keepdims=True) / (Ku + Kn + free))
    G = g.max() + 1
    for _ in range(iters):
        W = np.concatenate([U, Wn, Wf], axis=1)
        R = X / np.maximum(W @ H, 1e-12)
        num = W.T @ R
        den = W.sum(0)[:, None] * np.ones((1, T))
        if lam > 0:
            block = np.bincount(g, weights=H[:Ku].sum(1), minlength=G)
            unit = X.sum() / G  # λ = 1: the penalty's pull equals the data's at an average block
            den[:Ku] += (lam * unit / (eps * unit + block))[g][:, None]
        H *= num / np.maximum(den, 1e-12)
        if free:
            W = np.concatenate([U, Wn, Wf], axis=1)
            R = X / np.maximum(W @ H, 1e-12)
            Hf = H[Ku + Kn:]
            Wf *= (R @ Hf.T) / np.maximum(Hf.sum(1)[None, :], 1e-12)
            s = np.maximum(Wf.sum(0, keepdims=True), 1e-12)
            Wf /= s
            H[Ku + Kn:] *= s.T
    return H * scale, Wf


def score(item, S, Sh, Nh, params, g_other=None):
    if g_other is not None and g_other[1] == "model":  # sqrt(Ŝ1 Ŝ2) / (sqrt(Ŝ1 Ŝ2) + sqrt(N̂1 N̂2))
        (Sh0, Nh0), _ = g_other
        Sh, Nh, g_other = np.sqrt(Sh * Sh0), np.sqrt(Nh * Nh0), None
    g = Sh / np.maximum(Sh + Nh, 1e-12)
    if g_other is not None:
        g_other, how = g_other
        if how == "geo":
            g = np.sqrt(g * g_other)
        else:
            a = 0.5 if how is True else float(how)
            g = a * g + (1 - a) * g_other
    return learned_mask.score(item, S, g.astype(S.real.dtype), params)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--part", choices=["tune", "test"], default="tune")
    ap.add_argument("--rows", default=None, help="semicolon-separated row names")
    ap.add_argument("--items", type=int, default=None)
    args = ap.parse_args(argv)
    from threadpoolctl import threadpool_limits

    threadpool_limits(1, user_api="blas")
    dn.USM_LAMBDA = None  # the baseline is the free model alone, as when these rows were measured
    rows = ROWS if not args.rows else {k: v for k, v in ROWS.items() if k in args.rows.split(";")}
    usms = {(K, sec): build_usm(K, sec) for K, sec in sorted({(kw["K"], kw.get("seconds", 30.0)) for kw in rows.values()})}
    data = HERE / "data"
    entries = [e for e in run.read_manifest(data)["items"] if e["kind"] == "speech" and e["part"] == args.part]
    entries = entries[:args.items] if args.items else entries
    params = dn.default_denoise_stft(SR)
    res = []
    for e in entries:
        item = run.load_item(data, e)
        mix = run._score(item, np.stack([item.mixture for _ in item.names]), False, None)[0]
        S, V = spectrogram(item.mixture, stft_params=params, power=1.0)
        p = learned_mask.model_parts(item.mixture, item.sr, noise=item.train["noise"])
        g0 = p["Sh"] / np.maximum(p["Sh"] + p["Nh"], 1e-12)
        row = {"id": e["id"], "mix_stoi": mix["stoi"], "default": score(item, S, p["Sh"], p["Nh"], params)}
        Wn = dn.learn_noise_dictionary(item.train["noise"], item.sr).W.astype(np.float64)
        for name, kw in rows.items():
            t0 = time.time()
            U, g = usms[kw["K"], kw.get("seconds", 30.0)]
            H, Wf = fit(V, U.astype(np.float64), g, Wn, lam=kw["lam"], free=kw.get("free", 0))
            Ku, Kn = U.shape[1], Wn.shape[1]
            Sh = U @ H[:Ku]
            Nh = Wn @ H[Ku:Ku + Kn]
            if kw.get("free"):
                (Sh if kw["free_to"] == "speech" else Nh)[...] += Wf @ H[Ku + Kn:]
            try:
                row[name] = score(item, S, Sh, Nh, params, ((p["Sh"], p["Nh"]) if kw.get("average") == "model" else g0, kw["average"])
                                  if kw.get("average") else None)
            except nmfaudio.ParameterError:  # the speech estimate is silent
                row[name] = [-10.0, -10.0, 0.0, 1.0]
            print(f"{e['id']} {name}: {row[name][0]:.2f} (default {row['default'][0]:.2f}) {time.time() - t0:.1f}s",
                  file=sys.stderr, flush=True)
        res.append(row)
    print(f"`{args.part}: {len(res)} speech items; universal speech model`\n")
    print("| row | SDR mean | median | min … max | SI-SDR | STOI | PESQ | SDR better | SDR worse | harmed |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name in ["default"] + list(rows):
        a = np.array([r[name] for r in res])
        d = a[:, 0] - np.array([r["default"][0] for r in res])
        harmed = sum(r[name][2] < r["mix_stoi"] - 0.02 for r in res)
        print(f"| {name} | {a[:, 0].mean():.2f} | {np.median(a[:, 0]):.2f} | {a[:, 0].min():.1f} … {a[:, 0].max():.1f} | "
              f"{a[:, 1].mean():.2f} | {a[:, 2].mean():.3f} | {a[:, 3].mean():.2f} | "
              f"{int((d > 0.05).sum())}/{len(res)} | {int((d < -0.05).sum())}/{len(res)} | {harmed} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
