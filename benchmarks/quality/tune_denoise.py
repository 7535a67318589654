#!/usr/bin/env python
"""Tune the offline denoiser (nmfaudio.denoise) on the *tune* part only.

    python benchmarks/quality/tune_denoise.py --mode noise|blind|dicts [--fit NAME] [--post NAME]

Each *fit* setting (module constants of nmfaudio.denoise and denoise() options that change the
factorisation) is fitted once per item; each *post* setting (mask power, gain floor, gain
smoothing, POSTFILTER) then only re-masks. Prints one markdown row per (fit, post) setting: mean
and median SDR / SI-SDR / STOI / PESQ-WB of the speech over the 18 tune items, how many items beat
the first row's SDR, and how many are harmed (STOI < noisy STOI − 0.02). The test part is read
only with ``--part test`` (meant for one chosen setting, ``--rows``, once it has won on tune).
"""

from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))
sys.path.insert(0, str(HERE))

import nmfaudio  # noqa: E402
dn = sys.modules["nmfaudio.denoise"]
import run  # noqa: E402

#: the babble guard of nmfaudio._second_pass off (the default before 2026-12-08)
_NOGUARD = {"GUARD_SPREAD_BLIND": None, "GUARD_SPREAD_SAMPLE": None}
#: fit grids: list of dicts; keys are nmfaudio.denoise constants (UPPER; GUARD_*: nmfaudio._second_pass's)
#: or denoise() options.
FIT_GRIDS = {
    "base": [{}],
    "usm": [{"USM_LAMBDA": None}, {"USM_LAMBDA": 0.1, "USM_UNIT": "all"}, {"USM_LAMBDA": 0.2, "USM_UNIT": "all"}],
    "usm-unit": [{"USM_LAMBDA": None}, {"USM_LAMBDA": 0.2, "USM_UNIT": "all"}, {"USM_LAMBDA": 0.1, "USM_UNIT": "speech"},
                 {"USM_LAMBDA": 0.2, "USM_UNIT": "speech"}, {"USM_LAMBDA": 0.4, "USM_UNIT": "speech"}],
    "usm-chosen": [{"USM_LAMBDA": None}, {}],
    # blind: one pass vs the second pass with the noise of the quietest frames (the default)
    "second-pass": [{"BLIND_SECOND_PASS": None}, {}],
    # noise sample / region: one pass vs the second pass on the clip + quietest 15 % (the default)
    "sample-pass": [{"SAMPLE_SECOND_PASS": None}, {}],
    "default": [{}],
    "usm-free": [{}, {"sparsity": 0.05}, {"sparsity": 0.2}, {"n_speech_components": 24},
                 {"n_speech_components": 48}],
    "usm-unit2": [{"USM_LAMBDA": None}, {"USM_LAMBDA": 0.6, "USM_UNIT": "speech"},
                  {"USM_LAMBDA": 0.8, "USM_UNIT": "speech"}, {"USM_LAMBDA": 1.2, "USM_UNIT": "speech"}],
    "prior": [{}, {"SPEECH_PRIOR": "init"}, {"SPEECH_PRIOR": "fixed", "n_speech_components": 16}],
    "blind": [{"BLIND_NOISE": "quiet"}, {"BLIND_NOISE": "minstat"}],
    "iter": [{}, {"max_iter": 50}, {"max_iter": 200}],
    "round2": [{}, {"n_speech_components": 16}, {"n_speech_components": 24}, {"sparsity": 0.05},
               {"sparsity": 0.15}, {"hop_length": 256}, {"seeds": 3}],
    "iter-minstat": [{"BLIND_NOISE": "minstat"}, {"BLIND_NOISE": "minstat", "max_iter": 200},
                     {"BLIND_NOISE": "minstat", "MINSTAT_SECONDS": 3.0},
                     {"BLIND_NOISE": "minstat", "MINSTAT_PERCENTILE": 20}],
    "model": [{}, {"BETA": 0.5}, {"BETA": 0.0}, {"n_fft": 1024}, {"n_fft": 4096},
              {"n_noise_components": 8}, {"n_noise_components": 32},
              {"n_speech_components": 64}, {"sparsity": 0.0}, {"sparsity": 0.3}],
    # temporal context (issue #14): frames stacked c each side (nmfaudio._context); stacked
    # templates are richer, hence also more speech components; n_speech_components 64 alone as
    # the control; "centre" reads the middle block of the stacked model instead of the mean.
    "context": [{}, {"CONTEXT": 1}, {"CONTEXT": 2}, {"CONTEXT": 3},
                {"CONTEXT": 1, "n_speech_components": 48}, {"CONTEXT": 2, "n_speech_components": 48},
                {"CONTEXT": 2, "n_speech_components": 64}, {"CONTEXT": 3, "n_speech_components": 64},
                {"CONTEXT": 2, "CONTEXT_READ": "centre"}, {"n_speech_components": 64}],
    # second pass after "context" (more speech components lost): fewer of them, more noise ones
    "context2": [{}, {"CONTEXT": 1, "n_speech_components": 24}, {"CONTEXT": 1, "n_speech_components": 16},
                 {"CONTEXT": 1, "n_noise_components": 32}, {"CONTEXT": 2, "n_noise_components": 32},
                 {"CONTEXT": 2, "n_speech_components": 16, "n_noise_components": 32}],
    # third round (2026-12-04): the near-misses of the earlier rounds together (24 speech
    # components +0.16, sparsity 0.15 +0.25, CONTEXT 1 + 24 components +0.27)
    "round3": [{}, {"n_speech_components": 24, "sparsity": 0.15},
               {"n_speech_components": 24, "sparsity": 0.15, "CONTEXT": 1},
               {"n_speech_components": 24, "sparsity": 0.2}],
    # the best rows of "context" / "context2" in --mode blind (stacked min-statistics floor)
    "context-best": [{}, {"CONTEXT": 1}, {"CONTEXT": 1, "n_speech_components": 24}, {"CONTEXT": 2}],
    # blind do-no-harm (2026-12-04): the harmed tune items are babble and traffic, whose floor
    # has a speech-like spectrum; fewer / coarser floor templates, other floor windows
    "blind-harm": [{}, {"n_noise_components": 4}, {"n_noise_components": 8},
                   {"MINSTAT_SECONDS": 3.0}, {"MINSTAT_PERCENTILE": 5},
                   {"MINSTAT_SECONDS": 3.0, "n_noise_components": 8}],
    "blind-harm2": [{}, {"MINSTAT_SECONDS": 3.0, "n_noise_components": 12},
                    {"MINSTAT_SECONDS": 4.5}, {"MINSTAT_SECONDS": 4.5, "n_noise_components": 8},
                    {"MINSTAT_SECONDS": 4.5, "n_noise_components": 12}],
    # chosen on tune by the do-no-harm rule (fewest harmed items, SDR and STOI not lower)
    "blind-harm-chosen": [{}, {"MINSTAT_SECONDS": 4.5}],
    # after the floor's window became truncated at the signal's ends (instead of repeating the
    # edge frame) and per channel, with 4.5 s the default: the old 1.5 s as the first row
    "blind-window": [{"MINSTAT_SECONDS": 1.5}, {"MINSTAT_SECONDS": 4.5}, {"MINSTAT_SECONDS": 3.0},
                     {"MINSTAT_SECONDS": 6.0}],
    "blind-window-chosen": [{"MINSTAT_SECONDS": 1.5}, {"MINSTAT_SECONDS": 3.0}],
    # cost of the blind floor templates (local models fit one per 10-s segment)
    "blind-floor-cost": [{}, {"BLIND_FLOOR_STEP": 4}, {"BLIND_FLOOR_ITER": 100},
                         {"BLIND_FLOOR_STEP": 4, "BLIND_FLOOR_ITER": 100}, {"max_iter": 50},
                         {"BLIND_FLOOR_STEP": 4, "BLIND_FLOOR_ITER": 100, "max_iter": 50}],
    # do no harm on babble (hard_items.py, 2026-12-08): which piece lowers STOI there
    # the same guard (nmfaudio._second_pass: no speech-free frames -> no second pass, softer estimates)
    "guard": [{"GUARD_SHARE_BLIND": None, "GUARD_SHARE_SAMPLE": None, "GUARD_SPREAD_BLIND": None,
               "GUARD_SPREAD_SAMPLE": None}] + [
        {"GUARD_SHARE_BLIND": t, "GUARD_SHARE_SAMPLE": t, "GUARD_FLOOR_DB": None, "GUARD_SKIP": True,
         "GUARD_SPREAD_BLIND": None, "GUARD_SPREAD_SAMPLE": None, **g} for t in (0.1, 0.15, 0.2) for g in (
            {}, {"GUARD_POWER": 0.75}, {"GUARD_FLOOR_DB": -15.0}, {"GUARD_FLOOR_DB": -10.0})],
    # the guard triggered by the spread of the noise frames (babble: many spectra), thresholds in the
    # middle of the tune part's gap (blind 0.108 -> 0.164, with a sample 0.206 -> 0.303)
    "guard-spread": [{"GUARD_SPREAD_BLIND": None, "GUARD_SPREAD_SAMPLE": None}] + [
        {"GUARD_SPREAD_BLIND": 0.135, "GUARD_SPREAD_SAMPLE": 0.25, **g} for g in (
        {"GUARD_FLOOR_DB": -10.0, "GUARD_SKIP": True}, {"GUARD_FLOOR_DB": -15.0, "GUARD_SKIP": True},
        {"GUARD_FLOOR_DB": None, "GUARD_POWER": 0.75, "GUARD_SKIP": True},
        {"GUARD_FLOOR_DB": -10.0, "GUARD_SKIP": False})],
    "guard-spread-chosen": [{"GUARD_SPREAD_BLIND": None, "GUARD_SPREAD_SAMPLE": None},
                            {"GUARD_SPREAD_BLIND": 0.135, "GUARD_SPREAD_SAMPLE": 0.25, "GUARD_FLOOR_DB": -10.0,
                             "GUARD_SKIP": False}],
    "guard-chosen": [{"GUARD_SPREAD_BLIND": None, "GUARD_SPREAD_SAMPLE": None},
                     {"GUARD_SHARE_BLIND": 0.15, "GUARD_SHARE_SAMPLE": 0.2, "GUARD_FLOOR_DB": -10.0, "GUARD_SKIP": True,
                      "GUARD_SPREAD_BLIND": None, "GUARD_SPREAD_SAMPLE": None}],
    # (run before the spread guard was on: it is off in every row)
    "harm-diag": [{**_NOGUARD, **r} for r in ({}, {"BLIND_SECOND_PASS": None, "SAMPLE_SECOND_PASS": None},
                                              {"USM_LAMBDA": None},
                                              {"BLIND_SECOND_PASS": None, "SAMPLE_SECOND_PASS": None, "USM_LAMBDA": None})],
}
#: "dicts" mode (nmfaudio.separate with speech + noise dictionaries): learn_dictionary options
#: for the speech dictionary ("speech_" prefix) and both (no prefix).
DICT_GRIDS = {
    "dicts": [{}, {"pitch_shifts": ()}, {"pitch_shifts": (), "beta": "kl"},
              {"pitch_shifts": (), "speech_n_components": 32},
              {"pitch_shifts": (), "beta": "kl", "speech_n_components": 32}],
    # through nmfaudio.denoise: the speech dictionary with the noise sample (learned as denoise
    # learns it), with and without the universal speech model beside the speaker's templates
    "dict-voices": [{}, {"via": "denoise"}, {"via": "denoise", "USM_WITH_SPEECH_DICTIONARY": True},
                    {"via": "denoise", "USM_WITH_SPEECH_DICTIONARY": True, "pitch_shifts": ()},
                    {"via": "denoise", "USM_WITH_SPEECH_DICTIONARY": True, "pitch_shifts": (), "beta": "kl"},
                    {"via": "denoise-noise"}],
    "dict-voices2": [{"via": "denoise", "USM_WITH_SPEECH_DICTIONARY": False},
                     {"via": "denoise", "USM_WITH_SPEECH_DICTIONARY": True}],
    # "denoise-dicts": both dictionaries from learn_dictionary's defaults on the two clips
    "dict-voices3": [{}, {"via": "denoise", "USM_WITH_SPEECH_DICTIONARY": False},
                     {"via": "denoise", "USM_WITH_SPEECH_DICTIONARY": True},
                     {"via": "denoise-dicts", "USM_WITH_SPEECH_DICTIONARY": False},
                     {"via": "denoise-dicts", "USM_WITH_SPEECH_DICTIONARY": True}, {"via": "denoise-noise"}],
    "dicts2": [{}, {"speech_n_components": 32}, {"n_components": 32}, {"sep_adapt": 10},
               {"pitch_shifts": (), "speech_n_components": 64}],
}
#: post grids: mask_power, GAIN_FLOOR_DB, GAIN_SMOOTH
POST_GRIDS = {
    "base": {"mask_power": [2.0], "GAIN_FLOOR_DB": [None], "GAIN_SMOOTH": [0]},
    "power": {"mask_power": [1.0, 2.0], "GAIN_FLOOR_DB": [None], "GAIN_SMOOTH": [0]},
    "one": {"mask_power": [1.0], "GAIN_FLOOR_DB": [None], "GAIN_SMOOTH": [0]},
    "power3": {"mask_power": [1.0, 1.5, 2.0], "GAIN_FLOOR_DB": [None], "GAIN_SMOOTH": [0]},
    "wide": {"mask_power": [1.0, 2.0], "GAIN_FLOOR_DB": [None, -20.0, -14.0], "GAIN_SMOOTH": [0, 1]},
    "floor": {"mask_power": [1.0, 2.0], "GAIN_FLOOR_DB": [None, -25.0, -20.0, -15.0, -10.0],
              "GAIN_SMOOTH": [0]},
    "harm-post": {"mask_power": [1.0, 0.75], "GAIN_FLOOR_DB": [None, -20.0, -15.0, -10.0], "GAIN_SMOOTH": [0, 1]},
    "floor1": {"mask_power": [1.0], "GAIN_FLOOR_DB": [None, -20.0, -15.0, -10.0], "GAIN_SMOOTH": [0, 1]},
}
#: post grids given as rows (a list): POSTFILTER settings (nmfaudio._postfilter) after today's
#: default row. "dd": rule x alpha x xi_min x gain floor (37 rows, the coarse pass).
_DEFAULT_POST = {"mask_power": 1.0, "GAIN_FLOOR_DB": None, "GAIN_SMOOTH": 0, "POSTFILTER": None}
POST_GRIDS["dd"] = [_DEFAULT_POST] + [
    {**_DEFAULT_POST, "POSTFILTER": {"rule": r, "alpha": a, "xi_min_db": x, "gain_min_db": g}}
    for r in ("wiener", "lsa", "model") for a in (0.9, 0.95, 0.98) for x in (-25.0, -15.0)
    for g in (None, -20.0)]
