"""Exception and warning classes of nmfaudio.

Every error the package raises on purpose derives from :class:`NmfAudioError`,
so ``except nmfaudio.NmfAudioError`` catches all of them.
"""

__all__ = ["NmfAudioError", "ParameterError", "UsageError", "AudioFileError", "ConvergenceWarning"]


class NmfAudioError(Exception):
    """Root of all nmfaudio exceptions."""


class ParameterError(NmfAudioError, ValueError):
    """A parameter or input array has an invalid value, shape or dtype."""


class UsageError(ParameterError):
    """Arguments that cannot work together, found before any work starts.

    For example an output folder that is an existing regular file, an output that
    would replace the input, or one dictionary with nothing else to explain the
    mixture. The command line reports it as a usage error (exit code 2).
    """


class AudioFileError(NmfAudioError, OSError):
    """An audio (or dictionary) file cannot be read or written."""


class ConvergenceWarning(UserWarning):
    """An iterative solver stopped at ``max_iter`` before reaching ``tol``."""
