"""Argument types and helpers shared by the subcommands (private)."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..nmf import resolve_beta
from ..exceptions import ParameterError


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be a positive integer")
    return value


#: Smallest FFT size the command line takes: below it a spectrogram has too few bins for
#: templates (or the mel scale of the unsupervised grouping) to mean anything.
MIN_N_FFT = 64


def fft_size(text: str) -> int:
    """``--n-fft``: an integer of at least :data:`MIN_N_FFT`."""
    value = positive_int(text)
    if value < MIN_N_FFT:
        raise argparse.ArgumentTypeError(
            f"{text!r} is too small: an FFT of {value} samples gives {1 + value // 2} frequency bins; "
            f"expected at least {MIN_N_FFT} (typical: 1024-4096)")
    return value


def nonneg_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be a non-negative integer")
    return value


def beta_arg(text: str):
    try:
        value = float(text)
    except ValueError:
        value = text
    try:
        resolve_beta(value)
    except ParameterError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return value


def add_stft_args(p: argparse.ArgumentParser, *, n_fft=None, default_help=None):
    """``--n-fft``/``--hop``; ``default_help`` says what an omitted ``--n-fft`` means."""
    if default_help is None:
        from ..stft import STFTParams

        default_help = f"default {n_fft or STFTParams().n_fft}"
    g = p.add_argument_group("STFT")
    g.add_argument("--n-fft", type=fft_size, default=n_fft, metavar="N",
                   help=f"FFT size ({default_help})")
    g.add_argument("--hop", type=positive_int, default=None, metavar="N",
                   help="hop length in samples (default n_fft / 4)")


def add_output_args(p: argparse.ArgumentParser, *, audio=True, excerpt=True):
    """``--overwrite``; with ``audio`` also ``--format``/``--bit-depth``, with ``excerpt`` ``--start``/``--duration``."""
    p.add_argument("--overwrite", action="store_true", help="replace existing output files")
    if audio:
        from ..io import BIT_DEPTHS, FORMATS

        g = p.add_argument_group("output files")
        g.add_argument("--format", choices=list(FORMATS), default=None,
                       help="audio format of the outputs (default: the input's, where nmfaudio "
                            "can write it, else wav)")
        g.add_argument("--bit-depth", dest="bit_depth", type=int, choices=list(BIT_DEPTHS), default=None,
                       help="16 or 24: integer PCM (samples beyond ±1 are clipped, with a warning; "
                            "no dither); 32: float (default: the input's depth where the output "
                            "format holds it, else 32 for wav/aiff, 24 for flac; not for ogg/opus/mp3)")
    if excerpt:
        g = p.add_argument_group("part of the input")
        g.add_argument("--start", type=seconds, default=0.0, metavar="S",
                       help="start S seconds into the input (default 0)")
        g.add_argument("--duration", type=positive_seconds, default=None, metavar="S",
                       help="process at most S seconds (default: to the end)")


def seconds(text: str) -> float:
    """A finite number of seconds >= 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} must be a finite number of seconds >= 0")
    return value


def positive_seconds(text: str) -> float:
    value = seconds(text)
    if value == 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be more than 0 seconds")
    return value


def instrument_name(text: str) -> str:
    """A bundled model name (``nmfaudio models`` lists them)."""
    from ..models import list_models

    names = [m["name"] for m in list_models()]
    if text not in names:
        raise argparse.ArgumentTypeError(f"unknown instrument {text!r}; available: {', '.join(names)}")
    return text


def default_out_help(what="sources"):
    from ..files import DEFAULT_OUT_DIR

    return (f"output folder (default ./{DEFAULT_OUT_DIR}); the {what} go to "
            "OUTDIR/<input name>/<source>.<format>")


def track_name(path) -> str:
    return Path(path).stem


def refuse_existing(paths, overwrite):
    """Fail before any work if an output exists and ``--overwrite`` was not given."""
    from ..io import refuse_existing as refuse

    refuse(paths, overwrite=overwrite, hint="pass --overwrite")


def check_output_args(args):
    """``--format`` and ``--bit-depth`` that cannot go together are a usage error."""
    if getattr(args, "bit_depth", None) is None:
        return
    from ..exceptions import UsageError
    from ..io import subtype_for

    fmt = getattr(args, "format", None) or "wav"
    try:
        subtype_for(f"out.{fmt}", bit_depth=args.bit_depth)
    except UsageError:
        raise
    except Exception:
        why = "has no bit depth (lossy)" if fmt in ("ogg", "opus", "mp3") else "cannot hold 32-bit float"
        raise UsageError(f"--bit-depth {args.bit_depth} does not work with --format {fmt}: {fmt} {why}; "
                         "use --format wav, flac (16/24) or aiff") from None


def like_input(args, path, *, out_files=None):
    """Default ``--format``/``--bit-depth`` to the input file's, where nmfaudio can write them.

    A 16-bit FLAC in gives 16-bit FLAC out, an MP3 gives MP3, a float WAV float WAV;
    what cannot be written as such (8-bit, 32-bit integer, formats libsndfile only
    reads) falls back to the format's default (32-bit float WAV). ``out_files``: output
    file names whose extensions already fix the format (``denoise -o x.flac``); then
    only the depth can follow the input. Sets ``args.format``/``args.bit_depth`` in
    place; an unreadable input is left for the command to report.
    """
    from ..exceptions import NmfAudioError
    from ..io import FORMATS, audio_info, subtype_for

    try:
        ext, depth = audio_info(path).writable()
    except (NmfAudioError, OSError):
        return
    if args.format is None and not out_files:
        args.format = next(f for f, e in FORMATS.items() if e == ext)
    if args.bit_depth is not None or depth is None:
        return
    names = [Path(f) for f in out_files] if out_files else [Path(f"out.{args.format or 'wav'}")]
    for name in names:
        try:
            subtype_for(name, bit_depth=depth)
        except Exception:
            return
    if depth != 32 or any(n.suffix.lower() not in (".wav", ".aiff", ".aif") for n in names):
        args.bit_depth = depth  # (32-bit float is already the WAV/AIFF default)


def nonneg_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not (value >= 0) or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} must be a finite number >= 0")
    return value


def positive_float(text: str) -> float:
    value = nonneg_float(text)
    if value == 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be more than 0")
    return value


def add_mask_power_arg(p):
    from ..masking import DEFAULT_MASK_POWER

    p.add_argument("--mask-power", type=positive_float, default=DEFAULT_MASK_POWER, metavar="P",
                   help=f"soft-mask exponent (default {DEFAULT_MASK_POWER:g}, Wiener-like; larger "
                        "is closer to a binary mask)")
