#!/usr/bin/env python
"""Long noisy-speech items (minutes, one voice and one noise each), to choose the settings of
the long-recording denoiser (``nmfaudio.denoise_stream``) that the 6-second items cannot see:
the size of the subsample the templates and the voice model are learned on, and the voice
model's fit.

    python benchmarks/quality/long_items.py build [--seconds 180]          # both parts, once
    python benchmarks/quality/long_items.py run --part tune --grid subsample
    python benchmarks/quality/long_items.py run --part test --grid chosen

``build`` writes, per part of ``split.json``, 9 items (``--seconds`` long, 22.05 kHz; voice
``i mod 8`` of the part, noise ``i`` of its 9 noise kinds, SNR 0 / 5 / 10 dB in turn) with a
4-second noise sample each, from the same Debian material and generators as ``make_set.py``
(its voices, noise recordings and synthetic noises; the tune and test parts share none), into
``benchmarks/quality/data-long/`` (gitignored). The first 3 s of every mixture are noise alone
(for the region mode). At 22.05 kHz the default STFT has the same hop in seconds as at 44.1 kHz
(512 vs 1024 samples), so the subsample covers the same share of a file's frames.

``run`` denoises every item of a part with each setting of a grid, with a noise sample
(``--mode noise``) or the noise-only lead (``--mode region``), file to file with
``denoise_stream`` (``cap``: ``subsample_frames``; ``voice_fit_iter``:
``denoise_stream.VOICE_FIT_ITER``; ``prune_every``: ``_usm.PRUNE_EVERY``; a key left out takes
today's default); the first row of every grid is the compared baseline, and ``offline`` rows run
``nmfaudio.denoise`` on the whole item. Scores of the speech (the lead excluded): SI-SDR (dB) and
STOI over the item, mean / median / min … max over items, the mean difference to the first row and
how many items are better / worse than it by more than 0.05 dB, and the median wall time.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))
sys.path.insert(0, str(HERE))

SR = 22050
LEAD_S = 3.0
N_ITEMS = 9
OUT = HERE / "data-long"

#: the defaults before the grid "subsample" was run (2026-12-07)
BEFORE = {"cap": 2048, "voice_fit_iter": 100, "prune_every": 10}
GRIDS = {
    # the subsample both fits learn on, and the voice model's fit iterations / pruning
    "subsample": [BEFORE, {**BEFORE, "cap": 1024}, {**BEFORE, "cap": 512},
                  {**BEFORE, "voice_fit_iter": 50}, {**BEFORE, "prune_every": 5},
                  {"cap": 1024, "voice_fit_iter": 50, "prune_every": 5}, {"offline": True}],
    # the defaults before, the defaults now (a 183-s item: 1024 frames; pruning every 5), offline
    "chosen": [BEFORE, {}, {"offline": True}],
}


def build(seconds, seed=0):
    import soundfile as sf

    import make_set as M
    import _sources as S
    import _split_sources as V

    M.ensure_dependencies(install=True)
    split = M.load_split()
    ss = np.random.SeedSequence([seed, 7100])
    OUT.mkdir(parents=True, exist_ok=True)
    manifest = {"generator": "benchmarks/quality/long_items.py", "seconds": seconds, "seed": seed,
                "sample_rate": SR, "lead_s": LEAD_S, "items": []}
    for part, rs in zip(("tune", "test"), ss.spawn(2)):
        rng = np.random.default_rng(rs)
        sp = split["speech"][part]
        noises = list(sp["noise_recordings"]) + list(sp["synthetic_noises"])
        pool = V.VoicePool(rng, M.SENTENCES, SR)
        for i in range(N_ITEMS):
            voice, noise_kind = sp["voices"][i % len(sp["voices"])], noises[i % len(noises)]
            snr = float(split["speech"]["snr_db"][i % 3])
            t0 = time.time()
            # in 30-s pieces: a voice with little material (klettres) starts again on its lines
            pieces = []
            for _ in range(int(np.ceil(seconds / 30))):
                if len(pool.files.get(voice, ())) < 40:  # few lines left (maybe all too short): all again
                    pool.files.pop(voice, None)
                pieces.append(pool.take(voice, 30.0)[0])
            clean = np.concatenate(pieces)
            clean = clean[:int(round(seconds * SR))]
            clean = np.concatenate([np.zeros(int(LEAD_S * SR)), clean])
            noise, train_noise, _ = V.make_noise(noise_kind, sp, SR, clean.size / SR, 4.0, rng, pool)
            noise = noise[:clean.size]
            noise = noise * S.snr_scale(clean, noise, snr)
            (c32, n32), mix, _ = S.mix_float32([clean, noise], peak=0.8)
            tn, _ = M.level_match(train_noise, S.rms(n32.astype(np.float64)))
            d = OUT / f"long-{part}-{i:02d}"
            d.mkdir(exist_ok=True)
            for name, x in (("mixture", mix), ("speech", c32), ("noise", n32), ("train_noise", tn)):
                sf.write(str(d / f"{name}.wav"), np.asarray(x, np.float32), SR, subtype="FLOAT")
            manifest["items"].append({"id": d.name, "part": part, "voice": voice, "noise": noise_kind,
                                      "snr_db": snr, "seconds": round(mix.size / SR, 3)})
            print(f"  {d.name}: {voice:26s} + {noise_kind:30s} {snr:4.1f} dB ({time.time() - t0:.0f} s)",
                  flush=True)
    (OUT / "manifest.json").write_text(json.dumps(manifest, indent=1))


def _items(part):
    import soundfile as sf

    man = json.loads((OUT / "manifest.json").read_text())
    for it in man["items"]:
        if it["part"] == part:
            d = OUT / it["id"]
            yield it, d, sf.read(str(d / "speech.wav"), dtype="float32")[0]


def _denoise(d, mode, setting, out):
    import nmfaudio
    from nmfaudio import _usm

    ds = sys.modules["nmfaudio.denoise_stream"]
    saved = (ds.VOICE_FIT_ITER, _usm.PRUNE_EVERY)
    ds.VOICE_FIT_ITER = setting.get("voice_fit_iter", ds.VOICE_FIT_ITER)
    _usm.PRUNE_EVERY = setting.get("prune_every", _usm.PRUNE_EVERY)
    kw = {"noise": str(d / "train_noise.wav")} if mode == "noise" else {"noise_region": (0.0, LEAD_S)}
    try:
        t0 = time.perf_counter()
        if setting.get("offline"):
            y, sr = nmfaudio.load(str(d / "mixture.wav"))
            if mode == "noise":
                kw["noise"] = nmfaudio.load(kw["noise"], sr=sr)[0]
            est = nmfaudio.denoise(y, sr, **kw)
        else:
            nmfaudio.denoise_stream(str(d / "mixture.wav"), out, overwrite=True,
                                    subsample_frames=setting.get("cap"), **kw)
            est = nmfaudio.load(out)[0]
        return est, time.perf_counter() - t0
    finally:
        ds.VOICE_FIT_ITER, _usm.PRUNE_EVERY = saved


def run(part, grid, modes):
    import nmfaudio

    lead = int(LEAD_S * SR)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "out.wav")
        for mode in modes:
            for setting in GRIDS[grid]:
                scores = []
                for it, d, clean in _items(part):
                    est, wall = _denoise(d, mode, setting, out)
                    r, e = clean[lead:], np.asarray(est, np.float32)[lead:clean.size]
                    sc = nmfaudio.evaluate({"speech": r}, {"speech": e}, sr=SR,
                                           metrics=["si_sdr", "stoi"])
                    scores.append((sc["mean"]["si_sdr"], sc["mean"]["stoi"], wall))
                    print(f"    {mode} {setting} {it['id']}: SI-SDR {scores[-1][0]:.2f} STOI "
                          f"{scores[-1][1]:.3f} ({wall:.1f} s)", file=sys.stderr, flush=True)
                rows.append((mode, setting, np.array(scores)))
    print(f"`{part}: {len(rows[0][2])} long items`\n")
    print("| mode | setting | SI-SDR mean | median | min … max | Δ mean vs first row | better / worse | "
          "STOI mean | ΔSTOI | wall s (median) |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for mode, setting, a in rows:
        base = next(b for m, _, b in rows if m == mode)
        dif = a[:, 0] - base[:, 0]
        label = ", ".join(f"{k}={v}" for k, v in setting.items()) or "default"
        print(f"| {mode} | {label} | {a[:, 0].mean():.2f} | {np.median(a[:, 0]):.2f} | "
              f"{a[:, 0].min():.2f} … {a[:, 0].max():.2f} | {dif.mean():+.2f} | "
              f"{int((dif > 0.05).sum())} / {int((dif < -0.05).sum())} | {a[:, 1].mean():.3f} | "
              f"{(a[:, 1] - base[:, 1]).mean():+.4f} | {np.median(a[:, 2]):.1f} |")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build")
    b.add_argument("--seconds", type=float, default=180.0)
    b.add_argument("--seed", type=int, default=0)
    r = sub.add_parser("run")
    r.add_argument("--part", choices=["tune", "test"], default="tune")
    r.add_argument("--grid", choices=sorted(GRIDS), default="subsample")
    r.add_argument("--mode", nargs="+", choices=["noise", "region"], default=["noise"])
    args = ap.parse_args(argv)
    if args.cmd == "build":
        build(args.seconds, args.seed)
    else:
        run(args.part, args.grid, args.mode)
    return 0


if __name__ == "__main__":
    sys.exit(main())
