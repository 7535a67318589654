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
    fixed-latency output queue, all on buffers allocated once per stream (grown, ×2, when a
    block brings more frames than any before), so that a steady-state :meth:`process`
    allocates nothing but its output (and nothing with ``out=``).

    A subclass sets ``names``, ``sr``, ``params`` (centred STFT) and ``latency``
    (``n_fft - 1``), calls :meth:`reset` at the end of ``__init__`` and implements
    ``_separate_into(nt)``: the masked source spectra of the ``nt`` mixture frames just
    analysed (``self._analysis.frames[:, :nt]``, ``(C, nt, n_freq)`` complex, frame-major,
    in order) written to ``self._src[:, :, :nt]`` (``(n_src, C, nt, n_freq)``); and
    ``_reserve_model(cap)`` to size its own buffers for ``cap`` frames per call."""

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
        self._fifo = None   # (n_src * C, m) separated samples not yet returned
        self._fifo_len = 0
        self._n_sep = 0     # separated samples queued so far
        self._cap = 0

    def _start(self, x, mono):
        from .streaming_stft import StreamingISTFT, StreamingSTFT

        C = x.shape[0]
        n_src = len(self.names)
        self._channels, self._dtype, self._mono = C, x.dtype, mono
        self._analysis = StreamingSTFT(self.params, channels=C, dtype=x.dtype)
        self._synthesis = StreamingISTFT(self.params, lead_shape=(n_src, C), dtype=x.dtype)
        # the first `latency` output samples are zeros
        self._fifo = np.zeros((n_src * C, max(self.latency, 1) * 2 + 4096), x.dtype)
        self._fifo_len = self.latency
        self._reserve(4)

    def _reserve(self, nt):
        """Frame buffers for ``nt`` frames per call (at least twice the previous size)."""
        cap = max(nt, 2 * self._cap)
        self._cap = cap
        p, C, n_src = self.params, self._channels, len(self.names)
        cdt = np.complex64 if self._dtype == np.float32 else np.complex128
        self._src = np.empty((n_src, C, cap, p.n_freq), cdt)   # masked source spectra
        self._ifft = np.empty((n_src * C, cap, p.n_fft), self._dtype)  # their inverse FFTs
        self._reserve_model(cap)

    def _check(self, block, sr):
        from ._checks import show
        from ._stream_kernels import count_nonfinite

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
        bad = count_nonfinite(x2)
        if bad:
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

    def _check_out(self, out, n):
        """The caller's output arrays, checked: ``{name: array}`` shaped and typed like the block."""
        shape = (n,) if self._mono else (self._channels, n)
        if not isinstance(out, dict) or set(out) != set(self.names):
            raise ParameterError(f"out must be a dict with the keys {self.names}, "
                                 f"got {type(out).__name__}")
        for name in self.names:
            o = out[name]
            if not isinstance(o, np.ndarray) or o.shape != shape or o.dtype != self._dtype:
                got = (f"{o.shape} {o.dtype}" if isinstance(o, np.ndarray) else type(o).__name__)
                raise ParameterError(f"out[{name!r}] is {got}; expected an array of shape "
                                     f"{shape} and dtype {self._dtype}")
        return out

    # --------------------------------------------------------------- processing
    def _run_frames(self, nt, limit=None):
        """Separate the ``nt`` frames just analysed and queue the samples now final (at most
        up to ``limit`` signal samples in all)."""
        if nt > self._cap:
            self._reserve(nt)
        L = self._src.shape[0] * self._src.shape[1]
        if nt:
            self._separate_into(nt)
        m = self._synthesis.push_frames(self._src.reshape(L, self._cap, -1)[:, :nt], self._ifft)
        if limit is not None:
            m = min(m, max(0, limit - self._n_sep))
        self._take(m)

    def _take(self, m):
        from ._stft_blocks import grown

        need = self._fifo_len + m
        if need > self._fifo.shape[-1]:
            self._fifo = grown(self._fifo, self._fifo_len, need)
        self._synthesis.take_into(m, self._fifo, self._fifo_len)
        self._fifo_len = need
        self._n_sep += m

    def _pop(self, n, out):
        """The first ``n`` queued samples into ``out`` (a dict of arrays, or None: new ones)."""
        from ._stream_kernels import shift_left

        n_src, C = len(self.names), self._channels
        q = self._fifo[:, :n].reshape(n_src, C, n)
        if out is None:
            res = q.copy()
            out = {name: (res[s, 0] if self._mono else res[s]) for s, name in enumerate(self.names)}
        else:
            for s, name in enumerate(self.names):
                out[name][...] = q[s, 0] if self._mono else q[s]
        shift_left(self._fifo, n, self._fifo_len)
        self._fifo_len -= n
        return out

    def process(self, block, *, sr=None, out=None):
        """Separate one block; returns ``{name: samples}``, each shaped and typed like ``block``.

        Parameters
        ----------
        block : np.ndarray [shape=(n,) or (channels, n), float32 or float64]
        sr : int or None
            If given, checked against :attr:`sr`.
        out : dict of np.ndarray or None
            ``{name: array}`` of the block's shape and dtype to write the outputs into (and
            return): then a steady-state call allocates nothing. By default new arrays are
            returned (never views of the processor's buffers: they stay valid).
        """
        x, mono = self._check(block, sr)
        if self._channels is None:
            self._start(x, mono)
        n = x.shape[-1]
        if out is not None:
            out = self._check_out(out, n)
        nt = self._analysis.push_frames(x)
        self._n_in += n
        self._run_frames(nt)
        return self._pop(n, out)

    def flush(self):
        """The last :attr:`latency` samples of every source; then a new stream starts."""
        if self._channels is None:
            raise ParameterError("flush() before any block: nothing to flush")
        nt = self._analysis.finish_frames()
        # the end padding's frames reach past the end: queue the signal's samples only
        self._run_frames(nt, limit=self._n_in)
        if self._n_sep < self._n_in:
            self._take(min(self._synthesis.end(self._n_in), self._n_in - self._n_sep))
        out = self._pop(self._fifo_len, None)
        self.reset()
        return out

    def _reset_model(self):
        """Subclasses with per-stream state (adapted models) forget it here."""

    def _reserve_model(self, cap):
        """Subclasses size their per-call buffers for ``cap`` frames here."""


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
        lowers it (the default STFT at 44.1 kHz, n_fft 4096: 4095 samples, 93 ms).

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
        from .supervised import SUPERVISED_RTOL, stacked_templates, supervised_settings

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
        self.n_sources = len(dicts)
        edges = np.cumsum([0] + [d.n_components for d in dicts]).astype(np.int64)
        self._solvers = {}
        for dt in (np.float32, np.float64):
            W, _ = stacked_templates(dicts, dt)
            self._solvers[np.dtype(dt)] = FrameSolver(W, beta=self.beta, max_iter=self.max_iter,
                                                      accelerate=self.accelerate, edges=edges,
                                                      rtol=SUPERVISED_RTOL)
        self.reset()

    def _reserve_model(self, cap):
        solver = self._solvers[np.dtype(self._dtype)]
        C, F, K = self._channels, self.params.n_freq, solver.W.shape[1]
        self._V = np.empty((C, cap, F), self._dtype)                   # magnitudes, frame-major
        self._H = np.empty((C, cap, K), self._dtype)
        self._losses = np.empty((C, cap), np.float64)
        self._est = np.empty((C, cap, self.n_sources, F), self._dtype)  # per-source models
        self._zs = np.empty(self.n_sources, self._dtype)

    def _separate_into(self, nt):
        """Masked source spectra of the ``nt`` mixture frames just analysed."""
        from ._stream_kernels import count_nonfinite, soft_mask_apply

        S = self._analysis.frames
        C = self._channels
        solver = self._solvers[np.dtype(self._dtype)]
        for c in range(C):
            V = self._V[c, :nt]
            np.abs(S[c, :nt], out=V)
            if self.power != 1.0:
                np.power(V, V.dtype.type(self.power), out=V)
                if count_nonfinite(V):
                    raise ParameterError(f"the spectrogram to the power {self.power} overflows "
                                         f"{V.dtype}; expected audio at a normal level")
            # long blocks (file streaming) go over threads; the split does not change any frame
            threads = self.n_threads if nt >= 32 else 1
            solver.solve_threads(V, self._H[c, :nt], self._losses[c, :nt], self._est[c, :nt], threads)
        soft_mask_apply(S, self._est, self.mask_power / self.power, self._src, self._zs, nt)
