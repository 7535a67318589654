"""Split a mixture into two parts without any training data (unsupervised NMF).

NMF learns K templates on the mixture itself; the components are clustered into
two sources by the timbre (MFCC) of their templates. Draws the separation and
the two soft masks.

Run:  python examples/unsupervised_split.py --out examples_output
"""

from __future__ import annotations

import sys

import matplotlib

matplotlib.use("Agg")

import nmfaudio  # noqa: E402
import nmfaudio.display  # noqa: E402

from _common import FIXTURES, is_fast, parser, snr_db  # noqa: E402


def main(argv=None):
    args = parser(__doc__.splitlines()[0]).parse_args(argv)
    n_components, max_iter = (8, 30) if is_fast(args) else (16, 200)
    mix, sr = nmfaudio.load(FIXTURES / "music" / "mix.wav")

    params = nmfaudio.STFTParams(n_fft=2048)
    S = nmfaudio.stft(mix, stft_params=params)                 # (n_freq, n_frames), complex
    sep = nmfaudio.separate_spectrogram(S, sr=sr, n_sources=2, n_components=n_components,
                                        max_iter=max_iter)   # V ≈ W H, W (n_freq, K), H (K, n_frames)
    sources = {name: nmfaudio.istft(Ss, stft_params=params, length=len(mix))
               for name, Ss in zip(sep.names, sep.S_sources)}
    # (the one-call version: nmfaudio.separate(mix, sr, n_sources=2))

    truths = {n: nmfaudio.load(FIXTURES / "music" / f"{n}.wav")[0] for n in ("piano", "flute")}
    for name, y in sources.items():
        nmfaudio.save(f"{args.out}/{name}.wav", y, sr, overwrite=True)
        best = max(truths, key=lambda t: snr_db(truths[t], y))  # no labels: match after the fact
        print(f"{name}: closest to {best} (SNR {snr_db(truths[best], y):5.1f} dB)")

    fig = nmfaudio.display.plot_separation(mix, sources, sr=sr, separation=sep, stft_params=params,
                                           title="Unsupervised split into two sources")
    print(nmfaudio.display.save_figure(fig, f"{args.out}/unsupervised_split.png", overwrite=True, dpi=70))
    fig = nmfaudio.display.plot_masks(sep.masks, sr=sr, hop_length=params.hop_length, names=sep.names)
    print(nmfaudio.display.save_figure(fig, f"{args.out}/unsupervised_masks.png", overwrite=True, dpi=70))
    return 0


if __name__ == "__main__":
    sys.exit(main())
