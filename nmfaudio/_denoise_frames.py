"""Numba kernels of :class:`nmfaudio.StreamDenoiser` (private module): one frame at a time,
the activations' multiplicative updates with an L1 weight, the online template update and
the blind noise-floor decision, in float64, on preallocated buffers.

Orientation: ``W (n_freq, K)`` row-major, a frame ``v (n_freq,)``; ``W h ≈ v``.
"""

from __future__ import annotations

import numba

_JIT = dict(nogil=True, cache=True)
_EPS = 1e-12


@numba.njit(fastmath={"reassoc", "contract"}, **_JIT)
def _wh(W, h, k0, k1, wh):
    """``wh = max(W[:, k0:k1] h[k0:k1], eps)``."""
    F = W.shape[0]
    n = k1 - k0
    hh = h[k0:k1]
    for f in range(F):
        row = W[f, k0:k1]
        x = 0.0
        for k in range(n):
            x += row[k] * hh[k]
        wh[f] = x if x > _EPS else _EPS


@numba.njit(fastmath={"reassoc", "contract"}, **_JIT)
def _dot(row, hh, n):
    x = 0.0
    for k in range(n):
        x += row[k] * hh[k]
    return x


@numba.njit(fastmath={"reassoc", "contract"}, **_JIT)
def _dot4(w0, w1, w2, w3, hh, n):
    x0 = 0.0
    x1 = 0.0
    x2 = 0.0
    x3 = 0.0
    for k in range(n):
        hk = hh[k]
        x0 += w0[k] * hk
        x1 += w1[k] * hk
        x2 += w2[k] * hk
        x3 += w3[k] * hk
    return x0, x1, x2, x3


@numba.njit(fastmath={"contract"}, **_JIT)
def _axpy4(y, w0, w1, w2, w3, a0, a1, a2, a3, n):
    for k in range(n):
        y[k] = y[k] + w0[k] * a0 + w1[k] * a1 + w2[k] * a2 + w3[k] * a3


@numba.njit(fastmath={"contract"}, **_JIT)
def _axpy(y, row, a, n):
    for k in range(n):
        y[k] += row[k] * a


@numba.njit(**_JIT)
def solve_activations(W, lam, v, h, k0, k1, n_iter, beta, gam, init, wh, r, b, num, den):
    """``n_iter`` multiplicative updates of ``h[k0:k1]`` for the frame ``v`` on the templates
    ``W[:, k0:k1]`` (β-divergence, L1 weights ``lam``): ``h ← h ⊙ (Wᵀ(v ⊙ ŵ^(β−2)) /
    (Wᵀ ŵ^(β−1) + λ + eps))^γ``, ``ŵ = max(W h, eps)``; from ``h = Σ v / K`` if ``init``,
    else from the values in ``h``. One fused pass over the rows of ``W`` per update (the dot
    product, the ratio and the transposed products of a row while it is in cache); for KL
    the denominator ``Wᵀ 1`` is computed once. On return ``wh = max(W h, eps)`` at the
    final ``h``."""
    F = W.shape[0]
    n = k1 - k0
    hh = h[k0:k1]
    if init:
        tot = 0.0
        for f in range(F):
            tot += v[f]
        for k in range(n):
            hh[k] = tot / n
    kl = beta == 1.0
    if kl:
        for k in range(n):
            den[k] = 0.0
        for f in range(F):
            row = W[f, k0:k1]
            for k in range(n):
                den[k] += row[k]
    for _ in range(n_iter):
        for k in range(n):
            num[k] = 0.0
        if not kl:
            for k in range(n):
                den[k] = 0.0
        f = 0
        while f + 4 <= F:  # four rows at a time: h, num and den loaded once per four rows
            w0, w1, w2, w3 = W[f, k0:k1], W[f + 1, k0:k1], W[f + 2, k0:k1], W[f + 3, k0:k1]
            x0, x1, x2, x3 = _dot4(w0, w1, w2, w3, hh, n)
            x0 = x0 if x0 > _EPS else _EPS
            x1 = x1 if x1 > _EPS else _EPS
            x2 = x2 if x2 > _EPS else _EPS
            x3 = x3 if x3 > _EPS else _EPS
            if kl:
                _axpy4(num, w0, w1, w2, w3, v[f] / x0, v[f + 1] / x1, v[f + 2] / x2,
                       v[f + 3] / x3, n)
            else:
                b0, b1 = x0 ** (beta - 1.0), x1 ** (beta - 1.0)
                b2, b3 = x2 ** (beta - 1.0), x3 ** (beta - 1.0)
                _axpy4(num, w0, w1, w2, w3, v[f] * b0 / x0, v[f + 1] * b1 / x1,
                       v[f + 2] * b2 / x2, v[f + 3] * b3 / x3, n)
                _axpy4(den, w0, w1, w2, w3, b0, b1, b2, b3, n)
            f += 4
        while f < F:
            row = W[f, k0:k1]
            x = _dot(row, hh, n)
            x = x if x > _EPS else _EPS
            if kl:
                _axpy(num, row, v[f] / x, n)
            else:
                bf = x ** (beta - 1.0)
                _axpy(num, row, v[f] * bf / x, n)
                _axpy(den, row, bf, n)
            f += 1
        for k in range(n):
            step = num[k] / (den[k] + lam[k0 + k] + _EPS)
            hh[k] *= step if gam == 1.0 else step ** gam
    _wh(W, h, k0, k1, wh)


