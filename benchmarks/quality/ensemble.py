#!/usr/bin/env python
"""More members for the denoiser's geometric-mean ensemble? Tune part.

    python benchmarks/quality/ensemble.py [--mode noise|blind] [--part tune]

Today's mask is the geometric mean of two models' estimates (free speech templates; the
universal speech model ``speech-voices``). Candidates for a third member, each fitted with the
same noise templates: the free model from another random start (seed 1), the bundled ``speech``
model (64 templates, one NMF over many voices) fixed, and the voice model at another λ. Rows are
subsets, scored like ``tune_denoise.py`` (speech SDR / SI-SDR / STOI / PESQ-WB, items better than
the two-member default by > 0.05 dB, harmed items).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))
sys.path.insert(0, str(HERE))

import run  # noqa: E402
from nmfaudio import _usm  # noqa: E402
from nmfaudio.masking import source_estimates  # noqa: E402
from nmfaudio.nmf import nmf  # noqa: E402
from nmfaudio.supervised import frame_init  # noqa: E402

dn = sys.modules["nmfaudio.denoise"]
ROWS = {
    "free + voices (default)": ("free0", "voices"),
    "free alone": ("free0",),
    "free + free seed 1": ("free0", "free1"),
    "free + voices + free seed 1": ("free0", "voices", "free1"),
    "free + voices + speech-64 fixed": ("free0", "voices", "prior"),
    "free + voices + voices λ 0.2": ("free0", "voices", "voices02"),
}


def members(item, mode):
    y, sr = item.mixture, item.sr
    params = dn.default_denoise_stft(sr)
    noise = item.train["noise"] if mode == "noise" else None
    cap = {}
    real = _usm.with_voices

    def spy(Vs, Wn, est, **kw):
        cap.update(Vs=Vs, Wn=Wn, est=est, kw=kw)
        return est

    _usm.with_voices = spy
    try:
        S, est0, power = dn._fit(y, sr, params, noise, None, None, Kn=dn.NOISE_COMPONENTS,
                                 Ks=dn.SPEECH_COMPONENTS, sparsity=dn.SPARSITY, max_iter=dn.DENOISE_ITER,
                                 random_state=0)
        cap0 = dict(cap)
        _, est1, _ = dn._fit(y, sr, params, noise, None, None, Kn=dn.NOISE_COMPONENTS, Ks=dn.SPEECH_COMPONENTS,
                             sparsity=dn.SPARSITY, max_iter=dn.DENOISE_ITER, random_state=1)
    finally:
        _usm.with_voices = real
    Vs, Wn, kw = cap0["Vs"], cap0["Wn"], cap0["kw"]
    out = {"free0": est0, "free1": est1}
    for name, lam in (("voices", dn.USM_LAMBDA), ("voices02", 0.2)):
        kw2 = dict(kw, lam=lam)
        v = real(Vs, Wn, est0, **kw2)  # geometric mean with est0: recover the voice model alone
        out[name] = np.where(est0 > 0, v ** 2 / np.maximum(est0, 1e-30), 0).astype(est0.dtype)
    P = dn._speech_prior(params, sr, Vs.dtype)
    W = np.concatenate([P, Wn.astype(Vs.dtype)], axis=1)
    H = nmf(Vs, W=W, H=frame_init(Vs, W.shape[1]).astype(Vs.dtype), beta=1.0, update_W=False,
            max_iter=dn.DENOISE_ITER, tol=0).H
    labels = (np.arange(W.shape[1]) >= P.shape[1]).astype(int)
    out["prior"] = source_estimates(W, H, labels, 2, lead_shape=kw["lead"], n_frames=kw["n_frames"])
    return S, out, params, power


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mode", choices=["noise", "blind"], default="noise")
    ap.add_argument("--part", choices=["tune", "test"], default="tune")
    args = ap.parse_args(argv)
    from threadpoolctl import threadpool_limits

    threadpool_limits(1, user_api="blas")
    entries = [e for e in run.read_manifest(run.DEFAULT_DATA)["items"]
               if e["kind"] == "speech" and e["part"] == args.part]
    res = {k: [] for k in ROWS}
    for e in entries:
        item = run.load_item(run.DEFAULT_DATA, e)
        mix, _ = run._score(item, np.stack([item.mixture] * len(item.names)), False)
        S, m, params, power = members(item, args.mode)
        for name, keys in ROWS.items():
            est = np.exp(np.mean([np.log(np.maximum(m[k], 1e-30)) for k in keys], axis=0)).astype(m["free0"].dtype)
            clean = dn._reconstruct(S, est, params=params, power=power, mask_power=dn.MASK_POWER,
                                    length=item.mixture.shape[-1], dtype=item.mixture.dtype)["clean"]
            s, _ = run._score(item, run._speech_and_rest(item, clean), False, mix)
            res[name].append(s)
        print(f"  {e['id']} done", file=sys.stderr, flush=True)
    ref = [r["sdr"] for r in res["free + voices (default)"]]
    print(f"`{args.mode}: {len(entries)} {args.part} items; geometric-mean ensembles`\n")
    print("| members | SDR mean | median | SI-SDR | STOI | PESQ | SDR better | harmed |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, rows in res.items():
        sdr = [r["sdr"] for r in rows]
        print(f"| {name} | {np.mean(sdr):.2f} | {np.median(sdr):.2f} | {np.mean([r['si_sdr'] for r in rows]):.2f} | "
              f"{np.mean([r['stoi'] for r in rows]):.3f} | {np.mean([r['pesq'] for r in rows]):.2f} | "
              f"{sum(a > b + 0.05 for a, b in zip(sdr, ref))}/{len(rows)} | "
              f"{sum(r['stoi_improvement'] < -run.HARM for r in rows)} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
