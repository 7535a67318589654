"""Spectrogram and mask plots of :mod:`nmfaudio.display` (private; import from there)."""

from __future__ import annotations

import numpy as np

from .._checks import check_finite_float, check_positive_int
from ..exceptions import ParameterError
from ..stft import STFTParams
from ._common import check_y_axis, decimate_frames, get_axes, magnitude, pyplot, source_color, source_name, specshow, to_db


def plot_spectrogram(data, *, sr, n_fft=2048, hop_length=None, y_axis="log", ref=None, top_db=80.0,
                     ax=None, title=None, colorbar=True, cmap="magma"):
    """Spectrogram in dB, time (s) on x and frequency (Hz) on y.

    Parameters
    ----------
    data : np.ndarray
        A waveform ``(n,)`` or ``(channels, n)`` (channels are averaged; at most
        64 rows), a complex STFT ``(..., n_freq, n_frames)`` (channel magnitudes
        averaged), or a magnitude spectrogram ``(n_freq, n_frames)``. More than
        ``display._common.MAX_COLUMNS`` (2048) frames are drawn as the maximum over
        groups of consecutive frames, so memory stays bounded for long recordings.
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
    y_axis = check_y_axis(y_axis)
    top_db = check_finite_float(top_db, "top_db", low=0.0, low_open=True)
    M = magnitude(data, params)
    if ref is None:
        ref = float(M.max()) if M.size else 1.0
    else:
        ref = check_finite_float(ref, "ref", low=0.0, low_open=True)
    M, hop = decimate_frames(M, params.hop_length)
    ax = get_axes(ax)
    img = specshow(to_db(M, ref=ref, top_db=top_db), ax, sr=sr, n_fft=params.n_fft,
                    hop_length=hop, x_axis="time", y_axis=y_axis, cmap=cmap,
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
    mags = [magnitude(x, params) for x in signals]
    ref = max(float(M.max()) for M in mags) or 1.0
    fig, axes = pyplot().subplots(len(mags), 1, figsize=(10, 2.4 * len(mags) + 0.6), squeeze=False,
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
    y_axis = check_y_axis(y_axis)
    M = np.asarray(mask)
    if M.ndim == 3:
        M = M.mean(axis=0)
    if M.ndim != 2 or M.shape[0] < 2:
        raise ParameterError(f"mask has shape {M.shape}; expected (n_freq, n_frames)")
    if not np.all(np.isfinite(M)) or M.min() < 0 or M.max() > 1 + 1e-6:
        raise ParameterError("mask values must be finite and within [0, 1]")
    n_fft = 2 * (M.shape[0] - 1)
    hop = check_positive_int(hop_length, "hop_length", allow_none=True) or max(1, n_fft // 4)
    M, hop = decimate_frames(M, hop)
    ax = get_axes(ax)
    img = specshow(M, ax, sr=sr, n_fft=n_fft, hop_length=hop, x_axis="time", y_axis=y_axis,
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
    fig, axes = pyplot().subplots(n, 1, figsize=(9, 2.4 * n + 0.6), sharex=True, squeeze=False,
                                layout="constrained")
    img = None
    for s in range(n):
        ax = axes[s, 0]
        img = plot_mask(masks[s], sr=sr, hop_length=hop_length, y_axis=y_axis, ax=ax,
                        colorbar=False)
        ax.set_title(f"Mask: {source_name(names, s)}", color=source_color(s), loc="left", fontweight="bold")
        if s < n - 1:
            ax.set_xlabel("")
    fig.colorbar(img, ax=list(axes[:, 0]), label="mask (1 = kept)")
    return fig
