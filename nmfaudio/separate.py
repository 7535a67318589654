"""High-level separation: audio → STFT → NMF → grouping → masks → audio.

Each step is a public function of its own; this module only chains them.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ._checks import check_finite_float, check_positive_int, valid_audio
from .exceptions import ParameterError
from .grouping import group_components
from .masking import apply_masks, binary_masks, soft_masks
from .nmf import nmf, resolve_beta
from .stft import STFTParams, istft, stft

__all__ = ["separate", "separate_spectrogram", "Separation", "stack_channels", "unstack_channels"]

#: Components per source used by unsupervised separation when ``n_components`` is None.
COMPONENTS_PER_SOURCE = 8


@dataclasses.dataclass
class Separation:
    """Everything a spectrogram-domain separation produced.

    Attributes
    ----------
    names : list of str
        Source names, in the order of the first axis of ``masks``/``S_sources``.
    S_sources : np.ndarray [shape=(n_sources, ..., n_freq, n_frames), complex]
        Masked mixture STFT per source (sums to the mixture STFT).
    masks : np.ndarray [shape=(n_sources, ..., n_freq, n_frames)]
    W : np.ndarray [shape=(n_freq, K)]
        Templates shared by all channels.
    H : np.ndarray [shape=(..., K, n_frames)]
        Activations per channel.
    labels : np.ndarray [shape=(K,)]
        Source index of each component.
    n_iter : int
    loss : float
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


def separate_spectrogram(S, *, sr, n_sources=2, n_components=None, beta="kl", mask="soft",
                         mask_power=2.0, max_iter=200, tol=1e-4, grouping="mfcc",
                         random_state=0, n_fft=None, names=None):
    """Unsupervised NMF separation of a complex STFT.

    Parameters
    ----------
    S : np.ndarray [shape=(..., n_freq, n_frames), complex]
        Mixture STFT; leading axes are channels that share templates.
    sr : int > 0
        Sample rate (used to group components on a mel scale).
    n_sources : int > 0
        Number of sources.
    n_components : int > 0 or None
        NMF components K; default ``8 * n_sources``.
    beta : str or float
        β-divergence (see :func:`nmfaudio.nmf`).
    mask : {"soft", "binary"}
    mask_power : float > 0
        Exponent of the soft mask.
    max_iter, tol, random_state
        Passed to :func:`nmfaudio.nmf`.
    grouping : {"mfcc", "activation"}
        See :func:`nmfaudio.group_components`.
    n_fft : int or None
        FFT size, inferred from ``n_freq`` if None.
    names : list of str or None
        Source names; default ``source1``, ``source2``, ...

    Returns
    -------
    Separation
    """
    S = np.asarray(S)
    if not np.iscomplexobj(S) or S.ndim < 2:
        raise ParameterError(f"S must be a complex STFT of shape (..., n_freq, n_frames); got {S.dtype} {S.shape}")
    sr = check_positive_int(sr, "sr")
    n_sources = check_positive_int(n_sources, "n_sources")
    K = check_positive_int(n_components, "n_components", allow_none=True) or COMPONENTS_PER_SOURCE * n_sources
    if K < n_sources:
        raise ParameterError(f"n_components={K} must be >= n_sources={n_sources}")
    if mask not in ("soft", "binary"):
        raise ParameterError(f"mask={mask!r} must be 'soft' or 'binary'")
    mask_power = check_finite_float(mask_power, "mask_power", low=0.0, low_open=True)
    beta = resolve_beta(beta)
    if names is None:
        names = [f"source{i + 1}" for i in range(n_sources)]
    names = [str(n) for n in names]
    if len(names) != n_sources or len(set(names)) != n_sources:
        raise ParameterError(f"names={names!r} must be {n_sources} distinct strings")
    if n_fft is None:
        n_fft = 2 * (S.shape[-2] - 1)

    lead, T = S.shape[:-2], S.shape[-1]
    V = stack_channels(np.abs(S))
    res = nmf(V, K, beta=beta, max_iter=max_iter, tol=tol, random_state=random_state)
    labels = group_components(res.W, res.H, n_sources, sr=sr, n_fft=n_fft, method=grouping,
                              random_state=random_state)
    est = np.stack([res.W[:, labels == s] @ res.H[labels == s] for s in range(n_sources)])
    est = np.stack([unstack_channels(e, lead, T) for e in est])
    masks = soft_masks(est, power=mask_power) if mask == "soft" else binary_masks(est)
    S_sources = apply_masks(S, masks)
    return Separation(names=names, S_sources=S_sources, masks=masks, W=res.W,
                      H=unstack_channels(res.H, lead, T), labels=labels, n_iter=res.n_iter,
                      loss=res.loss)


def separate(y, sr, *, n_sources=2, n_components=None, beta="kl", n_fft=2048, hop_length=None,
             win_length=None, window="hann", mask="soft", mask_power=2.0, max_iter=200, tol=1e-4,
             grouping="mfcc", random_state=0):
    """Separate a recording into ``n_sources`` sources without training data.

    Chains :func:`stft` → :func:`nmf` on the magnitude → :func:`group_components`
    → :func:`soft_masks` on each group's ``W_s @ H_s`` → :func:`apply_masks` →
    :func:`istft`.

    Parameters
    ----------
    y : np.ndarray [shape=(n,) or (channels, n)]
        Mixture. For several channels, the magnitude spectrograms of all channels
        are factorised together with shared templates and per-channel activations,
        and each channel is masked with its own estimates, so the output keeps the
        channel layout.
    sr : int > 0
        Sample rate of ``y``.
    n_sources : int > 0
        Number of sources to return.
    n_components : int > 0 or None
        NMF components; default ``8 * n_sources``.
    beta : str or float
        β-divergence (default ``"kl"``).
    n_fft, hop_length, win_length, window
        STFT settings (see :class:`STFTParams`).
    mask : {"soft", "binary"}
    mask_power : float > 0
        Soft-mask exponent (2 = Wiener).
    max_iter, tol : int, float
        NMF stopping rule.
    grouping : {"mfcc", "activation"}
        How components are clustered into sources.
    random_state : int
        Seed (NMF initialisation and clustering); the default makes runs reproducible.

    Returns
    -------
    sources : dict[str, np.ndarray]
        ``{"source1": y1, ...}``; each has the shape and float dtype of ``y``, and
        the sources sum to ``y`` (up to STFT round-trip error, ~1e-6).

    Examples
    --------
    >>> import numpy as np, nmfaudio
    >>> sr = 8000; t = np.arange(sr) / sr
    >>> y = (np.sin(2 * np.pi * 440 * t) + 0.5 * np.sign(np.sin(2 * np.pi * 3 * t))).astype(np.float32)
    >>> out = nmfaudio.separate(y, sr, n_sources=2, n_fft=512, max_iter=50)
    >>> sorted(out), out["source1"].shape, out["source1"].dtype
    (['source1', 'source2'], (8000,), dtype('float32'))
    """
    y = valid_audio(y)
    sr = check_positive_int(sr, "sr")
    params = STFTParams(n_fft=n_fft, hop_length=hop_length, win_length=win_length, window=window)
    S = stft(y, params=params)
    sep = separate_spectrogram(S, sr=sr, n_sources=n_sources, n_components=n_components, beta=beta,
                               mask=mask, mask_power=mask_power, max_iter=max_iter, tol=tol,
                               grouping=grouping, random_state=random_state, n_fft=params.n_fft)
    out = {}
    for name, Ss in zip(sep.names, sep.S_sources):
        out[name] = istft(Ss, params=params, length=y.shape[-1]).astype(y.dtype, copy=False)
    return out
