#!/usr/bin/env python
"""Can a learned per-bin gain beat the NMF soft mask? Cross-validated on the tune part.

    python benchmarks/quality/learned_mask.py [--mode noise|blind] [--rows NAME,...] [--items N]

The denoiser's model gives, per time-frequency bin, a speech estimate ``Ŝ = W_s H_s`` and a
noise estimate ``N̂ = W_n H_n``; today's gain is ``Ŝ / (Ŝ + N̂)``. Here a regressor (scikit-learn
histogram gradient boosting) maps features of the bin and its neighbourhood — the model's log
ratio, the a posteriori SNR against the noise reference (the clip's mean power, or the blind
mode's minimum-statistics floor), their time / frequency smoothings, the frame's speech share,
frequency — to the gain that would give the true speech magnitude (``|S| / |X|``, clipped to
[0, 1]), each bin weighted by ``|X|^p``.

Cross-validation: each item's regressor is trained only on the items of the part that share
neither its voice nor its noise type, so its score says how the idea carries to unseen voices and
noises. Rows report mean / median SDR, SI-SDR, STOI, PESQ-WB of the speech and how many items
beat / fall below today's default by more than 0.05 dB SDR, and the harmed count (STOI < noisy
STOI − 0.02). Reads only the tune part unless ``--part test``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from scipy.ndimage import uniform_filter1d

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))
sys.path.insert(0, str(HERE))

import nmfaudio  # noqa: E402
import run  # noqa: E402
from nmfaudio.dictionary import spectrogram  # noqa: E402
from nmfaudio.masking import sources_to_audio  # noqa: E402

dn = sys.modules["nmfaudio.denoise"]

ROWS = {
    "gbr w=|X|": {"p": 1.0},
    "gbr w=|X|^2": {"p": 2.0},
    "gbr w=1": {"p": 0.0},
    "gbr w=|X|, no context": {"p": 1.0, "context": False},
    "gbr w=|X|, 400 it": {"p": 1.0, "iters": 400},
}


def model_parts(y, sr, *, noise=None):
    """The default denoiser's STFT, magnitude, speech / noise model estimates and reference."""
    params = dn.default_denoise_stft(sr)
    S, V = spectrogram(y, stft_params=params, power=1.0)
    captured = {}
    real = dn._reconstruct

    def grab(S_, est, **kw):
        captured["est"] = np.asarray(est)
        return real(S_, est, **kw)

    dn._reconstruct = grab
    try:
        nmfaudio.denoise(y, sr, noise=noise)
    finally:
        dn._reconstruct = real
    est = captured["est"]
    if noise is not None:
        Vc = spectrogram(noise, stft_params=params, power=1.0)[1]
        ref = np.broadcast_to((Vc.astype(np.float64) ** 2).mean(1, keepdims=True), V.shape)
        stat = np.log((Vc.astype(np.float64) ** 2) + 1e-12).std(1, keepdims=True)
    else:
        fl = dn._minstat_noise(V, params, sr).astype(np.float64)
        ref = fl ** 2
        stat = np.zeros((V.shape[0], 1))
    return {"S": S, "V": V, "Sh": est[0], "Nh": est[1], "ref": ref, "stat": stat, "params": params}


def features(p, context=True):
    V = p["V"].astype(np.float64)
    F, T = V.shape
    e = 1e-6 * max(V.max(), 1e-12)
    Sh, Nh = p["Sh"].astype(np.float64), p["Nh"].astype(np.float64)
    lr = np.log(Sh + e) - np.log(Nh + e)
    post = np.log(V ** 2 + e ** 2) - np.log(p["ref"] + e ** 2)
    fit = np.log(V + e) - np.log(Sh + Nh + e)
    share = np.log(Sh.sum(0) + e) - np.log(Nh.sum(0) + e)
    freq = np.broadcast_to(np.arange(F)[:, None] / F, (F, T))
    cols = [lr, post, fit, np.broadcast_to(share, (F, T)), freq, np.broadcast_to(p["stat"], (F, T))]
    if context:
        for a in (lr, post):
            cols += [uniform_filter1d(a, 3, axis=1, mode="nearest"), uniform_filter1d(a, 9, axis=1, mode="nearest"),
                     uniform_filter1d(a, 5, axis=0, mode="nearest"), uniform_filter1d(a, 17, axis=0, mode="nearest")]
        cols += [np.broadcast_to(uniform_filter1d(share, 7, mode="nearest"), (F, T)),
                 np.roll(lr, 1, axis=1), np.roll(lr, -1, axis=1)]
    return np.stack([c.reshape(-1) for c in cols], axis=1).astype(np.float32)


def target(p, Ss):
    V = p["V"].astype(np.float64)
    return np.clip(Ss / np.maximum(V, 1e-12), 0.0, 1.0).reshape(-1)


