"""Whole-pipeline speed: a 3-minute 44.1 kHz stereo mix separated with two trained dictionaries.

load → STFT → NMF (fixed templates, activations only) → masks → inverse STFT → save,
timed end to end through the public API (``nmfaudio.load``, ``nmfaudio.separate``
with ``dictionaries=``, ``nmfaudio.save``), with the NMF part timed on its own too.
The dictionaries (piano, flute; K = 32 each, KL, n_fft 2048, no pitch-shifted copies) are learned from the
bundled training clips resampled to 44.1 kHz; the mix is built from the bundled
music clips (``benchmarks/_audio.py``). Real-time factor = audio duration / wall time.

Usage::

    python benchmarks/pipeline.py [--seconds 180] [--reps 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import _audio  # noqa: E402
import nmfaudio  # noqa: E402

SR = 44100


def dictionaries(setting="pinned"):
    """``"pinned"``: K = 32, KL, n_fft 2048, no pitch copies; ``"default"``: learn_dictionary's defaults."""
    out = []
    for name in ("piano", "flute"):
        y, sr = nmfaudio.load(_audio.MUSIC / "train" / f"{name}.wav", sr=SR)
        if setting == "default":
            out.append(nmfaudio.learn_dictionary(y, sr, name=name))
        else:
            out.append(nmfaudio.learn_dictionary(y, sr, name=name, n_components=32, beta="kl",
                                            stft=nmfaudio.STFTParams(n_fft=2048), pitch_shifts=()))
    return out


def run_once(path, dicts, outdir):
    t0 = time.perf_counter()
    y, sr = nmfaudio.load(path)
    t1 = time.perf_counter()
    sources = nmfaudio.separate(y, sr, dictionaries=dicts)
    t2 = time.perf_counter()
    for name, s in sources.items():
        nmfaudio.save(os.path.join(outdir, f"{name}.wav"), s, sr, overwrite=True)
    t3 = time.perf_counter()
    return t3 - t0, t1 - t0, t2 - t1, t3 - t2


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=180.0)
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--dicts", choices=("pinned", "default"), default="pinned",
                   help="pinned (K = 32, n_fft 2048, no pitch copies) or learn_dictionary's defaults")
    args = p.parse_args(argv)

    dicts = dictionaries(args.dicts)
    y = _audio.music(args.seconds, sr=SR, channels=2)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "mix.wav")
        nmfaudio.save(path, y, SR)
        run_once(path, dicts, tmp)  # warm up (numba kernels, FFT plans)
        rows = [run_once(path, dicts, tmp) for _ in range(args.reps)]
        # the NMF step alone, on the same spectrogram
        S = nmfaudio.stft(y, params=dicts[0].stft)
        t_nmf = []
        for _ in range(args.reps):
            t = time.perf_counter()
            from nmfaudio.separate import separate_supervised_spectrogram

            separate_supervised_spectrogram(S, dicts)
            t_nmf.append(time.perf_counter() - t)
    total, t_load, t_sep, t_save = (statistics.median(c) for c in zip(*rows))
    dur = y.shape[-1] / SR
    print(f"{dur:.0f} s stereo at {SR} Hz, {args.dicts} dictionaries K = "
          f"{' + '.join(str(d.n_components) for d in dicts)} ({dicts[0].beta}), "
          f"n_fft {dicts[0].stft.n_fft}, hop {dicts[0].stft.hop_length}, median of {args.reps}")
    print(f"| step | seconds |")
    print(f"|---|---|")
    print(f"| load | {t_load:.2f} |")
    print(f"| separate (STFT, NMF, masks, inverse STFT) | {t_sep:.2f} |")
    print(f"| of which spectrogram separation (NMF + masks) | {statistics.median(t_nmf):.2f} |")
    print(f"| save | {t_save:.2f} |")
    print(f"| **total** | **{total:.2f}** |")
    print(f"real-time factor: {dur / total:.1f}× faster than real time")


if __name__ == "__main__":
    main()