#: "dd2", the second pass after "dd" lost everywhere: noise power scaled up (4/π turns a squared
#: mean magnitude into a power; 2 over-subtracts), less smoothing of the model's ξ, and the LSA
#: gain on the model's ξ; ξ_min -25 dB and no gain floor (the floor cost SDR in every "dd" row).
_PF = {"xi_min_db": -25.0, "gain_min_db": None}
POST_GRIDS["dd2"] = [_DEFAULT_POST] + [
    {**_DEFAULT_POST, "POSTFILTER": {**_PF, **pf}} for pf in (
        [{"rule": r, "alpha": a, "noise_scale": k} for r, alphas in
         (("wiener", (0.9, 0.95, 0.98)), ("lsa", (0.95, 0.98))) for a in alphas
         for k in (4 / np.pi, 2.0)]
        + [{"rule": "model", "alpha": a} for a in (0.5, 0.7)]
        + [{"rule": "model-lsa", "alpha": a} for a in (0.5, 0.9)])]


def _fit_item(item, mode, fit):
    consts = {k: v for k, v in fit.items() if k.isupper()}
    opts = {k: v for k, v in fit.items() if not k.isupper()}
    from nmfaudio import _second_pass as sp

    mod = {k: (sp if k.startswith("GUARD_") else dn) for k in consts}
    saved = {k: getattr(mod[k], k) for k in consts}
    try:
        for k, v in consts.items():
            setattr(mod[k], k, v)
        y, sr = item.mixture, item.sr
        params = dn.default_denoise_stft(sr)
        if "n_fft" in opts or "hop_length" in opts:
            params = nmfaudio.STFTParams(n_fft=opts.pop("n_fft", params.n_fft),
                                         hop_length=opts.pop("hop_length", params.hop_length))
        noise = None
        if mode in ("noise", "region"):
            noise = item.train["noise"]
        if mode == "region":  # the clip in front of the mixture, as run.py's region method does
            y = np.concatenate([noise, y])
        ests = []
        for seed in range(opts.get("seeds", 1)):  # seeds > 1: the models of several starts averaged
            S, est, power = dn._fit(y, sr, params, noise, None, None,
                                    Kn=opts.get("n_noise_components", dn.NOISE_COMPONENTS),
                                    Ks=opts.get("n_speech_components", dn.SPEECH_COMPONENTS),
                                    sparsity=opts.get("sparsity", dn.SPARSITY),
                                    max_iter=opts.get("max_iter", dn.DENOISE_ITER), random_state=seed)
            ests.append(est)
        est = np.mean(ests, axis=0)
    finally:
        for k, v in saved.items():
            setattr(mod[k], k, v)
    return S, est, power, params


