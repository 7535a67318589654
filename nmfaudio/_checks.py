"""Input validation shared by the public entry points (private module)."""

from __future__ import annotations

import functools
import numbers
import warnings

import numpy as np

from .exceptions import ParameterError


def float_dtype(dtype) -> np.dtype:
    """The float dtype computations run in: float32 stays float32, the rest is float64."""
    dtype = np.dtype(dtype)
    if dtype == np.float32 or dtype == np.float16:
        return np.dtype(np.float32)
    return np.dtype(np.float64)


def show(value) -> str:
    """A short description of a bad value for an error message (arrays by shape, long reprs cut)."""
    if isinstance(value, np.ndarray):
        return f"<array of shape {value.shape}, dtype {value.dtype}>"
    if isinstance(value, (tuple, list)) and any(isinstance(v, np.ndarray) for v in value):
        return f"<{type(value).__name__} of {len(value)}: {', '.join(show(v) for v in value[:3])}>"
    text = " ".join(repr(value).split())
    return text if len(text) <= 80 else text[:77] + "..."


def check_positive_int(value, name: str, *, allow_none: bool = False):
    """Return ``value`` as int if it is a positive integer, else raise ParameterError."""
    if value is None and allow_none:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral) or value <= 0:
        raise ParameterError(f"{name}={show(value)} must be a positive integer")
    return int(value)


def check_nonneg_int(value, name: str) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral) or value < 0:
        raise ParameterError(f"{name}={show(value)} must be a non-negative integer")
    return int(value)


