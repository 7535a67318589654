"""Noise regions of a recording (private): ``noise_region=`` of :func:`nmfaudio.denoise` and
:func:`nmfaudio.denoise_stream`, in seconds, checked and turned into sample ranges."""

from __future__ import annotations

import numpy as np

from .exceptions import ParameterError, UsageError

__all__ = []


def noise_from_regions(y, sr, regions, *, min_samples=1):
    """The samples of ``y (..., n)`` inside ``regions`` (seconds), concatenated in time.

    Parameters
    ----------
    y : np.ndarray [shape=(n,) or (channels, n)]
    sr : int > 0
    regions : (start, end) or sequence of (start, end)
        Seconds, ``0 <= start < end <= duration``.
    min_samples : int
        Each region must hold at least this many samples (e.g. two STFT frames).

    Returns
    -------
    noise : np.ndarray [shape=(..., m)]

    Examples
    --------
    >>> import numpy as np
    >>> from nmfaudio.denoise import noise_from_regions
    >>> noise_from_regions(np.arange(10.0), 2, [(0, 1), (4, 5)]).tolist()
    [0.0, 1.0, 8.0, 9.0]
    """
    y = np.asarray(y)
    bounds = region_bounds(y.shape[-1], sr, regions, min_samples=min_samples)
    return np.concatenate([y[..., i:j] for i, j in bounds], axis=-1)


def region_bounds(n, sr, regions, *, min_samples=1):
    """The sample ranges ``[(i, j), ...]`` of ``regions`` (seconds) in a signal of ``n`` samples
    (checked as :func:`noise_from_regions` checks them; private helper of the file streams)."""
    from ._checks import show

    duration = n / sr
    if (isinstance(regions, (tuple, list)) and len(regions) == 2
            and all(isinstance(v, (int, float, np.number)) for v in regions)):
        regions = [regions]
    try:
        regions = [(float(a), float(b)) for a, b in regions]
    except (TypeError, ValueError):
        raise UsageError(f"noise_region={show(regions)} must be (start, end) or a list of "
                             "(start, end) pairs in seconds") from None
    if not regions:
        raise UsageError("noise_region is empty; expected at least one (start, end) pair")
    bounds = []
    for a, b in regions:
        if not (np.isfinite(a) and np.isfinite(b)) or a < 0 or b <= a or b > duration + 1e-9:
            raise UsageError(f"noise region {a:g}:{b:g} s must satisfy 0 <= start < end <= "
                                 f"{duration:.3f} s (the recording's duration)")
        i, j = int(round(a * sr)), min(n, int(round(b * sr)))
        if j - i < min_samples:
            raise UsageError(f"noise region {a:g}:{b:g} s holds {j - i} samples; at least "
                                 f"{min_samples} ({min_samples / sr:.3f} s, two STFT frames) are needed")
        bounds.append((i, j))
    return bounds


def check_noise_sample(noise, sr, params):
    """``noise (..., n)`` if it holds at least two STFT frames of ``params`` (the minimum a region
    must hold too) and is not silent, else :class:`ParameterError` (a data error, not a usage
    one) naming its length and the minimum."""
    from .stft import check_stft_params

    need = check_stft_params(params).n_fft + params.hop_length
    if noise.shape[-1] < need:
        raise ParameterError(f"the noise sample has {noise.shape[-1]} samples ({noise.shape[-1] / sr:.3g} s at {sr} Hz); "
                             f"a noise model needs at least two STFT frames: {need} samples ({need / sr:.3g} s)")
    if not np.any(noise):
        raise ParameterError("the noise sample (or noise region) is silent (every sample is 0): there is no noise to "
                             "learn from; give a clip or a region that holds the noise, or denoise without one (blind)")
    return noise

