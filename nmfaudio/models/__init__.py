"""Bundled pre-trained source models: instrument, speech and noise dictionaries.

Each model is a :class:`nmfaudio.SourceDictionary` shipped inside the package
(``nmfaudio/models/*.npz``) and learned by ``benchmarks/models/train_models.py``
only from material the quality benchmark's test part never uses (see
``MODELS.md``). Importing nmfaudio loads no model: :func:`list_models` reads the
small ``index.json``, :func:`load_model` opens one file on demand.
"""

from __future__ import annotations

import functools
import json
from importlib import resources

from ..exceptions import ParameterError
from .store import INDEX_FILE, read_model

__all__ = ["list_models", "load_model", "model_dictionaries", "model_templates"]


@functools.lru_cache(maxsize=1)
def _index():
    text = resources.files(__name__).joinpath(INDEX_FILE).read_text(encoding="utf-8")
    return tuple(json.loads(text)["models"])


def list_models() -> list[dict]:
    """Describe every bundled model (reads only the small index, opens no model file).

    Parameters
    ----------
    None

    Returns
    -------
    list of dict
        One dict per model, sorted by name, with ``name``, ``kind``
        (``"instrument"``, ``"speech"`` or ``"noise"``), ``training_material``
        (list of str), ``licence`` (str), ``bytes`` (file size), ``sr``,
        ``n_components``, ``n_fft``, ``hop_length``, ``train_seconds`` and ``recipe``
        (how the templates were learned, e.g. ``"notes, 1 per note"``).

    Examples
    --------
    >>> import nmfaudio
    >>> "piano" in [m["name"] for m in nmfaudio.list_models()]
    True
    """
    return [dict(m, training_material=list(m["training_material"])) for m in _index()]


def _known():
    return [m["name"] for m in _index()]


def _check_name(name):
    known = _known()
    if not isinstance(name, str) or name not in known:
        raise ParameterError(f"unknown model {name!r}; expected one of: {', '.join(known)}")
    return name


@functools.lru_cache(maxsize=None)
def _load(name):
    entry = next(m for m in _index() if m["name"] == name)
    data = resources.files(__name__).joinpath(entry["file"]).read_bytes()
    return read_model(data, where=f"model {entry['file']!r}")


def load_model(name):
    """Load one bundled model as a :class:`nmfaudio.SourceDictionary`.

    Parameters
    ----------
    name : str
        A name from :func:`list_models` (e.g. ``"piano"``, ``"speech"``).

    Returns
    -------
    SourceDictionary
        ``W (n_freq, K)`` float32, columns of unit sum, with the model's ``sr``,
        STFT settings, β and ``info`` (``kind``, ``training_material``, ``licence``).
        Read-only and cached: repeated loads return the same object.

    Raises
    ------
    ParameterError
        For an unknown name; the message lists the known ones.

    Examples
    --------
    >>> import nmfaudio
    >>> piano = nmfaudio.load_model("piano")
    >>> piano.W.dtype, piano.W.shape[0] == piano.stft.n_freq
    (dtype('float32'), True)
    """
    return _load(_check_name(name))


def model_dictionaries(instruments):
    """Dictionaries for ``separate(..., instruments=[...])``: one loaded model per distinct name.

    Parameters
    ----------
    instruments : sequence of str
        Model names; each at most once, all of one sample rate and STFT.

    Returns
    -------
    list of SourceDictionary
    """
    if isinstance(instruments, str):
        instruments = [s.strip() for s in instruments.split(",") if s.strip()]
    try:
        names = list(instruments)
    except TypeError:
        raise ParameterError(f"instruments={instruments!r} must be a list of model names") from None
    if not names:
        raise ParameterError(f"instruments=[] is empty; expected model names from: {', '.join(_known())}")
    for n in names:
        _check_name(n)
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ParameterError(f"instruments={names!r} names {', '.join(dup)} more than once; give each once")
    return [load_model(n) for n in names]


def model_templates(name, params, sr):
    """A bundled model's templates mapped to another STFT.

    Each template, a spectral shape over frequency in Hz, is interpolated linearly at the
    bin frequencies of ``params`` at ``sr`` (held at its last value above the model's
    highest frequency), floored at 1e-9 of the largest value and normalised to unit sum.

    Parameters
    ----------
    name : str
        A name from :func:`list_models`.
    params : STFTParams
        The STFT the templates are wanted for.
    sr : int > 0
        Its sample rate.

    Returns
    -------
    W : np.ndarray [shape=(params.n_freq, K)]
        float64, columns of unit sum (frequency first, as ``V ≈ W H``).
    """
    import numpy as np

    model = load_model(name)
    f_model = np.arange(model.stft.n_freq) * model.sr / model.stft.n_fft
    f_new = np.arange(params.n_freq) * sr / params.n_fft
    W = np.stack([np.interp(f_new, f_model, w) for w in model.W.astype(np.float64).T], axis=1)
    W = np.maximum(W, 1e-9 * W.max())
    return W / W.sum(axis=0)
