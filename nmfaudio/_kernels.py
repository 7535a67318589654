"""Fused elementwise kernels of the multiplicative updates (numba, one pass, no temporaries).

Each kernel works on one column block of the spectrogram (``V_b``, ``WH_b``: ``(n_freq, n)``)
while it is still in cache after the ``W @ H_b`` product, and adds the partial sums
the β-divergence needs to per-column float64 accumulators (one per frame, summed
over frequency in a fixed order: a frame's loss does not depend on the blocking). The arithmetic per element is the one of
the plain numpy formulas (floor at ``eps``, then divide / power), so the iterates
are those of the reference rules up to the rounding of the matrix products.
"""

from __future__ import annotations

import math

import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

_JIT = dict(nopython=True, nogil=True, cache=True, fastmath=False, error_model="numpy")
# Kernels with a float64 sum may reorder the additions (so that the loop vectorises).
_JIT_SUM = dict(_JIT, fastmath={"reassoc"})


@numba.jit(**_JIT)
def kl_ratio(V, WH, eps):
    """``WH ← V / max(WH, eps)`` in place."""
    F, n = WH.shape
    for f in range(F):
        v = V[f]
        r = WH[f]
        for t in range(n):
            r[t] = v[t] / max(r[t], eps)


@numba.jit(**_JIT)
def kl_ratio_keep(V, WH, B, eps, s):
    """``B ← max(WH, eps)``, ``WH ← V / B`` in place; ``s[t] += Σ_f B[f, t]`` (float64)."""
    F, n = WH.shape
    for f in range(F):
        v = V[f]
        r = WH[f]
        b = B[f]
        for t in range(n):
            x = max(r[t], eps)
            b[t] = x
            s[t] += x
            r[t] = v[t] / x


# --- a vectorisable float32 logarithm for the loss passes --------------------------------
# numpy's log is a separate pass over the block (plus a pass for the sum); numba's math.log
# does not vectorise here. log x = e ln 2 + log1p(f) with x = 2^e (1 + f), 1 + f in
# [√½, √2), and log1p(f) = f − f²/2 + f³ P(f), P a degree-6 polynomial fitted by us
# (Chebyshev least squares of (log1p(f) − f + f²/2) / f³ on that interval, float64, then
# rounded to float32). Accuracy over normal float32 inputs: max |error| 4.1e-6 (at
# |log x| ≈ 88), 2.4e-7 relative — as numpy's float32 log (4.05e-6). Used for float32 only.
_LOG_P = tuple(np.float32(c) for c in (
    0.3333340883255005, -0.2500092089176178, 0.19985128939151764, -0.16592855751514435,
    0.14676378667354584, -0.14118431508541107, 0.0927228331565857))
_P0, _P1, _P2, _P3, _P4, _P5, _P6 = _LOG_P
_ONE32, _HALF32 = np.float32(1.0), np.float32(0.5)
_SQRT2_32, _LN2_32 = np.float32(math.sqrt(2.0)), np.float32(math.log(2.0))


@intrinsic
def _exponent32(typingctx, x):
    """Unbiased binary exponent of a positive normal float32, as a float32."""
    if x != types.float32:
        return None

    def codegen(context, builder, sig, args):
        i32 = ir.IntType(32)
        bits = builder.bitcast(args[0], i32)
        e = builder.sub(builder.lshr(bits, ir.Constant(i32, 23)), ir.Constant(i32, 127))
        return builder.sitofp(e, ir.FloatType())

    return types.float32(types.float32), codegen


@intrinsic
def _significand32(typingctx, x):
    """Significand of a positive normal float32, in [1, 2)."""
    if x != types.float32:
        return None

    def codegen(context, builder, sig, args):
        i32 = ir.IntType(32)
        bits = builder.bitcast(args[0], i32)
        m = builder.or_(builder.and_(bits, ir.Constant(i32, 0x7FFFFF)), ir.Constant(i32, 0x3F800000))
        return builder.bitcast(m, ir.FloatType())

    return types.float32(types.float32), codegen


@numba.njit(inline="always", fastmath={"contract"})
def log32(x):
    """Natural log of a positive normal float32 (see above)."""
    e = _exponent32(x)
    m = _significand32(x)
    big = m > _SQRT2_32
    m = m * _HALF32 if big else m
    e = e + _ONE32 if big else e
    f = m - _ONE32
    p = ((((((_P6 * f + _P5) * f + _P4) * f + _P3) * f + _P2) * f + _P1) * f + _P0)
    f2 = f * f
    return f - _HALF32 * f2 + f2 * f * p + e * _LN2_32


_JIT_LOG = dict(_JIT, fastmath={"contract"})


