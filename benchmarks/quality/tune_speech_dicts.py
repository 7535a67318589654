#!/usr/bin/env python
"""Why is plain librosa + scikit-learn NMF as good as nmfaudio with speech + noise dictionaries?

    python benchmarks/quality/tune_speech_dicts.py [--part tune] [--jobs 2] [--recipes A,B]

Issue #14 item 6. Each *recipe* is one pipeline "train a dictionary per source on its training
clip, keep the templates fixed, solve the activations on the mixture, Wiener mask (power 2)";
the recipes differ from each other by one piece at a time, going from ``run.py``'s
``plain-sklearn`` (scikit-learn ``NMF(solver="mu", beta_loss="kullback-leibler")``, K = 16,
its default 200 iterations and NNDSVDA initialisation; ``non_negative_factorization`` with the
templates fixed for the activations) to ``nmfaudio-supervised`` (``learn_dictionary``
defaults: β = 0.5, random initialisation, ±1…±4-semitone copies; ``separate``'s 20 accelerated
iterations). The STFT is nmfaudio's default at 22.05 kHz (2048 / 512, Hann, centred), which is
bit-identical to librosa's ``stft(n_fft=2048, hop_length=512)`` (checked at the start).

Prints one markdown row per recipe: mean / median SDR, SI-SDR, STOI, PESQ-WB of the speech over
the part's items, and how many items beat ``plain-sklearn`` / ``nmfaudio-supervised`` on SDR by
more than 0.05 dB. Choose on ``tune`` (the default); ``--part test`` is for reporting a choice.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))
sys.path.insert(0, str(HERE))

import nmfaudio  # noqa: E402
from nmfaudio.dictionary import DEFAULT_PITCH_SHIFTS, SourceDictionary, default_stft  # noqa: E402
from nmfaudio.supervised import separate_supervised_spectrogram  # noqa: E402
import run  # noqa: E402

SHIFTS = tuple(DEFAULT_PITCH_SHIFTS)
#: piece -> value of nmfaudio-supervised (``N``); plain-sklearn (``P``) differs in every piece.
N = {"train": "nmfaudio", "init": "random", "seed": 0, "beta": 0.5, "shifts": SHIFTS, "K": 16,
     "train_iter": 200, "norm": True, "sep": "nmfaudio", "sep_iter": None, "accelerate": None}
P = {"train": "sklearn", "init": "nndsvda", "seed": 0, "beta": "kl", "shifts": (), "K": 16,
     "train_iter": 200, "norm": False, "sep": "sklearn", "sep_iter": 200, "accelerate": False}


def _r(base, **kw):
    return {**base, **kw}


#: name -> recipe. ``P*`` start from plain-sklearn, ``N*`` from nmfaudio-supervised.
RECIPES = {
    "P = plain-sklearn replica": P,
    "P + nmfaudio separation (20 acc.)": _r(P, sep="nmfaudio", sep_iter=None, accelerate=None),
    "P + nmfaudio separation (200 plain)": _r(P, sep="nmfaudio", sep_iter=200, accelerate=False),
    "P + nmfaudio training (nndsvda)": _r(P, train="nmfaudio"),
    "P + nmfaudio training (random init)": _r(P, train="nmfaudio", init="random"),
    "P + unit-sum templates": _r(P, norm=True),
    "P + unit-sum templates + nmfaudio separation": _r(P, norm=True, sep="nmfaudio", sep_iter=None,
                                                       accelerate=None),
    "P + β 0.5": _r(P, beta=0.5),
    "P + pitch copies": _r(P, shifts=SHIFTS),
    "N = nmfaudio-supervised replica": N,
    "N + no pitch copies": _r(N, shifts=()),
    "N + KL": _r(N, beta="kl"),
    "N + nndsvda init": _r(N, init="nndsvda"),
    "N + sklearn training": _r(N, train="sklearn", init="nndsvda"),
    "N + sklearn separation": _r(N, sep="sklearn", sep_iter=200),
    "N + separation 100 acc.": _r(N, sep_iter=100),
    "N + raw templates": _r(N, norm=False),
    "N + no copies + KL": _r(N, shifts=(), beta="kl"),
    "N + no copies + KL + nndsvda": _r(N, shifts=(), beta="kl", init="nndsvda"),
    # the spread that the random initialisation alone gives (training seed)
    "N + seed 1": _r(N, seed=1),
    "N + seed 2": _r(N, seed=2),
}


def _sk_beta(beta):
    return "kullback-leibler" if beta == "kl" else float(beta)


def templates(clip, sr, r):
    """Templates ``(n_freq, K (1 + len(shifts)))`` learned from ``clip`` by the recipe."""
    params = default_stft(sr)
    if r["train"] == "nmfaudio":  # what learn_dictionary does, with the init exposed
        _, V = nmfaudio.dictionary.spectrogram(clip.astype(np.float32), stft_params=params)
        res = nmfaudio.nmf(V, r["K"], beta=r["beta"], init=r["init"], max_iter=r["train_iter"],
                           tol=1e-4, random_state=r["seed"])
        W = res.W.astype(np.float64)
    else:
        from sklearn.decomposition import NMF
        from sklearn.exceptions import ConvergenceWarning

        X = np.abs(nmfaudio.stft(clip, stft_params=params)).T.astype(np.float64)
        init = None if r["init"] == "nndsvda" else "random"  # sklearn's default is nndsvda here
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            m = NMF(n_components=r["K"], solver="mu", beta_loss=_sk_beta(r["beta"]), init=init,
                    max_iter=r["train_iter"], random_state=r["seed"]).fit(X)
        W = m.components_.T.astype(np.float64)
    if r["shifts"]:
        W = np.concatenate([W] + nmfaudio.dictionary._pitch_shifted(W, list(r["shifts"])), axis=1)
    if r["norm"]:
        n = W.sum(axis=0)
        W = W / np.where(n > 0, n, 1.0)
    return W


def separate(item, Ws, r):
    """Speech and noise estimates ``(2, n)`` in item order."""
    params = default_stft(item.sr)
    S = nmfaudio.stft(item.mixture, stft_params=params)
    if r["sep"] == "nmfaudio":
        # SourceDictionary stores float32 templates: one common scale for all of them (the
        # relative scales of the templates change the solver's starting point, a common one
        # does not), so that unnormalised sklearn templates do not underflow.
        top = max(W.max() for W in Ws)
        dicts = [SourceDictionary(name=n, W=W / top, sr=item.sr, stft=params,
                                  beta=r["beta"] if r["beta"] != "kl" else 1.0)
                 for n, W in zip(item.names, Ws)]
        sep = separate_supervised_spectrogram(S, dicts, max_iter=r["sep_iter"],
                                              accelerate=r["accelerate"])
        S_src = sep.S_sources
    else:
        from sklearn.decomposition import non_negative_factorization
        from sklearn.exceptions import ConvergenceWarning

        Hfix = np.concatenate([W.T for W in Ws])                       # (K_total, n_freq)
        X = np.abs(S).T.astype(np.float64)                              # (n_frames, n_freq)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            A, _, _ = non_negative_factorization(X, H=Hfix, n_components=Hfix.shape[0],
                                                 update_H=False, solver="mu",
                                                 beta_loss=_sk_beta(r["beta"]),
                                                 max_iter=r["sep_iter"])
        edges = np.cumsum([0] + [W.shape[1] for W in Ws])
        est = np.stack([(A[:, a:b] @ Hfix[a:b]).T for a, b in zip(edges[:-1], edges[1:])])
        P2 = est ** 2
        den = P2.sum(axis=0)
        masks = np.where(den > 0, P2 / np.where(den > 0, den, 1), 1.0 / len(Ws))
        S_src = masks * S
    return np.stack([nmfaudio.istft(s, stft_params=params, length=item.mixture.size)
                     for s in S_src]).astype(np.float32)


def run_item(data_dir, entry, names):
    run._limit_threads(1)
    item = run.load_item(data_dir, entry)
    mix, _ = run._score(item, np.stack([item.mixture] * 2), False)
    rows = {}
    for name in names:
        r = RECIPES[name]
        t0 = time.process_time()
        Ws = [templates(item.train[n], item.sr, r) for n in item.names]
        est = separate(item, Ws, r)
        cpu = time.process_time() - t0
        m, _ = run._score(item, est, False, mix)
        rows[name] = {k: m.get(k) for k in ("sdr", "si_sdr", "stoi", "pesq", "stoi_improvement")}
        rows[name]["cpu"] = cpu
    # the benchmark's own methods, as references for the replicas
    for name in ("plain-sklearn", "nmfaudio-supervised"):
        m, _ = run._score(item, run.METHODS[name].fn(item), False, mix)
        rows["run.py " + name] = {k: m.get(k) for k in ("sdr", "si_sdr", "stoi", "pesq",
                                                         "stoi_improvement")}
    print(f"  {item.id} done", file=sys.stderr)
    return item.id, rows


def check_stft_identity():
    import librosa

    y = np.random.default_rng(0).standard_normal(22050).astype(np.float32)
    a = nmfaudio.stft(y, stft_params=default_stft(22050))
    b = librosa.stft(y, n_fft=2048, hop_length=512)
    return float(np.abs(a - b).max())


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, default=run.DEFAULT_DATA)
    p.add_argument("--part", choices=("tune", "test"), default="tune")
    p.add_argument("--jobs", type=int, default=1)
    p.add_argument("--items", type=run._csv, default=None)
    p.add_argument("--recipes", type=run._csv, default=None, metavar="A,B",
                   help="recipe names (default all): " + "; ".join(RECIPES))
    args = p.parse_args(argv)
    names = args.recipes or list(RECIPES)
    bad = [n for n in names if n not in RECIPES]
    if bad:
        p.error(f"unknown recipe(s) {bad}")
    entries = [e for e in run.read_manifest(args.data)["items"]
               if e["kind"] == "speech" and e.get("part") == args.part
               and (not args.items or e["id"] in args.items)]
    print(f"STFT nmfaudio vs librosa, max |difference|: {check_stft_identity():.3g}", file=sys.stderr)
    if args.jobs > 1:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(args.jobs) as pool:
            results = list(pool.map(run_item, [args.data] * len(entries), entries,
                                    [names] * len(entries)))
    else:
        results = [run_item(args.data, e, names) for e in entries]
    per = dict(results)
    order = ["run.py plain-sklearn", "run.py nmfaudio-supervised"] + names
    ref_p, ref_n = "run.py plain-sklearn", "run.py nmfaudio-supervised"
    print(f"`{args.part}: {len(per)} speech items`\n")
    print("| recipe | SDR mean | median | SI-SDR mean | STOI mean | PESQ mean | SDR > plain-sklearn "
          "| SDR > nmfaudio-supervised | harmed | CPU s / item |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name in order:
        vals = {k: [per[i][name][k] for i in per] for k in ("sdr", "si_sdr", "stoi", "pesq")}
        better = lambda ref: sum(per[i][name]["sdr"] > per[i][ref]["sdr"] + 0.05 for i in per)  # noqa: E731
        harmed = sum(per[i][name]["stoi_improvement"] < -run.HARM for i in per)
        cpu = [per[i][name].get("cpu") for i in per]
        cpu_s = f"{np.median(cpu):.2f}" if None not in cpu else "—"
        print(f"| {name} | {np.mean(vals['sdr']):.2f} | {np.median(vals['sdr']):.2f} | "
              f"{np.mean(vals['si_sdr']):.2f} | {np.mean(vals['stoi']):.3f} | "
              f"{np.mean(vals['pesq']):.2f} | {better(ref_p)}/{len(per)} | {better(ref_n)}/{len(per)} "
              f"| {harmed} | {cpu_s} |")
    print("\nPer item SDR:\n")
    print("| item | " + " | ".join(order) + " |")
    print("|---|" + "---:|" * len(order))
    for i in per:
        print(f"| {i} | " + " | ".join(f"{per[i][n]['sdr']:.1f}" for n in order) + " |")


if __name__ == "__main__":
    main()
