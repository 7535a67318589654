import os

import numpy as np
import pytest

from nmfaudio import save


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


def _speech_like(sr, n):
    """Harmonic bursts with pauses (a crude voiced-speech stand-in), float32 (n,)."""
    t = np.arange(n) / sr
    f0 = 140 + 30 * np.sin(2 * np.pi * 0.7 * t)
    phase = 2 * np.pi * np.cumsum(f0) / sr
    x = sum(np.sin(k * phase) / k for k in range(1, 12))
    env = (np.sin(2 * np.pi * 1.3 * t) > 0.2).astype(float)
    return (0.3 * x * env).astype(np.float32)


@pytest.fixture
def speech_like():
    """``speech_like(sr, n)``: harmonic bursts with pauses (a crude voiced-speech stand-in)."""
    return _speech_like


@pytest.fixture
def planted(rng):
    """A strictly positive V = W H with K = 3, float64."""
    W = rng.random((40, 3)) + 0.05
    H = rng.random((3, 60)) + 0.05
    return W @ H, W, H


@pytest.fixture
def two_tone():
    """A 1 s, 8 kHz mixture of a harmonic tone and a noise burst train, with its stems."""
    sr = 8000
    t = np.arange(sr) / sr
    tone = 0.4 * (np.sin(2 * np.pi * 330 * t) + 0.5 * np.sin(2 * np.pi * 660 * t))
    tone *= (np.sin(2 * np.pi * 1.5 * t) > 0)
    noise = 0.2 * np.random.default_rng(0).standard_normal(sr) * (np.sin(2 * np.pi * 1.5 * t) <= 0)
    return sr, tone.astype(np.float32), noise.astype(np.float32)


@pytest.fixture
def repo_root(monkeypatch):
    """Run in the repository root (for tests that use relative paths like audio_fixtures/...)."""
    monkeypatch.chdir(os.path.join(os.path.dirname(__file__), ".."))


@pytest.fixture
def mix_file(tmp_path, two_tone):
    """``two_tone``'s mixture written to a wav file."""
    sr, a, b = two_tone
    return save(tmp_path / "mix.wav", a + b, sr)
