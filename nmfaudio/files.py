"""File in, files out: separate or denoise an audio file and write the results.

The functions the command line is built on: they read the input, resample it
to the dictionaries' rate when needed (and the outputs back to the file's
rate), check every output location before any work, and write atomically.
Output names are computed here only: ``out_dir/<track>/<source>.wav``.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from ._options import check_denoise_options, check_separate_options
from ._rate import at_rate
from .exceptions import ParameterError, UsageError

__all__ = ["separate_file", "denoise_file", "split_drums_file", "track_folder", "source_paths", "output_extension",
           "denoise_target", "FileResult", "DEFAULT_OUT_DIR"]

#: Where :func:`separate_file` (and the command line's ``separate``, ``drums`` and ``batch``)
#: write when no output folder is given: ``separated/<track>/<source>.wav`` in the current folder.
DEFAULT_OUT_DIR = "separated"


def track_folder(out_dir, path) -> Path:
    """``out_dir/<path's file name without extension>``: where a track's sources go."""
    return Path(out_dir) / Path(path).stem


def output_extension(format=None) -> str:
    """File extension for an output ``format`` (``"wav"``, ``"flac"``, ...; ``None``: ``".wav"``).

    Examples
    --------
    >>> from nmfaudio.files import output_extension
    >>> output_extension("flac"), output_extension()
    ('.flac', '.wav')
    """
    from .io import FORMATS

    if format is None:
        return ".wav"
    ext = FORMATS.get(str(format).lower().lstrip("."))
    if ext is None:
        raise ParameterError(f"format={format!r} is not supported; expected one of {', '.join(FORMATS)}")
    return ext


def source_paths(folder, names, *, format=None) -> dict:
    """``{name: folder/<name>.<ext>}`` for each source name (``format``: see :func:`output_extension`)."""
    ext = output_extension(format)
    return {str(n): Path(folder) / f"{n}{ext}" for n in names}


def denoise_target(path, out=".", *, format=None, suffix="_denoised") -> Path:
    """Where :func:`denoise_file` writes: ``out`` itself, or ``out/<stem><suffix><ext>`` for a folder.

    ``out`` counts as a folder when it exists as one or ends with a path separator.
    A file ``out`` whose extension contradicts ``format`` raises.

    Examples
    --------
    >>> from nmfaudio.files import denoise_target
    >>> str(denoise_target("talk.wav", "dn/", format="flac"))
    'dn/talk_denoised.flac'
    """
    text = os.fspath(out)
    if is_folder_target(text):
        return Path(text) / f"{Path(path).stem}{suffix}{output_extension(format)}"
    target = Path(text)
    if format is not None and target.suffix.lower() != output_extension(format):
        raise UsageError(f"output {text!r} does not end in {output_extension(format)} as format={format!r} "
                         "asks; give a matching file name or a folder")
    return target


def is_folder_target(out) -> bool:
    """Whether an output ``out`` names a folder: it exists as one or ends with a path separator."""
    text = os.fspath(out)
    return os.path.isdir(text) or text.endswith(("/", os.sep))


def _check_targets(source, paths, sr, bit_depth):
    """Every output can be written (format, depth, rate, folder) and none is the input."""
    from .io import check_output

    for p in paths:
        check_output(p, sr=sr, bit_depth=bit_depth, source=source)


def _input_info(path, offset, duration):
    from .io import audio_info

    info = audio_info(path)
    start, n = 0, info.frames
    if offset or duration is not None:
        from ._checks import check_finite_float

        offset = check_finite_float(offset, "offset", low=0.0)
        start = int(round(offset * info.sr))
        if offset > 0 and start >= info.frames:
            raise ParameterError(f"offset={offset:g} s is at or past the end of {str(path)!r} "
                                 f"({info.frames / info.sr:.3f} s long)")
        n = info.frames - start
        if duration is not None:
            n = min(n, max(1, int(round(check_finite_float(duration, "duration") * info.sr))))
    if 0 < n < max(2, info.channels + 1):  # (channels, n) would look transposed to the checks
        raise ParameterError(f"{str(path)!r} gives only {n} sample(s) per channel to process; "
                             "too short to separate")
    return info


@dataclasses.dataclass
class FileResult:
    """What :func:`separate_file` / :func:`denoise_file` wrote and learned.

    Attributes
    ----------
    paths : dict[str, pathlib.Path]
        Written file per source (``"clean"``/``"noise"`` for denoising).
    sr : int
        Sample rate of the written files (the input's).
    channels, duration_seconds : int, float
        Of the input.
    processing_sr : int
        Rate the separation ran at (the dictionaries', or ``sr``).
    audio : np.ndarray or None
        The input at ``processing_sr`` (None in block mode).
    sources : dict[str, np.ndarray] or None
        The sources at ``processing_sr`` (None in block mode).
    separation : Separation or None
        Templates, activations, iterations and loss (separation only, not in block mode).
    stft_params : STFTParams
    """

    paths: dict
    sr: int
    channels: int
    duration_seconds: float
    processing_sr: int
    stft_params: object
    audio: object = None
    sources: object = None
    separation: object = None


def _refuse_existing(paths, overwrite):
    from .io import refuse_existing

    refuse_existing(paths, overwrite=overwrite, hint="pass overwrite=True")


def _names(dictionaries, n_sources, n_free):
    if dictionaries is not None:
        from .dictionary import check_dictionaries

        return [d.name for d in check_dictionaries(dictionaries)] + (["residual"] if n_free else [])
    return [f"source{i + 1}" for i in range(2 if n_sources is None else n_sources)]


def separate_file(path, out_dir=DEFAULT_OUT_DIR, *, dictionaries=None, instruments=None, resample=True,
                  block_seconds=None, format=None, bit_depth=None, offset=0.0, duration=None,
                  overwrite=False, **options):
    """Separate an audio file into ``out_dir/<track>/<source>.<ext>``.

    Every output location (format, bit depth, folder, existing files, not the input)
    is checked before any audio is read or computed.

    Parameters
    ----------
    path : str or os.PathLike
        Mixture file.
    out_dir : str or os.PathLike
        Output folder (default :data:`DEFAULT_OUT_DIR`, ``"separated"``); the sources go
        to ``out_dir/<file name without extension>/``.
    dictionaries : list of SourceDictionary or None
        Supervised separation (sources named after them); else unsupervised.
    instruments : list of str or None
        Bundled model names (:func:`nmfaudio.list_models`), used as ``dictionaries``.
    resample : bool
        With dictionaries at another rate, resample the input to theirs and the
        outputs back (else a rate mismatch raises ParameterError).
    block_seconds : float > 0 or None
        With dictionaries and no ``n_free``: process the file block by block
        (bounded memory, same result; see :func:`nmfaudio.separate_stream`); writes
        32-bit float WAV of the whole file.
    format : {"wav", "flac", "aiff", "ogg", "opus", "mp3"} or None
        Output format (default ``"wav"``); see :func:`nmfaudio.save`.
    bit_depth : {16, 24, 32} or None
        Output sample format (default: the format's, 32-bit float for WAV/AIFF).
    offset, duration : float
        Process only ``duration`` seconds starting ``offset`` seconds in (as
        :func:`nmfaudio.load`); default the whole file.
    overwrite : bool
        Replace existing outputs.
    **options
        Passed to :func:`nmfaudio.separate` (``n_sources``, ``n_free``, ``beta``, ...).

    Returns
    -------
    FileResult
        Sources shaped like the input, ``(n,)`` or ``(channels, n)``; a WAV input's
        channel mask is kept in WAV outputs.

    Examples
    --------
    >>> import nmfaudio
    >>> res = nmfaudio.separate_file("mix.wav", "separated", n_sources=2)  # doctest: +SKIP
    >>> sorted(res.paths)  # doctest: +SKIP
    ['source1', 'source2']
    """
    from .io import load, save_many
    from .separate import separate_with_details

    if instruments is not None:
        if dictionaries is not None:
            raise ParameterError("give instruments= or dictionaries=, not both")
        from .models import model_dictionaries

        dictionaries = model_dictionaries(instruments)
    check_separate_options(dict(options, dictionaries=dictionaries))
    names = _names(dictionaries, options.get("n_sources"), options.get("n_free", 0))
    paths = source_paths(track_folder(out_dir, path), names, format=format)
    info = _input_info(path, offset, duration)
    _check_targets(path, paths.values(), info.sr, bit_depth)
    _refuse_existing(paths.values(), overwrite)
    if block_seconds is not None:
        if output_extension(format) != ".wav" or bit_depth not in (None, 32) or offset or duration:
            raise UsageError("block_seconds writes 32-bit float WAV of the whole file; "
                                 "format, bit_depth, offset and duration are not supported with it")
        return _separate_blocks(path, paths, dictionaries, block_seconds, overwrite, options)
    y0, file_sr = load(path, offset=offset, duration=duration)
    target_sr = dictionaries[0].sr if dictionaries is not None and resample else None
    details = {}

    def run(y, sr):
        out, details["sep"], details["params"] = separate_with_details(
            y, sr, dictionaries=dictionaries, keep_masks=False, **options)
        return out

    y, parts, back = at_rate(run, y0, file_sr, target_sr, what="the dictionaries")
    written = save_many({paths[n]: (s, file_sr) for n, s in back.items()}, overwrite=overwrite,
                        bit_depth=bit_depth, channel_mask=_mask(info, paths.values()))
    return FileResult(paths=dict(zip(back, map(Path, written))), sr=file_sr,
                      channels=1 if y0.ndim == 1 else int(y0.shape[0]),
                      duration_seconds=y0.shape[-1] / file_sr, processing_sr=target_sr or file_sr,
                      stft_params=details["params"], audio=y, sources=parts,
                      separation=details["sep"])


def _mask(info, paths):
    """The input's WAV channel mask, kept when every output is WAV too."""
    return info.channel_mask if all(Path(p).suffix.lower() == ".wav" for p in paths) else None


def _separate_blocks(path, paths, dictionaries, block_seconds, overwrite, options):
    import soundfile

    from .stream import separate_stream

    options = {k: v for k, v in options.items() if k != "random_state"}  # no random step here
    extra = sorted(k for k, v in options.items()
                   if k not in ("max_iter", "mask_power", "n_free") and v is not None)
    if dictionaries is None or options.get("n_free"):
        raise ParameterError("block_seconds needs dictionaries and no n_free (frames must be "
                             "independent to be processed block by block)")
    if extra:
        raise ParameterError(f"block_seconds does not support {', '.join(extra)}; "
                             "only max_iter and mask_power")
    folder = next(iter(paths.values())).parent
    options.pop("n_free", None)
    written = separate_stream(path, folder, dictionaries, block_seconds=block_seconds,
                              overwrite=overwrite, **options)
    meta = soundfile.info(str(path))
    return FileResult(paths={k: Path(v) for k, v in written.items()}, sr=meta.samplerate,
                      channels=meta.channels, duration_seconds=meta.frames / meta.samplerate,
                      processing_sr=dictionaries[0].sr, stft_params=dictionaries[0].stft)


def split_drums_file(path, out_dir=DEFAULT_OUT_DIR, *, format=None, bit_depth=None, offset=0.0,
                     duration=None, overwrite=False, **options):
    """Split a drum recording into ``out_dir/<track>/{kick,snare,hihat}.<ext>``.

    Every output location is checked before any audio is read or computed.

    Parameters
    ----------
    path : str or os.PathLike
        Drum mix.
    out_dir : str or os.PathLike
        Output folder (default :data:`DEFAULT_OUT_DIR`).
    format, bit_depth, offset, duration, overwrite
        As for :func:`separate_file`.
    **options
        Passed to :func:`nmfaudio.split_drums` (``n_fft``, ``max_iter``, ``callback``, ...).

    Returns
    -------
    FileResult
        ``paths`` has ``"kick"``, ``"snare"`` and ``"hihat"``; sources shaped like the
        input, ``(n,)`` or ``(channels, n)``.

    Examples
    --------
    >>> import nmfaudio
    >>> sorted(nmfaudio.split_drums_file("loop.wav").paths)  # doctest: +SKIP
    ['hihat', 'kick', 'snare']
    """
    from .drums import DRUMS, split_drums
    from .io import load, save_many
    from .stft import STFTParams

    paths = source_paths(track_folder(out_dir, path), DRUMS, format=format)
    info = _input_info(path, offset, duration)
    _check_targets(path, paths.values(), info.sr, bit_depth)
    _refuse_existing(paths.values(), overwrite)
    y, sr = load(path, offset=offset, duration=duration)
    sources = split_drums(y, sr, **options)
    written = save_many({paths[n]: (sources[n], sr) for n in DRUMS}, overwrite=overwrite,
                        bit_depth=bit_depth, channel_mask=_mask(info, paths.values()))
    params = STFTParams(n_fft=options.get("n_fft") or STFTParams().n_fft, hop_length=options.get("hop_length"))
    return FileResult(paths=dict(zip(DRUMS, map(Path, written))), sr=sr,
                      channels=1 if y.ndim == 1 else int(y.shape[0]),
                      duration_seconds=y.shape[-1] / sr, processing_sr=sr, stft_params=params,
                      audio=y, sources=sources)


def denoise_file(path, out=".", *, noise=None, noise_dictionary=None, speech_dictionary=None,
                 noise_out=None, resample=True, format=None, bit_depth=None, offset=0.0,
                 duration=None, overwrite=False, block_seconds=None, **options):
    """Denoise an audio file into ``out`` (and the removed noise into ``noise_out``).

    Every output location is checked before any audio is read or computed.

    Parameters
    ----------
    path : str or os.PathLike
        Noisy recording.
    out : str or os.PathLike
        Output file, or a folder (existing, or ending with ``/``) to write
        ``<input name>_denoised.<ext>`` in. Default ``"."``: that name in the
        current folder (see :func:`denoise_target`).
    noise : str, os.PathLike or None
        A file holding a sample of the noise alone (read at the processing rate).
    noise_dictionary, speech_dictionary : SourceDictionary or None
        Trained models (see :func:`nmfaudio.denoise`).
    noise_out : str, os.PathLike or None
        Also write the removed noise here (a folder: ``<input name>_noise.<ext>`` in it).
    resample : bool
        With a dictionary at another rate, resample to its rate and back.
    format : {"wav", "flac", "aiff", "ogg", "opus", "mp3"} or None
        Output format for a folder ``out`` (default ``"wav"``); a file ``out`` must
        have the matching extension.
    bit_depth : {16, 24, 32} or None
        Output sample format (see :func:`nmfaudio.save`).
    offset, duration : float
        Process only ``duration`` seconds starting ``offset`` seconds in.
    overwrite : bool
        Replace existing outputs (never the input itself).
    block_seconds : float > 0 or None
        Process the file block by block in bounded memory, whatever its length
        (:func:`nmfaudio.denoise_stream`; ``callback(done, total)`` then counts seconds of
        audio; no resampling; ``audio``/``sources`` of the result are None).
    **options
        Passed to :func:`nmfaudio.denoise_sources` (``max_iter``, ``callback``, ...), or to
        :func:`nmfaudio.denoise_stream` with ``block_seconds``.

    Returns
    -------
    FileResult
        ``paths`` has ``"clean"`` (and ``"noise"`` with ``noise_out``).

    Examples
    --------
    >>> import nmfaudio
    >>> nmfaudio.denoise_file("noisy.wav", "clean.wav").paths["clean"]  # doctest: +SKIP
    PosixPath('clean.wav')
    """
    from .denoise import default_denoise_stft, denoise_sources
    from .io import load, save_many

    check_denoise_options(dict(options, noise=noise if options.get("noise_region") is None else options["noise_region"],
                               noise_dictionary=noise_dictionary, speech_dictionary=speech_dictionary))
    targets = {"clean": denoise_target(path, out, format=format)}
    if noise_out is not None:
        targets["noise"] = denoise_target(path, noise_out, format=format, suffix="_noise")
    if len(targets) == 2 and targets["clean"].resolve() == targets["noise"].resolve():
        raise UsageError(f"out and noise_out are the same file {str(targets['clean'])!r}; give two paths")
    info = _input_info(path, offset, duration)
    _check_targets(path, targets.values(), info.sr, bit_depth)
    if noise is not None:
        _check_targets(noise, targets.values(), None, bit_depth)
    _refuse_existing(targets.values(), overwrite)
    ref = noise_dictionary or speech_dictionary
    if block_seconds is not None:
        from .denoise_stream import denoise_stream

        written = denoise_stream(path, targets["clean"], noise_out=targets.get("noise"), noise=noise,
                                 noise_dictionary=noise_dictionary, speech_dictionary=speech_dictionary,
                                 offset=offset, duration=duration, bit_depth=bit_depth,
                                 channel_mask=_mask(info, targets.values()), overwrite=overwrite,
                                 block_seconds=block_seconds, **options)
        n = info.frames - int(round(offset * info.sr))
        if duration is not None:
            n = min(n, max(1, int(round(duration * info.sr))))
        return FileResult(paths=written, sr=info.sr, channels=info.channels, duration_seconds=n / info.sr,
                          processing_sr=info.sr,
                          stft_params=ref.stft if ref is not None else default_denoise_stft(info.sr))
    y0, file_sr = load(path, offset=offset, duration=duration)

    def run(y, sr):
        sample = load(noise, sr=sr)[0] if noise is not None else None
        return denoise_sources(y, sr, noise=sample, noise_dictionary=noise_dictionary,
                               speech_dictionary=speech_dictionary, **options)

    target_sr = ref.sr if ref is not None and resample else None
    y, parts, back = at_rate(run, y0, file_sr, target_sr, what="the dictionary")
    written = save_many({t: (back[k], file_sr) for k, t in targets.items()}, overwrite=overwrite,
                        bit_depth=bit_depth, channel_mask=_mask(info, targets.values()))
    sr = target_sr or file_sr
    return FileResult(paths=dict(zip(targets, map(Path, written))), sr=file_sr,
                      channels=1 if y0.ndim == 1 else int(y0.shape[0]),
                      duration_seconds=y0.shape[-1] / file_sr, processing_sr=sr,
                      stft_params=ref.stft if ref is not None else default_denoise_stft(sr),
                      audio=y, sources=parts)
