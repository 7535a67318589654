"""Whole-figure reports of :mod:`nmfaudio.display`: a separation, dictionaries, and saving
a figure (private; import from there)."""

from __future__ import annotations

import numpy as np

from .._checks import check_positive_int, show, valid_audio
from ..exceptions import ParameterError
from ..stft import STFTParams
from ._common import magnitude, pyplot, source_color
from ._factors import plot_activations, plot_templates
from ._spectrograms import plot_spectrogram


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
    plt = pyplot()
    n_rows = 1 + len(sources)
    with_nmf = separation is not None
    heights = [1.0] * n_rows + ([1.0] if with_nmf else [])
    fig = plt.figure(figsize=(13 if with_nmf else 10, 1.9 * sum(heights) + 0.9), layout="constrained")
    gs = fig.add_gridspec(len(heights), 3 if with_nmf else 2, height_ratios=heights,
                          width_ratios=[4.2, 0.07, 1.1] if with_nmf else [4.2, 0.07])
    mix_M = magnitude(y, params)
    ref = float(mix_M.max()) or 1.0
    spec_axes = []
    img = None
    panels = [("Mixture", y, "black")] + [
        (f"Source {i + 1}: {n}", sources[n], source_color(i)) for i, n in enumerate(sources)]
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
    from ..dictionary import SourceDictionary

    dicts = [dictionaries] if isinstance(dictionaries, SourceDictionary) else list(dictionaries)
    if not dicts:
        raise ParameterError("dictionaries is empty")
    for i, d in enumerate(dicts):
        if not isinstance(d, SourceDictionary):
            raise ParameterError(f"dictionaries[{i}] is a {type(d).__name__}, expected a SourceDictionary")
    plt = pyplot()
    widths = [max(1.0, min(4.0, d.n_components / 12)) for d in dicts]
    fig, axes = plt.subplots(1, len(dicts), figsize=(1.5 + 2.2 * sum(widths), 4.6), squeeze=False,
                             gridspec_kw={"width_ratios": widths}, layout="constrained")
    img = None
    for i, (d, ax) in enumerate(zip(dicts, axes[0])):
        img = plot_templates(d.W, sr=d.sr, y_axis=y_axis, top_db=top_db, ax=ax, title=None)
        ax.set_title(f"{d.name}\nK={d.n_components}, {d.sr} Hz, n_fft={d.stft.n_fft}",
                     color=source_color(i), fontweight="bold", fontsize=10)
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

    from ..io import atomic_write

    path = Path(os.fspath(path))
    fmt = path.suffix.lower().lstrip(".")
    plt = pyplot()
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
