"""Temporal context for the offline denoiser: frame stacking (spectro-temporal patches).

A stacked spectrogram holds, in each column, ``2c + 1`` consecutive frames of ``V`` one under
the other, so that an NMF template describes a short spectro-temporal patch instead of one
spectrum. :func:`stack_frames` builds it (edges padded by replicating the first / last frame);
:func:`unstack_mean` maps a model of the stacked spectrogram back to the original frames by
averaging, for every frame, the ``2c + 1`` patches that cover it.

Used by :func:`nmfaudio.denoise` when ``nmfaudio.denoise.CONTEXT > 0`` (off by default). The
stacked spectrogram is ``2c + 1`` times the size of ``V``: fine for clips of seconds to minutes;
the block-wise / streaming denoisers (:mod:`nmfaudio.denoise_stream`) do not use it.
"""

from __future__ import annotations

import numpy as np

from .dictionary import training_frames, unit_sum
from .exceptions import ParameterError
from .nmf import nmf

__all__ = ["stack_frames", "unstack_mean", "read_model", "NoiseTemplates"]


def _check_context(c):
    if isinstance(c, bool) or not isinstance(c, (int, np.integer)) or c < 0:
        raise ParameterError(f"context must be an integer >= 0, got {c!r}")
    return int(c)


def stack_frames(V, c):
    """Stack each frame with its ``c`` neighbours on either side.

    Parameters
    ----------
    V : np.ndarray [shape=(..., n_freq, n_frames)]
        Non-negative spectrogram, frequency first (leading axes, e.g. channels, are kept and
        stacked separately, so no patch straddles two channels).
    c : int >= 0
        Context frames on each side; ``0`` returns ``V`` itself.

    Returns
    -------
    V_ctx : np.ndarray [shape=(..., (2c + 1) * n_freq, n_frames), dtype=V.dtype]
        ``V_ctx[..., j * n_freq + f, t] = V[..., f, clip(t + j - c, 0, n_frames - 1)]`` for
        ``j = 0 .. 2c``: block ``j = c`` is ``V``; frames beyond the edges replicate the first
        or last frame.

    Examples
    --------
    >>> import numpy as np
    >>> V = np.arange(6.0).reshape(2, 3)
    >>> stack_frames(V, 1)
    array([[0., 0., 1.],
           [3., 3., 4.],
           [0., 1., 2.],
           [3., 4., 5.],
           [1., 2., 2.],
           [4., 5., 5.]])
    """
    c = _check_context(c)
    if c == 0:
        return V
    T = V.shape[-1]
    pad = [(0, 0)] * (V.ndim - 1) + [(c, c)]
    Vp = np.pad(V, pad, mode="edge")
    blocks = [Vp[..., j:j + T] for j in range(2 * c + 1)]
    return np.ascontiguousarray(np.concatenate(blocks, axis=-2))


def unstack_mean(V_ctx, n_freq, c, n_frames):
    """Overlap-average a stacked spectrogram (or its model) back onto the original frames.

    Parameters
    ----------
    V_ctx : np.ndarray [shape=(..., (2c + 1) * n_freq, n_frames)]
        Stacked spectrogram as :func:`stack_frames` lays it out, or a model of one
        (e.g. ``W_s @ H_s`` of one source).
    n_freq : int
        Frequency bins of one frame.
    c : int >= 0
        Context frames on each side; ``0`` returns ``V_ctx`` itself.
    n_frames : int
        Frames ``T``; must equal ``V_ctx.shape[-1]``.

    Returns
    -------
    V : np.ndarray [shape=(..., n_freq, n_frames), dtype=V_ctx.dtype]
        ``V[..., f, t]`` = mean over the ``j`` with ``0 <= t - j + c < T`` of
        ``V_ctx[..., j * n_freq + f, t - j + c]``: every patch that holds frame ``t``,
        padding excluded. ``unstack_mean(stack_frames(V, c), F, c, T)`` equals ``V``
        (up to rounding of the mean).
    """
    c = _check_context(c)
    if V_ctx.shape[-2] != (2 * c + 1) * n_freq or V_ctx.shape[-1] != n_frames:
        raise ParameterError(f"V_ctx has shape {V_ctx.shape}; expected (..., {(2 * c + 1) * n_freq}, "
                         f"{n_frames}) for n_freq={n_freq}, c={c}")
    if c == 0:
        return V_ctx
    T = n_frames
    acc = np.zeros(V_ctx.shape[:-2] + (n_freq, T), dtype=V_ctx.dtype)
    count = np.zeros(T, dtype=V_ctx.dtype)
    for j in range(2 * c + 1):
        lo, hi = max(0, j - c), min(T, T + j - c)  # target frames t; sources t - j + c
        if hi <= lo:
            continue
        acc[..., lo:hi] += V_ctx[..., j * n_freq:(j + 1) * n_freq, lo - j + c:hi - j + c]
        count[lo:hi] += 1
    return acc / count


def read_model(est, n_freq, c, how="mean"):
    """Per-source models of the original frames from those of the stacked spectrogram.

    Parameters
    ----------
    est : np.ndarray [shape=(..., (2c + 1) * n_freq, n_frames)]
    n_freq, c : int
    how : {"mean", "centre"}
        ``"mean"``: :func:`unstack_mean`; ``"centre"``: the middle block ``j = c`` only.

    Returns
    -------
    np.ndarray [shape=(..., n_freq, n_frames), dtype=est.dtype]
    """
    if how == "mean":
        return unstack_mean(est, n_freq, c, est.shape[-1])
    if how == "centre":
        return np.ascontiguousarray(est[..., c * n_freq:(c + 1) * n_freq, :])
    raise ParameterError(f"how must be 'mean' or 'centre', got {how!r}")


class NoiseTemplates:
    """Noise templates of the stacked noise spectrogram, learned as
    :func:`nmfaudio.learn_noise_dictionary` learns them for single frames (float32 STFT,
    channels' frames pooled, KL fit of ``max_iter`` iterations, unit-sum columns).

    Parameters
    ----------
    noise : np.ndarray [shape=(n,) or (channels, n)]
        The noise alone.
    params : STFTParams
    c : int >= 0
        Context frames on each side.
    n_components : int > 0
    beta : float
    power : float > 0
    random_state : int
    max_iter, tol
        Of the :func:`nmfaudio.nmf` fit (the dictionary learner's defaults).

    Attributes
    ----------
    W : np.ndarray [shape=((2c + 1) * n_freq, n_components), dtype=float32]
        What the denoiser reads of a noise dictionary.
    """

    def __init__(self, noise, params, c, *, n_components, beta, power, random_state, max_iter=200,
                 tol=1e-4):
        V = training_frames([noise], params, power, transform=lambda Vc: stack_frames(Vc, c))
        if not np.any(V > 0):
            raise ParameterError("the noise sample is silent; cannot learn templates")
        W = nmf(V, n_components, beta=beta, max_iter=max_iter, tol=tol, random_state=random_state).W
        self.W = unit_sum(W).astype(np.float32)
