#!/usr/bin/env python3
"""Measured effect of the models of issue #9 on the quality benchmark set.

Three studies, each scored with BSS-Eval v3 SDR (mir_eval ``bss_eval_sources``):

- ``drums``: the drum items (kind "drums" of make_set.py). Plain NMF with the
  drum-shaped templates (``split_drums(n_lags=1)``) against convolutive NMF
  (``split_drums`` defaults). Mean SDR per drum and over the three drums; the
  output order is fixed (no permutation).
- ``stereo``: the stereo items of make_stereo.py, unsupervised separation
  (``separate(n_sources=#stems)``) of the stereo mixture with shared templates
  and per-channel activations (``joint``), against each channel separated on
  its own (``independent``). SDR per channel, with the best source permutation
  found per channel for both methods (so independent processing is not
  penalised for its arbitrary per-channel order; in real use it would also
  have to match sources across channels), averaged over channels and sources.
- ``penalties``: the mono music items, the same unsupervised chain as
  ``separate`` (STFT → nmf → grouping → Wiener masks) with ``sparsity`` and/or
  ``continuity`` on H, against the plain engine. Best permutation per item.
- ``penalties_sup``: the same penalties in supervised separation (dictionaries
  learned on each item's training clips, kept fixed, as ``separate(dictionaries=...)``).

    python benchmarks/quality/make_set.py && python benchmarks/quality/make_stereo.py
    python benchmarks/quality/models.py [--data DIR] [--studies drums,stereo,penalties] [--write]

``--write`` puts the table into ``benchmarks/RESULTS.md`` between
``<!-- models:start -->`` and ``<!-- models:end -->`` (the rest of the file is kept).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(ROOT))

import nmfaudio  # noqa: E402
from benchmarks._results import write_section  # noqa: E402
from nmfaudio.separation import stack_channels, unstack_channels  # noqa: E402

DRUMS = ("kick", "snare", "hihat")
PENALTY_CONFIGS = {
    "plain (default)": {},
    "continuity 1e-3": {"continuity": 1e-3},
    "continuity 1e-2": {"continuity": 1e-2},
    "continuity 1e-1": {"continuity": 1e-1},
    "sparsity 0.1": {"sparsity": 0.1},
    "sparsity 1": {"sparsity": 1.0},
    "sparsity 0.1 + continuity 1e-2": {"sparsity": 0.1, "continuity": 1e-2},
}


def bss_sdr(refs, ests, permute):
    from mir_eval.separation import bss_eval_sources
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sdr, _, _, _ = bss_eval_sources(np.asarray(refs, float), np.asarray(ests, float),
                                        compute_permutation=permute)
    return sdr


def read(data, rel):
    return nmfaudio.load(os.path.join(data, rel))


def items_of(data, manifest, kind):
    path = os.path.join(data, manifest)
    if not os.path.isfile(path):
        sys.exit(f"{path} not found (see benchmarks/quality/README.md)")
    with open(path) as f:
        return [it for it in json.load(f)["items"] if it["kind"] == kind]


def study_drums(data):
    rows = {"NMF, drum templates (n_lags=1)": {"n_lags": 1}, "NMFD (split_drums default)": {}}
    res = {}
    for it in items_of(data, "manifest.json", "drums"):
        y, sr = read(data, it["mixture"])
        refs = np.stack([read(data, it["stems"][k])[0] for k in DRUMS])
        for name, kw in rows.items():
            t0 = time.time()
            out = nmfaudio.split_drums(y, sr, **kw)
            dt = time.time() - t0
            sdr = bss_sdr(refs, np.stack([out[k] for k in DRUMS]), permute=False)
            res.setdefault(name, []).append((sdr, dt))
            print(f"  {it['id']} {name:32s} SDR {np.round(sdr, 1)} ({dt:.1f} s)", flush=True)
    table = []
    for name, vals in res.items():
        sdr = np.array([v[0] for v in vals])
        table.append((name, {**{k: sdr[:, i].mean() for i, k in enumerate(DRUMS)},
                             "mean": sdr.mean(), "n": len(vals),
                             "seconds": np.mean([v[1] for v in vals])}))
    return table


def study_stereo(data):
    res = {"joint (shared W, per-channel H)": [], "independent channels": []}
    for it in items_of(data, "manifest_stereo.json", "stereo"):
        y, sr = read(data, it["mixture"])
        refs = np.stack([read(data, p)[0] for p in it["stems"].values()])   # (n_src, 2, n)
        n_src = refs.shape[0]
        t0 = time.time()
        joint = nmfaudio.separate(y, sr, n_sources=n_src)
        t1 = time.time()
        indep = [nmfaudio.separate(y[c], sr, n_sources=n_src) for c in range(y.shape[0])]
        t2 = time.time()
        est_joint = np.stack(list(joint.values()))                          # (n_src, 2, n)
        est_ind = np.stack([np.stack(list(o.values())) for o in indep], axis=1)
        for name, est, dt in (("joint (shared W, per-channel H)", est_joint, t1 - t0),
                              ("independent channels", est_ind, t2 - t1)):
            sdr = np.mean([bss_sdr(refs[:, c], est[:, c], permute=True) for c in range(2)], axis=0)
            res[name].append((sdr.mean(), dt))
            print(f"  {it['id']} {name:32s} SDR {sdr.mean():.2f} ({dt:.1f} s)", flush=True)
    return [(name, {"mean": np.mean([v[0] for v in vals]), "n": len(vals),
                    "seconds": np.mean([v[1] for v in vals])}) for name, vals in res.items()]


def unsupervised(y, sr, n_src, nmf_kwargs, n_fft=2048):
    """The chain of ``separate(y, sr, n_sources=n_src)`` with extra keyword arguments for nmf."""
    params = nmfaudio.STFTParams(n_fft=n_fft)
    S = nmfaudio.stft(y, stft_params=params)
    lead, T = S.shape[:-2], S.shape[-1]
    V = stack_channels(np.abs(S))
    K = 8 * n_src
    res = nmfaudio.nmf(V, K, beta="kl", max_iter=200, tol=1e-4, random_state=0, **nmf_kwargs)
    labels = nmfaudio.group_components(res.W, res.H, n_src, sr=sr, n_fft=n_fft, random_state=0)
    est = np.stack([unstack_channels(res.W[:, labels == s] @ res.H[labels == s], lead, T)
                    for s in range(n_src)])
    parts = nmfaudio.apply_masks(S, nmfaudio.soft_masks(est, mask_power=2.0))
    return np.stack([nmfaudio.istft(p, stft_params=params, length=y.shape[-1]) for p in parts])


def study_penalties(data):
    res = {}
    for it in items_of(data, "manifest.json", "music"):
        y, sr = read(data, it["mixture"])
        refs = np.stack([read(data, p)[0] for p in it["stems"].values()])
        for name, kw in PENALTY_CONFIGS.items():
            t0 = time.time()
            est = unsupervised(y, sr, len(refs), kw)
            dt = time.time() - t0
            sdr = bss_sdr(refs, est, permute=True)
            res.setdefault(name, []).append((sdr.mean(), dt))
            print(f"  {it['id']} {name:32s} SDR {sdr.mean():.2f} ({dt:.1f} s)", flush=True)
    return _penalty_table(res)


def _penalty_table(res):
    base = np.array([v[0] for v in res["plain (default)"]])
    return [(name, {"mean": np.mean([v[0] for v in vals]), "n": len(vals),
                    "better": int(np.sum(np.array([v[0] for v in vals]) > base + 0.05)),
                    "worse": int(np.sum(np.array([v[0] for v in vals]) < base - 0.05)),
                    "seconds": np.mean([v[1] for v in vals])}) for name, vals in res.items()]


def supervised(y, sr, dicts, nmf_kwargs):
    """The chain of ``separate(y, sr, dictionaries=dicts)`` with extra keyword arguments for nmf."""
    from nmfaudio.separate import frame_init

    params = dicts[0].stft
    S = nmfaudio.stft(y, stft_params=params)
    V = np.abs(S)
    if dicts[0].power != 1.0:
        V = V ** dicts[0].power
    W0 = np.concatenate([d.W.astype(V.dtype) for d in dicts], axis=1)
    labels = np.concatenate([np.full(d.n_components, i) for i, d in enumerate(dicts)])
    H0 = frame_init(V, W0.shape[1]).astype(V.dtype)
    res = nmfaudio.nmf(V, W=W0, H=H0, beta=dicts[0].beta, update_W=False, max_iter=100, tol=0,
                       random_state=0, **nmf_kwargs)
    est = np.stack([res.W[:, labels == s] @ res.H[labels == s] for s in range(len(dicts))])
    parts = nmfaudio.apply_masks(S, nmfaudio.soft_masks(est, mask_power=2.0 / dicts[0].power))
    return np.stack([nmfaudio.istft(p, stft_params=params, length=y.shape[-1]) for p in parts])


def study_penalties_supervised(data):
    """Fixed trained dictionaries (the case where the penalised loss provably decreases)."""
    res = {}
    for it in items_of(data, "manifest.json", "music"):
        y, sr = read(data, it["mixture"])
        names = list(it["stems"])
        refs = np.stack([read(data, it["stems"][n])[0] for n in names])
        dicts = [nmfaudio.learn_dictionary(read(data, it["train"][n])[0], sr, name=n)
                 for n in names]
        for name, kw in PENALTY_CONFIGS.items():
            t0 = time.time()
            est = supervised(y, sr, dicts, kw)
            dt = time.time() - t0
            sdr = bss_sdr(refs, est, permute=False)
            res.setdefault(name, []).append((sdr.mean(), dt))
            print(f"  {it['id']} {name:32s} SDR {sdr.mean():.2f} ({dt:.1f} s)", flush=True)
    return _penalty_table(res)


def markdown(results, command):
    lines = ["## Models (issue #9): penalties, convolutive NMF for drums, stereo", "",
             f"`{command}` — {datetime.date.today().isoformat()}, BSS-Eval v3 SDR in dB "
             "(mir_eval `bss_eval_sources`), mean over items; time is wall-clock seconds per "
             "item on the shared 2-vCPU machine, one BLAS thread.", ""]
    if "drums" in results:
        lines += ["**Drums** (8 drum items, 44.1 kHz, 10 s; kick/snare/hi-hat; no training audio):", "",
                  "| method | kick | snare | hi-hat | mean | items | time (s) |",
                  "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
        for name, r in results["drums"]:
            lines.append(f"| {name} | {r['kick']:.2f} | {r['snare']:.2f} | {r['hihat']:.2f} | "
                         f"**{r['mean']:.2f}** | {int(r['n'])} | {r['seconds']:.1f} |")
        lines.append("")
    for key, title in (("stereo", "**Stereo** (8 panned music items, unsupervised, "
                                  "best permutation per channel):"),
                       ("penalties", "**Penalties on H, unsupervised** (8 mono music items, "
                                     "KL NMF, K = 8 per source, best permutation):"),
                       ("penalties_sup", "**Penalties on H, supervised** (8 mono music items, "
                                         "dictionaries learned with `learn_dictionary` defaults "
                                         "on the training clips and kept fixed, 100 iterations):")):
        if key in results:
            pen = key.startswith("penalties")
            lines += [title, "", "| method | SDR | items" + (" | better / worse than plain" if pen else "")
                      + " | time (s) |", "| --- | ---: | ---: |" + (" ---: |" if pen else "") + " ---: |"]
            for name, r in results[key]:
                bw = f" | {int(r['better'])} / {int(r['worse'])}" if pen and "better" in r else (" | " if pen else "")
                lines.append(f"| {name} | {r['mean']:.2f} | {int(r['n'])}{bw} | {r['seconds']:.1f} |")
            lines.append("")
    lines += ["**What is default, and why.**", ""]
    if "drums" in results:
        d = dict(results["drums"])
        nmfd_, nmf_ = d.get("NMFD (split_drums default)"), d.get("NMF, drum templates (n_lags=1)")
        if nmfd_ and nmf_:
            lines.append(f"- Drums: convolutive NMF is the `split_drums` default "
                         f"({nmfd_['mean']:.1f} dB vs {nmf_['mean']:.1f} dB for one-frame templates, "
                         f"{nmfd_['mean'] - nmf_['mean']:+.1f} dB).")
    if "stereo" in results:
        d = dict(results["stereo"])
        j, i = d.get("joint (shared W, per-channel H)"), d.get("independent channels")
        if j and i:
            verdict = "stays the default" if j["mean"] >= i["mean"] else "measures worse"
            lines.append(f"- Stereo: joint factorisation {verdict} ({j['mean']:.2f} vs "
                         f"{i['mean']:.2f} dB, {j['mean'] - i['mean']:+.2f} dB; it also keeps the "
                         "sources matched across channels, which independent processing does not).")
    for key, what in (("penalties", "unsupervised"), ("penalties_sup", "supervised")):
        if key in results:
            d = dict(results[key])
            base = d["plain (default)"]["mean"]
            others = [(n, r) for n, r in d.items() if n != "plain (default)"]
            best_n, best_r = max(others, key=lambda x: x[1]["mean"])
            worst_n, worst_r = min(others, key=lambda x: x[1]["mean"])
            if best_r["mean"] - base < 0.05:
                lines.append(f"- Penalties, {what}: no weight improves on the plain engine "
                             f"({base:.2f} dB; best `{best_n}` {best_r['mean']:.2f} dB, worst "
                             f"`{worst_n}` {worst_r['mean']:.2f} dB); left off by default.")
            else:
                lines.append(f"- Penalties, {what}: best `{best_n}` at {best_r['mean']:.2f} dB vs "
                             f"{base:.2f} dB plain ({best_r['mean'] - base:+.2f} dB, better on "
                             f"{int(best_r['better'])} and worse on {int(best_r['worse'])} of "
                             f"{int(best_r['n'])} items; worst `{worst_n}` {worst_r['mean']:.2f} dB); "
                             "left off by default: the gain is carried by few items, where the "
                             "component grouping into sources changes, not by a consistently "
                             "better fit.")
    if "penalties" in results or "penalties_sup" in results:
        lines.append("- Why L1 sparsity barely moves the KL results: with unit-L1 templates "
                     "Σ H = Σ W H, which the KL fit pins near Σ V, so the L1 term is almost a "
                     "constant; continuity reshapes H but does not fix grouping errors.")
    return "\n".join(lines) + "\n"


def main(argv=None):
    ap = argparse.ArgumentParser(description="Measured effect of the issue #9 models.")
    ap.add_argument("--data", default=str(HERE / "data"))
    ap.add_argument("--studies", default="drums,stereo,penalties,penalties_sup")
    ap.add_argument("--write", action="store_true", help="update benchmarks/RESULTS.md")
    ap.add_argument("--cache", default=None, metavar="JSON",
                    help="merge the results into this JSON file and report every study in it "
                         "(lets studies run in separate processes)")
    args = ap.parse_args(argv)
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)
    studies = {"drums": study_drums, "stereo": study_stereo, "penalties": study_penalties,
               "penalties_sup": study_penalties_supervised}
    results = {}
    for name in [s for s in args.studies.split(",") if s]:
        print(f"[{name}]", flush=True)
        results[name] = studies[name](args.data)
    if args.cache:
        cache = json.loads(Path(args.cache).read_text()) if os.path.exists(args.cache) else {}
        cache.update({k: [[n, {m: float(x) for m, x in r.items()}] for n, r in v]
                      for k, v in results.items()})
        tmp = Path(args.cache + ".tmp")
        tmp.write_text(json.dumps(cache, indent=1))
        os.replace(tmp, args.cache)
        order = ["drums", "stereo", "penalties", "penalties_sup"]
        results = {k: cache[k] for k in order if k in cache}
    md = markdown(results, "python benchmarks/quality/models.py")
    print(md)
    if args.write:
        print(f"written to {write_section('models', md)}")


if __name__ == "__main__":
    main()
