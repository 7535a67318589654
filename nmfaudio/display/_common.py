"""Helpers shared by the plotting modules of :mod:`nmfaudio.display` (private).

The one place matplotlib is imported (inside :func:`pyplot`, so importing this module does
not load it); librosa's ``specshow`` draws every time–frequency image.
"""

from __future__ import annotations

import numpy as np

from .._checks import show, valid_audio
from ..exceptions import ParameterError
from ..stft import stft

#: Colours used for sources (matplotlib's "tab10" order).
SOURCE_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
                 "#7f7f7f", "#bcbd22", "#17becf")
Y_AXES = ("log", "linear", "mel")
#: Time-frequency images with more frames than this are drawn from the maximum over groups
#: of consecutive frames (:func:`decimate_frames`): a figure is at most a few thousand
#: pixels wide, and a pcolormesh of every frame of a long recording takes gigabytes.
MAX_COLUMNS = 2048


def pyplot():
    import matplotlib.pyplot as plt

    return plt


def specshow(data, ax, **kw):
    import librosa.display

    return librosa.display.specshow(data, ax=ax, **kw)


def source_color(i):
    return SOURCE_COLORS[i % len(SOURCE_COLORS)]


def to_db(X, *, ref, top_db):
    """dB of ``X`` re. ``ref`` (a number, or an array broadcasting against X), floored at -top_db."""
    X = np.asarray(X, dtype=np.float64)
    amin = 1e-10
    ref = np.maximum(np.asarray(ref, dtype=np.float64), amin)
    D = 20.0 * np.log10(np.maximum(X, amin) / ref)
    return np.maximum(D, -top_db)


def decimate_frames(X, hop_length, max_columns=MAX_COLUMNS):
    """``(X', hop')``: ``X (rows, n_frames)`` with at most ``max_columns`` columns.

    Each column of ``X'`` is the maximum of ``f = ceil(n_frames / max_columns)``
    consecutive frames (the last group may be shorter), and ``hop' = f * hop_length``,
    so a time axis built from ``hop'`` stays right. ``f = 1`` returns ``X`` itself.
    The maximum keeps short loud events visible that a mean would smear out.
    """
    T = X.shape[-1]
    f = -(-T // max_columns)
    if f <= 1:
        return X, hop_length
    n = -(-T // f)
    pad = n * f - T
    Xp = X if not pad else np.concatenate([X, np.repeat(X[:, -1:], pad, axis=1)], axis=1)
    return Xp.reshape(X.shape[0], n, f).max(axis=2), hop_length * f


def check_y_axis(y_axis):
    if y_axis not in Y_AXES:
        raise ParameterError(f"y_axis={show(y_axis)} must be one of {Y_AXES}")
    return y_axis


def magnitude(data, params):
    """``(n_freq, n_frames)`` magnitude from a waveform, a complex STFT or a magnitude."""
    X = np.asarray(data)
    if np.iscomplexobj(X):
        if X.ndim < 2:
            raise ParameterError(f"a complex STFT must have shape (..., n_freq, n_frames), got {X.shape}")
        M = np.abs(X)
        return M.reshape(-1, *M.shape[-2:]).mean(axis=0)
    if X.ndim == 1 or (X.ndim == 2 and X.shape[0] <= 64):
        y = valid_audio(X, "data")
        if y.ndim == 2:
            y = y.mean(axis=0)
        from .. import _blockwise

        if _blockwise.applies(y, params):  # the magnitudes, without the whole complex STFT
            return _blockwise.magnitudes(y, params)
        return np.abs(stft(y, stft_params=params))
    if X.ndim == 2:
        if X.dtype.kind not in "fiu" or not np.all(np.isfinite(X)) or (X < 0).any():
            raise ParameterError("a real 2-D spectrogram must be finite and non-negative")
        return X
    raise ParameterError(
        f"data has shape {X.shape}; expected a waveform (n,) or (channels, n), a complex STFT "
        "or a magnitude spectrogram (n_freq, n_frames)"
    )


def get_axes(ax):
    if ax is None:
        _, ax = pyplot().subplots(figsize=(8, 3.5), layout="constrained")
    return ax


def source_name(names, s):
    return names[s] if names is not None and s < len(names) else f"source {s + 1}"
