"""Audio-source helpers of the quality benchmark's set builder (``make_set.py``).

The synthesis it shares with the committed fixtures (music composition and
fluidsynth rendering, the Fish Fillets voice lines, sonic-pi noise recordings,
exact-sum int16 mixing, the tool checks) lives in ``audio_fixtures/_synth.py``
and is re-exported here, so ``S.render_notes`` etc. keep working; this module
adds what only the benchmark uses: TTS voices (espeak-ng, festival), synthetic
noises, envelope flattening and looping of noise recordings, float32 mixing.
Import it with the repository root on ``sys.path`` (``make_set.py`` puts it there,
as the other benchmark scripts do for ``nmfaudio``).

Everything here is deterministic given its arguments (random numbers come
from a ``numpy.random.Generator`` passed in by the caller).

System packages used (Debian):
    apt-get install -y fluidsynth fluid-soundfont-gm timgm6mb-soundfont \
        fillets-ng-data-nl espeak-ng festival festvox-kallpc16k sonic-pi-samples
Python packages:
    pip install pretty_midi soundfile numpy scipy soxr
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile

import numpy as np

from audio_fixtures._synth import (  # noqa: F401  (re-exported for make_set, _drums, _split_sources)
    FESTIVAL_KAL, FILE_PACKAGES, FILLETS_DIR, INSTRUMENTS, MAJOR, NAT_MINOR, PROGRESSIONS_MAJOR,
    PROGRESSIONS_MINOR, SONIC_PI_DIR, SOUNDFONTS, TOOL_PACKAGES, InstrumentSpec, MissingDependency,
    Piece, concat_lines, fade, fillets_lines, fit_length, quantise_int16, random_piece, read_mono,
    render_notes, require_tools, resample, rms, snr_scale, sonic_pi_sample, to_mono, trim_silence,
    write_part,
)


# --------------------------------------------------------------------------
# Speech: text-to-speech voices
# --------------------------------------------------------------------------


def espeak(text: str, voice: str, sr: int, speed: int = 160, pitch: int = 50) -> np.ndarray:
    """Synthesise ``text`` with espeak-ng and return a mono float signal at ``sr``."""
    import soundfile as sf
    with tempfile.TemporaryDirectory(prefix="nmfaudio-tts-") as td:
        wav = os.path.join(td, "tts.wav")
        cmd = ["espeak-ng", "-v", voice, "-s", str(speed), "-p", str(pitch), "-w", wav, text]
        res = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if res.returncode != 0:
            raise RuntimeError(f"espeak-ng failed: {res.stderr.strip()}")
        x, sr_in = sf.read(wav, dtype="float64")
    return resample(to_mono(x), sr_in, sr)


def festival(text: str, sr: int) -> np.ndarray:
    """Synthesise ``text`` with festival's text2wave (default voice)."""
    import soundfile as sf
    with tempfile.TemporaryDirectory(prefix="nmfaudio-tts-") as td:
        txt = os.path.join(td, "in.txt")
        wav = os.path.join(td, "tts.wav")
        with open(txt, "w") as f:
            f.write(text + "\n")
        res = subprocess.run(["text2wave", "-o", wav, txt], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        if res.returncode != 0 or not os.path.exists(wav):
            raise RuntimeError(f"text2wave failed: {res.stderr.strip()}")
        x, sr_in = sf.read(wav, dtype="float64")
    return resample(to_mono(x), sr_in, sr)


def tts_sentences(synth, sentences, sr: int, seconds: float, gap: float = 0.25,
                  lead: float = 0.25):
    """Concatenate synthesised sentences (after ``lead`` s of silence) until
    ``seconds`` are filled."""
    n = int(round(seconds * sr))
    parts, used = [np.zeros(int(lead * sr))], []
    total = len(parts[0])
    for s in sentences:
        x = trim_silence(synth(s), sr)
        parts += [x, np.zeros(int(gap * sr))]
        used.append(s)
        total += len(x) + int(gap * sr)
        if total >= n:
            break
    return fade(fit_length(np.concatenate(parts), n), sr, 10), used


# --------------------------------------------------------------------------
# Noise: synthetic noises, looping recorded noise
# --------------------------------------------------------------------------


def colored_noise(rng: np.random.Generator, n: int, exponent: float) -> np.ndarray:
    """Gaussian noise with power spectral density ~ 1/f**exponent
    (0 = white, 1 = pink, 2 = brown), unit RMS."""
    white = rng.standard_normal(n)
    if exponent == 0:
        return white / rms(white)
    spec = np.fft.rfft(white)
    f = np.fft.rfftfreq(n)
    f[0] = f[1]
    spec *= f ** (-exponent / 2.0)
    x = np.fft.irfft(spec, n)
    x -= x.mean()
    return x / rms(x)


def hum(rng: np.random.Generator, n: int, sr: int, f0: float = 50.0, harmonics: int = 8):
    """Mains hum: f0 and harmonics with random phases and decaying amplitudes,
    slight slow amplitude wobble, plus a little white noise floor. Unit RMS."""
    t = np.arange(n) / sr
    x = np.zeros(n)
    for h in range(1, harmonics + 1):
        amp = (1.0 / h) * (1.5 if h % 2 == 1 else 0.7)
        x += amp * np.sin(2 * np.pi * f0 * h * t + rng.uniform(0, 2 * np.pi))
    wobble = 1.0 + 0.1 * np.sin(2 * np.pi * 0.3 * t + rng.uniform(0, 2 * np.pi))
    x = x * wobble
    x = x / rms(x) + 0.02 * rng.standard_normal(n)
    return x / rms(x)


def flatten_envelope(x: np.ndarray, sr: int, win_s: float = 1.0) -> np.ndarray:
    """Divide out the slow level trend of a noise recording (RMS smoothed over
    ``win_s`` seconds), keeping the overall RMS.  Used on recorded noise so
    that a short excerpt can be looped without audible level jumps."""
    from scipy.ndimage import uniform_filter1d
    w = max(1, int(win_s * sr))
    env = np.sqrt(uniform_filter1d(x ** 2, size=w, mode="reflect") + 1e-12)
    return x / env * rms(x)


def loop_excerpt(x: np.ndarray, start: int, n: int, sr: int, xfade_s: float = 0.2) -> np.ndarray:
    """Excerpt of length ``n`` starting at ``start``; if the recording is too
    short it is looped with ``xfade_s`` crossfades."""
    if start + n <= len(x):
        return x[start:start + n].copy()
    xf = int(xfade_s * sr)
    out = x[start:].copy()
    while len(out) < n:
        seg = x
        w = np.linspace(0, 1, xf)
        out[-xf:] = out[-xf:] * (1 - w) + seg[:xf] * w
        out = np.concatenate([out, seg[xf:]])
    return out[:n]


# --------------------------------------------------------------------------
# Mixing in float32
# --------------------------------------------------------------------------


def mix_float32(stems, peak: float = 0.8):
    """Jointly scale stems so the sum peaks at ``peak``; cast to float32 and
    return (float32 stems, float32 mix, scale) with mix == float32 sum."""
    total = np.sum(stems, axis=0)
    g = peak / max(np.max(np.abs(total)), 1e-12)
    q = [(s * g).astype(np.float32) for s in stems]
    mix = q[0].copy()
    for s in q[1:]:
        mix = mix + s            # float32 addition, same order as a reader would
    return q, mix.astype(np.float32), g


def log(msg: str):
    print(msg, file=sys.stderr, flush=True)
