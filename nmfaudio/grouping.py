"""Grouping NMF components into sources (unsupervised separation).

``group_components`` assigns each of the K templates ``W[:, k]`` (and its
activation ``H[k]``) to one of ``n_sources`` sources.
"""

from __future__ import annotations

import numpy as np

from ._checks import check_nonnegative_matrix, check_positive_int, check_seed, show
from .exceptions import ParameterError

__all__ = ["group_components", "source_shares", "GROUPING_METHODS", "MIN_SOURCE_SHARE"]

GROUPING_METHODS = ("mfcc", "activation")

#: A split is degenerate when a source gets less than this share of the model's energy
#: (sum over its components of ||W_k||_2 * ||H_k||_2, the norm of the rank-one part W_k H_k).
MIN_SOURCE_SHARE = 0.02


def _template_mfcc(W, sr, n_fft, n_mfcc=13):
    import librosa
    import scipy.fft

    mel = librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=40, dtype=np.float64)
    logmel = np.log(mel @ W.astype(np.float64) + 1e-10 * (W.max() + 1e-30))
    cep = scipy.fft.dct(logmel, type=2, norm="ortho", axis=0)[1 : n_mfcc + 1]
    return cep.T  # (K, n_mfcc)


def _kmeans(X, n_clusters, random_state):
    from sklearn.cluster import KMeans

    X = X - X.mean(axis=0)
    std = X.std(axis=0)
    X = X / np.where(std > 0, std, 1.0)
    import warnings

    if isinstance(random_state, np.random.Generator):  # scikit-learn takes ints and RandomState
        random_state = int(random_state.integers(2**32 - 1))
    km = KMeans(n_clusters=n_clusters, n_init=10, random_state=random_state)
    with warnings.catch_warnings():
        # identical templates (e.g. silent input) give fewer distinct clusters; handled below
        warnings.filterwarnings("ignore", message="Number of distinct clusters")
        return km.fit_predict(X)


def group_components(W, H, n_sources, *, sr, n_fft, method="mfcc", random_state=0):
    """Cluster NMF components into sources.

    Parameters
    ----------
    W : np.ndarray [shape=(n_freq, K)]
        Templates.
    H : np.ndarray [shape=(K, n_frames)]
        Activations.
    n_sources : int > 0
        Number of groups (≤ K).
    sr : int
        Sample rate (to place the templates on a mel scale).
    n_fft : int
        FFT size of the spectrogram W was learned on.
    method : {"mfcc", "activation"}
        ``"mfcc"``: k-means on the cepstrum (MFCC) of each template — components
        with similar timbre end up together. ``"activation"``: k-means on the
        z-scored log activations — components that play together end up together.
    random_state : int, numpy Generator or None
        Seed of the k-means (a Generator is drawn from once, so it advances).

    Returns
    -------
    labels : np.ndarray [shape=(K,), dtype=int]
        Source index of each component; every source gets at least one component.

    Notes
    -----
    A split that leaves a source with less than ``MIN_SOURCE_SHARE`` (2 %) of the
    model's energy is not returned while another is possible: k-means on MFCC and
    activation features together is tried next, then a split of the components
    ordered by spectral centroid into runs of equal energy (see
    :func:`source_shares`).

    Examples
    --------
    >>> import numpy as np, nmfaudio
    >>> rng = np.random.default_rng(0)
    >>> W = np.concatenate([rng.random((257, 3)) * np.linspace(1, 0, 257)[:, None],
    ...                     rng.random((257, 3)) * np.linspace(0, 1, 257)[:, None]], axis=1)
    >>> labels = nmfaudio.group_components(W, rng.random((6, 50)), 2, sr=8000, n_fft=512)
    >>> labels.shape, sorted(set(labels.tolist()))
    ((6,), [0, 1])
    """
    W = check_nonnegative_matrix(W, "W")
    H = check_nonnegative_matrix(H, "H")
    if H.shape[0] != W.shape[1]:
        raise ParameterError(f"W has {W.shape[1]} components but H has {H.shape[0]} rows; expected equal")
    sr = check_positive_int(sr, "sr")
    n_fft = check_positive_int(n_fft, "n_fft")
    if method == "mfcc" and W.shape[0] != 1 + n_fft // 2:
        raise ParameterError(
            f"W has {W.shape[0]} frequency bins but n_fft={n_fft} gives {1 + n_fft // 2}"
        )
    random_state = check_seed(random_state)
    K = W.shape[1]
    n_sources = check_positive_int(n_sources, "n_sources")
    if n_sources > K:
        raise ParameterError(f"n_sources={n_sources} exceeds the number of components K={K}")
    if n_sources == 1:
        return np.zeros(K, dtype=int)
    if method == "mfcc":
        feats = _template_mfcc(W, sr, n_fft)
    elif method == "activation":
        feats = _log_activations(H)
    else:
        raise ParameterError(f"method={show(method)} is not one of {GROUPING_METHODS}")
    return _non_degenerate(W, H, feats, n_sources, random_state, sr=sr, n_fft=n_fft)


