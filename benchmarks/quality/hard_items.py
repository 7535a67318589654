#!/usr/bin/env python
"""Hard noisy-speech items (0 and 5 dB, babble in half of them), to choose do-no-harm guards on
material the 18 tune items hold too little of.

    python benchmarks/quality/hard_items.py            # both parts, once (about 1 min)
    python benchmarks/quality/run.py --data benchmarks/quality/data-hard --methods nmfaudio-denoise-blind ...

The 18 items per part of ``make_set.py`` hold one 0-dB babble item each; the test part's is the one
item that blind ``denoise`` makes less intelligible (STOI below the input's − 0.02), and the tune
part gives no signal to choose a guard on. This builds, per part of ``split.json``, 16 more 6-s
items from the same Debian material and generators (the part's voices, babble talkers, noise
recordings and synthetic noises; the tune and test parts still share none): voice ``i`` of the part
with babble at 0 dB (``i`` even) or 5 dB (``i`` odd), and voice ``i`` with noise kind ``i`` of the
part's 8 other kinds at 0 dB. Fresh lines and noise realisations (seed stream 7200, independent of
``make_set.py``'s and ``long_items.py``'s). The manifest has ``make_set.py``'s format, so every
script that takes ``--data`` runs on it; ``benchmarks/quality/data-hard/`` is gitignored.
Choose on ``speech-tune-*`` here and in ``data/``; report ``speech-test-*`` once.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))
sys.path.insert(0, str(HERE))

OUT = HERE / "data-hard"
N_VOICES = 8


def plan(sp):
    """(voice, noise kind, SNR dB) of the 16 hard items of one part (a split.json part dict)."""
    others = [n for n in list(sp["noise_recordings"]) + list(sp["synthetic_noises"]) if n != "babble"]
    items = [(sp["voices"][i], "babble", 0.0 if i % 2 == 0 else 5.0) for i in range(N_VOICES)]
    items += [(sp["voices"][i], others[i % len(others)], 0.0) for i in range(N_VOICES)]
    return items


def build(seed=0, out=OUT):
    import make_set as M
    import _split_sources as V

    M.ensure_dependencies(install=True)
    split = M.load_split()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for d in out.glob("speech-t*-hard-[0-9][0-9]"):  # only what an earlier build wrote
        shutil.rmtree(d)
    items = []
    t0 = time.time()
    for part, rs in zip(("tune", "test"), np.random.SeedSequence([seed, 7200]).spawn(2)):
        rng = np.random.default_rng(rs)
        pool = V.VoicePool(rng, M.SENTENCES, M.SPEECH_SR)
        for i, (voice, noise, snr) in enumerate(plan(split["speech"][part])):
            it = M.build_speech_item(f"speech-{part}-hard-{i:02d}", part, voice, noise, snr, rng, pool,
                                     split, str(out))
            items.append(it)
            print(f"  {it['id']}: {voice:26s} + {noise:32s} SNR {snr:4.1f} dB", flush=True)
    manifest = {"version": M.MANIFEST_VERSION, "generator": "benchmarks/quality/hard_items.py",
                "seed": seed, "split": "benchmarks/quality/split.json",
                "format": "as make_set.py's manifest", "tool_versions": M.tool_versions(), "items": items}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1))
    print(f"built {len(items)} hard speech items in {time.time() - t0:.0f} s in {out}")
    return 0 if M.verify(str(out)) else 1


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=str(OUT))
    args = ap.parse_args(argv)
    return build(args.seed, args.out)


if __name__ == "__main__":
    sys.exit(main())
