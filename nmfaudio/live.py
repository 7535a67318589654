"""Live use: a microphone through a block processor to the speakers (``sounddevice``).

:func:`run_live` opens a duplex audio stream at the processor's sample rate (mono input,
one output channel per chosen source) and calls ``processor.process(block)`` in the audio
callback, timing every block; it returns a :class:`LiveReport` (xruns, block-time
percentiles, latency). The processor is any object with the :class:`nmfaudio.StreamSeparator`
interface (``process``, ``names``, ``sr``, ``latency``), which works on waveforms; its
spectrograms are ``V (n_freq, n_frames) ≈ W (n_freq, K) @ H (K, n_frames)`` as everywhere.

Audio I/O needs the optional extra ``pip install "nmfaudio[live]"`` (the ``sounddevice``
package) and the PortAudio library (Debian/Ubuntu: ``apt-get install libportaudio2``).
Without an audio device, :class:`ArrayStream` plays an array through the same callback
contract as ``sounddevice.Stream`` ("as if live"); tests and examples use it.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import numpy as np

from .exceptions import NmfAudioError, ParameterError

__all__ = ["run_live", "LiveReport", "ArrayStream", "AudioDeviceError", "import_sounddevice",
           "list_devices", "sounddevice_stream"]

#: Block sizes accepted by :func:`run_live` (samples per callback).
MIN_BLOCK, MAX_BLOCK = 16, 65536


class AudioDeviceError(NmfAudioError):
    """Live audio cannot run: sounddevice or PortAudio missing, no device, a device refusing the stream."""


def import_sounddevice():
    """The ``sounddevice`` module, or an :class:`AudioDeviceError` saying what to install.

    Returns
    -------
    module
        ``sounddevice``.

    Examples
    --------
    >>> try:
    ...     sd = import_sounddevice()
    ... except AudioDeviceError as exc:
    ...     print(exc)            # doctest: +SKIP
    """
    try:
        import sounddevice
    except ImportError:
        raise AudioDeviceError('live audio needs the sounddevice package: pip install "nmfaudio[live]"') from None
    except OSError as exc:  # sounddevice imports but finds no PortAudio library
        raise AudioDeviceError(
            f"sounddevice could not load the PortAudio library ({exc}); install it, e.g. "
            "apt-get install libportaudio2 (Debian/Ubuntu) or brew install portaudio (macOS)") from None
    return sounddevice


def list_devices():
    """The audio devices PortAudio sees, as text (one per line; ``>``/``<`` mark the defaults).

    Returns
    -------
    str
        ``sounddevice.query_devices()`` as printed, or a sentence saying there are none.

    Examples
    --------
    >>> print(list_devices())     # doctest: +SKIP
    """
    sd = import_sounddevice()
    text = str(sd.query_devices()).strip()
    return text or "no audio devices found (PortAudio sees none)"


@dataclass
class LiveReport:
    """What a live run measured.

    Attributes
    ----------
    sr, block_size : int
        Stream sample rate and samples per callback.
    latency_samples : int
        Processor latency plus one block (the algorithmic delay from microphone to speaker,
        before the sound card's own buffers).
    blocks : int
        Blocks processed.
    block_seconds : np.ndarray [shape=(blocks,)]
        Processing time of every block (wall clock, in the audio callback).
    slow_blocks : int
        Blocks whose processing took longer than the block lasts (sure xruns).
    status_xruns : int
        Callbacks in which the audio driver reported an input overflow or output underflow.
    xruns : int
        Blocks that were slow or flagged by the driver.
    interrupted : bool
        The run was stopped by Ctrl-C.

    Examples
    --------
    >>> r = LiveReport(sr=1000, block_size=100, latency_samples=355, block_seconds=np.full(3, 0.01))
    >>> r.blocks, r.latency_ms, r.block_ms(50)
    (3, 355.0, 10.0)
    """

    sr: int
    block_size: int
    latency_samples: int
    block_seconds: np.ndarray = field(default_factory=lambda: np.zeros(0))
    slow_blocks: int = 0
    status_xruns: int = 0
    xruns: int = 0
    interrupted: bool = False

    @property
    def blocks(self) -> int:
        return int(len(self.block_seconds))

    @property
    def latency_ms(self) -> float:
        return 1000.0 * self.latency_samples / self.sr

    @property
    def audio_seconds(self) -> float:
        return self.blocks * self.block_size / self.sr

    def block_ms(self, percentile) -> float:
        """Block processing time at ``percentile`` (0-100) in ms (NaN before any block)."""
        if not self.blocks:
            return float("nan")
        return float(1000.0 * np.percentile(self.block_seconds, percentile))

    def summary(self) -> str:
        """One line for people: blocks, latency, block-time p50/p99 against the block's duration, xruns."""
        budget = 1000.0 * self.block_size / self.sr
        return (f"{self.blocks} blocks ({self.audio_seconds:.1f} s of audio); latency {self.latency_ms:.1f} ms "
                f"({self.latency_samples} samples at {self.sr} Hz); block time p50 {self.block_ms(50):.2f} ms, "
                f"p99 {self.block_ms(99):.2f} ms of {budget:.2f} ms; {self.xruns} xrun(s) "
                f"({self.slow_blocks} block(s) slower than real time, {self.status_xruns} reported by the driver)")


class ArrayStream:
    """A stand-in for ``sounddevice.Stream`` that plays an array through the callback.

    On ``start()`` (or entering ``with``) it cuts ``samples`` into ``blocksize`` frames
    (the last one zero-padded), calls ``callback(indata, outdata, frames, time, status)``
    with ``indata (frames, n_in)`` float32 and a zeroed ``outdata (frames, n_out)`` for
    each, collects ``outdata`` in :attr:`output`, then becomes inactive. It takes (and
    ignores) the other ``sounddevice.Stream`` keyword arguments, so
    ``functools.partial(ArrayStream, y)`` is a ``stream_factory`` for :func:`run_live`.

    Parameters
    ----------
    samples : np.ndarray [shape=(n,) or (n_in, n)]
        Input audio, channels first as elsewhere in nmfaudio.
    blocksize : int > 0
    channels : int or (int, int)
        Input and output channel counts (an int: both).
    callback : callable
        The sounddevice callback.

    Attributes
    ----------
    output : np.ndarray [shape=(n_out, n_padded)]
        Everything the callback wrote, channels first; ``n_padded`` is ``n`` rounded up to blocks.
    active : bool
        True while blocks are being played.

    Examples
    --------
    >>> def double(indata, outdata, frames, time, status):
    ...     outdata[:] = 2 * indata
    >>> s = ArrayStream(np.arange(5, dtype=np.float32), blocksize=2, channels=1, callback=double)
    >>> with s:
    ...     pass
    >>> s.output
    array([[0., 2., 4., 6., 8., 0.]], dtype=float32)
    """

    def __init__(self, samples, *, blocksize, channels, callback, dtype="float32", **ignored):
        x = np.atleast_2d(np.asarray(samples, dtype=dtype))
        n_in, n_out = (channels, channels) if np.isscalar(channels) else channels
        if x.ndim != 2 or x.shape[0] != n_in:
            raise ParameterError(f"samples have shape {np.shape(samples)}; the stream takes {n_in} input channel(s)")
        self.blocksize, self.callback = int(blocksize), callback
        n_blocks = -(-x.shape[1] // self.blocksize)
        self._input = np.zeros((n_blocks * self.blocksize, n_in), x.dtype)
        self._input[:x.shape[1]] = x.T
        self.output = np.zeros((n_out, len(self._input)), x.dtype)
        self.active = False
        self.closed = False

    def start(self):
        self.active = True
        try:
            out = np.zeros((self.blocksize, self.output.shape[0]), self.output.dtype)
            for i in range(0, len(self._input), self.blocksize):
                out.fill(0)
                self.callback(self._input[i:i + self.blocksize], out, self.blocksize, None, _NoStatus())
                self.output[:, i:i + self.blocksize] = out.T
        finally:
            self.active = False

    def stop(self):
        self.active = False

    def close(self):
        self.closed = True

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()
        self.close()
        return False


class _NoStatus:
    """``sounddevice.CallbackFlags`` with no flag set."""

    input_overflow = output_underflow = False

    def __bool__(self):
        return False


def _check_devices(sd, input_device, output_device, n_out):
    """Fail with one clear sentence unless both devices exist with enough channels."""
    for kind, dev, need in (("input", input_device, 1), ("output", output_device, n_out)):
        try:
            info = sd.query_devices(dev, kind=kind)
        except (sd.PortAudioError, ValueError) as exc:
            if dev is None:
                raise AudioDeviceError(f"no {kind} audio device found; connect one or pick one with "
                                       f"--{kind}-device ID (see 'nmfaudio live --list-devices')") from None
            raise AudioDeviceError(f"{kind} device {dev!r} is not usable ({exc}); "
                                   "see 'nmfaudio live --list-devices'") from None
        have = int(info[f"max_{kind}_channels"])
        if have < need:
            raise AudioDeviceError(f"{kind} device {info['name']!r} has {have} channel(s); "
                                   f"{need} are needed (one per source played)")


def sounddevice_stream(**kwargs):
    """A ``sounddevice.Stream(**kwargs)`` after checking its devices; the default ``stream_factory``.

    Parameters
    ----------
    **kwargs
        ``sounddevice.Stream`` arguments; ``device=(input, output)`` and ``channels=(n_in, n_out)``
        are required.

    Returns
    -------
    sounddevice.Stream
        Not yet started.

    Raises
    ------
    AudioDeviceError
        sounddevice/PortAudio missing, no such device, too few channels, or PortAudio refusing the settings.

    Examples
    --------
    >>> stream = sounddevice_stream(samplerate=22050, blocksize=1024, device=(None, None),
    ...                             channels=(1, 1), dtype="float32", callback=None)  # doctest: +SKIP
    """
    sd = import_sounddevice()
    _check_devices(sd, *kwargs["device"], kwargs["channels"][1])
    try:
        return sd.Stream(**kwargs)
    except (sd.PortAudioError, ValueError) as exc:
        raise AudioDeviceError(f"cannot open the audio stream at {kwargs['samplerate']} Hz with "
                               f"{kwargs['blocksize']}-sample blocks: {exc}") from None


def _check_args(processor, source, block_size, duration):
    if isinstance(block_size, (bool, np.bool_)) or not isinstance(block_size, (int, np.integer)) \
            or not MIN_BLOCK <= block_size <= MAX_BLOCK:
        raise ParameterError(f"block_size={block_size!r}; expected an integer from {MIN_BLOCK} to "
                             f"{MAX_BLOCK} samples (typical: 256-2048)")
    if duration is not None and not (isinstance(duration, (int, float, np.number))
                                     and np.isfinite(duration) and duration > 0):
        raise ParameterError(f"duration={duration!r}; expected a positive number of seconds or None")
    names = list(processor.names)
    chosen = [names[0]] if source is None else [source] if isinstance(source, str) else list(source)
    unknown = [s for s in chosen if s not in names]
    if unknown or not chosen:
        raise ParameterError(f"source={source!r}; expected one of {names} (or a list of them)")
    return chosen


class _Callback:
    """The audio callback: process a block, time it, count xruns; never raises into the driver."""

    def __init__(self, processor, chosen, block_size, max_frames, on_block):
        self.processor, self.chosen, self.on_block = processor, chosen, on_block
        self.budget = block_size / processor.sr
        self.max_frames = max_frames
        self.frames = 0
        self.times = []
        self.slow = self.flagged = self.xruns = 0
        self.error = None
        self.done = threading.Event()
        self._n = None

    def _buffers(self, n):
        """The block and output arrays for ``n``-sample blocks, kept between calls (the audio
        thread then allocates nothing in steady state with a :class:`~nmfaudio.realtime.BlockProcessor`;
        another processor gets ``out=None`` and returns new arrays)."""
        if self._n != n:
            from .realtime import BlockProcessor

            self._n = n
            self._block = np.zeros(n, np.float32)
            self._out = ({name: np.zeros(n, np.float32) for name in self.processor.names}
                         if isinstance(self.processor, BlockProcessor) else None)
        return self._block, self._out

    def __call__(self, indata, outdata, frames, time_info, status):
        t0 = time.perf_counter()
        if self.done.is_set():
            outdata.fill(0)
            return
        try:
            block, out = self._buffers(frames)
            block[:] = indata[:, 0]
            out = self.processor.process(block, out=out) if out is not None \
                else self.processor.process(block)
            for j, name in enumerate(self.chosen):
                outdata[:, j] = out[name]
            if self.on_block is not None:
                self.on_block(block, out, time.perf_counter() - t0)
        except Exception as exc:  # stop cleanly; run_live re-raises it in the main thread
            self.error = exc
            outdata.fill(0)
            self.done.set()
            return
        elapsed = time.perf_counter() - t0
        self.times.append(elapsed)
        slow = elapsed > self.budget
        self.slow += slow
        self.flagged += bool(status)
        self.xruns += slow or bool(status)
        self.frames += frames
        if self.max_frames is not None and self.frames >= self.max_frames:
            self.done.set()


def _warm_up(processor, block_size):
    """Compile the kernels before the first callback (the first call costs seconds), then reset."""
    rng = np.random.default_rng(0)
    n = int(processor.latency) + 2 * block_size
    x = (1e-3 * rng.standard_normal(n)).astype(np.float32)  # not silence: silent frames skip the solve
    for i in range(0, n, block_size):
        processor.process(x[i:i + block_size])
    processor.reset()


def run_live(processor, *, source=None, block_size=1024, input_device=None, output_device=None,
             duration=None, stream_factory=None, on_block=None, warm_up=True):
    """Play the microphone through ``processor`` to the speakers until Ctrl-C or ``duration``.

    Opens a duplex stream at ``processor.sr`` with one input channel and one output channel
    per source played; each callback block goes through ``processor.process`` and the chosen
    source(s) go out, delayed by ``processor.latency`` samples plus one block.

    Parameters
    ----------
    processor : StreamSeparator or similar
        Has ``process(block (n,) float32) -> {name: (n,) float32}``, ``reset()``, ``names``, ``sr``,
        ``latency``.
    source : str, list of str or None
        Source to play (default: the first of ``processor.names``), or several, one per output channel.
    block_size : int
        Samples per callback, from 16 to 65536.
    input_device, output_device : int, str or None
        PortAudio device index or name substring (``None``: the system default).
    duration : float or None
        Stop after this many seconds of audio (``None``: run until Ctrl-C).
    stream_factory : callable or None
        Called with ``sounddevice.Stream``'s keyword arguments (``samplerate``, ``blocksize``,
        ``device``, ``channels=(1, n_out)``, ``dtype``, ``callback``, ``latency``); returns a
        context manager with an ``active`` attribute that calls
        ``callback(indata, outdata, frames, time, status)`` (``None``: :func:`sounddevice_stream`;
        e.g. ``functools.partial(ArrayStream, y)`` for a file).
    on_block : callable or None
        ``on_block(block, outputs, seconds)`` after each block, in the audio thread (keep it short;
        ``block`` and ``outputs`` are reused by the next block: copy what you keep).
    warm_up : bool
        Before opening the stream, run a little low-level noise through the processor and call its
        ``reset()``, so that compiling the kernels does not make the first blocks late; the
        stream then starts from a fresh processor state.

    Returns
    -------
    LiveReport
        Blocks processed, per-block times, xruns, latency.

    Raises
    ------
    AudioDeviceError
        sounddevice or PortAudio missing, no input/output device, or the stream cannot open.
    ParameterError
        Bad ``source``, ``block_size`` or ``duration``; or an error the processor raised mid-stream.

    Examples
    --------
    >>> import functools, numpy as np, nmfaudio
    >>> from nmfaudio.live import ArrayStream, run_live
    >>> rng = np.random.default_rng(0)
    >>> p = nmfaudio.STFTParams(n_fft=256)
    >>> a = nmfaudio.learn_dictionary(rng.standard_normal(4000), 8000, name="noise", stft_params=p,
    ...                               n_components=2, max_iter=10, pitch_shifts=())
    >>> b = nmfaudio.learn_dictionary(np.sin(np.arange(4000) * 0.3), 8000, name="tone",
    ...                               stft_params=p, n_components=2, max_iter=10, pitch_shifts=())
    >>> y = (rng.standard_normal(4096) * 0.1 + np.sin(np.arange(4096) * 0.3)).astype(np.float32)
    >>> streams = []
    >>> def fake(**kw):
    ...     streams.append(ArrayStream(y, **kw))
    ...     return streams[-1]
    >>> report = run_live(nmfaudio.StreamSeparator(dictionaries=[a, b]), source="tone",
    ...                   block_size=512, stream_factory=fake)
    >>> report.blocks, report.latency_samples, streams[0].output.shape
    (8, 767, (1, 4096))
    """
    chosen = _check_args(processor, source, block_size, duration)
    sr = int(processor.sr)
    cb = _Callback(processor, chosen, block_size, None if duration is None else int(np.ceil(duration * sr)),
                   on_block)
    if warm_up:
        _warm_up(processor, int(block_size))
    factory = sounddevice_stream if stream_factory is None else stream_factory
    stream = factory(samplerate=sr, blocksize=int(block_size), device=(input_device, output_device),
                     channels=(1, len(chosen)), dtype="float32", callback=cb, latency="low")
    interrupted = False
    try:
        with stream:
            while not cb.done.wait(0.05) and stream.active:
                pass
    except KeyboardInterrupt:
        interrupted = True
    if cb.error is not None:
        raise cb.error
    return LiveReport(sr=sr, block_size=int(block_size), latency_samples=int(processor.latency) + int(block_size),
                      block_seconds=np.asarray(cb.times), slow_blocks=cb.slow, status_xruns=cb.flagged,
                      xruns=cb.xruns, interrupted=interrupted)
