#!/usr/bin/env python
"""Blind denoising in two passes: the noise model learned from the frames the first pass
finds (nearly) speech-free, then the noise-dictionary mode with it.

    python benchmarks/quality/blind_bootstrap.py [--part tune]

Pass 1 is today's blind ``denoise`` (minimum-statistics floor, free speech templates, voice
model). Its models give each frame a speech share ``r_t = Σ_f Ŝ / Σ_f (Ŝ + N̂)``; the frames
with the lowest shares (``--rows``: a fraction of the frames, or those below a share) are taken
from the mixture's magnitudes, a KL noise dictionary is learned on them (16 templates, 200
iterations, as ``learn_noise_dictionary`` learns one from a clip), and ``denoise(y, sr,
noise_dictionary=...)`` runs with it (free speech templates and voice model beside it). Rows:
blind default, noise-sample default (the clip; for reference), and the two-pass variants. Speech
only; SDR, SI-SDR, STOI, PESQ and harmed items as in ``tune_denoise.py``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))
sys.path.insert(0, str(HERE))

import nmfaudio  # noqa: E402
import run  # noqa: E402

dn = sys.modules["nmfaudio.denoise"]

ROWS = [("blind default", None), ("noise sample (the clip)", "clip"),
        ("2 passes, lowest 10 % of frames", ("fraction", 0.10)),
        ("2 passes, lowest 20 % of frames", ("fraction", 0.20)),
        ("2 passes, lowest 35 % of frames", ("fraction", 0.35)),
        ("2 passes, share < 0.2 (at least 5 % of frames)", ("share", 0.2)),
        ("2 passes, share < 0.4 (at least 5 % of frames)", ("share", 0.4))]
#: --grid fine: around the best row of the first grid
FINE = [("blind default", None),
        ("2 passes, lowest 5 % of frames", ("fraction", 0.05)),
        ("2 passes, lowest 7.5 % of frames", ("fraction", 0.075)),
        ("2 passes, lowest 10 % of frames", ("fraction", 0.10)),
        ("2 passes, lowest 12.5 % of frames", ("fraction", 0.125)),
        ("2 passes, lowest 15 % of frames", ("fraction", 0.15)),
        ("2 passes, lowest 10 %, geometric mean with pass 1", ("fraction-gm", 0.10)),
        ("2 passes, lowest 10 %, 8 noise templates", ("fraction-k8", 0.10))]

#: --grid sample: the same second pass after the noise-sample mode (the clip's frames and / or
#: the quietest frames of the input for the second noise model)
SAMPLE = [("noise sample (the clip)", "clip"),
          ("clip, then 2nd pass on the quietest 10 %", ("sample-quiet", 0.10)),
          ("clip, then 2nd pass on clip + quietest 10 %", ("sample-both", 0.10)),
          ("clip, then 2nd pass on clip + quietest 5 %", ("sample-both", 0.05)),
          ("clip, then 2nd pass on clip + quietest 15 %", ("sample-both", 0.15)),
          ("clip, then 2nd pass on clip + quietest 20 %", ("sample-both", 0.20)),
          ("clip, then 2nd pass on the quietest 15 %", ("sample-quiet", 0.15))]


def sample_two_pass(y, sr, clip, how, value):
    """Noise-sample mode, then a second pass whose noise dictionary is learned on the input's
    quietest frames (``quiet``) or on those and the clip's frames (``both``); geometric mean."""
    from nmfaudio import _second_pass, _usm

    params = dn.default_denoise_stft(sr)
    kw = dict(Kn=dn.NOISE_COMPONENTS, Ks=dn.SPEECH_COMPONENTS, sparsity=dn.SPARSITY, max_iter=dn.DENOISE_ITER,
              random_state=0)
    S, est, power = dn._fit(y, sr, params, clip, None, None, **kw)
    pick = _second_pass.quiet_frames(est, value)
    V = np.abs(S)[:, pick].astype(np.float32)
    if how == "both":
        V = np.concatenate([np.abs(nmfaudio.stft(clip, stft_params=params)).astype(np.float32), V], axis=1)
    nd = _second_pass.noise_dictionary(np.ascontiguousarray(V), n_components=dn.NOISE_COMPONENTS, random_state=0,
                                       params=params, sr=sr)
    _, est2, _ = dn._fit(y, sr, params, None, nd, None, **kw)
    est = _usm.combine(est, est2)
    out = dn._reconstruct(S, est, params=params, power=power, mask_power=dn.MASK_POWER, length=y.shape[-1],
                          dtype=y.dtype)["clean"]
    return out, pick.size / S.shape[-1]


