"""``separate(y, sr, instruments=[...])``: supervised separation with bundled models.

The work is done by :func:`nmfaudio.separate` (so that ``separate`` need not import this
module back); :func:`separate_instruments` is the same call under its own name.
"""

from __future__ import annotations

__all__ = ["separate_instruments"]


def separate_instruments(y, sr, instruments, *, dictionaries=None, n_sources=None, **kwargs):
    """Separate ``y`` into the named bundled models' sources: ``separate(y, sr, instruments=...)``.

    The models are loaded with :func:`nmfaudio.load_model` and used as fixed
    dictionaries. When ``sr`` differs from the models' rate, the mixture is
    resampled to the models' rate (soxr), separated there, and each source is
    resampled back to ``sr`` and cut to the input length; the sources then sum to
    ``y`` only up to the resampling error (about -60 dB or less), not exactly.

    Parameters
    ----------
    y : np.ndarray [shape=(n,) or (channels, n)]
    sr : int > 0
    instruments : sequence of str
        Model names (:func:`nmfaudio.list_models`), each at most once.
    kwargs
        The supervised options of :func:`nmfaudio.separate` (``n_free``,
        ``free_sparsity``, ``mask_power``, ``max_iter``, ``random_state``, ``callback``);
        an option of unsupervised separation raises :class:`nmfaudio.ParameterError`.

    Returns
    -------
    dict[str, np.ndarray]
        One waveform per named model (plus ``"residual"`` with ``n_free > 0``),
        each of the shape and float dtype of ``y``.

    Examples
    --------
    >>> import numpy as np
    >>> from nmfaudio.models.instruments import separate_instruments
    >>> y = np.random.default_rng(0).standard_normal(22050).astype(np.float32) * 0.1
    >>> out = separate_instruments(y, 22050, ["piano", "flute"], max_iter=5)  # doctest: +SKIP
    >>> sorted(out)  # doctest: +SKIP
    ['flute', 'piano']
    """
    from ..separate import separate

    return separate(y, sr, instruments=instruments, dictionaries=dictionaries, n_sources=n_sources,
                    **kwargs)
