"""Plots of the NMF factors, templates ``W`` and activations ``H``, of :mod:`nmfaudio.display`
(private; import from there)."""

from __future__ import annotations

import numpy as np

from .._checks import check_finite_float, check_positive_int
from ..exceptions import ParameterError
from ._common import check_y_axis, decimate_frames, get_axes, source_color, source_name, specshow, to_db


def _group_order(K, labels):
    if labels is None:
        return np.arange(K), None
    labels = np.asarray(labels)
    if labels.shape != (K,):
        raise ParameterError(f"labels has shape {labels.shape}; expected ({K},), one per component")
    order = np.argsort(labels, kind="stable")
    return order, labels[order]


def _group_spans(sorted_labels):
    """[(label, start, stop)] runs of equal labels."""
    spans, start = [], 0
    for i in range(1, len(sorted_labels) + 1):
        if i == len(sorted_labels) or sorted_labels[i] != sorted_labels[start]:
            spans.append((int(sorted_labels[start]), start, i))
            start = i
    return spans


def _mark_groups(ax, sorted_labels, names, *, axis, line_color, lw, fontsize=None):
    """Lines between the source groups of sorted components along ``axis`` ("x" or "y";
    specshow centres component k on k, cells span k ± 0.5) and one bold tick label per
    group in the source's colour."""
    spans = _group_spans(sorted_labels)
    line = ax.axvline if axis == "x" else ax.axhline
    for _, start, _stop in spans[1:]:
        line(start - 0.5, color=line_color, lw=lw)
    getattr(ax, f"set_{axis}ticks")([(a + b - 1) / 2 for _, a, b in spans])
    kw = {} if fontsize is None else {"fontsize": fontsize}
    getattr(ax, f"set_{axis}ticklabels")([source_name(names, s) for s, _, _ in spans], **kw)
    for tick, (s, _, _) in zip(getattr(ax, f"get_{axis}ticklabels")(), spans):
        tick.set_color(source_color(s))
        tick.set_fontweight("bold")


def plot_templates(W, *, sr, labels=None, names=None, y_axis="log", top_db=60.0, ax=None,
                   title="Templates W", colorbar=False, cmap="magma"):
    """Spectral templates: one column per component, frequency (Hz) on y.

    Parameters
    ----------
    W : np.ndarray [shape=(n_freq, K)], non-negative
        Templates; ``n_fft = 2 * (n_freq - 1)`` places the bins.
    sr : int > 0
        Sample rate.
    labels : np.ndarray [shape=(K,), dtype=int] or None
        Source index of each component: columns are sorted by source, groups are
        separated by white lines and named below the axis in the source colours.
    names : list of str or None
        Source names for the groups (default "source 1", ...).
    y_axis : {"log", "linear"}
    top_db : float > 0
        Each column is shown in dB relative to its own peak, over this range.
    ax, title, colorbar, cmap
        As in :func:`plot_spectrogram`.

    Returns
    -------
    img : matplotlib.collections.QuadMesh

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import numpy as np, nmfaudio.display
    >>> W = np.random.default_rng(0).random((257, 6))
    >>> img = nmfaudio.display.plot_templates(W, sr=8000, labels=[0, 1, 0, 1, 1, 0])
    >>> [t.get_text() for t in img.axes.get_xticklabels()]
    ['source 1', 'source 2']
    """
    sr = check_positive_int(sr, "sr")
    y_axis = check_y_axis(y_axis)
    top_db = check_finite_float(top_db, "top_db", low=0.0, low_open=True)
    W = np.asarray(W)
    if W.ndim != 2 or W.shape[1] == 0 or W.shape[0] < 2:
        raise ParameterError(f"W has shape {W.shape}; expected (n_freq, K) with K >= 1")
    if not np.all(np.isfinite(W)) or (W < 0).any():
        raise ParameterError("W must be finite and non-negative")
    K = W.shape[1]
    order, sorted_labels = _group_order(K, labels)
    Ws = W[:, order].astype(np.float64)
    D = to_db(Ws, ref=Ws.max(axis=0, keepdims=True), top_db=top_db)
    ax = get_axes(ax)
    img = specshow(D, ax, sr=sr, n_fft=2 * (W.shape[0] - 1), y_axis=y_axis, x_axis=None,
                    cmap=cmap, vmin=-top_db, vmax=0.0)
    ax.set_ylabel("Hz")
    ax.set_xlabel("Component")
    if sorted_labels is not None:
        _mark_groups(ax, sorted_labels, names, axis="x", line_color="white", lw=1.5, fontsize="small")
        ax.set_xlabel("Components, by source")
    else:
        step = max(1, K // 8)
        ax.set_xticks(np.arange(0, K, step))
        ax.set_xticklabels([str(k) for k in range(0, K, step)])
    if title:
        ax.set_title(title)
    if colorbar:
        ax.figure.colorbar(img, ax=ax, format="%+.0f dB", label="dB re. column peak")
    return img


def plot_activations(H, *, sr, hop_length, labels=None, names=None, top_db=40.0, ax=None,
                     title="Activations H", colorbar=False, cmap="Greys"):
    """Activations: one row per component, time (s) on x.

    Parameters
    ----------
    H : np.ndarray [shape=(K, n_frames) or (channels, K, n_frames)], non-negative
        Activations (channels are averaged).
    sr : int > 0
        Sample rate.
    hop_length : int > 0
        Frame advance of the STFT the activations belong to.
    labels, names
        Group the rows by source, as in :func:`plot_templates`.
    top_db : float > 0
        Each row is shown in dB relative to its own peak, over this range.
    ax, title, colorbar, cmap
        As in :func:`plot_spectrogram`.

    Returns
    -------
    img : matplotlib.collections.QuadMesh

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import numpy as np, nmfaudio.display
    >>> H = np.random.default_rng(0).random((4, 100))
    >>> img = nmfaudio.display.plot_activations(H, sr=8000, hop_length=128)
    >>> img.axes.get_xlabel()
    'Time (s)'
    """
    sr = check_positive_int(sr, "sr")
    hop_length = check_positive_int(hop_length, "hop_length")
    top_db = check_finite_float(top_db, "top_db", low=0.0, low_open=True)
    H = np.asarray(H)
    if H.ndim == 3:
        H = H.mean(axis=0)
    if H.ndim != 2 or H.shape[0] == 0 or H.shape[1] == 0:
        raise ParameterError(f"H has shape {H.shape}; expected (K, n_frames)")
    if not np.all(np.isfinite(H)) or (H < 0).any():
        raise ParameterError("H must be finite and non-negative")
    K = H.shape[0]
    order, sorted_labels = _group_order(K, labels)
    Hs = H[order].astype(np.float64)
    Hs, hop = decimate_frames(Hs, hop_length)
    D = to_db(Hs, ref=Hs.max(axis=1, keepdims=True), top_db=top_db)
    ax = get_axes(ax)
    img = specshow(D, ax, sr=sr, hop_length=hop, x_axis="time", y_axis=None, cmap=cmap,
                    vmin=-top_db, vmax=0.0)
    ax.set_xlabel("Time (s)")
    ax.set_ylabel("Component")
    if sorted_labels is not None:
        _mark_groups(ax, sorted_labels, names, axis="y", line_color="black", lw=1.0)
        ax.set_ylabel("")
    if title:
        ax.set_title(title)
    if colorbar:
        ax.figure.colorbar(img, ax=ax, format="%+.0f dB", label="dB re. row peak")
    return img