@numba.jit(**_JIT_LOG)
def kl_ratio_loss32(V, WH, eps, s1, s2):
    """float32 KL pass with the loss fused: ``WH ← V / max(WH, eps)``;
    ``s1[t] += Σ_f V log WHs``, ``s2[t] += Σ_f WHs`` (float64)."""
    F, n = WH.shape
    for f in range(F):
        v = V[f]
        r = WH[f]
        for t in range(n):
            x = max(r[t], eps)
            s2[t] += x
            s1[t] += float(v[t]) * float(log32(x))
            r[t] = v[t] / x


@numba.jit(**_JIT_LOG)
def is_ab_loss32(V, WH, B, eps, s1, s2):
    """float32 :func:`is_ab` with the loss fused: also ``s2[t] += Σ_f log(1 / WHs)``."""
    F, n = WH.shape
    for f in range(F):
        v = V[f]
        a = WH[f]
        b = B[f]
        for t in range(n):
            x = max(a[t], eps)
            inv = (eps / eps) / x
            b[t] = inv
            a[t] = (inv * inv) * v[t]
            s1[t] += v[t] * inv
            s2[t] -= log32(x)


@numba.jit(**_JIT)
def is_ab(V, WH, B, eps, s):
    """β = 0: ``B ← 1 / WHs``, ``WH ← V / WHs²`` (as ``V · B²``) with WHs = max(WH, eps);
    ``s[t] += Σ_f V / WHs``."""
    F, n = WH.shape
    for f in range(F):
        v = V[f]
        a = WH[f]
        b = B[f]
        for t in range(n):
            x = max(a[t], eps)
            inv = (eps / eps) / x
            b[t] = inv
            a[t] = (inv * inv) * v[t]
            s[t] += v[t] * inv


@numba.jit(**_JIT)
def beta_ab(V, WH, B, eps, beta, s1, s2):
    """General β: ``B ← WHs^(β−1)``, ``WH ← V · WHs^(β−1) / WHs``;
    ``s1[t] += Σ_f WHs^β``, ``s2[t] += Σ_f V WHs^(β−1)``."""
    F, n = WH.shape
    bm1 = beta - 1.0
    for f in range(F):
        v = V[f]
        a = WH[f]
        b = B[f]
        for t in range(n):
            x = max(a[t], eps)
            p = x ** bm1
            b[t] = p
            a[t] = (p / x) * v[t]
            s1[t] += p * x
            s2[t] += v[t] * p


@numba.jit(**_JIT)
def half_ab(V, WH, B, eps, s1, s2):
    """β = 0.5 (the dictionaries' default): as :func:`beta_ab` with ``WHs^(−½) = 1 / sqrt(WHs)``,
    a square root instead of a general power per element."""
    F, n = WH.shape
    one = eps / eps
    for f in range(F):
        v = V[f]
        a = WH[f]
        b = B[f]
        for t in range(n):
            x = max(a[t], eps)
            p = one / math.sqrt(x)  # in the data's precision (1.0 would promote to float64)
            b[t] = p
            a[t] = (p / x) * v[t]
            s1[t] += p * x
            s2[t] += v[t] * p


@numba.jit(**_JIT)
def coldot(X, Y, s):
    """``s[t] += Σ_f X[f, t] Y[f, t]`` accumulated in float64 (one sum per column)."""
    F, n = X.shape
    for f in range(F):
        x = X[f]
        y = Y[f]
        for t in range(n):
            s[t] += float(x[t]) * float(y[t])


@numba.jit(**_JIT)
def colsum(X, s):
    """``s[t] += Σ_f X[f, t]`` accumulated in float64."""
    F, n = X.shape
    for f in range(F):
        x = X[f]
        for t in range(n):
            s[t] += float(x[t])


@numba.jit(**_JIT_SUM)
def dot64(X, Y):
    """Σ X ⊙ Y accumulated in float64."""
    F, n = X.shape
    s = 0.0
    for f in range(F):
        x = X[f]
        y = Y[f]
        for t in range(n):
            s += float(x[t]) * float(y[t])
    return s


@numba.jit(**_JIT_SUM)
def sqdiff(V, WH, eps):
    """Σ (V − max(WH, eps))² in float64."""
    F, n = WH.shape
    s = 0.0
    for f in range(F):
        v = V[f]
        w = WH[f]
        for t in range(n):
            d = float(v[t]) - float(max(w[t], eps))
            s += d * d
    return s


@numba.jit(**_JIT)
def mul_flush(X, R, tiny):
    """``X ← X ⊙ R`` with results below the smallest normal number set to 0.

    Entries the updates drive towards zero otherwise become subnormal, and
    arithmetic on subnormals is one to two orders of magnitude slower on x86
    (it made 200 Euclidean iterations 5× slower, in scikit-learn too). A value
    below ``tiny`` (1.2e-38 in float32) is zero at the scale of the data (the
    engine works on ``V / mean(V)``), and a zero stays zero under the updates, as
    the subnormal would have, up to rounding.
    """
    rows, cols = X.shape
    for i in range(rows):
        x = X[i]
        r = R[i]
        for j in range(cols):
            v = x[j] * r[j]
            x[j] = v if v >= tiny else 0.0 * v
