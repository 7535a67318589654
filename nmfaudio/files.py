"""File in, files out: separate or denoise an audio file and write the results.

The functions the command line is built on: they read the input, resample it
to the dictionaries' rate when needed (and the outputs back to the file's
rate), check every output location before any work, and write atomically.
Output names are computed here only: ``out_dir/<track>/<source>.wav``.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from ._options import check_denoise_options, check_separate_options
from ._rate import at_rate
from .exceptions import ParameterError

__all__ = ["separate_file", "denoise_file", "track_folder", "source_paths", "FileResult"]


def track_folder(out_dir, path) -> Path:
    """``out_dir/<path's file name without extension>``: where a track's sources go."""
    return Path(out_dir) / Path(path).stem


def source_paths(folder, names) -> dict:
    """``{name: folder/<name>.wav}`` for each source name."""
    return {str(n): Path(folder) / f"{n}.wav" for n in names}


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


def separate_file(path, out_dir, *, dictionaries=None, resample=True, block_seconds=None,
                  overwrite=False, **options):
    """Separate an audio file into ``out_dir/<track>/<source>.wav``.

    Parameters
    ----------
    path : str or os.PathLike
        Mixture file.
    out_dir : str or os.PathLike
        Output folder; the sources go to ``out_dir/<file name without extension>/``.
    dictionaries : list of SourceDictionary or None
        Supervised separation (sources named after them); else unsupervised.
    resample : bool
        With dictionaries at another rate, resample the input to theirs and the
        outputs back (else a rate mismatch raises ParameterError).
    block_seconds : float > 0 or None
        With dictionaries and no ``n_free``: process the file block by block
        (bounded memory, same result; see :func:`nmfaudio.separate_stream`).
    overwrite : bool
        Replace existing outputs.
    **options
        Passed to :func:`nmfaudio.separate` (``n_sources``, ``n_free``, ``beta``, ...).

    Returns
    -------
    FileResult

    Examples
    --------
    >>> import nmfaudio
    >>> res = nmfaudio.separate_file("mix.wav", "separated", n_sources=2)  # doctest: +SKIP
    >>> sorted(res.paths)  # doctest: +SKIP
    ['source1', 'source2']
    """
    from .io import load, save_many
    from .separate import separate_with_details

    check_separate_options(dict(options, dictionaries=dictionaries))
    names = _names(dictionaries, options.get("n_sources"), options.get("n_free", 0))
    paths = source_paths(track_folder(out_dir, path), names)
    _refuse_existing(paths.values(), overwrite)
    if block_seconds is not None:
        return _separate_blocks(path, paths, dictionaries, block_seconds, overwrite, options)
    y0, file_sr = load(path)
    target_sr = dictionaries[0].sr if dictionaries is not None and resample else None
    details = {}

    def run(y, sr):
        out, details["sep"], details["params"] = separate_with_details(
            y, sr, dictionaries=dictionaries, **options)
        return out

    y, parts, back = at_rate(run, y0, file_sr, target_sr, what="the dictionaries")
    written = save_many({paths[n]: (s, file_sr) for n, s in back.items()}, overwrite=overwrite)
    return FileResult(paths=dict(zip(back, map(Path, written))), sr=file_sr,
                      channels=1 if y0.ndim == 1 else int(y0.shape[0]),
                      duration_seconds=y0.shape[-1] / file_sr, processing_sr=target_sr or file_sr,
                      stft_params=details["params"], audio=y, sources=parts,
                      separation=details["sep"])


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


def denoise_file(path, out, *, noise=None, noise_dictionary=None, speech_dictionary=None,
                 noise_out=None, resample=True, overwrite=False, **options):
    """Denoise an audio file into ``out`` (and the removed noise into ``noise_out``).

    Parameters
    ----------
    path : str or os.PathLike
        Noisy recording.
    out : str or os.PathLike
        Output file (``.wav`` or ``.flac``).
    noise : str, os.PathLike or None
        A file holding a sample of the noise alone (read at the processing rate).
    noise_dictionary, speech_dictionary : SourceDictionary or None
        Trained models (see :func:`nmfaudio.denoise`).
    noise_out : str, os.PathLike or None
        Also write the removed noise here.
    resample : bool
        With a dictionary at another rate, resample to its rate and back.
    overwrite : bool
        Replace existing outputs.
    **options
        Passed to :func:`nmfaudio.denoise_sources` (``max_iter``, ``callback``, ...).

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
    from .io import load, output_format, save_many

    check_denoise_options(dict(options, noise=noise, noise_dictionary=noise_dictionary,
                               speech_dictionary=speech_dictionary))
    targets = {"clean": Path(out)}
    if noise_out is not None:
        targets["noise"] = Path(noise_out)
    for t in targets.values():
        output_format(t)  # a bad extension fails before the work, not after
    if len(targets) == 2 and targets["clean"].resolve() == targets["noise"].resolve():
        raise ParameterError(f"out and noise_out are the same file {str(out)!r}; give two paths")
    _refuse_existing(targets.values(), overwrite)
    ref = noise_dictionary or speech_dictionary
    y0, file_sr = load(path)

    def run(y, sr):
        sample = load(noise, sr=sr)[0] if noise is not None else None
        return denoise_sources(y, sr, noise=sample, noise_dictionary=noise_dictionary,
                               speech_dictionary=speech_dictionary, **options)

    target_sr = ref.sr if ref is not None and resample else None
    y, parts, back = at_rate(run, y0, file_sr, target_sr, what="the dictionary")
    written = save_many({t: (back[k], file_sr) for k, t in targets.items()}, overwrite=overwrite)
    sr = target_sr or file_sr
    return FileResult(paths=dict(zip(targets, map(Path, written))), sr=file_sr,
                      channels=1 if y0.ndim == 1 else int(y0.shape[0]),
                      duration_seconds=y0.shape[-1] / file_sr, processing_sr=sr,
                      stft_params=ref.stft if ref is not None else default_denoise_stft(sr),
                      audio=y, sources=parts)