def two_pass(y, sr, how, value):
    how, _, variant = how.partition("-")
    params = dn.default_denoise_stft(sr)
    S, est, power = dn._fit(y, sr, params, None, None, None, Kn=dn.NOISE_COMPONENTS, Ks=dn.SPEECH_COMPONENTS,
                            sparsity=dn.SPARSITY, max_iter=dn.DENOISE_ITER, random_state=0)
    s, n = est[0].sum(axis=-2), est[1].sum(axis=-2)
    share = s / np.maximum(s + n, np.finfo(np.float32).tiny)
    T = share.shape[-1]
    order = np.argsort(share, kind="stable")
    if how == "fraction":
        pick = order[:max(2, int(round(value * T)))]
    else:
        pick = np.flatnonzero(share < value)
        if pick.size < 0.05 * T:
            pick = order[:max(2, int(round(0.05 * T)))]
    V = np.abs(S)[:, np.sort(pick)].astype(np.float32)
    K = 8 if variant == "k8" else dn.NOISE_COMPONENTS
    res = nmfaudio.nmf(V, min(K, V.shape[1]), beta="kl", max_iter=200, tol=0, random_state=0)
    W = res.W / np.maximum(res.W.sum(axis=0, keepdims=True), np.finfo(np.float32).tiny)
    nd = nmfaudio.SourceDictionary(name="noise", W=W.astype(np.float32), sr=sr, stft=params, beta=1.0, power=1.0)
    if variant == "gm":
        from nmfaudio import _usm

        S2, est2, _ = dn._fit(y, sr, params, None, nd, None, Kn=dn.NOISE_COMPONENTS, Ks=dn.SPEECH_COMPONENTS,
                              sparsity=dn.SPARSITY, max_iter=dn.DENOISE_ITER, random_state=0)
        est = _usm.combine(est, est2)
        out = dn._reconstruct(S, est, params=params, power=power, mask_power=dn.MASK_POWER, length=y.shape[-1],
                              dtype=y.dtype)["clean"]
        return out, pick.size / T
    return nmfaudio.denoise(y, sr, noise_dictionary=nd), pick.size / T


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--part", choices=["tune", "test"], default="tune")
    ap.add_argument("--grid", choices=["first", "fine", "sample"], default="first")
    args = ap.parse_args(argv)
    rows = {"first": ROWS, "fine": FINE, "sample": SAMPLE}[args.grid]
    run._limit_threads(1)
    entries = [e for e in run.read_manifest(run.DEFAULT_DATA)["items"]
               if e["kind"] == "speech" and e.get("part") == args.part]
    scores = {name: [] for name, _ in rows}
    used = {name: [] for name, _ in rows}
    for e in entries:
        item = run.load_item(run.DEFAULT_DATA, e)
        mix, _ = run._score(item, np.stack([item.mixture] * len(item.names)), False)
        for name, how in rows:
            if how is None:
                clean = nmfaudio.denoise(item.mixture, item.sr)
            elif how == "clip":
                clean = nmfaudio.denoise(item.mixture, item.sr, noise=item.train["noise"])
            elif how[0].startswith("sample-"):
                clean, frac = sample_two_pass(item.mixture, item.sr, item.train["noise"], how[0][7:], how[1])
                used[name].append(frac)
            else:
                clean, frac = two_pass(item.mixture, item.sr, *how)
                used[name].append(frac)
            out, _ = run._score(item, run._speech_and_rest(item, clean), False, mix)
            scores[name].append(out)
        print(f"  {e['id']} done", file=sys.stderr, flush=True)
    print(f"blind, two passes: {len(entries)} {args.part} items\n")
    frac = {name: f"{np.mean(used[name]):.0%}" if used[name] else "—" for name, _ in rows}
    for line in run.comparison_table(scores, extra=("frames used", frac)):
        print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