def score(item, S, g, params):
    Sc = g * S
    out = sources_to_audio(np.stack([Sc, S - Sc]), ("clean", "noise"), stft_params=params,
                           length=item.mixture.shape[-1], dtype=item.mixture.dtype)["clean"]
    s = run._score(item, run._speech_and_rest(item, out), False, None)[0]
    return [s["sdr"], s["si_sdr"], s["stoi"], s["pesq"]]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--part", choices=["tune", "test"], default="tune")
    ap.add_argument("--mode", choices=["noise", "blind"], default="noise")
    ap.add_argument("--rows", default=None)
    ap.add_argument("--items", type=int, default=None)
    ap.add_argument("--per-item", type=int, default=40000, help="training bins sampled per item")
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    from sklearn.ensemble import HistGradientBoostingRegressor
    from threadpoolctl import threadpool_limits

    threadpool_limits(1, user_api="blas")
    dn.USM_LAMBDA = None  # the baseline is the free model alone, as when these rows were measured
    rows = ROWS if not args.rows else {k: v for k, v in ROWS.items() if k in args.rows.split(",")}
    data = HERE / "data"
    entries = [e for e in run.read_manifest(data)["items"] if e["kind"] == "speech" and e["part"] == args.part]
    entries = entries[:args.items] if args.items else entries
    cases = []
    rng = np.random.default_rng(0)
    for e in entries:
        item = run.load_item(data, e)
        p = model_parts(item.mixture, item.sr, noise=item.train["noise"] if args.mode == "noise" else None)
        js = item.names.index("speech")
        Ss = np.abs(nmfaudio.stft(item.stems[js], stft_params=p["params"]))
        V = p["V"]
        w = V.reshape(-1).astype(np.float64)
        pick = rng.choice(w.size, size=min(args.per_item, w.size), replace=False)
        mix = run._score(item, np.stack([item.mixture for _ in item.names]),
                         False, None)[0]
        g0 = p["Sh"] / np.maximum(p["Sh"] + p["Nh"], 1e-12)
        cases.append({"e": e, "item": item, "p": p, "pick": pick, "t": target(p, Ss), "w": w,
                      "mix_stoi": mix["stoi"], "default": score(item, p["S"], g0, p["params"]),
                      "X": {}})
        print(f"{e['id']}: default SDR {cases[-1]['default'][0]:.2f}", file=sys.stderr, flush=True)
    results = {c["e"]["id"]: {"default": c["default"], "mix_stoi": c["mix_stoi"]} for c in cases}
    for name, kw in rows.items():
        ctx = kw.get("context", True)
        for c in cases:
            if ctx not in c["X"]:
                c["X"][ctx] = features(c["p"], ctx)
        t0 = time.time()
        for c in cases:
            me = c["e"]
            train = [d for d in cases if d["e"]["speech_source"] != me["speech_source"]
                     and d["e"]["noise_type"] != me["noise_type"]]
            X = np.concatenate([d["X"][ctx][d["pick"]] for d in train])
            y = np.concatenate([d["t"][d["pick"]] for d in train])
            sw = np.concatenate([d["w"][d["pick"]] ** kw["p"] for d in train])
            reg = HistGradientBoostingRegressor(max_iter=kw.get("iters", 200), learning_rate=0.1,
                                                max_leaf_nodes=31, random_state=0)
            reg.fit(X, y, sample_weight=sw / sw.mean())
            g = np.clip(reg.predict(c["X"][ctx]), 0, 1).reshape(c["p"]["V"].shape)
            results[me["id"]][name] = score(c["item"], c["p"]["S"], g.astype(np.float32), c["p"]["params"])
            print(f"  {name} {me['id']}: {results[me['id']][name][0]:.2f} (default {c['default'][0]:.2f})",
                  file=sys.stderr, flush=True)
        print(f"  {name}: {time.time() - t0:.0f} s", file=sys.stderr, flush=True)
    print(f"`{args.part}: {len(cases)} speech items, mode {args.mode}; cross-validated by voice and noise`\n")
    print("| row | SDR mean | median | min … max | SI-SDR | STOI | PESQ | SDR better | SDR worse | harmed |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name in ["default"] + list(rows):
        a = np.array([results[c["e"]["id"]][name] for c in cases])
        d = a[:, 0] - np.array([c["default"][0] for c in cases])
        harmed = sum(results[c["e"]["id"]][name][2] < c["mix_stoi"] - 0.02 for c in cases)
        print(f"| {name} | {a[:, 0].mean():.2f} | {np.median(a[:, 0]):.2f} | {a[:, 0].min():.1f} … {a[:, 0].max():.1f} | "
              f"{a[:, 1].mean():.2f} | {a[:, 2].mean():.3f} | {a[:, 3].mean():.2f} | "
              f"{int((d > 0.05).sum())}/{len(cases)} | {int((d < -0.05).sum())}/{len(cases)} | {harmed} |")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
