#!/usr/bin/env python
"""Is the voice model's gain a matter of the random start? ``python benchmarks/quality/seed_check.py [tune|test] [SEED ...]``.

``nmfaudio.denoise(noise=clip, random_state=s)`` with ``voice_model`` True and False on every
speech item of the part, for each seed: mean SDR / SI-SDR / STOI / PESQ-WB of the speech and how
many items the voice model improves by more than 0.05 dB SDR.
"""
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import nmfaudio  # noqa: E402
import run  # noqa: E402


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    part = argv[0] if argv else "tune"
    seeds = [int(a) for a in argv[1:]] or [1, 2]
    from threadpoolctl import threadpool_limits

    threadpool_limits(1, user_api="blas")
    entries = [e for e in run.read_manifest(run.DEFAULT_DATA)["items"] if e["kind"] == "speech" and e["part"] == part]
    print(f"`{part}: {len(entries)} speech items, noise sample`\n")
    print("| seed | voice model | SDR | SI-SDR | STOI | PESQ | items better with it |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for seed in seeds:
        res = {False: [], True: []}
        for e in entries:
            item = run.load_item(run.DEFAULT_DATA, e)
            for on in res:
                clean = nmfaudio.denoise(item.mixture, item.sr, noise=item.train["noise"], random_state=seed,
                                         voice_model=on)
                s, _ = run._score(item, run._speech_and_rest(item, clean), False, None)
                res[on].append([s["sdr"], s["si_sdr"], s["stoi"], s["pesq"]])
        off, on = np.array(res[False]), np.array(res[True])
        for flag, a in ((False, off), (True, on)):
            better = int((on[:, 0] - off[:, 0] > 0.05).sum()) if flag else "—"
            print(f"| {seed} | {'yes' if flag else 'no'} | {a[:, 0].mean():.2f} | {a[:, 1].mean():.2f} | "
                  f"{a[:, 2].mean():.3f} | {a[:, 3].mean():.2f} | {better} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
