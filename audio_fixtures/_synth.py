"""Signal synthesis shared by ``audio_fixtures/make_fixtures.py`` and the quality
benchmark's set builder (``benchmarks/quality/make_set.py``, through
``benchmarks/quality/_sources.py``, which adds the benchmark-only TTS and noise helpers).

It lives here, beside the fixture script, so that the fixtures depend on nothing
outside this folder: ``make_fixtures.py`` imports it as a sibling module, and the
benchmarks import it as ``audio_fixtures._synth`` from the repository root.

Everything here is deterministic given its arguments (random numbers come
from a ``numpy.random.Generator`` passed in by the caller).  External tools
(fluidsynth) are called as subprocesses; ``require_tools`` checks for them up
front so that a missing tool gives a clear message instead of a traceback
halfway through a build.

System packages used (Debian):
    apt-get install -y fluidsynth fluid-soundfont-gm fillets-ng-data-nl sonic-pi-samples
Python packages:
    pip install pretty_midi soundfile numpy scipy soxr
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass

import numpy as np

# --------------------------------------------------------------------------
# Locations of the system-provided material
# --------------------------------------------------------------------------

SOUNDFONTS = {
    "FluidR3_GM": "/usr/share/sounds/sf2/FluidR3_GM.sf2",   # fluid-soundfont-gm, MIT
    "TimGM6mb": "/usr/share/sounds/sf2/TimGM6mb.sf2",       # timgm6mb-soundfont, GPL-2
}
FILLETS_DIR = "/usr/share/games/fillets-ng/sound"            # fillets-ng-data-nl, GPL-2
SONIC_PI_DIR = "/usr/share/sonic-pi/samples"                 # sonic-pi-samples, CC0
FESTIVAL_KAL = "/usr/share/festival/voices/english/kal_diphone"  # festvox-kallpc16k

# Which Debian package provides each external requirement, for error messages.
TOOL_PACKAGES = {
    "fluidsynth": "fluidsynth",
    "espeak-ng": "espeak-ng",
    "text2wave": "festival",
}
FILE_PACKAGES = {
    SOUNDFONTS["FluidR3_GM"]: "fluid-soundfont-gm",
    SOUNDFONTS["TimGM6mb"]: "timgm6mb-soundfont",
    FILLETS_DIR: "fillets-ng-data-nl",
    SONIC_PI_DIR: "sonic-pi-samples",
    FESTIVAL_KAL: "festvox-kallpc16k",
}


class MissingDependency(RuntimeError):
    pass


def require_tools(tools=(), paths=()):
    """Raise MissingDependency naming the Debian packages to install."""
    missing = []
    for t in tools:
        if shutil.which(t) is None:
            missing.append(f"program '{t}' (apt package {TOOL_PACKAGES.get(t, t)})")
    for p in paths:
        if not os.path.exists(p):
            missing.append(f"file '{p}' (apt package {FILE_PACKAGES.get(p, '?')})")
    if missing:
        raise MissingDependency(
            "missing dependencies:\n  - " + "\n  - ".join(missing)
            + "\nInstall them with apt-get (see the header of this script); "
            "this script never installs anything itself."
        )


# --------------------------------------------------------------------------
# Basic signal helpers
# --------------------------------------------------------------------------

def to_mono(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return x.mean(axis=1) if x.ndim == 2 else x


def resample(x: np.ndarray, sr_in: int, sr_out: int) -> np.ndarray:
    if sr_in == sr_out:
        return np.asarray(x, dtype=np.float64)
    import soxr
    return soxr.resample(np.asarray(x, dtype=np.float64), sr_in, sr_out, quality="HQ")


def read_mono(path: str, sr: int) -> np.ndarray:
    import soundfile as sf
    x, sr_in = sf.read(path, dtype="float64", always_2d=False)
    return resample(to_mono(x), sr_in, sr)


def fit_length(x: np.ndarray, n: int) -> np.ndarray:
    """Trim or zero-pad ``x`` to exactly ``n`` samples."""
    if len(x) >= n:
        return x[:n].copy()
    return np.concatenate([x, np.zeros(n - len(x))])


def fade(x: np.ndarray, sr: int, ms: float = 10.0) -> np.ndarray:
    """Short raised-cosine fade in/out to avoid clicks at cut points."""
    n = min(int(sr * ms / 1000), len(x) // 2)
    if n <= 0:
        return x
    w = 0.5 - 0.5 * np.cos(np.linspace(0, np.pi, n))
    y = x.copy()
    y[:n] *= w
    y[-n:] *= w[::-1]
    return y


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x)) + 1e-20))


def trim_silence(x: np.ndarray, sr: int, thresh_db: float = -40.0, pad_ms: float = 30.0):
    """Remove leading/trailing parts quieter than ``thresh_db`` below the peak."""
    if len(x) == 0:
        return x
    hop = max(1, int(sr * 0.01))
    n_frames = max(1, len(x) // hop)
    env = np.array([np.max(np.abs(x[i * hop:(i + 1) * hop])) if i * hop < len(x) else 0.0
                    for i in range(n_frames)])
    thr = np.max(np.abs(x)) * 10 ** (thresh_db / 20)
    on = np.nonzero(env > thr)[0]
    if len(on) == 0:
        return x[:0]
    pad = int(sr * pad_ms / 1000)
    a = max(0, on[0] * hop - pad)
    b = min(len(x), (on[-1] + 1) * hop + pad)
    return x[a:b]


# --------------------------------------------------------------------------
# Music: scale-based MIDI generation and fluidsynth rendering
# --------------------------------------------------------------------------

MAJOR = [0, 2, 4, 5, 7, 9, 11]
NAT_MINOR = [0, 2, 3, 5, 7, 8, 10]

# Chord progressions as scale degrees (0 = tonic), one chord per bar.
PROGRESSIONS_MAJOR = [
    [0, 5, 3, 4], [0, 3, 4, 0], [0, 4, 5, 3], [5, 3, 0, 4], [0, 3, 1, 4], [0, 5, 1, 4],
]
PROGRESSIONS_MINOR = [
    [0, 5, 2, 6], [0, 3, 4, 0], [0, 6, 5, 4], [0, 3, 6, 2], [0, 5, 3, 4],
]


@dataclass(frozen=True)
class InstrumentSpec:
    name: str       # short name used for file names
    program: int    # General MIDI program number (0-based)
    role: str       # "melody" | "chords" | "arpeggio" | "bass" | "line"
    low: int        # lowest MIDI pitch used
    high: int       # highest MIDI pitch used
    velocity: int = 90


# Pool of distinct General MIDI instruments with a register and musical role.
INSTRUMENTS = {
    "piano":    InstrumentSpec("piano", 0, "chords", 48, 79, 85),
    "violin":   InstrumentSpec("violin", 40, "melody", 67, 91, 95),
    "flute":    InstrumentSpec("flute", 73, "melody", 72, 93, 100),
    "cello":    InstrumentSpec("cello", 42, "line", 40, 62, 95),
    "clarinet": InstrumentSpec("clarinet", 71, "melody", 55, 79, 95),
    "trumpet":  InstrumentSpec("trumpet", 56, "melody", 60, 82, 90),
    "guitar":   InstrumentSpec("guitar", 24, "arpeggio", 45, 71, 95),
    "bass":     InstrumentSpec("bass", 32, "bass", 28, 48, 100),
    "organ":    InstrumentSpec("organ", 19, "chords", 48, 74, 75),
    "marimba":  InstrumentSpec("marimba", 12, "melody", 60, 88, 100),
    "oboe":     InstrumentSpec("oboe", 68, "melody", 62, 86, 95),
    "strings":  InstrumentSpec("strings", 48, "chords", 48, 76, 80),
}


@dataclass
class Piece:
    """Shared harmonic frame that several instrument parts are written against."""
    tonic: int          # MIDI pitch class reference, e.g. 60 for C
    scale: list
    progression: list   # scale degrees, one per bar
    bpm: float
    bars: int

    @property
    def beat(self) -> float:
        return 60.0 / self.bpm

    def chord_pcs(self, bar: int) -> list:
        """Pitch classes (0-11, relative to C) of the triad on this bar."""
        deg = self.progression[bar % len(self.progression)]
        return [(self.tonic + self.scale[(deg + k) % 7]) % 12 for k in (0, 2, 4)]

    def scale_pitches(self, low: int, high: int) -> list:
        pcs = {(self.tonic + s) % 12 for s in self.scale}
        return [p for p in range(low, high + 1) if p % 12 in pcs]


def random_piece(rng: np.random.Generator, seconds: float) -> Piece:
    minor = bool(rng.random() < 0.4)
    scale = NAT_MINOR if minor else MAJOR
    progs = PROGRESSIONS_MINOR if minor else PROGRESSIONS_MAJOR
    prog = list(progs[int(rng.integers(len(progs)))])
    tonic = 60 + int(rng.integers(-5, 7))
    bpm = float(rng.choice([84, 92, 100, 108, 116]))
    bar_len = 4 * 60.0 / bpm
    bars = int(np.ceil(seconds / bar_len))
    return Piece(tonic, scale, prog, bpm, bars)


def _pitches_in(pcs, low, high):
    return [p for p in range(low, high + 1) if p % 12 in pcs]


def write_part(piece: Piece, spec: InstrumentSpec, rng: np.random.Generator,
               seconds: float, start_offset_beats: float = 0.0):
    """Return a list of (pitch, start_s, end_s, velocity) notes for one instrument.

    Notes never extend beyond ``seconds - 0.4`` so that release tails fit.
    """
    notes = []
    beat = piece.beat
    t_end = seconds - 0.4
    vel0 = spec.velocity

    def add(p, s, e, v):
        if s >= t_end:
            return
        e = min(e, t_end)
        if e - s > 0.05:
            notes.append((int(p), float(s), float(e), int(np.clip(v, 30, 127))))

    if spec.role in ("melody", "line"):
        pitches = piece.scale_pitches(spec.low, spec.high)
        idx = int(rng.integers(len(pitches) // 3, 2 * len(pitches) // 3 + 1))
        if spec.role == "melody":
            durs, probs = [0.5, 1.0, 1.5, 2.0, 0.25], [0.3, 0.33, 0.12, 0.15, 0.1]
        else:
            durs, probs = [1.0, 2.0, 1.5, 4.0], [0.35, 0.35, 0.15, 0.15]
        t = start_offset_beats
        while t * beat < t_end:
            d = float(rng.choice(durs, p=probs))
            bar = int(t // 4)
            if rng.random() < 0.1 and t > 0:           # occasional rest
                t += float(rng.choice([0.5, 1.0]))
                continue
            on_strong = abs(t - round(t)) < 1e-9 and int(round(t)) % 2 == 0
            if on_strong:                              # chord tone on strong beats
                pcs = piece.chord_pcs(bar)
                cands = [i for i, p in enumerate(pitches) if p % 12 in pcs]
                idx = min(cands, key=lambda i: abs(i - idx) + 0.01 * rng.random())
            else:                                      # mostly stepwise motion
                step = int(rng.choice([-2, -1, -1, 1, 1, 2, 0, 3, -3]))
                idx = int(np.clip(idx + step, 0, len(pitches) - 1))
            accent = 8 if on_strong else 0
            legato = 0.95 if spec.role == "line" else 0.9
            add(pitches[idx], t * beat, (t + d * legato) * beat,
                vel0 + accent + rng.integers(-10, 8))
            t += d

    elif spec.role == "bass":
        for bar in range(piece.bars):
            root_pc = piece.chord_pcs(bar)[0]
            fifth_pc = piece.chord_pcs(bar)[2]
            roots = _pitches_in([root_pc], spec.low, spec.high)
            fifths = _pitches_in([fifth_pc], spec.low, spec.high)
            root = roots[0] if roots[0] >= spec.low + 2 or len(roots) == 1 else roots[1]
            pattern = [[(0, 2), (2, 2)], [(0, 1.5), (1.5, 0.5), (2, 2)],
                       [(0, 1), (1, 1), (2, 1), (3, 1)]][int(rng.integers(3))]
            for k, (b, d) in enumerate(pattern):
                p = root if (k % 2 == 0 or not fifths) else fifths[0]
                s = (bar * 4 + b) * beat
                add(p, s, s + d * beat * 0.9, vel0 + rng.integers(-8, 6))

    elif spec.role == "chords":
        sustained = spec.program in (19, 48)           # organ, string ensemble
        for bar in range(piece.bars):
            pcs = piece.chord_pcs(bar)
            # voice the triad inside the register, plus the root an octave below
            voicing = _pitches_in(pcs, spec.low + 7, spec.high)[:3]
            bass = _pitches_in([pcs[0]], spec.low, spec.low + 11)
            chord = (bass[:1] if not sustained else []) + voicing
            if sustained:
                pattern = [(0, 4)] if rng.random() < 0.6 else [(0, 2), (2, 2)]
            else:
                pattern = [[(0, 2), (2, 2)], [(0, 1.5), (1.5, 1), (2.5, 1.5)],
                           [(0, 1), (1, 1), (2, 1), (3, 1)], [(0, 3), (3, 1)]][int(rng.integers(4))]
            for b, d in pattern:
                s = (bar * 4 + b) * beat
                v = vel0 + (6 if b == 0 else 0) + rng.integers(-8, 6)
                for p in chord:
                    add(p, s, s + d * beat * 0.95, v)

    elif spec.role == "arpeggio":
        for bar in range(piece.bars):
            pcs = piece.chord_pcs(bar)
            tones = _pitches_in(pcs, spec.low, spec.high)[:5]
            order = tones + tones[-2:0:-1]
            step = float(rng.choice([0.5, 0.5, 1.0]))
            n = int(4 / step)
            for k in range(n):
                s = (bar * 4 + k * step) * beat
                # let notes ring for two steps (overlapping like a picked guitar)
                add(order[k % len(order)], s, s + 2 * step * beat,
                    vel0 + (8 if k == 0 else 0) + rng.integers(-10, 6))
    else:
        raise ValueError(f"unknown role {spec.role!r}")
    return notes


def render_notes(notes, program: int, sr: int, seconds: float, soundfont: str,
                 gain: float = 0.5) -> np.ndarray:
    """Render a single-instrument note list with fluidsynth to a mono float array.

    Reverb and chorus are switched off so that the stem is the dry instrument
    and the result is deterministic.  Output is exactly ``round(seconds*sr)``
    samples long.
    """
    import pretty_midi
    import soundfile as sf

    pm = pretty_midi.PrettyMIDI(initial_tempo=120.0)
    inst = pretty_midi.Instrument(program=program)
    for p, s, e, v in notes:
        inst.notes.append(pretty_midi.Note(velocity=int(v), pitch=int(p), start=s, end=e))
    pm.instruments.append(inst)
    n = int(round(seconds * sr))
    with tempfile.TemporaryDirectory(prefix="nmfaudio-render-") as td:
        mid = os.path.join(td, "part.mid")
        wav = os.path.join(td, "part.wav")
        pm.write(mid)
        cmd = ["fluidsynth", "-ni", "-q", "-R", "0", "-C", "0", "-g", str(gain),
               "-r", str(sr), "-O", "float", "-T", "wav", "-F", wav, soundfont, mid]
        res = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if res.returncode != 0 or not os.path.exists(wav):
            raise RuntimeError(f"fluidsynth failed ({res.returncode}): {res.stderr.strip()}")
        x, sr_out = sf.read(wav, dtype="float64")
    x = to_mono(x)
    if sr_out != sr:
        x = resample(x, sr_out, sr)
    return fit_length(x, n)


# --------------------------------------------------------------------------
# Speech sources
# --------------------------------------------------------------------------

def fillets_lines(speaker: str) -> list:
    """Sorted list of Dutch Fish Fillets voice lines of one character.

    ``speaker`` is ``"v"`` (the big fish, lower male voice, median F0 ~140 Hz)
    or ``"m"`` (the small fish, higher voice, median F0 ~220 Hz).
    """
    return sorted(glob.glob(os.path.join(FILLETS_DIR, "*", "nl", f"*-{speaker}-*.ogg")))


def concat_lines(paths, sr: int, seconds: float, gap: float = 0.2, max_lines: int = 50,
                 lead: float = 0.25):
    """Concatenate voice lines (silence-trimmed, separated by ``gap`` s, after
    ``lead`` s of initial silence) until ``seconds`` are filled.
    Returns (signal, list of source paths used)."""
    n = int(round(seconds * sr))
    parts, used = [np.zeros(int(lead * sr))], []
    total = len(parts[0])
    for p in paths[:max_lines]:
        x = trim_silence(read_mono(p, sr), sr)
        if len(x) < int(0.3 * sr):
            continue
        x = fade(x, sr, 5)
        parts += [x, np.zeros(int(gap * sr))]
        used.append(p)
        total += len(x) + int(gap * sr)
        if total >= n:
            break
    y = np.concatenate(parts) if parts else np.zeros(0)
    y = fit_length(y, n)
    return fade(y, sr, 10), used


# --------------------------------------------------------------------------
# Noise sources
# --------------------------------------------------------------------------


def sonic_pi_sample(name: str) -> str:
    return os.path.join(SONIC_PI_DIR, name + ".flac")


# --------------------------------------------------------------------------
# Mixing with exact sums
# --------------------------------------------------------------------------

def snr_scale(clean: np.ndarray, noise: np.ndarray, snr_db: float) -> float:
    """Factor g such that 10*log10(sum clean^2 / sum (g*noise)^2) == snr_db."""
    return float(np.sqrt(np.sum(clean ** 2) / (np.sum(noise ** 2) * 10 ** (snr_db / 10))))


def quantise_int16(stems, peak: float = 0.8):
    """Jointly scale float stems so that their sum peaks at ``peak`` full scale,
    quantise each stem to int16 and return (int16 stems, int16 mix, scale).
    The mix is the exact integer sum of the quantised stems."""
    total = np.sum(stems, axis=0)
    g = peak / max(np.max(np.abs(total)), 1e-12)
    q = [np.round(s * g * 32767).astype(np.int64) for s in stems]
    mix = np.sum(q, axis=0)
    if np.max(np.abs(mix)) > 32767 or any(np.max(np.abs(s)) > 32767 for s in q):
        raise ValueError("int16 overflow after quantisation")
    return [s.astype(np.int16) for s in q], mix.astype(np.int16), g