def _dicts(item, setting):
    """separate() with a speech and a noise dictionary learned with ``setting``; ``via``
    "denoise": denoise() with the speech dictionary and the noise sample ("denoise-noise": the
    noise sample alone, for reference); upper-case keys set nmfaudio.denoise constants."""
    consts = {k: v for k, v in setting.items() if k.isupper()}
    setting = {k: v for k, v in setting.items() if not k.isupper()}
    via = setting.pop("via", None)
    if via is not None:
        saved = {k: getattr(dn, k) for k in consts}
        try:
            for k, v in consts.items():
                setattr(dn, k, v)
            sd = None
            if via in ("denoise", "denoise-dicts"):
                sd = nmfaudio.learn_dictionary(item.train["speech"], item.sr, name="speech", **setting)
            if via == "denoise-dicts":
                nd = nmfaudio.learn_dictionary(item.train["noise"], item.sr, name="noise", **setting)
                return nmfaudio.denoise(item.mixture, item.sr, noise_dictionary=nd, speech_dictionary=sd)
            return nmfaudio.denoise(item.mixture, item.sr, noise=item.train["noise"], speech_dictionary=sd)
        finally:
            for k, v in saved.items():
                setattr(dn, k, v)
    dicts = []
    for n in item.names:
        kw = {k: v for k, v in setting.items() if not k.startswith(("speech_", "sep_"))}
        if n == "speech":
            kw.update({k[len("speech_"):]: v for k, v in setting.items() if k.startswith("speech_")})
        dicts.append(nmfaudio.learn_dictionary(item.train[n], item.sr, name=n, **kw))
    sep = {k[len("sep_"):]: v for k, v in setting.items() if k.startswith("sep_")}
    return nmfaudio.separate(item.mixture, item.sr, dictionaries=dicts, **sep)["speech"]


