import numpy as np
import pytest

import nmfaudio
from nmfaudio import NMF


def test_readme_snippet():
    V = np.array([[1, 1], [2, 1], [3, 1.2], [4, 1], [5, 0.8], [6, 1]])
    model = NMF(n_components=2, init='random', random_state=0)
    W = model.fit_transform(V)
    H = model.components_
    assert np.abs(np.dot(W, H) - V).max() < 0.01
    assert W.shape == (6, 2) and H.shape == (2, 2)
    assert model.n_iter_ > 0 and model.reconstruction_err_ < 0.01


def test_transform_and_inverse(rng):
    X = rng.random((30, 4)) @ rng.random((4, 12))
    m = NMF(n_components=4, beta_loss="kullback-leibler", random_state=0, max_iter=500)
    W = m.fit_transform(X)
    W2 = m.transform(X)
    assert W2.shape == W.shape
    assert np.linalg.norm(m.inverse_transform(W2) - X) / np.linalg.norm(X) < 0.05


def test_float32(rng):
    X = rng.random((10, 6)).astype(np.float32)
    m = NMF(n_components=2, random_state=0)
    assert m.fit_transform(X).dtype == np.float32
    assert m.components_.dtype == np.float32


def test_negative_input_rejected():
    with pytest.raises(ValueError, match="Negative values"):
        NMF(2).fit(-np.ones((3, 3)))


def test_clone_and_params():
    from sklearn.base import clone

    m = NMF(n_components=3, beta_loss="itakura-saito", max_iter=7)
    c = clone(m)
    assert c.get_params() == m.get_params()
    c.set_params(n_components=5)
    assert c.n_components == 5 and m.n_components == 3


def test_librosa_decompose(rng):
    import librosa

    S = np.abs(nmfaudio.stft(rng.standard_normal(8000).astype(np.float32), n_fft=512))
    comps, acts = librosa.decompose.decompose(
        S, transformer=NMF(n_components=8, beta_loss="kullback-leibler", random_state=0))
    assert comps.shape == (257, 8) and acts.shape == (8, S.shape[1])
    assert np.all(comps >= 0) and np.all(acts >= 0)
    rel = np.linalg.norm(comps @ acts - S) / np.linalg.norm(S)
    assert rel < 0.6
