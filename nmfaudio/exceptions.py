"""Exception and warning classes of nmfaudio.

Every error the package raises on purpose derives from :class:`NmfAudioError`,
so ``except nmfaudio.NmfAudioError`` catches all of them.
"""

__all__ = ["NmfAudioError", "ParameterError", "AudioFileError", "ConvergenceWarning"]


class NmfAudioError(Exception):
    """Root of all nmfaudio exceptions."""


class ParameterError(NmfAudioError, ValueError):
    """A parameter or input array has an invalid value, shape or dtype."""


class AudioFileError(NmfAudioError, OSError):
    """An audio (or dictionary) file cannot be read or written."""


class ConvergenceWarning(UserWarning):
    """An iterative solver stopped at ``max_iter`` before reaching ``tol``."""
