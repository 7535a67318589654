"""Run a separation at the dictionaries' sample rate and bring its outputs back (private).

Used by :mod:`nmfaudio.files` and the batch workers, so that the
resample-there-and-back step is written once.
"""

from __future__ import annotations

import logging

log = logging.getLogger("nmfaudio")


def at_rate(fn, y0, file_sr, sr, *, what=None):
    """``fn(y, sr)`` on ``y0`` resampled from ``file_sr`` to ``sr``; returns ``(y, parts, back)``.

    ``parts`` is the dict ``fn`` returned, at ``sr``; ``back`` the same parts at
    ``file_sr`` with ``y0``'s length (``parts`` itself when no resampling was needed).
    With ``what`` (e.g. ``"the dictionaries"``) a resampling is logged as a warning.
    """
    from .io import resample

    if sr is None or sr == file_sr:
        parts = fn(y0, file_sr)
        return y0, parts, parts
    if what:
        log.warning("resampled %s Hz -> %s Hz for %s and back", file_sr, sr, what)
    y = resample(y0, file_sr, sr)
    parts = fn(y, sr)
    back = {k: resample(v, sr, file_sr, length=y0.shape[-1]) for k, v in parts.items()}
    return y, parts, back
