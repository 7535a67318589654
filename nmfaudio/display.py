"""Figures: spectrograms, templates ``W``, activations ``H``, masks and whole separations.

The only nmfaudio module that imports matplotlib (``import nmfaudio`` does not;
import ``nmfaudio.display`` explicitly). Axes follow librosa's ``specshow``
conventions: time in seconds on x, frequency in Hz on y (log-scaled by default),
magnitudes in dB relative to a reference. Orientation is nmfaudio's throughout:
spectrograms ``(n_freq, n_frames)``, templates ``W (n_freq, K)``, activations
``H (K, n_frames)``.

Functions
---------
plot_spectrogram   one signal or STFT, in dB
plot_spectrograms  several signals, one panel each, on a common dB scale
plot_templates     the columns of W, frequency on y
plot_activations   the rows of H, time on x
plot_mask          one time–frequency mask (0–1)
plot_masks         one panel per source
plot_separation    mixture, each source, templates and activations in one figure
plot_dictionary    the templates of one or more SourceDictionary objects
save_figure        write a figure atomically and close it

Examples
--------
>>> import matplotlib
>>> matplotlib.use("Agg")
>>> import numpy as np, nmfaudio, nmfaudio.display
>>> y = np.random.default_rng(0).standard_normal(8000).astype(np.float32)
>>> img = nmfaudio.display.plot_spectrogram(y, sr=8000, n_fft=512)
>>> img.axes.get_ylabel()
'Hz'
"""

from __future__ import annotations

import numpy as np

from ._checks import check_finite_float, check_positive_int, valid_audio, show
from .exceptions import ParameterError
from .stft import STFTParams, stft

__all__ = ["plot_spectrogram", "plot_spectrograms", "plot_templates", "plot_activations", "plot_mask", "plot_masks",
           "plot_separation", "plot_dictionary", "save_figure", "SOURCE_COLORS"]

#: Colours used for sources (matplotlib's "tab10" order).
SOURCE_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
                 "#7f7f7f", "#bcbd22", "#17becf")
_Y_AXES = ("log", "linear", "mel")


def _plt():
    import matplotlib.pyplot as plt

    return plt


def _specshow(data, ax, **kw):
    import librosa.display

    return librosa.display.specshow(data, ax=ax, **kw)


def _color(i):
    return SOURCE_COLORS[i % len(SOURCE_COLORS)]


def _to_db(X, *, ref, top_db):
    """dB of ``X`` re. ``ref`` (a number, or an array broadcasting against X), floored at -top_db."""
    X = np.asarray(X, dtype=np.float64)
    amin = 1e-10
    ref = np.maximum(np.asarray(ref, dtype=np.float64), amin)
    D = 20.0 * np.log10(np.maximum(X, amin) / ref)
    return np.maximum(D, -top_db)


def _check_y_axis(y_axis):
    if y_axis not in _Y_AXES:
        raise ParameterError(f"y_axis={show(y_axis)} must be one of {_Y_AXES}")
    return y_axis


def _magnitude(data, params):
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
        return np.abs(stft(y, params=params))
    if X.ndim == 2:
        if X.dtype.kind not in "fiu" or not np.all(np.isfinite(X)) or (X < 0).any():
            raise ParameterError("a real 2-D spectrogram must be finite and non-negative")
        return X
    raise ParameterError(
        f"data has shape {X.shape}; expected a waveform (n,) or (channels, n), a complex STFT "
        "or a magnitude spectrogram (n_freq, n_frames)"
    )


def _axes(ax):
    if ax is None:
        _, ax = _plt().subplots(figsize=(8, 3.5), layout="constrained")
    return ax


