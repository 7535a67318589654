"""Real-time, block-by-block separation with a fixed latency, equal to offline.

:class:`StreamSeparator` keeps the state a stream needs between blocks — the samples of
frames not yet complete, the overlap-add tail — and runs the frame-local supervised solve
(:mod:`nmfaudio._frames`) on each frame as soon as it is complete. With fixed templates a
frame's activations do not depend on the other frames, the masks are per bin and the
STFT frames are bit-equal to the offline ones (:class:`nmfaudio.StreamingSTFT`), so after
removing :attr:`StreamSeparator.latency` samples the concatenated outputs equal
:func:`nmfaudio.separate` with the same dictionaries up to float rounding of the
overlap-add, whatever the block sizes.

Orientation as everywhere: ``V (n_freq, n_frames) ≈ W (n_freq, K) @ H (K, n_frames)``.
"""

from __future__ import annotations

import numpy as np

from .exceptions import ParameterError

__all__ = ["StreamSeparator", "BlockProcessor"]


class BlockProcessor:
    """Base of the block processors: input checks, streaming STFT and overlap-add, the
    fixed-latency output queue. A subclass sets ``names``, ``sr``, ``params`` (centred
    STFT) and ``latency`` (``n_fft - 1``), calls :meth:`reset` at the end of ``__init__``
    and implements ``_separate_frames(S (C, F, nt)) -> (n_src, C, F, nt)``, the masked
    source spectra of complete mixture frames, in order."""

    # ------------------------------------------------------------------ state
    def reset(self):
        """Start a new stream (forget buffered samples, channel count and dtype)."""
        self._reset_model()
        self._channels = None
        self._dtype = None
        self._mono = None
        self._analysis = None
        self._synthesis = None
        self._n_in = 0
        self._fifo = None   # (n_src, C, m) separated samples not yet returned
        self._fifo_len = 0
        self._n_sep = 0     # separated samples queued so far

    def _start(self, x, mono):
        from .stft import StreamingISTFT, StreamingSTFT

        C = x.shape[0]
        self._channels, self._dtype, self._mono = C, x.dtype, mono
        self._analysis = StreamingSTFT(self.params, channels=C, dtype=x.dtype)
        self._synthesis = StreamingISTFT(self.params, lead_shape=(len(self.names), C), dtype=x.dtype)
        # the first `latency` output samples are zeros
        self._fifo = np.zeros((len(self.names), C, max(self.latency, 1) * 2), x.dtype)
        self._fifo_len = self.latency

    def _check(self, block, sr):
        from ._checks import show

        if sr is not None and int(sr) != self.sr:
            raise ParameterError(f"sr={show(sr)} but this processor works at {self.sr} Hz; "
                                 "resample the stream first")
        x = np.asarray(block)
        if x.dtype not in (np.float32, np.float64):
            raise ParameterError(f"block has dtype {x.dtype}; expected float32 or float64 audio")
        if x.ndim not in (1, 2) or x.shape[-1] < 1:
            raise ParameterError(f"block has shape {x.shape}; expected (n,) or (channels, n) with n >= 1")
        mono = x.ndim == 1
        x2 = x[None] if mono else x
        if not np.isfinite(x2).all():
            bad = int(np.size(x2) - np.count_nonzero(np.isfinite(x2)))
            raise ParameterError(f"block has {bad} NaN/Inf sample(s); expected finite audio")
        if self._channels is not None:
            if mono != self._mono or x2.shape[0] != self._channels:
                raise ParameterError(
                    f"block has shape {x.shape} but the stream started with "
                    f"{'mono (n,)' if self._mono else f'({self._channels}, n)'} blocks; "
                    "call reset() to start a stream with another layout")
            if x2.dtype != self._dtype:
                raise ParameterError(f"block has dtype {x2.dtype} but the stream started with "
                                     f"{self._dtype}; call reset() to change it")
        return x2, mono

    # --------------------------------------------------------------- processing
    def _queue(self, y):
        from ._stft_blocks import grown

        m = y.shape[-1]
        need = self._fifo_len + m
        self._fifo = grown(self._fifo, self._fifo_len, need)
        self._fifo[..., self._fifo_len:need] = y
        self._fifo_len = need
        self._n_sep += m

    def _pop(self, n):
        out = self._fifo[..., :n].copy()
        rest = self._fifo_len - n
        self._fifo[..., :rest] = self._fifo[..., n:self._fifo_len]
        self._fifo_len = rest
        return {name: (out[s, 0] if self._mono else out[s]) for s, name in enumerate(self.names)}

    def process(self, block, *, sr=None):
        """Separate one block; returns ``{name: samples}``, each shaped and typed like ``block``.

        Parameters
        ----------
        block : np.ndarray [shape=(n,) or (channels, n), float32 or float64]
        sr : int or None
            If given, checked against :attr:`sr`.
        """
        x, mono = self._check(block, sr)
        if self._channels is None:
            self._start(x, mono)
        S = self._analysis.push(x)
        self._n_in += x.shape[-1]
        self._queue(self._synthesis.push(self._separate_frames(S)))
        return self._pop(x.shape[-1])

    def flush(self):
        """The last :attr:`latency` samples of every source; then a new stream starts."""
        if self._channels is None:
            raise ParameterError("flush() before any block: nothing to flush")
        y = self._synthesis.push(self._separate_frames(self._analysis.finish()))
        y = y[..., :max(0, self._n_in - self._n_sep)]  # the end padding's frames reach past the end
        self._queue(y)
        if self._n_sep < self._n_in:
            self._queue(self._synthesis.finish(self._n_in))
        out = self._pop(self._fifo_len)
        self.reset()
        return out

    def _reset_model(self):
        """Subclasses with per-stream state (adapted models) forget it here."""