def check_finite_float(value, name: str, *, low=None, high=None, low_open=False) -> float:
    """Return ``value`` as float if it is a finite real number within the given bounds."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise ParameterError(f"{name}={show(value)} must be a real number")
    value = float(value)
    if not np.isfinite(value):
        raise ParameterError(f"{name}={show(value)} must be finite")
    if low is not None and (value < low or (low_open and value == low)):
        op = ">" if low_open else ">="
        raise ParameterError(f"{name}={show(value)} must be {op} {low}")
    if high is not None and value > high:
        raise ParameterError(f"{name}={show(value)} must be <= {high}")
    return value


def check_seed(value, name: str = "random_state"):
    """Validate a seed: None, a non-negative integer, or a numpy Generator/RandomState."""
    if value is None or isinstance(value, (np.random.Generator, np.random.RandomState)):
        return value
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise ParameterError(f"{name}={show(value)} must be None, a non-negative integer or a numpy Generator")
    if value < 0 or value >= 2**32:
        raise ParameterError(f"{name}={show(value)} must be a non-negative integer below 2**32")
    return int(value)


def check_finite_array(X, name: str) -> np.ndarray:
    """Raise ParameterError if ``X`` (real or complex) has NaN or Inf entries."""
    X = np.asarray(X)
    if X.dtype.kind in "fc" and not np.all(np.isfinite(X)):
        bad = int(X.size - np.count_nonzero(np.isfinite(X)))
        raise ParameterError(f"{name} contains {bad} NaN or Inf value(s); it must be finite")
    return X


def valid_audio(y, name: str = "y", *, max_channels: int = 64, any_leading: bool = False) -> np.ndarray:
    """Validate an audio array of shape ``(n,)`` or ``(channels, n)``.

    With ``any_leading``, shapes ``(..., n)`` are accepted too.
    Returns it as a floating array (ints are converted to float32 in [-1, 1),
    float16 to float32). Raises ParameterError naming the problem.
    """
    if isinstance(y, (str, bytes)) or not hasattr(y, "__array__") and not isinstance(y, (list, tuple)):
        raise ParameterError(
            f"{name} must be a numpy array of audio samples, got {type(y).__name__}"
        )
    y = np.asarray(y)
    if y.dtype.kind in "iu":
        # integer PCM: scale to [-1, 1) like soundfile does
        info = np.iinfo(y.dtype)
        y = (y.astype(np.float32) / float(-info.min if info.min < 0 else info.max))
    elif y.dtype.kind == "b":
        raise ParameterError(f"{name} has boolean dtype; expected float audio samples")
    elif y.dtype.kind == "c":
        raise ParameterError(f"{name} is complex; expected real-valued audio samples")
    elif y.dtype.kind != "f":
        raise ParameterError(f"{name} has dtype {y.dtype}; expected a float array of audio samples")
    elif y.dtype == np.float16:
        y = y.astype(np.float32)
    if any_leading and y.ndim > 2:
        if y.shape[-1] == 0:
            raise ParameterError(f"{name} has shape {y.shape}: it contains no samples")
        return valid_audio(y.reshape(-1, y.shape[-1]), name, max_channels=max_channels).reshape(y.shape)
    if y.ndim not in (1, 2):
        raise ParameterError(
            f"{name} has shape {y.shape}; expected (n_samples,) or (channels, n_samples)"
        )
    if y.ndim == 2:
        if y.shape[0] == 0:
            raise ParameterError(f"{name} has shape {y.shape}: zero channels")
        if y.shape[0] > max_channels or (y.shape[0] > y.shape[1] and y.shape[1] > 0 and y.shape[1] <= max_channels):
            raise ParameterError(
                f"{name} has shape {y.shape}; expected (channels, n_samples). It looks like "
                f"(n_samples, channels): pass {name}.T"
            )
    if y.shape[-1] == 0:
        raise ParameterError(f"{name} has shape {y.shape}: it contains no samples")
    if not np.all(np.isfinite(y)):
        bad = int(np.size(y) - np.count_nonzero(np.isfinite(y)))
        raise ParameterError(f"{name} contains {bad} NaN or Inf sample(s); audio must be finite")
    return y


def check_nonnegative_matrix(V, name: str = "V") -> np.ndarray:
    """Validate a non-negative, finite 2-D matrix; returns a float array (float32 kept)."""
    try:
        V = np.asarray(V)
    except Exception as exc:  # pragma: no cover - exotic objects
        raise ParameterError(f"{name} cannot be converted to an array: {exc}") from None
    if V.dtype.kind == "c":
        raise ParameterError(f"{name} is complex; pass a magnitude (np.abs) spectrogram")
    if V.dtype.kind not in "fiub":
        raise ParameterError(f"{name} has dtype {V.dtype}; expected a real, non-negative matrix")
    if V.ndim != 2:
        raise ParameterError(f"{name} has shape {V.shape}; expected a 2-D matrix (n_freq, n_frames)")
    if V.shape[0] == 0 or V.shape[1] == 0:
        raise ParameterError(f"{name} has shape {V.shape}; it must not be empty")
    V = V.astype(float_dtype(V.dtype), copy=False)
    finite = np.isfinite(V)
    if not finite.all():
        raise ParameterError(
            f"{name} contains {V.size - int(finite.sum())} NaN or Inf value(s); it must be finite"
        )
    if (V < 0).any():
        raise ParameterError(
            f"{name} contains negative values (min {V.min():.3g}); NMF needs a non-negative matrix"
        )
    return V


def renamed_keywords(**old_to_new):
    """Decorator keeping old keyword names of a public function working, with a warning.

    ``@renamed_keywords(params="stft_params")`` lets callers still write ``params=``: the
    value goes to ``stft_params`` and a :class:`DeprecationWarning` names the new spelling.
    Giving both names raises :class:`ParameterError`. The wrapped function's signature and
    docstring are the new ones (``functools.wraps``), so help and doctests show one spelling.

    Examples
    --------
    >>> import warnings
    >>> @renamed_keywords(power="mask_power")
    ... def f(x, *, mask_power=2.0):
    ...     return x ** mask_power
    >>> with warnings.catch_warnings(record=True) as w:
    ...     warnings.simplefilter("always")
    ...     f(3.0, power=1.0), str(w[0].message)
    (3.0, 'f(power=...) is deprecated; use f(mask_power=...) instead')
    """

    def decorate(fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            for old, new in old_to_new.items():
                if old in kwargs:
                    if new in kwargs:
                        raise ParameterError(f"{fn.__name__}() got both {old}= and {new}=; {old}= is the "
                                             f"old name of {new}=, pass only {new}=")
                    warnings.warn(f"{fn.__name__}({old}=...) is deprecated; use {fn.__name__}({new}=...) "
                                  "instead", DeprecationWarning, stacklevel=2)
                    kwargs[new] = kwargs.pop(old)
            return fn(*args, **kwargs)

        wrapper.renamed_keywords = dict(old_to_new)
        return wrapper

    return decorate
