"""Whole-pipeline speed: a 3-minute 44.1 kHz stereo mix separated with two trained dictionaries.

load → STFT → NMF (fixed templates, activations only) → masks → inverse STFT → save,
timed end to end through the public API (``nmfaudio.load``, ``nmfaudio.separate``
with ``dictionaries=``, ``nmfaudio.save``), with the NMF part timed on its own too.
The dictionaries (piano, flute) are learned from the bundled training clips resampled
to 44.1 kHz — ``--dicts default``: ``learn_dictionary``'s defaults (16 templates + 8
pitch-shifted copies each = 144, β = 0.5, n_fft 4096); ``--dicts pinned``: K = 32, KL,
n_fft 2048, no copies. The mix is built from the bundled music clips
(``benchmarks/_audio.py``). Real-time factor = audio duration / wall time.

``--baseline`` also times, in the same run, the same job done the usual way without
nmfaudio: ``soundfile`` + ``librosa.stft`` + scikit-learn's multiplicative updates with the
dictionaries fixed (``non_negative_factorization(update_H=False, solver="mu")``, 100
iterations — the plain count that nmfaudio's 20 accelerated ones match in quality) +
Wiener masks + ``librosa.istft`` + ``soundfile``, channel by channel.

Usage::

    python benchmarks/pipeline.py [--seconds 180] [--reps 3] [--dicts default] [--baseline]
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
                                            stft_params=nmfaudio.STFTParams(n_fft=2048), pitch_shifts=()))
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


def run_baseline(path, dicts, outdir, max_iter=100):
    """The job without nmfaudio: librosa STFT, scikit-learn MU with fixed templates, Wiener masks."""
    import librosa
    import soundfile as sf
    from sklearn.decomposition import non_negative_factorization

    t0 = time.perf_counter()
    y, sr = sf.read(path, dtype="float32", always_2d=True)
    y = np.ascontiguousarray(y.T)
    p = dicts[0].stft
    W = np.concatenate([d.W for d in dicts], axis=1).astype(np.float32)
    labels = np.concatenate([np.full(d.n_components, i) for i, d in enumerate(dicts)])
    K = W.shape[1]
    out = np.zeros((len(dicts),) + y.shape, np.float32)
    for c in range(y.shape[0]):
        S = librosa.stft(y[c], n_fft=p.n_fft, hop_length=p.hop_length, window=p.window)
        V = np.ascontiguousarray(np.abs(S))
        # scikit-learn's orientation: X (frames, freq) ≈ W_sk (frames, K) @ H_sk (K, freq);
        # with update_H=False it starts the activations from a constant (its own choice)
        Hsk, _, _ = non_negative_factorization(
            V.T, H=np.ascontiguousarray(W.T), n_components=K, update_H=False, solver="mu",
            beta_loss=dicts[0].beta, max_iter=max_iter, tol=0)
        est = np.stack([W[:, labels == s] @ Hsk[:, labels == s].T for s in range(len(dicts))])
        P = est ** 2
        M = P / np.maximum(P.sum(axis=0), np.finfo(np.float32).tiny)
        for s in range(len(dicts)):
            out[s, c] = librosa.istft(M[s] * S, hop_length=p.hop_length, window=p.window,
                                      n_fft=p.n_fft, length=y.shape[1])
    t1 = time.perf_counter()
    for d, s in zip(dicts, out):
        sf.write(os.path.join(outdir, f"{d.name}-baseline.wav"), s.T, sr, subtype="FLOAT")
    return time.perf_counter() - t0, t1 - t0


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=180.0)
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--dicts", choices=("pinned", "default"), default="pinned",
                   help="pinned (K = 32, n_fft 2048, no pitch copies) or learn_dictionary's defaults")
    p.add_argument("--baseline", action="store_true",
                   help="also time librosa + scikit-learn MU (fixed templates, 100 iterations), once")
    args = p.parse_args(argv)

    dicts = dictionaries(args.dicts)
    y = _audio.music(args.seconds, sr=SR, channels=2)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "mix.wav")
        nmfaudio.save(path, y, SR)
        run_once(path, dicts, tmp)  # warm up (numba kernels, FFT plans)
        rows = [run_once(path, dicts, tmp) for _ in range(args.reps)]
        # the NMF step alone, on the same spectrogram
        S = nmfaudio.stft(y, stft_params=dicts[0].stft)
        t_nmf = []
        for _ in range(args.reps):
            t = time.perf_counter()
            from nmfaudio.separate import separate_supervised_spectrogram

            separate_supervised_spectrogram(S, dicts)
            t_nmf.append(time.perf_counter() - t)
        base = run_baseline(path, dicts, tmp) if args.baseline else None
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
    if base is not None:
        print(f"baseline (librosa + scikit-learn MU, fixed templates, 100 iterations, once): "
              f"{base[0]:.2f} s total ({base[1]:.2f} s before writing) = {dur / base[0]:.1f}× real time; "
              f"nmfaudio is {base[0] / total:.1f}× faster")


if __name__ == "__main__":
    main()
