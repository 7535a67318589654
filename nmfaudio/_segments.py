"""Local models for blind denoising of long recordings (private): the frames cut into
overlapping segments, each segment factorised on its own, the models cross-faded.

One factorisation for a whole long recording has the same few templates for every talker and
every noise in it; when the noise or the talker changes, the blind model falls behind
(``benchmarks/quality/changing_noise.py``). Segments of :data:`SECONDS` with
:data:`OVERLAP_SECONDS` of overlap each learn their own templates; in an overlap the two
segments' model spectrograms are mixed with complementary raised-cosine weights (summing to
one), so the mask, and the output, change smoothly. A recording shorter than
``1.5 * SECONDS`` is one segment: the whole-file model.

Used identically by :func:`nmfaudio.denoise` (all frames at once) and
:func:`nmfaudio.denoise_stream` (segment by segment), so both give the same result.
"""

from __future__ import annotations

import math

import numpy as np

from .exceptions import ParameterError

__all__ = []

#: Segment length and overlap (seconds). Chosen on the tune part of the changing-noise
#: benchmark (benchmarks/RESULTS.md, "Blind denoising of a recording whose noise changes"):
#: 6-30 s segments all beat one model (8.5 dB, 9 of 18 items harmed); 10 s: 11.0 dB, none.
#: Every segment starts from random templates: starting from the previous segment's lost
#: 1.2-1.7 dB (they keep the last talker and noise).
SECONDS = 10.0
OVERLAP_SECONDS = 2.0


def frames(seconds, sr, hop_length):
    """Frames in ``seconds`` (at least 1); ``inf`` gives a length no recording reaches."""
    if not math.isfinite(seconds):
        return 2 ** 62
    return max(1, int(round(seconds * sr / hop_length)))


#: A local model needs at least this many STFT frames.
MIN_FRAMES = 8


def segments_of(T, seconds, sr, hop_length):
    """:func:`bounds` of ``T`` frames for segments of ``seconds``; refuses segments shorter
    than :data:`MIN_FRAMES` frames."""
    seg = frames(seconds, sr, hop_length)
    if seg < MIN_FRAMES:
        raise ParameterError(f"segment_seconds={seconds:g} is {seg} STFT frame(s) at sr={sr} with hop "
                             f"{hop_length}; a local model needs at least {MIN_FRAMES} frames "
                             f"({MIN_FRAMES * hop_length / sr:.3f} s)")
    return bounds(T, seg, frames(OVERLAP_SECONDS, sr, hop_length))


def bounds(T, seg, overlap):
    """``[(a, b), ...]``: frames ``a:b`` of each segment, in order; consecutive segments share
    about ``overlap`` frames. One segment when ``T <= 1.5 * seg``."""
    overlap = min(overlap, seg // 2)
    if T <= 1.5 * seg or seg <= overlap:
        return [(0, T)]
    k = max(1, math.ceil((T - overlap) / (seg - overlap)))
    step = (T - overlap) / k
    a = [int(round(i * step)) for i in range(k)]
    b = [int(round(i * step + step + overlap)) for i in range(k - 1)] + [T]
    return list(zip(a, b))


def weights(segs, i):
    """Blend weights ``(b - a,)`` of segment ``i`` of ``segs``: 1 inside, a raised-cosine ramp
    over each overlap; at every frame the weights of the segments holding it sum to 1."""
    a, b = segs[i]
    w = np.ones(b - a)
    if i > 0:
        n = segs[i - 1][1] - a
        if n > 0:
            w[:n] = ramp(n)
    if i + 1 < len(segs):
        n = b - segs[i + 1][0]
        if n > 0:
            w[b - a - n:] = 1.0 - ramp(n)
    return w


def ramp(n):
    """``n`` rising weights in (0, 1): ``sin²(π/2 · (j + ½) / n)``."""
    return np.sin(0.5 * np.pi * (np.arange(n) + 0.5) / n) ** 2


def check_seconds(seconds):
    """``segment_seconds`` of the public functions, checked: None -> :data:`SECONDS`; a float
    > 0, ``inf`` meaning one model for the whole recording."""
    if seconds is None:
        return float(SECONDS)
    try:
        v = float(seconds)
    except (TypeError, ValueError):
        v = float("nan")
    if not v > 0:  # also NaN
        raise ParameterError(f"segment_seconds={seconds!r} must be a number of seconds > 0, "
                             f"or inf for one model of the whole recording")
    return v


def fit_all(V, floor, fit, *, seconds, sr, hop_length, max_iter, callback=None):
    """Estimates ``(2, ..., F, T)`` of ``V (..., F, T)`` from local models: ``fit(V_seg, floor_seg,
    callback)`` on each segment (its own factorisation, from a random start as a whole input),
    cross-faded. ``callback(iteration, loss)`` counts the iterations of all segments together up
    to ``max_iter``; a stop it asks for ends every remaining segment too."""
    segs = segments_of(V.shape[-1], seconds, sr, hop_length)
    if len(segs) == 1:
        return fit(V, floor, callback)
    est = np.zeros((2,) + V.shape, V.dtype)
    stop = []
    for i, (a, b) in enumerate(segs):
        def report(it, loss, i=i):
            if stop or callback(round((i + it / max_iter) * max_iter / len(segs)), loss):
                stop.append(True)
                return True
            return None

        e = fit(np.ascontiguousarray(V[..., a:b]), np.ascontiguousarray(floor[..., a:b]),
                report if callback is not None else None)
        est[..., a:b] += e * weights(segs, i).astype(V.dtype)
    return est