@numba.njit(**_JIT)
def learn(W, A, B, v, h, wh, k0, k1, beta, rho, r, b):
    """One online majorise-minimise step of the templates ``k0:k1`` from the frame ``v`` with
    activations ``h[k0:k1]`` and model ``wh``: ``A ← ρ A + W ⊙ (r hᵀ)``, ``B ← ρ B + b hᵀ``
    (``b = ŵ^(β−1)``, ``r = v b / ŵ``), then ``W = A / B`` with unit-sum columns; a template
    whose ``B`` column is still zero keeps its shape."""
    F = W.shape[0]
    for f in range(F):
        bf = 1.0 if beta == 1.0 else wh[f] ** (beta - 1.0)
        b[f] = bf
        r[f] = v[f] * bf / wh[f]
    n = k1 - k0
    hh = h[k0:k1]
    for f in range(F):
        a_row = A[f, k0:k1]
        b_row = B[f, k0:k1]
        w_row = W[f, k0:k1]
        rf = r[f]
        bf = b[f]
        for k in range(n):
            a_row[k] = rho * a_row[k] + w_row[k] * (rf * hh[k])
            b_row[k] = rho * b_row[k] + bf * hh[k]
    for k in range(k0, k1):
        bsum = 0.0
        for f in range(F):
            bsum += B[f, k]
        if not bsum > 0.0:
            continue
        tot = 0.0
        for f in range(F):
            x = A[f, k] / max(B[f, k], 1e-30)
            W[f, k] = x
            tot += x
        tot = max(tot, 1e-30)
        for f in range(F):
            W[f, k] /= tot


@numba.njit(**_JIT)
def denoise_frames(V, nt, W, A, B, lam, Ks, state, est, h, hprev, scratch, kwork, n_iter, warm_iter,
                   beta, gam, rho, blind, adapt_speech, floor_ratio, floor_rise):
    """Speech and noise models ``est[t, 0]``, ``est[t, 1]`` of the frames ``V[:nt]`` (``V (≥ nt,
    F)`` float64 magnitudes), updating the model (``W``, ``A``, ``B``) frame by frame.

    ``state = [noise floor (or -1 before the first frame), frames seen, frames since a silent
    one]`` (float64, updated). ``h``/``hprev`` (K,) hold the activations; with ``warm_iter > 0``
    a frame starts from the previous frame's activations (``hprev``, kept here) and runs
    ``warm_iter`` updates instead of ``n_iter`` from the flat start. ``scratch (4, F)`` and
    ``kwork (2, K)`` are float64 scratch."""
    F = W.shape[0]
    K = W.shape[1]
    wh = scratch[0]
    r = scratch[1]
    b = scratch[2]
    vs = scratch[3]
    num = kwork[0]
    den = kwork[1]
    for t in range(nt):
        tot = 0.0
        for f in range(F):
            tot += V[t, f]
        scale = tot / F
        if not scale > 0.0:
            for f in range(F):
                est[t, 0, f] = 0.0
                est[t, 1, f] = 0.0
            state[2] = 0.0  # a silent frame: the next one starts cold
            continue
        for f in range(F):
            vs[f] = V[t, f] / scale
        warm = warm_iter > 0 and state[2] > 0.0
        if warm:
            for k in range(K):
                h[k] = hprev[k]
        solve_activations(W, lam, vs, h, 0, K, warm_iter if warm else n_iter, beta, gam,
                          not warm, wh, r, b, num, den)
        for k in range(K):
            hprev[k] = h[k]
        state[2] += 1.0
        for f in range(F):
            xs = 0.0
            xn = 0.0
            row = W[f]
            for k in range(Ks):
                xs += row[k] * h[k]
            for k in range(Ks, K):
                xn += row[k] * h[k]
            est[t, 0, f] = xs
            est[t, 1, f] = xn
        if blind:
            floor = state[0]
            floor = scale if floor < 0.0 else min(floor * floor_rise, scale)
            state[0] = floor
            if scale <= floor_ratio * floor:
                # noise-like frame: fit it with the noise templates alone and learn from it
                solve_activations(W, lam, vs, h, Ks, K, n_iter, beta, gam, True, wh, r, b,
                                  num, den)
                learn(W, A, B, vs, h, wh, Ks, K, beta, rho, r, b)
            elif adapt_speech:
                learn(W, A, B, vs, h, wh, 0, Ks, beta, rho, r, b)
        elif adapt_speech:
            learn(W, A, B, vs, h, wh, 0, Ks, beta, rho, r, b)
        state[1] += 1.0