def _score(item, clean, mix):
    out, _ = run._score(item, run._speech_and_rest(item, clean), False, mix)
    return out


def _pf_label(pf):
    """Short label of a POSTFILTER setting: rule α ξ_min/G_min (dB)."""
    if pf is None:
        return "none (soft mask)"
    if isinstance(pf, str):
        return pf
    extra = {k: v for k, v in pf.items() if k not in ("rule", "alpha", "xi_min_db", "gain_min_db")}
    return (f"{pf['rule']} α={pf.get('alpha', 0.98):g} ξmin={pf.get('xi_min_db', -25.0):g} "
            f"Gmin={pf.get('gain_min_db')}" + (f" {extra}" if extra else ""))


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", choices=["noise", "region", "blind", "dicts"], default="noise",
                    help="region: the noise clip put in front of the mixture and used as the noise sample "
                         "(what noise_region learns from), the output cropped to the mixture")
    ap.add_argument("--fit", choices=sorted(FIT_GRIDS) + sorted(DICT_GRIDS), default="base",
                    help="fit grid (dicts mode: 'dicts' or 'dicts2')")
    ap.add_argument("--post", choices=sorted(POST_GRIDS), default="base")
    ap.add_argument("--items", type=int, default=None, help="first N items only")
    ap.add_argument("--rows", default=None,
                    help="comma-separated row indices of the post grid to run (e.g. 0,7)")
    ap.add_argument("--part", choices=["tune", "test"], default="tune",
                    help="benchmark part (test: only for a setting that already won on tune)")
    ap.add_argument("--json", default=None, help="also write the per-item scores of every row here")
    ap.add_argument("--data", type=Path, nargs="+", default=[run.DEFAULT_DATA],
                    help="set folders (default data/; e.g. also data-hard/ of hard_items.py)")
    args = ap.parse_args(argv)
    run._limit_threads(1)
    entries = [(d, e) for d in args.data for e in run.read_manifest(d)["items"]
               if e["kind"] == "speech" and e.get("part") == args.part][:args.items]
    fits = DICT_GRIDS[args.fit] if args.mode == "dicts" else FIT_GRIDS[args.fit]
    pg = POST_GRIDS["base" if args.mode == "dicts" else args.post]
    posts = (list(pg) if isinstance(pg, list)
             else [dict(zip(pg, v)) for v in itertools.product(*pg.values())])
    if args.rows:
        posts = [posts[int(r)] for r in args.rows.split(",")]
    with_pf = any(p.get("POSTFILTER") is not None for p in posts)
    scores = {}  # (fit index, post index) -> list of metric dicts
    for data, e in entries:
        item = run.load_item(data, e)
        mix, _ = run._score(item, np.stack([item.mixture] * len(item.names)), False)
        for i, fit in enumerate(fits):
            if args.mode == "dicts":
                scores.setdefault((i, 0), []).append(_score(item, _dicts(item, fit), mix))
                continue
            S, est, power, params = _fit_item(item, args.mode, fit)
            for j, post in enumerate(posts):
                dn.GAIN_FLOOR_DB, dn.GAIN_SMOOTH = post["GAIN_FLOOR_DB"], post["GAIN_SMOOTH"]
                dn.POSTFILTER = post.get("POSTFILTER")
                lead = item.train["noise"].shape[-1] if args.mode == "region" else 0
                clean = dn._reconstruct(S, est, params=params, power=power, mask_power=post["mask_power"],
                                        length=lead + item.mixture.shape[-1], dtype=item.mixture.dtype)["clean"]
                clean = clean[..., lead:]
                scores.setdefault((i, j), []).append(_score(item, clean, mix))
            dn.POSTFILTER = None
        print(f"  {e['id']} done", file=sys.stderr, flush=True)
    print(f"{args.mode}: {len(entries)} {args.part} items; fit grid {args.fit!r}, post grid {args.post!r}"
          + (f", rows {args.rows}" if args.rows else ""))
    pf_head = "post-filter | " if with_pf else ""
    print(f"| fit | {pf_head}mask_power | floor dB | smooth | SDR mean | median | SI-SDR | STOI | PESQ "
          "| SDR better | harmed |")
    print("|---|" + "---|" * (11 if with_pf else 10))
    ref = [r["sdr"] for r in scores[(0, 0)]]
    for (i, j), rows in scores.items():
        sdr = [r["sdr"] for r in rows]
        fit, post = fits[i], posts[j]
        harmed = sum(r["stoi_improvement"] < -run.HARM for r in rows)
        better = sum(a > b + 0.05 for a, b in zip(sdr, ref))
        pf = f"{_pf_label(post.get('POSTFILTER'))} | " if with_pf else ""
        print(f"| {fit or 'default'} | {pf}{post['mask_power']:g} | {post['GAIN_FLOOR_DB']} | {post['GAIN_SMOOTH']} "
              f"| {np.mean(sdr):.2f} | {np.median(sdr):.2f} | {np.mean([r['si_sdr'] for r in rows]):.2f} "
              f"| {np.mean([r['stoi'] for r in rows]):.3f} | {np.mean([r['pesq'] for r in rows]):.2f} "
              f"| {better}/{len(rows)} | {harmed} |", flush=True)
    if args.json:
        import json

        Path(args.json).write_text(json.dumps([
            {"fit": fits[i], "post": posts[j], "items": [e["id"] for _, e in entries], **run.per_item(rows)}
            for (i, j), rows in scores.items()], indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
