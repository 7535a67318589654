"""Shared helpers for the example scripts: paths, fast mode, a simple SNR score."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np

#: The bundled clips (see audio_fixtures/README.md).
FIXTURES = Path(__file__).resolve().parents[1] / "audio_fixtures"


def parser(description):
    """Argument parser with ``--out DIR`` and ``--fast`` (also set by NMFAUDIO_EXAMPLES_FAST=1)."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--out", default="examples_output", help="directory for audio and figures")
    p.add_argument("--fast", action="store_true",
                   help="few iterations and components (for tests); also NMFAUDIO_EXAMPLES_FAST=1")
    return p


def is_fast(args) -> bool:
    return bool(args.fast or os.environ.get("NMFAUDIO_EXAMPLES_FAST") == "1")


def snr_db(reference, estimate):
    """Signal-to-noise ratio of ``estimate`` against ``reference``, in dB."""
    reference = np.asarray(reference, dtype=np.float64)
    err = reference - np.asarray(estimate, dtype=np.float64)
    return float(10 * np.log10(np.sum(reference ** 2) / max(np.sum(err ** 2), 1e-20)))