def plot_spectrogram(data, *, sr, n_fft=2048, hop_length=None, y_axis="log", ref=None, top_db=80.0,
                     ax=None, title=None, colorbar=True, cmap="magma"):
    """Spectrogram in dB, time (s) on x and frequency (Hz) on y.

    Parameters
    ----------
    data : np.ndarray
        A waveform ``(n,)`` or ``(channels, n)`` (channels are averaged; at most
        64 rows), a complex STFT ``(..., n_freq, n_frames)`` (channel magnitudes
        averaged), or a magnitude spectrogram ``(n_freq, n_frames)``.
    sr : int > 0
        Sample rate, for the axes.
    n_fft : int > 0
        FFT size: used to transform a waveform, and to place the frequency bins
        (for an STFT it must be the one it was computed with).
    hop_length : int > 0 or None
        Frame advance in samples (default ``n_fft // 4``).
    y_axis : {"log", "linear", "mel"}
        Frequency scale (librosa ``specshow`` names; "mel" expects mel bands).
    ref : float > 0 or None
        Magnitude that maps to 0 dB (default: the maximum). Pass the mixture's
        maximum to several plots to make them comparable.
    top_db : float > 0
        Dynamic range shown below ``ref``.
    ax : matplotlib.axes.Axes or None
        Where to draw (default: a new figure).
    title : str or None
    colorbar : bool
        Add a colour bar labelled in dB.
    cmap : str
        Colour map.

    Returns
    -------
    img : matplotlib.collections.QuadMesh
        The image (``img.axes`` is the axes, ``img.figure`` the figure).

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import nmfaudio, nmfaudio.display
    >>> y, sr = nmfaudio.load("audio_fixtures/music/mix.wav")  # doctest: +SKIP
    >>> img = nmfaudio.display.plot_spectrogram(y, sr=sr, title="Mixture")  # doctest: +SKIP
    >>> img.figure.savefig("mix.png")  # doctest: +SKIP
    """
    sr = check_positive_int(sr, "sr")
    params = STFTParams(n_fft=n_fft, hop_length=hop_length)
    y_axis = _check_y_axis(y_axis)
    top_db = check_finite_float(top_db, "top_db", low=0.0, low_open=True)
    M = _magnitude(data, params)
    if ref is None:
        ref = float(M.max()) if M.size else 1.0
    else:
        ref = check_finite_float(ref, "ref", low=0.0, low_open=True)
    ax = _axes(ax)
    img = _specshow(_to_db(M, ref=ref, top_db=top_db), ax, sr=sr, n_fft=params.n_fft,
                    hop_length=params.hop_length, x_axis="time", y_axis=y_axis, cmap=cmap,
                    vmin=-top_db, vmax=0.0)
    ax.set_xlabel("Time (s)")
    ax.set_ylabel("Hz")
    if title:
        ax.set_title(title)
    if colorbar:
        ax.figure.colorbar(img, ax=ax, format="%+.0f dB", label="dB re. max")
    return img


def plot_spectrograms(signals, *, sr, names=None, n_fft=2048, hop_length=None, y_axis="log",
                      top_db=80.0):
    """Several signals stacked, sharing time and frequency axes and one dB scale.

    Parameters
    ----------
    signals : list of np.ndarray
        Waveforms ``(n,)`` or ``(channels, n)``, complex STFTs or magnitude
        spectrograms, as accepted by :func:`plot_spectrogram`.
    sr : int > 0
        Sample rate shared by all signals.
    names : list of str or None
        Panel titles (default "signal 1", ...).
    n_fft, hop_length, y_axis, top_db
        As in :func:`plot_spectrogram`; 0 dB is the loudest signal's peak.

    Returns
    -------
    fig : matplotlib.figure.Figure

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import numpy as np, nmfaudio.display
    >>> rng = np.random.default_rng(0)
    >>> fig = nmfaudio.display.plot_spectrograms([rng.standard_normal(4000), 0.1 * rng.standard_normal(4000)],
    ...                                          sr=8000, names=["loud", "quiet"], n_fft=256)
    >>> [ax.get_title(loc="left") for ax in fig.axes[:2]]
    ['loud', 'quiet']
    """
    signals = list(signals)
    if not signals:
        raise ParameterError("signals is empty; give at least one signal")
    if names is not None and len(names) != len(signals):
        raise ParameterError(f"names has {len(names)} entries for {len(signals)} signals")
    params = STFTParams(n_fft=n_fft, hop_length=hop_length)
    mags = [_magnitude(x, params) for x in signals]
    ref = max(float(M.max()) for M in mags) or 1.0
    fig, axes = _plt().subplots(len(mags), 1, figsize=(10, 2.4 * len(mags) + 0.6), squeeze=False,
                                sharex=True, sharey=True, layout="constrained")
    img = None
    for i, (ax, M) in enumerate(zip(axes[:, 0], mags)):
        img = plot_spectrogram(M, sr=sr, n_fft=params.n_fft, hop_length=params.hop_length,
                               y_axis=y_axis, ref=ref, top_db=top_db, ax=ax, colorbar=False)
        ax.set_title(names[i] if names is not None else f"signal {i + 1}", loc="left")
        if i < len(mags) - 1:
            ax.set_xlabel("")
    fig.colorbar(img, ax=list(axes[:, 0]), format="%+.0f dB", label="dB re. loudest peak")
    return fig


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


