"""Separate piano and flute with dictionaries trained on solo clips (supervised NMF).

1. Learn spectral templates W of each instrument from its solo training clip.
2. Separate the mixture: the templates stay fixed, only the activations H are
   solved on the mix; each instrument gets a Wiener mask from its W_s H_s.
3. Write piano.wav / flute.wav, score them against the true stems, draw a figure.

Run:  python examples/separate_instruments.py --out examples_output
"""

from __future__ import annotations

import sys

import matplotlib

matplotlib.use("Agg")  # write files, no window

import nmfaudio  # noqa: E402
import nmfaudio.display  # noqa: E402

from _common import FIXTURES, is_fast, parser, snr_db  # noqa: E402


def main(argv=None):
    args = parser(__doc__.splitlines()[0]).parse_args(argv)
    fast = is_fast(args)
    music = FIXTURES / "music"
    n_components, max_iter = (8, 30) if fast else (24, 200)

    # 1. one dictionary per instrument, from clips of that instrument alone
    dictionaries = []
    for name in ("piano", "flute"):
        clip, sr = nmfaudio.load(music / "train" / f"{name}.wav")
        d = nmfaudio.learn_dictionary(clip, sr, name=name, n_components=n_components,
                                      max_iter=max_iter)
        d.save(f"{args.out}/{name}.npz", overwrite=True)
        dictionaries.append(d)

    # 2. supervised separation of the mixture (spectrogram level, to keep W/H for the figure)
    mix, sr = nmfaudio.load(music / "mix.wav")
    params = dictionaries[0].stft
    sep = nmfaudio.separate_supervised_spectrogram(nmfaudio.stft(mix, stft_params=params), dictionaries,
                                                   max_iter=max_iter // 2)
    sources = {name: nmfaudio.istft(S, stft_params=params, length=len(mix))
               for name, S in zip(sep.names, sep.S_sources)}
    # (the one-call version: nmfaudio.separate(mix, sr, dictionaries=dictionaries))

    # 3. write, score, draw
    for name, y in sources.items():
        nmfaudio.save(f"{args.out}/{name}.wav", y, sr, overwrite=True)
        truth, _ = nmfaudio.load(music / f"{name}.wav")
        print(f"{name}: SNR {snr_db(truth, y):5.1f} dB  (mixture as estimate: "
              f"{snr_db(truth, mix):5.1f} dB)")
    fig = nmfaudio.display.plot_separation(mix, sources, sr=sr, separation=sep, stft_params=params,
                                           title="Supervised separation: piano and flute dictionaries")
    print(nmfaudio.display.save_figure(fig, f"{args.out}/separate_instruments.png", overwrite=True, dpi=70))
    return 0


if __name__ == "__main__":
    sys.exit(main())
