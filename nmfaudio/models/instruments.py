"""``separate(y, sr, instruments=[...])``: supervised separation with bundled models."""

from __future__ import annotations

import numpy as np

from .._checks import check_positive_int, valid_audio
from ..exceptions import ParameterError
from . import model_dictionaries

__all__ = ["separate_instruments"]


def _resample(y, sr_from, sr_to):
    """Resample ``y (..., n)`` along its last axis with soxr (dtype kept)."""
    import soxr

    if sr_from == sr_to:
        return y
    flat = y.reshape(-1, y.shape[-1])
    out = np.stack([soxr.resample(c.astype(np.float64), sr_from, sr_to) for c in flat])
    return out.reshape(y.shape[:-1] + (out.shape[-1],)).astype(y.dtype, copy=False)


def _fit_length(x, n):
    if x.shape[-1] >= n:
        return x[..., :n]
    return np.concatenate([x, np.zeros(x.shape[:-1] + (n - x.shape[-1],), x.dtype)], axis=-1)


def separate_instruments(y, sr, instruments, *, dictionaries=None, n_sources=None, **kwargs):
    """Separate ``y`` into the named bundled models' sources (see :func:`nmfaudio.separate`).

    The models are loaded with :func:`nmfaudio.load_model` and used as fixed
    dictionaries. When ``sr`` differs from the models' rate, the mixture is
    resampled to the models' rate (soxr), separated there, and each source is
    resampled back to ``sr`` and cut to the input length; the sources then sum to
    ``y`` only up to the resampling error (about -60 dB or less), not exactly.

    Parameters
    ----------
    y : np.ndarray [shape=(n,) or (channels, n)]
    sr : int > 0
    instruments : sequence of str
        Model names (:func:`nmfaudio.list_models`), each at most once.
    kwargs
        The supervised options of :func:`nmfaudio.separate` (``n_free``,
        ``free_sparsity``, ``mask_power``, ``max_iter``, ``random_state``, ``callback``).

    Returns
    -------
    dict[str, np.ndarray]
        One waveform per named model (plus ``"residual"`` with ``n_free > 0``),
        each of the shape and float dtype of ``y``.
    """
    from ..separate import separate

    if dictionaries is not None or n_sources is not None:
        raise ParameterError("give instruments=, dictionaries= or n_sources=, not several of them")
    y = valid_audio(y)
    sr = check_positive_int(sr, "sr")
    dicts = model_dictionaries(instruments)
    model_sr = dicts[0].sr
    out = separate(_resample(y, sr, model_sr), model_sr, dictionaries=dicts, **kwargs)
    if model_sr == sr:
        return out
    return {k: _fit_length(_resample(v, model_sr, sr), y.shape[-1]) for k, v in out.items()}