def _name(names, s):
    return names[s] if names is not None and s < len(names) else f"source {s + 1}"


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
    getattr(ax, f"set_{axis}ticklabels")([_name(names, s) for s, _, _ in spans], **kw)
    for tick, (s, _, _) in zip(getattr(ax, f"get_{axis}ticklabels")(), spans):
        tick.set_color(_color(s))
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
    y_axis = _check_y_axis(y_axis)
    top_db = check_finite_float(top_db, "top_db", low=0.0, low_open=True)
    W = np.asarray(W)
    if W.ndim != 2 or W.shape[1] == 0 or W.shape[0] < 2:
        raise ParameterError(f"W has shape {W.shape}; expected (n_freq, K) with K >= 1")
    if not np.all(np.isfinite(W)) or (W < 0).any():
        raise ParameterError("W must be finite and non-negative")
    K = W.shape[1]
    order, sorted_labels = _group_order(K, labels)
    Ws = W[:, order].astype(np.float64)
    D = _to_db(Ws, ref=Ws.max(axis=0, keepdims=True), top_db=top_db)
    ax = _axes(ax)
    img = _specshow(D, ax, sr=sr, n_fft=2 * (W.shape[0] - 1), y_axis=y_axis, x_axis=None,
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
    D = _to_db(Hs, ref=Hs.max(axis=1, keepdims=True), top_db=top_db)
    ax = _axes(ax)
    img = _specshow(D, ax, sr=sr, hop_length=hop_length, x_axis="time", y_axis=None, cmap=cmap,
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


def plot_mask(mask, *, sr, hop_length=None, y_axis="log", ax=None, title=None, colorbar=True,
              cmap="viridis"):
    """One time–frequency mask, values 0 (removed) to 1 (kept).

    Parameters
    ----------
    mask : np.ndarray [shape=(n_freq, n_frames) or (channels, n_freq, n_frames)]
        Values in [0, 1] (channels are averaged).
    sr : int > 0
    hop_length : int > 0 or None
        Default ``n_fft // 4`` with ``n_fft = 2 * (n_freq - 1)``.
    y_axis, ax, title, colorbar, cmap
        As in :func:`plot_spectrogram`.

    Returns
    -------
    img : matplotlib.collections.QuadMesh

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import numpy as np, nmfaudio.display
    >>> img = nmfaudio.display.plot_mask(np.full((257, 40), 0.5), sr=8000)
    >>> img.get_clim()
    (0.0, 1.0)
    """
    sr = check_positive_int(sr, "sr")
    y_axis = _check_y_axis(y_axis)
    M = np.asarray(mask)
    if M.ndim == 3:
        M = M.mean(axis=0)
    if M.ndim != 2 or M.shape[0] < 2:
        raise ParameterError(f"mask has shape {M.shape}; expected (n_freq, n_frames)")
    if not np.all(np.isfinite(M)) or M.min() < 0 or M.max() > 1 + 1e-6:
        raise ParameterError("mask values must be finite and within [0, 1]")
    n_fft = 2 * (M.shape[0] - 1)
    hop = check_positive_int(hop_length, "hop_length", allow_none=True) or max(1, n_fft // 4)
    ax = _axes(ax)
    img = _specshow(M, ax, sr=sr, n_fft=n_fft, hop_length=hop, x_axis="time", y_axis=y_axis,
                    cmap=cmap, vmin=0.0, vmax=1.0)
    ax.set_xlabel("Time (s)")
    ax.set_ylabel("Hz")
    if title:
        ax.set_title(title)
    if colorbar:
        ax.figure.colorbar(img, ax=ax, label="mask (1 = kept)")
    return img


def plot_masks(masks, *, sr, hop_length=None, names=None, y_axis="log"):
    """All sources' masks, one panel each, sharing axes.

    Parameters
    ----------
    masks : np.ndarray [shape=(n_sources, ..., n_freq, n_frames)]
        As in :attr:`Separation.masks`.
    sr : int > 0
    hop_length : int > 0 or None
    names : list of str or None
        Panel titles (default "source 1", ...).
    y_axis : {"log", "linear"}

    Returns
    -------
    fig : matplotlib.figure.Figure

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import numpy as np, nmfaudio.display
    >>> m = np.random.default_rng(0).random((257, 40)); M = np.stack([m, 1 - m])
    >>> len(nmfaudio.display.plot_masks(M, sr=8000, names=["a", "b"]).axes)
    3
    """
    masks = np.asarray(masks)
    if masks.ndim < 3:
        raise ParameterError(f"masks has shape {masks.shape}; expected (n_sources, ..., n_freq, n_frames)")
    n = masks.shape[0]
    fig, axes = _plt().subplots(n, 1, figsize=(9, 2.4 * n + 0.6), sharex=True, squeeze=False,
                                layout="constrained")
    img = None
    for s in range(n):
        ax = axes[s, 0]
        img = plot_mask(masks[s], sr=sr, hop_length=hop_length, y_axis=y_axis, ax=ax,
                        colorbar=False)
        ax.set_title(f"Mask: {_name(names, s)}", color=_color(s), loc="left", fontweight="bold")
        if s < n - 1:
            ax.set_xlabel("")
    fig.colorbar(img, ax=list(axes[:, 0]), label="mask (1 = kept)")
    return fig


def plot_separation(y, sources, *, sr, separation=None, stft_params=None, title=None, top_db=80.0,
                    y_axis="log"):
    """One figure: the mixture's and each source's spectrogram, plus W and H.

    The spectrograms share one dB scale (0 dB = the mixture's peak), so a quiet
    source looks quiet. With ``separation``, a column on the right shows the
    templates ``W`` grouped by source, and a row at the bottom the activations
    ``H`` on the same time axis as the spectrograms.

    Parameters
    ----------
    y : np.ndarray [shape=(n,) or (channels, n)]
        Mixture (channels are averaged for display).
    sources : dict[str, np.ndarray]
        Separated waveforms, each shaped like ``y`` (as returned by
        :func:`nmfaudio.separate`).
    sr : int > 0
        Sample rate of ``y`` and the sources.
    separation : Separation or None
        The spectrogram-level result (:func:`nmfaudio.separate_spectrogram` or
        :func:`nmfaudio.separate_supervised_spectrogram`) giving ``W``, ``H``,
        ``labels`` and ``names``.
    stft_params : STFTParams or None
        STFT used for the display; must be the separation's when ``separation``
        is given (so H lines up in time). Default ``STFTParams(n_fft=2048)``.
    title : str or None
        Figure title.
    top_db : float > 0
        Dynamic range of the spectrograms.
    y_axis : {"log", "linear"}

    Returns
    -------
    fig : matplotlib.figure.Figure

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import nmfaudio, nmfaudio.display
    >>> y, sr = nmfaudio.load("audio_fixtures/music/mix.wav")  # doctest: +SKIP
    >>> S = nmfaudio.stft(y)  # doctest: +SKIP
    >>> sep = nmfaudio.separate_spectrogram(S, sr=sr, n_sources=2)  # doctest: +SKIP
    >>> out = {n: nmfaudio.istft(s, length=len(y)) for n, s in zip(sep.names, sep.S_sources)}  # doctest: +SKIP
    >>> fig = nmfaudio.display.plot_separation(y, out, sr=sr, separation=sep)  # doctest: +SKIP
    >>> fig.savefig("separation.png", dpi=100)  # doctest: +SKIP
    """
    sr = check_positive_int(sr, "sr")
    params = stft_params if stft_params is not None else STFTParams()
    if not isinstance(params, STFTParams):
        raise ParameterError(f"stft_params must be an STFTParams or None, got {type(params).__name__}")
    if not isinstance(sources, dict) or not sources:
        raise ParameterError("sources must be a non-empty dict of name -> waveform")
    y = valid_audio(y)
    for name, s in sources.items():
        if np.shape(s) != y.shape:
            raise ParameterError(f"source {show(name)} has shape {np.shape(s)}; the mixture has {y.shape}")
    names = list(sources)
    if separation is not None:
        if separation.W.shape[0] != params.n_freq:
            raise ParameterError(
                f"separation.W has {separation.W.shape[0]} frequency bins but stft_params gives "
                f"{params.n_freq}; pass the STFTParams the separation was computed with"
            )
        names = list(separation.names)
    plt = _plt()
    n_rows = 1 + len(sources)
    with_nmf = separation is not None
    heights = [1.0] * n_rows + ([1.0] if with_nmf else [])
    fig = plt.figure(figsize=(13 if with_nmf else 10, 1.9 * sum(heights) + 0.9), layout="constrained")
    gs = fig.add_gridspec(len(heights), 3 if with_nmf else 2, height_ratios=heights,
                          width_ratios=[4.2, 0.07, 1.1] if with_nmf else [4.2, 0.07])
    mix_M = _magnitude(y, params)
    ref = float(mix_M.max()) or 1.0
    spec_axes = []
    img = None
    panels = [("Mixture", y, "black")] + [
        (f"Source {i + 1}: {n}", sources[n], _color(i)) for i, n in enumerate(sources)]
    for r, (label, sig, color) in enumerate(panels):
        ax = fig.add_subplot(gs[r, 0], sharex=spec_axes[0] if spec_axes else None,
                             sharey=spec_axes[0] if spec_axes else None)
        img = plot_spectrogram(sig, sr=sr, n_fft=params.n_fft, hop_length=params.hop_length,
                               y_axis=y_axis, ref=ref, top_db=top_db, ax=ax, colorbar=False)
        ax.set_title(label, loc="left", color=color, fontweight="bold")
        if r < n_rows - 1 or with_nmf:
            ax.set_xlabel("")
            ax.tick_params(labelbottom=False)
        spec_axes.append(ax)
    cb = fig.colorbar(img, cax=fig.add_subplot(gs[:n_rows, 1]), format="%+.0f dB")
    cb.set_label("dB re. mixture peak")
    if with_nmf:
        axW = fig.add_subplot(gs[:n_rows, 2])
        plot_templates(separation.W, sr=sr, labels=separation.labels, names=names, y_axis=y_axis,
                       ax=axW, title="Templates W")
        axH = fig.add_subplot(gs[n_rows, 0], sharex=spec_axes[0])
        plot_activations(separation.H, sr=sr, hop_length=params.hop_length, labels=separation.labels,
                         names=names, ax=axH, title=None)
        axH.set_title("Activations H (rows grouped by source; dB re. row peak)", loc="left")
    if title:
        fig.suptitle(title, fontweight="bold")
    return fig


def plot_dictionary(dictionaries, *, y_axis="log", top_db=60.0):
    """The templates of one or more trained dictionaries, side by side.

    Parameters
    ----------
    dictionaries : SourceDictionary or list of SourceDictionary
    y_axis : {"log", "linear"}
    top_db : float > 0
        Range shown below each template's peak.

    Returns
    -------
    fig : matplotlib.figure.Figure

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import nmfaudio, nmfaudio.display
    >>> d = nmfaudio.SourceDictionary.load("piano.npz")  # doctest: +SKIP
    >>> nmfaudio.display.plot_dictionary(d).savefig("piano.png")  # doctest: +SKIP
    """
    from .dictionary import SourceDictionary

    dicts = [dictionaries] if isinstance(dictionaries, SourceDictionary) else list(dictionaries)
    if not dicts:
        raise ParameterError("dictionaries is empty")
    for i, d in enumerate(dicts):
        if not isinstance(d, SourceDictionary):
            raise ParameterError(f"dictionaries[{i}] is a {type(d).__name__}, expected a SourceDictionary")
    plt = _plt()
    widths = [max(1.0, min(4.0, d.n_components / 12)) for d in dicts]
    fig, axes = plt.subplots(1, len(dicts), figsize=(1.5 + 2.2 * sum(widths), 4.6), squeeze=False,
                             gridspec_kw={"width_ratios": widths}, layout="constrained")
    img = None
    for i, (d, ax) in enumerate(zip(dicts, axes[0])):
        img = plot_templates(d.W, sr=d.sr, y_axis=y_axis, top_db=top_db, ax=ax, title=None)
        ax.set_title(f"{d.name}\nK={d.n_components}, {d.sr} Hz, n_fft={d.stft.n_fft}",
                     color=_color(i), fontweight="bold", fontsize=10)
        if i:
            ax.set_ylabel("")
    fig.colorbar(img, ax=list(axes[0]), format="%+.0f dB", label="dB re. template peak")
    fig.suptitle("Dictionary templates W (one column per component)", fontsize=11)
    return fig


def save_figure(fig, path, *, overwrite=False, dpi=100):
    """Write a figure to PNG, SVG or PDF (by extension) atomically, then close it.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    path : str or os.PathLike
        Destination; parent directories are created.
    overwrite : bool
        Replace an existing file (default: raise :class:`nmfaudio.AudioFileError`).
    dpi : int > 0
        Resolution of raster output.

    Returns
    -------
    path : pathlib.Path

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import numpy as np, nmfaudio.display
    >>> img = nmfaudio.display.plot_mask(np.full((65, 10), 0.5), sr=8000)
    >>> nmfaudio.display.save_figure(img.figure, "/tmp/mask.png", overwrite=True)  # doctest: +SKIP
    """
    import os
    from pathlib import Path

    from .io import atomic_write

    path = Path(os.fspath(path))
    fmt = path.suffix.lower().lstrip(".")
    plt = _plt()
    if fmt not in ("png", "svg", "pdf"):
        plt.close(fig)
        raise ParameterError(f"figure file {str(path)!r} must end in .png, .svg or .pdf")
    dpi = check_positive_int(dpi, "dpi")
    try:
        with atomic_write(path, overwrite=overwrite) as tmp:
            fig.savefig(tmp, format=fmt, dpi=dpi)
    finally:
        plt.close(fig)
    return path
