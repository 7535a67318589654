"""Denoise a speech recording with a sample of the noise alone (semi-supervised NMF).

The noise templates W_noise (n_freq, K) are learned from a few seconds of noise and kept fixed;
free components with sparse activations learn the speech on the noisy
recording itself. Prints the SNR before and after and draws a figure.

Run:  python examples/denoise_speech.py --out examples_output
"""

from __future__ import annotations

import sys

import matplotlib

matplotlib.use("Agg")

import nmfaudio  # noqa: E402
import nmfaudio.display  # noqa: E402
from nmfaudio.denoise import default_denoise_stft  # noqa: E402

from _common import FIXTURES, is_fast, parser, snr_db  # noqa: E402


def main(argv=None):
    args = parser(__doc__.splitlines()[0]).parse_args(argv)
    fast = is_fast(args)
    speech = FIXTURES / "speech"
    noisy, sr = nmfaudio.load(speech / "noisy.wav")
    noise_sample, _ = nmfaudio.load(speech / "train" / "noise.wav", sr=sr)
    params = default_denoise_stft(sr)  # ≈ 64 ms frames, what denoise uses by default

    # Noise templates from the noise alone (nmfaudio.denoise(noisy, sr, noise=noise_sample)
    # does this step itself; here it is explicit so the dictionary can be saved and reused).
    noise_dict = nmfaudio.learn_dictionary(noise_sample, sr, name="noise", stft_params=params,
                                           n_components=8 if fast else 16, beta="kl", pitch_shifts=(),
                                           max_iter=30 if fast else 200)
    parts = nmfaudio.denoise_sources(noisy, sr, noise_dictionary=noise_dict,
                                     max_iter=20 if fast else 100)
    nmfaudio.save(f"{args.out}/clean.wav", parts["clean"], sr, overwrite=True)

    clean_truth, _ = nmfaudio.load(speech / "clean.wav")
    print(f"SNR before: {snr_db(clean_truth, noisy):5.1f} dB")
    print(f"SNR after:  {snr_db(clean_truth, parts['clean']):5.1f} dB")

    fig = nmfaudio.display.plot_separation(noisy, parts, sr=sr, stft_params=params,
                                           title="Denoising with a noise sample")
    print(nmfaudio.display.save_figure(fig, f"{args.out}/denoise_speech.png", overwrite=True, dpi=70))
    return 0


if __name__ == "__main__":
    sys.exit(main())
