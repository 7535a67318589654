"""Score helpers shared by :mod:`nmfaudio.evaluate` and its segment-wise BSS-Eval
(:mod:`nmfaudio._bss_segments`) — private module, so that neither imports the other.
"""

from __future__ import annotations

import math

import numpy as np

from .exceptions import ParameterError

BSS = ("sdr", "sir", "sar")
PERCEPTUAL = {"stoi": "pystoi", "pesq": "pesq"}
#: PESQ-WB is computed at 16 kHz.
PESQ_RATE = 16000


def flat(x: np.ndarray) -> np.ndarray:
    """``(n_src, [channels,] n)`` → ``(n_src, channels * n)``: channels concatenated in time."""
    return x.reshape(x.shape[0], -1)


def si_sdr_1d(r: np.ndarray, e: np.ndarray) -> float:
    """SI-SDR of 1-D float64 arrays (reference not silent)."""
    alpha = np.dot(e, r) / np.dot(r, r)
    target = alpha * r
    t2 = float(np.dot(target, target))
    res = e - target
    n2 = float(np.dot(res, res))
    if t2 == 0.0:  # silent or orthogonal estimate (checked first: a silent one has no residual)
        return -math.inf
    if n2 == 0.0:
        return math.inf
    return 10.0 * math.log10(t2 / n2)


def import_perceptual(name):
    """The scoring function of ``pystoi`` / ``pesq``, or a ParameterError saying how to install it."""
    try:
        if name == "stoi":
            from pystoi import stoi as fn
        else:
            from pesq import pesq as fn
    except ImportError:
        raise ParameterError(
            f"metric {name!r} needs the package {PERCEPTUAL[name]!r}, which is not installed: "
            'pip install "nmfaudio[metrics]"'
        ) from None
    return fn


def perceptual(name, R, E, sr):
    """STOI or PESQ-WB of ``E[j]`` against ``R[j]`` (``(n_src, [channels,] n)`` float64).

    Several channels are scored one by one and averaged. PESQ is computed on
    16 kHz copies (soxr, high quality); a signal in which PESQ finds no speech
    gives ``nan`` (reported as None).
    """
    fn = import_perceptual(name)
    n_src = R.shape[0]
    R2, E2 = R.reshape(-1, R.shape[-1]), E.reshape(-1, E.shape[-1])
    rate = sr
    if name == "pesq" and sr != PESQ_RATE:
        import soxr

        R2 = np.atleast_2d(soxr.resample(R2.T, sr, PESQ_RATE, quality="HQ").T)
        E2 = np.atleast_2d(soxr.resample(E2.T, sr, PESQ_RATE, quality="HQ").T)
        rate = PESQ_RATE
    out = []
    for r, e in zip(R2, E2):
        if name == "stoi":
            out.append(float(fn(r, e, rate, extended=False)))
            continue
        try:
            out.append(float(fn(rate, r, e, "wb")))
        except Exception as exc:  # pesq raises its own errors (e.g. no utterances found)
            if "utterance" not in str(exc).lower():
                raise ParameterError(f"PESQ cannot score this signal: {exc}") from None
            out.append(math.nan)
    return np.asarray(out).reshape(n_src, -1).mean(axis=1)
