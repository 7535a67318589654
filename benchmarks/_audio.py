"""Deterministic benchmark material built from the bundled music fixtures.

The fixtures are 5 s clips at 22.05 kHz; longer recordings are made by
concatenating randomly gained, shifted and summed copies of them (seeded, so
every run sees the same signal).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
MUSIC = ROOT / "audio_fixtures" / "music"


def _clips():
    import soundfile as sf

    names = ["mix.wav", "piano.wav", "flute.wav", "train/piano.wav", "train/flute.wav"]
    out = []
    for n in names:
        y, sr = sf.read(MUSIC / n, dtype="float32")
        out.append(y)
    return out, sr


def music(seconds, *, sr=22050, channels=1, seed=0):
    """A ``seconds``-long music signal, float32, ``(n,)`` or ``(channels, n)``, at ``sr``."""
    clips, sr0 = _clips()
    rng = np.random.default_rng(seed)
    n0 = int(round(seconds * sr0))
    chans = []
    for _ in range(channels):
        parts, total = [], 0
        while total < n0:
            a, b = rng.choice(len(clips), size=2, replace=False)
            seg = rng.uniform(0.5, 1.2) * clips[a] + rng.uniform(0.0, 0.6) * np.roll(
                clips[b], int(rng.integers(len(clips[b]))))
            parts.append(seg.astype(np.float32))
            total += len(seg)
        chans.append(np.concatenate(parts)[:n0])
    y = np.stack(chans) if channels > 1 else chans[0]
    if sr != sr0:
        import soxr

        y = soxr.resample(y.T, sr0, sr).T if channels > 1 else soxr.resample(y, sr0, sr)
    return np.ascontiguousarray(y, dtype=np.float32)


def spectrogram(seconds=60.0, *, n_fft=2048, hop_length=512, dtype=np.float32):
    """Magnitude spectrogram (C-contiguous) of :func:`music` at 22.05 kHz: 1025 × ~2600 for 60 s."""
    import nmfaudio

    S = nmfaudio.stft(music(seconds), n_fft=n_fft, hop_length=hop_length)
    return np.ascontiguousarray(np.abs(S), dtype=dtype)
