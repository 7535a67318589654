"""Trained source dictionaries: spectral templates plus everything needed to reuse them.

A :class:`SourceDictionary` holds templates ``W`` of shape ``(n_freq, K)`` learned
from clips of one source (an instrument, a voice, a noise), with the sample rate,
STFT parameters, β and spectrogram exponent they were learned with. It is saved
as an ``.npz`` file with two entries: ``W`` (float32) and ``metadata`` (a JSON
string); loading never uses pickle.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import numpy as np

from ._checks import check_finite_float, check_positive_int, renamed_keywords, valid_audio
from .exceptions import AudioFileError, ParameterError
from .nmf import nmf, resolve_beta
from .stft import STFTParams, stft

__all__ = ["SourceDictionary", "learn_dictionary", "default_stft", "FORMAT_VERSION", "spectrogram",
           "check_dictionaries", "without_pitch_copies"]

#: Version of the on-disk dictionary format written by this release.
FORMAT_VERSION = 1


@renamed_keywords(params="stft_params")
def spectrogram(y, *, stft_params: STFTParams, power: float = 1.0):
    """Magnitude (``power=1``) or power (``2``) spectrogram, with the complex STFT.

    Parameters
    ----------
    y : np.ndarray [shape=(..., n)]
        Audio (leading axes, e.g. channels, are kept).
    stft_params : STFTParams
        STFT settings. (``params=`` is its deprecated old name.)
    power : float
        Exponent of the magnitude (1 = magnitude, 2 = power).

    Returns
    -------
    S : np.ndarray [shape=(..., n_freq, n_frames), complex]
    V : np.ndarray [shape=(..., n_freq, n_frames)]
        ``|S| ** power``.

    Examples
    --------
    >>> import numpy as np, nmfaudio
    >>> from nmfaudio.dictionary import spectrogram
    >>> S, V = spectrogram(np.ones(1000, np.float32), stft_params=nmfaudio.STFTParams(n_fft=256), power=2.0)
    >>> S.shape, V.shape, V.dtype
    ((129, 16), (129, 16), dtype('float32'))
    """
    S = stft(y, stft_params=stft_params)
    V = np.abs(S)
    if power != 1.0:
        V = powered(V, power)
    return S, V


def powered(V, power):
    """``V ** power``, raising ParameterError instead of overflowing to Inf."""
    with np.errstate(over="ignore"):
        P = V ** V.dtype.type(power)
    if not np.all(np.isfinite(P)):
        raise ParameterError(
            f"the spectrogram to the power {power} overflows {V.dtype} (magnitudes up to "
            f"{float(V.max()):.3g}); expected audio at a normal level (within [-1, 1])"
        )
    return P


@dataclasses.dataclass(frozen=True, eq=False)
class SourceDictionary:
    """Spectral templates of one source, with the settings they were learned with.

    Attributes
    ----------
    name : str
        Source name; also the file name of its separated output (``<name>.wav``).
    W : np.ndarray [shape=(n_freq, K), dtype=float32]
        Templates, each column normalised to unit sum.
    sr : int
        Sample rate the templates belong to.
    stft : STFTParams
        STFT settings; ``n_freq == stft.n_freq``.
    beta : float
        β-divergence the templates were learned with (used again for separation).
    power : float
        Spectrogram exponent (1 = magnitude, 2 = power).
    info : dict
        Free-form JSON-serialisable details (training duration, components, version).

    Examples
    --------
    >>> import numpy as np, nmfaudio
    >>> y = np.random.default_rng(0).standard_normal(16000).astype(np.float32)
    >>> d = nmfaudio.learn_dictionary(y, 16000, name="noise", n_components=4, max_iter=20)
    >>> d.W.shape, d.name  # 4 templates, each also shifted by ±1…±4 semitones
    ((1025, 36), 'noise')
    """

    name: str
    W: np.ndarray
    sr: int
    stft: STFTParams
    beta: float = 1.0
    power: float = 1.0
    info: dict = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name.strip():
            raise ParameterError(f"name={self.name!r} must be a non-empty string")
        bad = set('/\\:*?"<>|') & set(self.name)
        if bad or self.name in (".", ".."):
            raise ParameterError(f"name={self.name!r} cannot be used as a file name ({''.join(sorted(bad))})")
        check_positive_int(self.sr, "sr")
        if not isinstance(self.stft, STFTParams):
            raise ParameterError("stft must be an STFTParams")
        W = np.asarray(self.W)
        if W.ndim != 2 or W.shape[1] == 0:
            raise ParameterError(f"W has shape {W.shape}; expected (n_freq, K) with K >= 1")
        if W.shape[0] != self.stft.n_freq:
            raise ParameterError(
                f"W has {W.shape[0]} rows but n_fft={self.stft.n_fft} gives {self.stft.n_freq} bins"
            )
        if W.dtype.kind != "f" or not np.all(np.isfinite(W)) or (W < 0).any():
            raise ParameterError("W must be a finite, non-negative float array")
        W = np.array(W, dtype=np.float32, copy=True)
        W.flags.writeable = False
        object.__setattr__(self, "W", W)
        object.__setattr__(self, "beta", resolve_beta(self.beta))
        object.__setattr__(self, "power", check_finite_float(self.power, "power", low=0.0, low_open=True))

    @property
    def n_components(self) -> int:
        """Number of templates K."""
        return self.W.shape[1]

    def metadata(self) -> dict:
        """JSON-serialisable description (everything but W)."""
        return {
            "format": "nmfaudio-dictionary",
            "format_version": FORMAT_VERSION,
            "name": self.name,
            "sr": int(self.sr),
            "stft": self.stft.to_dict(),
            "beta": self.beta,
            "power": self.power,
            "n_components": self.n_components,
            "info": self.info,
        }

    def save(self, path, *, overwrite=False):
        """Write the dictionary to ``path`` (``.npz``), atomically.

        Raises AudioFileError if ``path`` exists and ``overwrite`` is False.
        """
        from .io import atomic_write

        path = Path(os.fspath(path))
        if path.suffix.lower() != ".npz":
            raise ParameterError(f"dictionary files must end in .npz, got {str(path)!r}")
        meta = json.dumps(self.metadata())
        with atomic_write(path, overwrite=overwrite) as tmp:
            with open(tmp, "wb") as fh:
                np.savez(fh, W=np.asarray(self.W), metadata=np.array(meta))
        return path

    @classmethod
    def load(cls, path) -> "SourceDictionary":
        """Read a dictionary written by :meth:`save` (no pickle is ever loaded)."""
        path = Path(os.fspath(path))
        if not path.exists():
            raise AudioFileError(f"{str(path)!r}: no such dictionary file")
        if path.is_dir():
            raise AudioFileError(f"{str(path)!r} is a directory, expected a dictionary .npz file")
        try:
            with open(path, "rb") as fh:
                magic = fh.read(4)
        except OSError as exc:
            raise AudioFileError(f"{str(path)!r} cannot be read: {exc.strerror or exc}") from None
        if not magic.startswith(b"PK"):
            raise AudioFileError(
                f"{str(path)!r} is not a valid nmfaudio dictionary: expected an .npz (zip) file "
                f"written by SourceDictionary.save, got {'an empty file' if not magic else 'other data'}"
            )
        try:
            with np.load(path, allow_pickle=False) as data:
                W = np.array(data["W"])
                meta = json.loads(str(data["metadata"]))
        except Exception as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise AudioFileError(f"{str(path)!r} is not a valid nmfaudio dictionary: {first}") from None
        if not isinstance(meta, dict) or meta.get("format") != "nmfaudio-dictionary":
            raise AudioFileError(f"{str(path)!r} is not an nmfaudio dictionary file")
        version = meta.get("format_version")
        if not isinstance(version, int) or version > FORMAT_VERSION:
            raise AudioFileError(
                f"{str(path)!r} has dictionary format version {version!r}; this nmfaudio reads "
                f"versions up to {FORMAT_VERSION} — upgrade nmfaudio"
            )
        try:
            return cls(name=meta["name"], W=W, sr=meta["sr"], stft=STFTParams.from_dict(meta["stft"]),
                       beta=meta["beta"], power=meta["power"], info=meta.get("info", {}))
        except (KeyError, TypeError, ParameterError) as exc:
            raise AudioFileError(f"{str(path)!r} has invalid dictionary metadata: {exc}") from None


def _as_clip_list(clips):
    if isinstance(clips, np.ndarray) or (isinstance(clips, (list, tuple)) and clips
                                         and np.isscalar(clips[0])):
        clips = [clips]
    if not isinstance(clips, (list, tuple)) or not clips:
        raise ParameterError(
            "clips must be an audio array or a non-empty list of audio arrays, "
            f"got {type(clips).__name__} {clips!r:.40}"
        )
    return [valid_audio(c, f"clips[{i}]") for i, c in enumerate(clips)]


def _pitch_shifted(V, semitones):
    """Copies of ``V (n_freq, n_cols)`` with every partial moved by the given semitones.

    Each column's spectrum is resampled along frequency (bin f of the copy takes the
    magnitude at f / r of the original, r = 2**(s/12)), which transposes harmonic
    templates while keeping their envelope shape.
    """
    F = V.shape[0]
    f = np.arange(F, dtype=np.float64)
    out = []
    for s in semitones:
        r = 2.0 ** (s / 12.0)
        src = f / r
        lo = np.floor(src).astype(int)
        frac = (src - lo)[:, None]
        valid = lo + 1 < F
        lo = np.clip(lo, 0, F - 2)
        shifted = (1 - frac) * V[lo] + frac * V[lo + 1]
        shifted[~valid] = 0
        out.append(shifted.astype(V.dtype) / r)  # keep energy per octave comparable
    return out


#: Default semitone shifts applied to learned templates (see ``learn_dictionary``).
DEFAULT_PITCH_SHIFTS = (-4, -3, -2, -1, 1, 2, 3, 4)
#: Default number of templates learned from the clips (before pitch-shifted copies).
DEFAULT_COMPONENTS = 16


def training_frames(clips, params, power, transform=None):
    """The frames dictionaries learn on: every clip's float32 spectrogram ``|STFT| ** power``,
    each channel (after ``transform(V (n_freq, n_frames))``, if given) side by side along time.

    Returns ``V (n_rows, total frames)``, C-contiguous (``n_rows = n_freq`` without a transform).
    """
    frames = []
    for c in clips:
        _, V = spectrogram(c.astype(np.float32, copy=False), stft_params=params, power=power)
        for Vc in V.reshape(-1, V.shape[-2], V.shape[-1]):
            frames.append(Vc if transform is None else transform(Vc))
    return np.ascontiguousarray(np.concatenate(frames, axis=1))


def unit_sum(W):
    """``W`` (float64) with every non-zero column scaled to sum 1 (zero columns kept)."""
    W = np.asarray(W, dtype=np.float64)
    norms = W.sum(axis=0)
    return W / np.where(norms > 0, norms, 1.0)


def without_pitch_copies(d):
    """A dictionary without the pitch-shifted copies :func:`learn_dictionary` appends.

    :func:`nmfaudio.denoise` uses it on a noise dictionary beside free speech templates, where
    the copies would let the noise model take the speech.

    Parameters
    ----------
    d : SourceDictionary
        Not modified.

    Returns
    -------
    SourceDictionary
        Its first ``info["base_components"]`` templates (``W`` of shape (n_freq, base_components)),
        with ``info["pitch_shifts"] = []``; ``d`` itself if it records no copies.

    Examples
    --------
    >>> import numpy as np, nmfaudio
    >>> y = np.random.default_rng(0).standard_normal(16000).astype(np.float32)
    >>> d = nmfaudio.learn_dictionary(y, 16000, name="noise", n_components=4, max_iter=20)
    >>> d.W.shape, nmfaudio.dictionary.without_pitch_copies(d).W.shape
    ((1025, 36), (1025, 4))
    """
    info = getattr(d, "info", None)  # (other template holders, e.g. nmfaudio._context's, have none)
    info = info if isinstance(info, dict) else {}
    K = info.get("base_components")
    if not info.get("pitch_shifts") or not isinstance(K, int) or not 0 < K < d.n_components:
        return d
    return SourceDictionary(name=d.name, W=d.W[:, :K], sr=d.sr, stft=d.stft, beta=d.beta, power=d.power,
                            info={**info, "pitch_shifts": []})


def default_stft(sr) -> STFTParams:
    """≈ 93 ms frames (2048 samples at 22.05 kHz; the nearest power of two), hop a quarter."""
    sr = check_positive_int(sr, "sr")
    n_fft = int(2 ** np.round(np.log2(0.093 * sr)))
    return STFTParams(n_fft=max(n_fft, 64))


#: Default β of trained dictionaries (and of the supervised separation that reuses them).
DEFAULT_BETA = 0.5
#: Default NMF iterations of :func:`learn_dictionary`.
TRAIN_ITER = 200


@renamed_keywords(stft="stft_params")
def learn_dictionary(clips, sr, *, name, n_components=DEFAULT_COMPONENTS, beta=DEFAULT_BETA,
                     stft_params=None, power=1.0, pitch_shifts=DEFAULT_PITCH_SHIFTS, max_iter=TRAIN_ITER,
                     tol=1e-4, random_state=0, callback=None):
    """Learn spectral templates of one source from example clips.

    Parameters
    ----------
    clips : np.ndarray or list of np.ndarray [shape=(n,) or (channels, n)]
        Training audio of the source alone. Several clips (and channels) are
        transformed separately and their frames pooled.
    sr : int > 0
        Sample rate of the clips; stored with the dictionary.
    name : str
        Source name (used for output files).
    n_components : int > 0
        Number of templates K.
    beta : str or float
        β-divergence (default 0.5, between KL and Itakura–Saito, as often
        recommended for audio); separation reuses it. On the quality benchmark
        β = 0.5 measured +0.4 dB SDR over KL for supervised music (5 of 8 items
        better) and +0.1 dB for speech with speech and noise dictionaries
        (benchmarks/RESULTS.md).
    stft_params : STFTParams or None
        STFT settings; default ≈ 93 ms frames: ``n_fft`` 2048 at 22.05 kHz, 4096
        at 44.1 kHz, 2048 at 16 kHz (hop ``n_fft / 4``); see :func:`default_stft`.
        (``stft=`` is its deprecated old name; the dictionary keeps them as ``.stft``.)
    power : float > 0
        Spectrogram exponent (1 = magnitude).
    pitch_shifts : sequence of float
        Semitone shifts: every learned template is also added transposed by each
        shift (its spectrum resampled along frequency), so notes that the
        training clips never play still have templates. The dictionary then has
        ``n_components * (1 + len(pitch_shifts))`` columns. Default ±1…±4
        semitones; measured on the quality benchmark this lifts supervised music
        separation by several dB (benchmarks/RESULTS.md). ``()`` disables it.
    max_iter, tol, random_state
        Passed to :func:`nmfaudio.nmf`.
    callback : callable or None
        ``callback(iteration, loss)`` at every loss check (every 10 iterations),
        to report progress; returning ``True`` stops early.

    Returns
    -------
    SourceDictionary
        Templates normalised to unit sum per column.

    Examples
    --------
    >>> import nmfaudio
    >>> y, sr = nmfaudio.load("audio_fixtures/music/train/piano.wav")  # doctest: +SKIP
    >>> piano = nmfaudio.learn_dictionary(y, sr, name="piano")           # doctest: +SKIP
    >>> piano.save("piano.npz")                                          # doctest: +SKIP
    """
    params = stft_params if stft_params is not None else default_stft(sr)
    if not isinstance(params, STFTParams):
        raise ParameterError(f"stft_params must be an STFTParams or None, got {type(params).__name__}")
    sr = check_positive_int(sr, "sr")
    K = check_positive_int(n_components, "n_components")
    power = check_finite_float(power, "power", low=0.0, low_open=True)
    beta = resolve_beta(beta)
    shifts = [check_finite_float(s, "pitch_shifts", low=-24, high=24) for s in pitch_shifts]
    clip_list = _as_clip_list(clips)
    seconds = sum(c.shape[-1] / sr for c in clip_list)
    V = training_frames(clip_list, params, power)
    if not np.any(V > 0):
        raise ParameterError(f"the training clips for {name!r} are silent; cannot learn templates")
    res = nmf(V, K, beta=beta, max_iter=max_iter, tol=tol, random_state=random_state,
              callback=callback)
    W = res.W.astype(np.float64)
    shifts = [x for x in shifts if x != 0]
    if shifts:
        W = np.concatenate([W] + _pitch_shifted(W, shifts), axis=1)
    W = unit_sum(W)
    info = {"train_seconds": round(seconds, 3), "n_clips": len(clip_list), "n_iter": res.n_iter,
            "base_components": K, "pitch_shifts": shifts, "loss": res.loss}
    return SourceDictionary(name=name, W=W.astype(np.float32), sr=sr, stft=params, beta=beta,
                            power=power, info=info)


def check_dictionaries(dictionaries):
    """Validate source dictionaries used together; returns them as a list.

    Parameters
    ----------
    dictionaries : SourceDictionary or sequence of SourceDictionary

    Returns
    -------
    list of SourceDictionary

    Raises
    ------
    ParameterError
        Empty, not dictionaries, or disagreeing on sample rate, STFT settings,
        spectrogram power / beta, or with repeated names.
    """
    if isinstance(dictionaries, SourceDictionary):
        dictionaries = [dictionaries]
    dicts = list(dictionaries)
    if not dicts:
        raise ParameterError("dictionaries is empty; give at least one SourceDictionary")
    for i, d in enumerate(dicts):
        if not isinstance(d, SourceDictionary):
            raise ParameterError(f"dictionaries[{i}] is a {type(d).__name__}, expected a SourceDictionary")
    first = dicts[0]
    for d in dicts[1:]:
        if d.sr != first.sr:
            raise ParameterError(
                f"dictionaries disagree on the sample rate: {first.name!r} is {first.sr} Hz, "
                f"{d.name!r} is {d.sr} Hz"
            )
        if d.stft != first.stft:
            raise ParameterError(
                f"dictionaries disagree on STFT settings: {first.name!r} has {first.stft}, "
                f"{d.name!r} has {d.stft}"
            )
        if d.power != first.power or d.beta != first.beta:
            raise ParameterError(
                f"dictionaries disagree on spectrogram power/beta: {first.name!r} "
                f"({first.power}, {first.beta}) vs {d.name!r} ({d.power}, {d.beta})"
            )
    names = [d.name for d in dicts]
    if len(set(names)) != len(names):
        raise ParameterError(f"dictionary names must be distinct, got {names}")
    return dicts
