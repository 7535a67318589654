"""A progress callback that remembers a stop.

``callback(iteration, loss)`` returning True stops a factorisation early. :func:`nmfaudio.denoise`
runs several (the main model, the voice model, a second pass, the input's own model beside a
speech dictionary): once the callback asked to stop, the passes after the one it stopped are
skipped, so that a stop (the web page's cancel button) takes effect at once.
"""

from __future__ import annotations


class Stopping:
    """``callback`` that, once it returned True, returns True from then on (:attr:`stopped`)."""

    def __init__(self, callback):
        self.callback, self.stopped = callback, False

    def __call__(self, iteration, loss):
        if not self.stopped:
            self.stopped = bool(self.callback(iteration, loss))
        return self.stopped


def wrap(callback):
    """``callback`` as a :class:`Stopping` (None stays None; a Stopping is returned as it is)."""
    return callback if callback is None or isinstance(callback, Stopping) else Stopping(callback)


def stopped(callback) -> bool:
    """Did ``callback`` (from :func:`wrap`) ask to stop?"""
    return isinstance(callback, Stopping) and callback.stopped
