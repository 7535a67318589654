"""Numerical helpers shared by :func:`nmfaudio.nmf` and :func:`nmfaudio.nmfd` (private module).

Orientation as everywhere: ``V (n_freq, n_frames) ≈ W (n_freq, K) @ H (K, n_frames)``.
Arguments are assumed valid (the public entry points validate them).
"""

from __future__ import annotations

import numbers

import numpy as np

from ._checks import show
from .exceptions import ParameterError


def gamma(beta: float) -> float:
    """Févotte–Idier exponent γ(β) of the multiplicative rule (monotone for every β)."""
    if beta < 1:
        return 1.0 / (2.0 - beta)
    if beta > 2:
        return 1.0 / (beta - 1.0)
    return 1.0


def eps(dtype) -> float:
    """Machine epsilon of ``dtype`` (the floor of denominators and of ``W H``)."""
    return float(np.finfo(dtype).eps)


def scaled_data(V, beta):
    """``(V / scale, scale, eps)``: V divided by its mean (1 if that is not a positive finite
    number) in V's dtype, floored at ``eps`` for β ≤ 0. The solvers work on it so that their
    eps floors are relative to the data; the β-divergence is homogeneous, so the iterates are
    those on V up to rounding."""
    dtype = V.dtype
    scale = float(V.mean())
    if not np.isfinite(scale) or scale <= 0:
        scale = 1.0
    floor = eps(dtype)
    Vs = np.asarray(V / dtype.type(scale), dtype=dtype)
    if beta <= 0:
        Vs = np.maximum(Vs, floor)
    return Vs, scale, floor


def divergence(V, WH, beta: float, eps: float) -> float:
    """β-divergence ``D(V | WH)`` with WH floored at ``eps`` (V is pre-floored for β ≤ 0)."""
    WH = np.maximum(WH, eps)
    if beta == 2.0:
        diff = V - WH
        return 0.5 * float(np.dot(diff.ravel(), diff.ravel()))
    if beta == 1.0:
        ratio = V / WH
        np.log(ratio, out=ratio, where=ratio > 0)
        ratio[V == 0] = 0.0
        return float(np.sum(V * ratio, dtype=np.float64) - np.sum(V, dtype=np.float64)
                     + np.sum(WH, dtype=np.float64))
    if beta == 0.0:
        ratio = V / WH
        return float(np.sum(ratio, dtype=np.float64) - np.sum(np.log(ratio), dtype=np.float64)
                     - V.size)
    total = (np.sum(V ** beta, dtype=np.float64) + (beta - 1.0) * np.sum(WH ** beta, dtype=np.float64)
             - beta * np.sum(V * WH ** (beta - 1.0), dtype=np.float64))
    return float(total / (beta * (beta - 1.0)))


def rng(random_state):
    """A numpy Generator from ``random_state`` (None, a non-negative int, a Generator or a
    RandomState); ParameterError otherwise."""
    if isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, np.random.RandomState):
        return np.random.default_rng(random_state.randint(0, 2**31 - 1))
    if random_state is None or (isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool)):
        if random_state is not None and random_state < 0:
            raise ParameterError(f"random_state={show(random_state)} must be a non-negative integer")
        return np.random.default_rng(random_state)
    raise ParameterError(f"random_state={show(random_state)} must be None, an int or a numpy Generator")