class StreamSeparator(BlockProcessor):
    """Separate a stream block by block with trained dictionaries (fixed latency).

    Parameters
    ----------
    dictionaries : list of SourceDictionary or None
        One per source, all at the stream's sample rate with the same STFT (``center=True``).
    instruments : list of str or None
        Names of bundled models (:func:`nmfaudio.list_models`) instead of ``dictionaries``;
        the stream must then be at the models' rate (22.05 kHz).
    mask_power : float > 0
        Soft-mask exponent on magnitudes (2 = Wiener).
    max_iter, accelerate
        As in :func:`nmfaudio.separate_supervised_spectrogram` (defaults: 20 accelerated
        iterations per frame unless the dictionaries' β is 2).
    n_threads : int > 0 or "auto"
        Threads for blocks of 32 frames or more (file streaming); the split does not change
        the result. Keep 1 inside an audio callback.

    Attributes
    ----------
    names : list of str
        Source names, the keys of every output.
    sr : int
        Sample rate the dictionaries were trained at (the stream's rate).
    latency : int
        Delay in samples between input and output: ``n_fft - 1`` (a sample is final once
        the last frame overlapping it is complete). 2047 samples = 46 ms at 44.1 kHz with
        the default ``n_fft=2048``; a smaller ``n_fft`` (dictionaries trained with it)
        lowers it.

    Notes
    -----
    ``process(block)`` takes ``(n,)`` or ``(channels, n)`` float audio, any ``n >= 1``,
    and returns ``{name: array}`` of the same shape and float dtype: the sources delayed by
    :attr:`latency` samples (zeros at first). :meth:`flush` returns the last ``latency``
    samples and starts a new stream; :meth:`reset` starts a new stream without them. The
    channel count, dtype and sample rate are fixed by the first block of a stream; a block
    that changes them, or holds NaN/Inf, raises :class:`~nmfaudio.ParameterError` and
    leaves the processor as it was (call :meth:`reset` to start over).

    Examples
    --------
    >>> import numpy as np, nmfaudio
    >>> rng = np.random.default_rng(0)
    >>> p = nmfaudio.STFTParams(n_fft=256)
    >>> a = nmfaudio.learn_dictionary(rng.standard_normal(4000), 8000, name="noise", stft_params=p,
    ...                               n_components=2, max_iter=10, pitch_shifts=())
    >>> b = nmfaudio.learn_dictionary(np.sin(np.arange(4000) * 0.3), 8000, name="tone",
    ...                               stft_params=p, n_components=2, max_iter=10, pitch_shifts=())
    >>> proc = nmfaudio.StreamSeparator(dictionaries=[a, b])
    >>> y = (rng.standard_normal(3000) * 0.1 + np.sin(np.arange(3000) * 0.3)).astype(np.float32)
    >>> parts = [proc.process(y[i:i + 100]) for i in range(0, 3000, 100)] + [proc.flush()]
    >>> tone = np.concatenate([p["tone"] for p in parts])[proc.latency:]
    >>> offline = nmfaudio.separate(y, 8000, dictionaries=[a, b])["tone"]
    >>> proc.latency, tone.dtype, bool(np.max(np.abs(tone - offline)) < 1e-5)
    (255, dtype('float32'), True)
    """

    def __init__(self, dictionaries=None, *, instruments=None, mask_power=2.0, max_iter=None,
                 accelerate=None, n_threads=1):
        from ._checks import check_finite_float, check_positive_int
        from ._frames import FrameSolver
        from .dictionary import check_dictionaries
        from .supervised import stacked_templates, supervised_settings

        if (dictionaries is None) == (instruments is None):
            raise ParameterError("give exactly one of dictionaries=[...] or instruments=[...]")
        if instruments is not None:
            from .models import load_model

            if isinstance(instruments, str):
                instruments = [instruments]
            dictionaries = [load_model(name) for name in instruments]
        dicts = check_dictionaries(dictionaries)
        p = dicts[0].stft
        if not p.center:
            raise ParameterError("streaming needs dictionaries with a centred STFT (center=True)")
        self.mask_power = check_finite_float(mask_power, "mask_power", low=0.0, low_open=True)
        if n_threads == "auto":
            from ._threads import max_threads

            n_threads = max_threads()
        self.n_threads = check_positive_int(n_threads, "n_threads")
        self.max_iter, self.accelerate = supervised_settings(dicts, max_iter=max_iter,
                                                             accelerate=accelerate)
        self.names = [d.name for d in dicts]
        self.sr = int(dicts[0].sr)
        self.params = p
        self.beta = float(dicts[0].beta)
        self.power = float(dicts[0].power)
        self.latency = p.n_fft - 1
        self._solvers = {}
        for dt in (np.float32, np.float64):
            W, _ = stacked_templates(dicts, dt)
            self._solvers[np.dtype(dt)] = FrameSolver(W, beta=self.beta, max_iter=self.max_iter,
                                                      accelerate=self.accelerate)
        edges = np.cumsum([0] + [d.n_components for d in dicts])
        self._edges = edges.astype(np.int64)  # templates of source s: edges[s]:edges[s + 1]
        self.reset()

    def _separate_frames(self, S):
        """Masked source spectra ``(n_src, C, F, nt)`` of the mixture frames ``S (C, F, nt)``."""
        from ._frames import source_models
        from .masking import mask_sources

        C, F, nt = S.shape
        if nt == 0:
            return np.zeros((len(self.names),) + S.shape, S.dtype)
        V = np.abs(S)
        if self.power != 1.0:
            from .dictionary import powered

            V = powered(V, self.power)
        solver = self._solvers[np.dtype(V.dtype)]
        # long blocks (file streaming) go over threads; the split does not change any frame
        H = np.stack([solver.solve(V[c], n_threads=self.n_threads if nt >= 32 else 1)[0]
                      for c in range(C)])
        est = np.empty((C, len(self.names), F, nt), V.dtype)
        for c in range(C):
            source_models(solver.W, H[c], self._edges, est[c])
        est = np.swapaxes(est, 0, 1)
        _, S_src = mask_sources(S, est, mask_power=self.mask_power, spectrogram_power=self.power)
        return S_src

