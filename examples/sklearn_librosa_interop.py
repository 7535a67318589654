"""nmfaudio.NMF as a scikit-learn estimator: inside librosa.decompose and a Pipeline.

1. librosa.decompose.decompose(V, transformer=nmfaudio.NMF(...)) factorises a
   spectrogram; librosa passes V.T (frames × frequencies), so what comes back is
   in nmfaudio's orientation: W (n_freq, K), H (K, n_frames).
2. A Pipeline NMF → logistic regression tells piano frames from flute frames:
   NMF activations are the features; GridSearchCV picks the number of components.

Run:  python examples/sklearn_librosa_interop.py --out examples_output
"""

from __future__ import annotations

import sys

import matplotlib

matplotlib.use("Agg")

import librosa  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402  (examples may use matplotlib freely)
import numpy as np  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402
from sklearn.pipeline import Pipeline  # noqa: E402
from sklearn.preprocessing import Normalizer  # noqa: E402

import nmfaudio  # noqa: E402
import nmfaudio.display  # noqa: E402

from _common import FIXTURES, is_fast, parser  # noqa: E402

N_FFT = 1024


def frames(path, *, keep_every=1):
    """Magnitude spectrogram frames of a file as samples: (n_frames, n_freq), silent frames dropped."""
    y, sr = nmfaudio.load(path)
    V = np.abs(nmfaudio.stft(y, n_fft=N_FFT))               # (n_freq, n_frames)
    energy = V.sum(axis=0)
    X = V[:, energy > 0.05 * energy.max()].T                 # scikit-learn orientation
    return X[::keep_every], sr


def main(argv=None):
    args = parser(__doc__.splitlines()[0]).parse_args(argv)
    fast = is_fast(args)
    music = FIXTURES / "music"

    # 1. librosa.decompose with nmfaudio's estimator
    mix, sr = nmfaudio.load(music / "mix.wav")
    V = np.abs(nmfaudio.stft(mix, n_fft=N_FFT))
    W, H = librosa.decompose.decompose(
        V, transformer=nmfaudio.NMF(n_components=8, beta_loss="kullback-leibler",
                                    max_iter=50 if fast else 300, random_state=0))
    print(f"librosa.decompose: W {W.shape} (n_freq, K), H {H.shape} (K, n_frames)")
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 3.6), width_ratios=[1, 3], layout="constrained")
    nmfaudio.display.plot_templates(W, sr=sr, ax=a1, title="W from librosa.decompose")
    nmfaudio.display.plot_activations(H, sr=sr, hop_length=N_FFT // 4, ax=a2,
                                      title="H from librosa.decompose (dB re. row peak)")
    print(nmfaudio.display.save_figure(fig, f"{args.out}/librosa_decompose.png", overwrite=True, dpi=70))

    # 2. a Pipeline: NMF activations as features for a piano/flute frame classifier
    step = 8 if fast else 1  # fast: every 8th frame
    Xp, _ = frames(music / "train" / "piano.wav", keep_every=step)
    Xf, _ = frames(music / "train" / "flute.wav", keep_every=step)
    X_train = np.vstack([Xp, Xf])
    y_train = np.array(["piano"] * len(Xp) + ["flute"] * len(Xf))
    pipe = Pipeline([
        ("nmf", nmfaudio.NMF(max_iter=50 if fast else 200, random_state=0)),
        ("scale", Normalizer()),
        ("clf", LogisticRegression(max_iter=1000)),
    ])
    grid = GridSearchCV(pipe, {"nmf__n_components": [2, 8] if fast else [2, 4, 8, 16]}, cv=3)
    grid.fit(X_train, y_train)
    print(f"GridSearchCV chose {grid.best_params_} (cross-validated accuracy {grid.best_score_:.2f})")

    # test on the stems of the mixture (different music than the training clips)
    Xp_test, _ = frames(music / "piano.wav", keep_every=step)
    Xf_test, _ = frames(music / "flute.wav", keep_every=step)
    X_test = np.vstack([Xp_test, Xf_test])
    y_test = np.array(["piano"] * len(Xp_test) + ["flute"] * len(Xf_test))
    print(f"accuracy on unseen music: {grid.score(X_test, y_test):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
