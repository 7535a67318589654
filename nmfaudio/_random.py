"""Random starting templates, built the same way by every path that learns free components."""

from __future__ import annotations

import numpy as np


def random_templates(rng, n_freq, n_components, dtype):
    """``W0 (n_freq, n_components)``: uniform in [0.1, 1.1), each column summing to one.

    ``rng`` is a ``numpy.random.Generator``; the draw ``rng.random((n_freq, K))``
    advances it, so successive calls give different templates.
    """
    dtype = np.dtype(dtype)
    W = rng.random((n_freq, n_components)).astype(dtype) + dtype.type(0.1)
    W /= W.sum(axis=0)
    return W
