"""Minimum-statistics noise floor (private), shared by :func:`nmfaudio.denoise` (whole
spectrogram) and :func:`nmfaudio.denoise_stream` (at the subsample's frames, block by block).

Per frequency, frame ``t`` of the floor is a low percentile of the magnitudes of frames
``t - lo`` … ``t + hi`` (:func:`bounds`), the window *truncated* to the signal at its ends:
near an edge, and for a signal shorter than the window, only the frames that exist count.
(Padding by repeating the edge frame, scipy's ``mode="nearest"``, would let one edge frame
fill most of a long window on a short clip.) Of ``n`` frames the value taken is the
``rank(n, q)``-th smallest, as ``scipy.ndimage.percentile_filter`` takes it for a full window.

Orientation as everywhere: ``V (..., n_freq, n_frames)``.
"""

from __future__ import annotations

import numpy as np

__all__ = []


def window_frames(seconds, sr, hop_length):
    """Frames in a window of ``seconds`` (at least 3)."""
    return max(3, int(round(seconds * sr / hop_length)))


def bounds(win):
    """``(lo, hi)``: frame ``t``'s window is ``t - lo`` … ``t + hi`` (scipy's centring)."""
    return win // 2, win - 1 - win // 2


def rank(n, percentile):
    """0-based rank of the ``percentile`` of ``n`` values, as scipy's percentile filter takes it."""
    return min(int(float(n) * percentile / 100.0), n - 1)


def floor(V, win, percentile):
    """The floor of ``V (..., F, T)`` (same shape and dtype); frames are the last axis."""
    from scipy.ndimage import percentile_filter

    V = np.asarray(V)
    T = V.shape[-1]
    lo, hi = bounds(win)
    out = np.empty_like(V)
    if T > lo + hi:  # interior frames see the full window: scipy's filter is exact there
        size = (1,) * (V.ndim - 1) + (win,)
        out[..., lo:T - hi] = percentile_filter(V, percentile, size=size, mode="nearest")[..., lo:T - hi]
        edges = list(range(lo)) + list(range(T - hi, T))
    else:
        edges = range(T)
    for t in edges:
        a, b = max(0, t - lo), min(T, t + hi + 1)
        r = rank(b - a, percentile)
        out[..., t] = np.partition(V[..., a:b], r, axis=-1)[..., r]
    return np.ascontiguousarray(out)
