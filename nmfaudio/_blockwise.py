"""Long signals without their whole complex STFT (private; used by :mod:`nmfaudio.separate`).

A separation needs the mixture's magnitudes for the NMF and, at the end, each
source's masked STFT for its inverse. Materialised for a 10-minute stereo file at
44.1 kHz, the complex STFT is 0.85 GB, the magnitudes 0.42 GB, every source's
estimate and mask 0.42 GB each and every source's masked STFT 0.85 GB. Here:

- :func:`magnitudes` computes ``|STFT|`` frame block by frame block straight into
  the channel-stacked layout the NMF takes (``(n_freq, C * n_frames)``), never
  holding the complex STFT;
- :func:`masked_istft` recomputes the STFT one block of frames at a time from the
  signal, asks ``estimate(c, a, b)`` for the sources' models of those frames, builds
  the masks, applies them and overlap-adds every source's inverse, so estimates,
  masks and masked spectra exist only for one block.

Both use the threaded transforms' arithmetic (:mod:`nmfaudio._stft_blocks`: same
frames, blocks and summation order), so they give the bits of
``stack_channels(np.abs(stft(y)))`` and of ``istft(mask_sources(...)[1][s])``
whenever the estimates of a block equal those columns of the whole estimates.
"""

from __future__ import annotations

import numpy as np

from . import _stft_blocks as blocks

__all__ = []


def applies(y, p) -> bool:
    """Whether ``stft``/``istft`` of ``y`` take the threaded path these functions mirror."""
    T = p.n_frames(y.shape[-1])
    return (y.shape[-1] >= blocks.FAST_MIN_SAMPLES and T >= blocks.FAST_MIN_FRAMES
            and p.n_fft % p.hop_length == 0 and y.dtype.kind == "f")


def magnitudes(y, p):
    """``stack_channels(np.abs(stft(y)))`` without the complex STFT.

    Parameters
    ----------
    y : np.ndarray [shape=(..., n), float]
        Validated audio (:func:`applies` true).
    p : STFTParams

    Returns
    -------
    V : np.ndarray [shape=(n_freq, C * n_frames), float32 for float32 ``y``]
        Channel ``c`` in columns ``c * n_frames`` to ``(c + 1) * n_frames - 1``.
    """
    Y = y.reshape(-1, y.shape[-1])
    cdt = np.complex64 if y.dtype == np.float32 else np.complex128
    win = blocks.window(p)
    T = p.n_frames(y.shape[-1])
    V = np.empty((p.n_freq, Y.shape[0] * T), cdt(0).real.dtype)
    edges = list(range(0, T, blocks._BLOCK_FRAMES)) + [T]
    for c in range(Y.shape[0]):
        x = blocks.padded_signal(Y[c], p)

        def job(a, b, x=x, c=c):
            V[:, c * T + a:c * T + b] = np.abs(blocks.analyze(blocks.frame_view(x, a, b, p), win, cdt)).T

        blocks.run([lambda a=a, b=b: job(a, b) for a, b in zip(edges[:-1], edges[1:])])
    return V


def masked_istft(y, p, estimate, n_sources, *, masks):
    """Every source's waveform: STFT block, masks from ``estimate``, masked inverse, overlap-add.

    Parameters
    ----------
    y : np.ndarray [shape=(..., n), float]
        The mixture (:func:`applies` true).
    p : STFTParams
    estimate : callable
        ``estimate(c, a, b)`` -> ``(n_sources, n_freq, b - a)`` non-negative models of
        channel ``c``'s frames ``a`` to ``b - 1``.
    n_sources : int
    masks : callable
        Estimates of a block -> masks of that block (e.g. :func:`nmfaudio.soft_masks`
        with its exponent).

    Returns
    -------
    list of np.ndarray [shape=(..., n)]
        One waveform per source, in the inverse STFT's float type.
    """
    lead, n = y.shape[:-1], y.shape[-1]
    Y = y.reshape(-1, n)
    cdt = np.complex64 if y.dtype == np.float32 else np.complex128
    rdt = np.float32 if cdt == np.complex64 else np.float64
    win = blocks.window(p)
    T = p.n_frames(n)
    n_frames, L, rows, start, win_r, scale = blocks.ola_plan(p, T, n, rdt)
    out = [np.zeros((Y.shape[0], L), rdt) for _ in range(n_sources)]

    def job(c):
        x = blocks.padded_signal(Y[c], p)
        bufs = [np.zeros((rows, p.hop_length), rdt) for _ in range(n_sources)]
        for a in range(0, n_frames, blocks._BLOCK_FRAMES):
            b = min(a + blocks._BLOCK_FRAMES, n_frames)
            S = blocks.analyze(blocks.frame_view(x, a, b, p), win, cdt).T
            M = masks(estimate(c, a, b))
            parts = M.astype(rdt, copy=False) * S[None]
            for s in range(n_sources):
                blocks.overlap_add(bufs[s], parts[s], a, p, win_r)
        for s in range(n_sources):
            ys = bufs[s].ravel()[start:start + L]
            np.divide(ys, scale[:ys.size], out=out[s][c, :ys.size])
            bufs[s] = None

    blocks.run([lambda c=c: job(c) for c in range(Y.shape[0])])
    return [o.reshape(lead + (L,)) for o in out]


def sources(y, p, W, H, labels, names, *, mask="soft", mask_power=2.0, spectrogram_power=1.0):
    """``{name: waveform}`` from a factorisation of :func:`magnitudes` (or a power of them).

    Parameters
    ----------
    y : np.ndarray [shape=(..., n), float]
        The mixture (:func:`applies` true).
    p : STFTParams
    W : np.ndarray [shape=(n_freq, K)]
    H : np.ndarray [shape=(K, C * n_frames)]
        Channels side by side, as :func:`magnitudes` lays them out.
    labels : np.ndarray [shape=(K,)]
        Source of each component, in ``[0, len(names))``.
    names : list of str
    mask, mask_power, spectrogram_power
        As for :func:`nmfaudio.mask_sources`.

    Returns
    -------
    dict[str, np.ndarray [shape=y.shape, dtype=y.dtype]]
    """
    from .masking import binary_masks, soft_masks

    T = p.n_frames(y.shape[-1])
    labels = np.asarray(labels)
    W_s = [np.ascontiguousarray(W[:, labels == s]) for s in range(len(names))]
    H_s = [H[labels == s] for s in range(len(names))]

    def estimate(c, a, b):
        return np.stack([w @ h[:, c * T + a:c * T + b] for w, h in zip(W_s, H_s)])

    if mask == "soft":
        def masks(est):
            return soft_masks(est, mask_power=mask_power / spectrogram_power)
    else:
        masks = binary_masks
    waves = masked_istft(y, p, estimate, len(names), masks=masks)
    return {n: w.astype(y.dtype, copy=False) for n, w in zip(names, waves)}
