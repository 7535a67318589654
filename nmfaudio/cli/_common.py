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


def add_stft_args(p: argparse.ArgumentParser, *, n_fft=2048):
    g = p.add_argument_group("STFT")
    g.add_argument("--n-fft", type=fft_size, default=n_fft, metavar="N",
                   help=f"FFT size (default {n_fft or 2048}; with --dict the dictionaries' own)")
    g.add_argument("--hop", type=positive_int, default=None, metavar="N",
                   help="hop length in samples (default n_fft / 4)")


def add_output_args(p: argparse.ArgumentParser):
    p.add_argument("--overwrite", action="store_true", help="replace existing output files")


def track_name(path) -> str:
    return Path(path).stem


def refuse_existing(paths, overwrite):
    """Fail before any work if an output exists and ``--overwrite`` was not given."""
    from ..io import refuse_existing as refuse

    refuse(paths, overwrite=overwrite, hint="pass --overwrite")