def source_shares(W, H, labels, n_sources):
    """Share of the model's energy held by each source (``||W_k|| ||H_k||`` summed per source)."""
    e = np.linalg.norm(W.astype(np.float64), axis=0) * np.linalg.norm(H.astype(np.float64), axis=1)
    per = np.bincount(labels, weights=e, minlength=n_sources)
    total = per.sum()
    return per / total if total > 0 else np.full(n_sources, 1.0 / n_sources)


def _non_degenerate(W, H, feats, n_sources, random_state, *, sr, n_fft):
    """k-means on ``feats``; if a source ends up (nearly) empty, try other features, then a balanced split.

    Tried in order: the requested features; MFCC and log-activation features together; a
    split of the components ordered by spectral centroid into ``n_sources`` runs of equal
    energy (low to high register), which is never degenerate unless one component holds
    almost all the energy. The first split whose smallest source has at least
    ``MIN_SOURCE_SHARE`` of the energy wins.
    """
    candidates = [lambda: _kmeans(feats, n_sources, random_state)]
    if W.shape[0] == 1 + n_fft // 2:
        both = lambda: _kmeans(np.concatenate(  # noqa: E731
            [_template_mfcc(W, sr, n_fft), _log_activations(H)[:, :: max(1, H.shape[1] // 200)]], axis=1),
            n_sources, random_state)
        candidates.append(both)
    candidates.append(lambda: _balanced_split(W, H, n_sources))
    best, best_share = None, -1.0
    for make in candidates:
        labels = _fill_empty(np.asarray(make()), n_sources)
        share = float(source_shares(W, H, labels, n_sources).min())
        if share >= MIN_SOURCE_SHARE:
            return labels.astype(int)
        if share > best_share:
            best, best_share = labels, share
    return best.astype(int)


def _log_activations(H):
    return np.log(H.astype(np.float64) + 1e-10 * (H.max() + 1e-30))


def _fill_empty(labels, n_sources):
    # k-means never leaves a cluster empty when K >= n_sources distinct points; guard anyway.
    labels = labels.copy()
    for s in range(n_sources):
        if not np.any(labels == s):
            counts = np.bincount(labels, minlength=n_sources)
            donor = int(np.argmax(counts))
            labels[np.flatnonzero(labels == donor)[0]] = s
    return labels


def _balanced_split(W, H, n_sources):
    """Components ordered by spectral centroid, cut into ``n_sources`` runs of about equal energy."""
    Wd = W.astype(np.float64)
    bins = np.arange(W.shape[0], dtype=np.float64)
    centroid = (bins @ Wd) / np.maximum(Wd.sum(axis=0), 1e-300)
    order = np.argsort(centroid, kind="stable")
    e = np.linalg.norm(Wd, axis=0) * np.linalg.norm(H.astype(np.float64), axis=1)
    cum = np.cumsum(e[order])
    total = cum[-1] if cum[-1] > 0 else 1.0
    runs = np.minimum((n_sources * (cum - e[order] / 2) / total).astype(int), n_sources - 1)
    labels = np.empty(W.shape[1], dtype=int)
    labels[order] = runs
    return _fill_empty(labels, n_sources)
