"""Named-instrument separation (bundled models) vs supervised separation with training clips.

Runs ``nmfaudio.separate(mix, sr, instruments=[...])`` and
``separate(mix, sr, dictionaries=[learn_dictionary(train clip) ...])`` on the music
items of a quality data set (benchmarks/quality/make_set.py layout:
``<item>/mixture.wav``, ``stems/<name>.wav``, ``train/<name>.wav``) and prints SDR and
SI-SDR per item and their mean and standard deviation.

Usage: python benchmarks/models/check_quality.py DATA_DIR [--prefix music-test]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
import nmfaudio  # noqa: E402
from nmfaudio.models import store  # noqa: E402

ALIASES = {"epiano": "electric-piano", "alto_sax": "saxophone"}


def _bytes(d):
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        return store.write_model(d, Path(tmp) / "d.npz").read_bytes()


def score(refs, out, mix):
    r = nmfaudio.evaluate(refs, {k: out[k] for k in refs}, mixture=mix)
    return r["mean"]["sdr"], r["mean"]["si_sdr"]


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("data")
    ap.add_argument("--prefix", default="music-test")
    args = ap.parse_args(argv)
    rows = {"models": [], "clips": [], "clips-f16": []}
    known = {m["name"] for m in nmfaudio.list_models()}
    print(f"{'item':16s} {'sources':28s} {'models SDR':>10s} {'SI-SDR':>7s} {'clips SDR':>10s} {'SI-SDR':>7s}")
    for item in sorted(Path(args.data).glob(args.prefix + "*")):
        mix, sr = nmfaudio.load(item / "mixture.wav")
        names = sorted(p.stem for p in (item / "stems").glob("*.wav"))
        models = [ALIASES.get(n, n) for n in names]
        if not set(models) <= known:
            print(f"{item.name}: no model for {sorted(set(models) - known)}; skipped")
            continue
        refs = {m: nmfaudio.load(item / "stems" / f"{n}.wav", sr=sr)[0] for n, m in zip(names, models)}
        out = nmfaudio.separate(mix, sr, instruments=models)
        dicts = [nmfaudio.learn_dictionary(nmfaudio.load(item / "train" / f"{n}.wav", sr=sr)[0], sr, name=m)
                 for n, m in zip(names, models)]
        sup = nmfaudio.separate(mix, sr, dictionaries=dicts)
        # the storage format's cost: the same clip dictionaries after a float16 write/read round trip
        d16 = [store.read_model(_bytes(d)) for d in dicts]
        c = score(refs, nmfaudio.separate(mix, sr, dictionaries=d16), mix)
        a, b = score(refs, out, mix), score(refs, sup, mix)
        rows["models"].append(a)
        rows["clips"].append(b)
        rows["clips-f16"].append(c)
        print(f"{item.name:16s} {','.join(models):28s} {a[0]:10.2f} {a[1]:7.2f} {b[0]:10.2f} {b[1]:7.2f}"
              f"   (clips via float16: {c[0]:.3f} / {c[1]:.3f})", flush=True)
    for k, v in rows.items():
        v = np.array(v)
        print(f"{k:6s}: SDR {v[:, 0].mean():.2f} ± {v[:, 0].std():.2f} dB, "
              f"SI-SDR {v[:, 1].mean():.2f} ± {v[:, 1].std():.2f} dB over {len(v)} items")
    loads = []
    for _ in range(7):
        t = time.perf_counter()
        store.read_model((Path(nmfaudio.models.__file__).parent / "piano.npz").read_bytes())
        loads.append(time.perf_counter() - t)
    print(f"load time (piano, uncached read+decode): median {1000 * np.median(loads):.1f} ms over 7")


if __name__ == "__main__":
    main()
