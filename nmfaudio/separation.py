"""What a separation produces, and the channel helpers both separation paths share.

Orientation as everywhere: spectrograms are ``(..., n_freq, n_frames)``; ``W`` is
``(n_freq, K)``, ``H`` is ``(..., K, n_frames)``.
"""

from __future__ import annotations

import dataclasses

import numpy as np

__all__ = ["Separation", "stack_channels", "unstack_channels"]


@dataclasses.dataclass
class Separation:
    """Everything a spectrogram-domain separation produced.

    Attributes
    ----------
    names : list of str
        Source names, in the order of the first axis of ``masks``/``S_sources``.
    S_sources : np.ndarray [shape=(n_sources, ..., n_freq, n_frames), complex] or None
        Masked mixture STFT per source (sums to the mixture STFT). None when a long
        input was masked block by block (``separate_with_details(..., keep_masks=False)``).
    masks : np.ndarray [shape=(n_sources, ..., n_freq, n_frames)] or None
        None in the same case as ``S_sources``.
    W : np.ndarray [shape=(n_freq, K)]
        Templates shared by all channels.
    H : np.ndarray [shape=(..., K, n_frames)]
        Activations per channel.
    labels : np.ndarray [shape=(K,)]
        Source index of each component.
    n_iter : int
        Iterations run; for the frame-by-frame supervised solve, the most any frame
        could run (each frame may stop earlier, see ``max_iter`` of
        :func:`nmfaudio.separate_supervised_spectrogram`).
    loss : float

    Examples
    --------
    >>> import numpy as np, nmfaudio
    >>> S = nmfaudio.stft(np.random.default_rng(0).standard_normal(4000), n_fft=256)
    >>> sep = nmfaudio.separate_spectrogram(S, sr=8000, n_sources=2, n_components=4, max_iter=20)
    >>> sep.names, sep.W.shape, sep.H.shape == (4, S.shape[1]), sep.masks.shape == (2,) + S.shape
    (['source1', 'source2'], (129, 4), True, True)
    """

    names: list
    S_sources: np.ndarray
    masks: np.ndarray
    W: np.ndarray
    H: np.ndarray
    labels: np.ndarray
    n_iter: int
    loss: float


def stack_channels(V):
    """Concatenate the channels of ``V (..., n_freq, n_frames)`` along time: ``(n_freq, C * n_frames)``.

    Used so that all channels share templates ``W`` while each has its own activations.
    """
    if V.ndim == 2:
        return V
    C = int(np.prod(V.shape[:-2]))
    Vc = V.reshape(C, V.shape[-2], V.shape[-1])
    return np.ascontiguousarray(np.concatenate(list(Vc), axis=1))


def unstack_channels(X, lead_shape, n_frames):
    """Inverse of :func:`stack_channels` for ``X (rows, C * n_frames)`` → ``(*lead_shape, rows, n_frames)``."""
    if not lead_shape:
        return X
    C = int(np.prod(lead_shape))
    parts = np.stack(np.split(X, C, axis=1))
    return parts.reshape(*lead_shape, X.shape[0], n_frames)
