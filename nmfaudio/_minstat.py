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

import numba
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
    V = np.asarray(V)
    T = V.shape[-1]
    rows = np.ascontiguousarray(V.reshape(-1, T))
    out = np.empty_like(rows)
    if T:
        lo, hi = bounds(win)
        ranks = np.array([rank(n, percentile) for n in range(1, win + 1)], dtype=np.int64)
        _sliding_rank(rows, lo, hi, ranks, out)
    return out.reshape(V.shape)


@numba.njit(nogil=True, cache=True)
def _sliding_rank(rows, lo, hi, ranks, out):
    """Row by row: keep the window's values sorted; one insertion and one deletion per frame
    (binary search, then a shift), and read the value at ``ranks[n - 1]`` of the ``n`` held."""
    R, T = rows.shape
    buf = np.empty(lo + hi + 1, dtype=rows.dtype)
    for i in range(R):
        x = rows[i]
        n = 0
        nxt = 0                          # next frame to insert
        for t in range(T):
            old = t - lo - 1             # the frame leaving the window
            if old >= 0:
                v = x[old]
                j = np.searchsorted(buf[:n], v)
                for m in range(j, n - 1):
                    buf[m] = buf[m + 1]
                n -= 1
            stop = min(T - 1, t + hi)
            while nxt <= stop:           # the frames entering it
                v = x[nxt]
                j = np.searchsorted(buf[:n], v)
                for m in range(n, j, -1):
                    buf[m] = buf[m - 1]
                buf[j] = v
                n += 1
                nxt += 1
            out[i, t] = buf[ranks[n - 1]]
