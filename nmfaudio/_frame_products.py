"""The matrix-vector products of the frame-local solve (private; see :mod:`._frames`).

A tile is the rows ``f0:f1`` of the row-major templates ``W (F, K)``: ``W h`` as row dot
products and ``Wᵀ r`` (``Wᵀ b``) as axpys over the templates, run on the tile while it is in
cache. Each product's additions follow the same order for every frame, whatever frames share
a call, so a frame's bits depend on that frame only.
"""

from __future__ import annotations

import numba

__all__ = ["tile_wh", "tile_wh_sources", "tile_t"]


# The products run with reassociation and contraction (FMA) allowed: that makes LLVM
# vectorise the row dot products, and it cannot make a frame's result depend on other frames —
# the same compiled loop runs over the same K or F elements for every frame, whatever the call.
@numba.njit(cache=True, nogil=True, fastmath={"reassoc", "contract"})
def _tile_dots(W, h, out, f0, f1, k0, k1):
    """``out[f] = W[f, k0:k1] · h[k0:k1]`` for the rows ``f0:f1`` of the row-major ``W``, eight
    rows per sweep (each ``h[k]`` loaded once for eight products; eight independent sums
    keep the FMA units busy), then four, then one."""
    zero = W.dtype.type(0.0)
    n = k1 - k0
    hh = h[k0:k1]
    f = f0
    while f + 8 <= f1:
        w0, w1, w2, w3 = W[f, k0:k1], W[f + 1, k0:k1], W[f + 2, k0:k1], W[f + 3, k0:k1]
        w4, w5, w6, w7 = W[f + 4, k0:k1], W[f + 5, k0:k1], W[f + 6, k0:k1], W[f + 7, k0:k1]
        x0, x1, x2, x3 = zero, zero, zero, zero
        x4, x5, x6, x7 = zero, zero, zero, zero
        for k in range(n):
            hk = hh[k]
            x0 += w0[k] * hk
            x1 += w1[k] * hk
            x2 += w2[k] * hk
            x3 += w3[k] * hk
            x4 += w4[k] * hk
            x5 += w5[k] * hk
            x6 += w6[k] * hk
            x7 += w7[k] * hk
        out[f], out[f + 1], out[f + 2], out[f + 3] = x0, x1, x2, x3
        out[f + 4], out[f + 5], out[f + 6], out[f + 7] = x4, x5, x6, x7
        f += 8
    while f + 4 <= f1:
        w0, w1, w2, w3 = W[f, k0:k1], W[f + 1, k0:k1], W[f + 2, k0:k1], W[f + 3, k0:k1]
        x0, x1, x2, x3 = zero, zero, zero, zero
        for k in range(n):
            hk = hh[k]
            x0 += w0[k] * hk
            x1 += w1[k] * hk
            x2 += w2[k] * hk
            x3 += w3[k] * hk
        out[f], out[f + 1], out[f + 2], out[f + 3] = x0, x1, x2, x3
        f += 4
    while f < f1:
        row = W[f, k0:k1]
        x = zero
        for k in range(n):
            x += row[k] * hh[k]
        out[f] = x
        f += 1


@numba.njit(cache=True, nogil=True)
def tile_wh(W, h, wh, f0, f1):
    """``wh[f0:f1] = W[f0:f1] h``."""
    _tile_dots(W, h, wh, f0, f1, 0, W.shape[1])


@numba.njit(cache=True, nogil=True)
def tile_wh_sources(W, h, wh, est, edges, f0, f1):
    """As :func:`tile_wh` (the same ``wh``, bit for bit, so that the frame's loss and
    decisions do not depend on whether models are asked for), plus the per-source models
    ``est[s, f] = W[f, a:b] h[a:b]`` for the templates ``a:b = edges[s]:edges[s + 1]``
    (the last pass of a frame, whose ``h`` is the result: the tile is in cache)."""
    _tile_dots(W, h, wh, f0, f1, 0, W.shape[1])
    for s in range(edges.shape[0] - 1):
        _tile_dots(W, h, est[s], f0, f1, edges[s], edges[s + 1])


@numba.njit(cache=True, nogil=True, fastmath={"contract"})
def tile_t(W, r, b, num, den, f0, f1, kind):
    """``num += W[f0:f1]ᵀ r[f0:f1]`` and (not KL) ``den += W[f0:f1]ᵀ b[f0:f1]``: an axpy per
    row, rows in order, four rows per sweep over the templates so that ``num`` and ``den``
    are loaded and stored once per four rows (the same additions in the same order as one
    row at a time: ``((num + w₀r₀) + w₁r₁) + …``, each a fused multiply-add)."""
    K = W.shape[1]
    f = f0
    while f + 4 <= f1:
        w0, w1, w2, w3 = W[f], W[f + 1], W[f + 2], W[f + 3]
        r0, r1, r2, r3 = r[f], r[f + 1], r[f + 2], r[f + 3]
        if kind == 0:
            for k in range(K):
                num[k] = num[k] + w0[k] * r0 + w1[k] * r1 + w2[k] * r2 + w3[k] * r3
        else:
            b0, b1, b2, b3 = b[f], b[f + 1], b[f + 2], b[f + 3]
            for k in range(K):
                num[k] = num[k] + w0[k] * r0 + w1[k] * r1 + w2[k] * r2 + w3[k] * r3
                den[k] = den[k] + w0[k] * b0 + w1[k] * b1 + w2[k] * b2 + w3[k] * b3
        f += 4
    while f < f1:
        row = W[f]
        rf = r[f]
        if kind == 0:
            for k in range(K):
                num[k] = num[k] + row[k] * rf
        else:
            bf = b[f]
            for k in range(K):
                num[k] = num[k] + row[k] * rf
                den[k] = den[k] + row[k] * bf
        f += 1
