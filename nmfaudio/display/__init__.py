"""Figures: spectrograms, templates ``W``, activations ``H``, masks and whole separations.

The only part of nmfaudio that imports matplotlib (``import nmfaudio`` does not;
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

from ._common import SOURCE_COLORS
from ._factors import plot_activations, plot_templates
from ._figures import plot_dictionary, plot_separation, save_figure
from ._spectrograms import plot_mask, plot_masks, plot_spectrogram, plot_spectrograms

__all__ = ["plot_spectrogram", "plot_spectrograms", "plot_templates", "plot_activations", "plot_mask", "plot_masks",
           "plot_separation", "plot_dictionary", "save_figure", "SOURCE_COLORS"]

# Modules: _spectrograms (spectrograms, masks), _factors (W and H), _figures (a whole
# separation, dictionaries, save_figure), _common (dB, axes, colours; the matplotlib import).
