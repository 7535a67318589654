"""Numba kernels of the block processors' steady state (private module).

The streaming analysis, the masks and the overlap-add run on buffers allocated once per
stream (grown when a longer block arrives, amortised), so that
:meth:`nmfaudio.StreamSeparator.process` allocates nothing per call but its output. These
kernels do the parts numpy cannot do in place without temporaries: moving a buffer's tail
to its start (numpy copies overlapping ranges through a temporary), checking samples are
finite (``np.isfinite(x).all()`` builds a boolean array), soft masks applied straight to
the mixture frames, the windowed overlap-add and the normalised read-out of final samples.

Layouts are frame-major: spectra ``(..., n_frames, n_freq)``, one frame contiguous.
"""

from __future__ import annotations

import numba
import numpy as np

_JIT = dict(nogil=True, cache=True)


@numba.njit(**_JIT)
def count_nonfinite(x):
    """Number of NaN/Inf values of the 2-D array ``x``."""
    bad = 0
    for i in range(x.shape[0]):
        for j in range(x.shape[1]):
            if not np.isfinite(x[i, j]):
                bad += 1
    return bad


@numba.njit(**_JIT)
def shift_left(buf, drop, length):
    """``buf[:, :length - drop] = buf[:, drop:length]`` (2-D ``buf``), copying forward."""
    n = length - drop
    for i in range(buf.shape[0]):
        row = buf[i]
        for j in range(n):
            row[j] = row[j + drop]


@numba.njit(**_JIT)
def soft_mask_apply(S, est, p, out, zs, nt):
    """Soft masks of the per-source models applied to the first ``nt`` mixture frames.

    ``S (C, ≥ nt, F)`` complex mixture frames, ``est (C, ≥ nt, n_src, F)`` non-negative
    models, ``out (n_src, C, ≥ nt, F)`` complex (``zs``: scratch of ``n_src`` values of
    est's dtype; whole buffers and a count, so that the kernel always sees the same array
    layouts and never compiles again mid-stream): ``out[s] = S · Z_s / Σ_j Z_j`` with ``Z = (est / max_j
    est_j) ** p`` per bin, each source ``1 / n_src`` where every model is zero — the
    arithmetic of :func:`nmfaudio.soft_masks` and :func:`nmfaudio.apply_masks`
    (``p = mask_power / spectrogram_power``)."""
    C, F = S.shape[0], S.shape[2]
    n_src = est.shape[2]
    rdt = est.dtype.type
    share = rdt(1.0 / n_src)
    pp = rdt(p)
    square = p == 2.0
    plain = p == 1.0
    for c in range(C):
        for t in range(nt):
            for f in range(F):
                ref = est[c, t, 0, f]
                for s in range(1, n_src):
                    if est[c, t, s, f] > ref:
                        ref = est[c, t, s, f]
                x = S[c, t, f]
                if ref == 0:
                    for s in range(n_src):
                        out[s, c, t, f] = x * share
                    continue
                den = rdt(0.0)
                for s in range(n_src):
                    z = est[c, t, s, f] / ref
                    z = z if plain else (z * z if square else z ** pp)
                    zs[s] = z
                    den += z
                for s in range(n_src):
                    out[s, c, t, f] = x * (zs[s] / den)


@numba.njit(**_JIT)
def overlap_add(acc, wss, y, nt, win, win_sq, j0, hop):
    """Add the first ``nt`` inverse-FFT frames of ``y (L, ≥ nt, N)`` times the window into ``acc (L, ·)``
    (float64) from index ``j0``, frame ``i`` at ``j0 + i·hop``, and the squared window into
    the window sum ``wss``."""
    L, N = y.shape[0], y.shape[2]
    for i in range(nt):
        j = j0 + i * hop
        for n in range(N):
            wss[j + n] += win_sq[n]
        for l in range(L):
            a = acc[l]
            fr = y[l, i]
            for n in range(N):
                a[j + n] += np.float64(fr[n]) * win[n]


@numba.njit(**_JIT)
def take_final(acc, wss, m, tiny, out, o, write):
    """The first ``m`` accumulated samples divided by the window sum (where it exceeds
    ``tiny``) into ``out[:, o:o + m]`` (rounded to ``out``'s dtype; skipped unless
    ``write``); then ``acc`` and ``wss`` move left by ``m`` and their freed tails are
    zeroed."""
    L, cap = acc.shape
    for l in range(L):
        a = acc[l]
        if write:
            dst = out[l]
            for i in range(m):
                w = wss[i]
                dst[o + i] = a[i] / w if w > tiny else a[i]
        for i in range(cap - m):
            a[i] = a[i + m]
        for i in range(cap - m, cap):
            a[i] = 0.0
    for i in range(cap - m):
        wss[i] = wss[i + m]
    for i in range(cap - m, cap):
        wss[i] = 0.0


@numba.njit(**_JIT)
def window_frames(buf, a, hop, nt, win, out):
    """``out[c, i] = buf[c, a + i·hop : a + i·hop + N] · win`` in float64 for ``i < nt``
    (``N = win.size``): the windowed frames of the streaming analysis, without the cast
    buffer numpy's mixed-precision multiply allocates."""
    N = win.shape[0]
    for c in range(buf.shape[0]):
        row = buf[c]
        for i in range(nt):
            j = a + i * hop
            dst = out[c, i]
            for n in range(N):
                dst[n] = np.float64(row[j + n]) * win[n]
