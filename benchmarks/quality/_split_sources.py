"""Voices and noises of the tune/test quality set (see split.json), used by make_set.py.

A voice id is ``kind:name``: ``fillets-nl:v`` / ``fillets-cs:m`` (recorded
Dutch / Czech voice acting of Fish Fillets NG, one character), ``klettres:de``
(letters and syllables read by a native speaker, klettres-data), ``espeak:en-us+m3``
(espeak-ng voice variant) and ``festival:kal_diphone`` (a festival voice).
A noise is a recording (``sonic-pi:<sample>``, ``hydrogen:<kit>``) or a
synthetic generator (fan, hum_drift, traffic, clicks, babble).

Every generator returns a mixture excerpt and a training excerpt that share
no audio (recordings are cut in two; synthetic noises are new realisations).
"""

from __future__ import annotations

import glob
import os
import subprocess
import tempfile

import numpy as np

import _sources as S

FILLETS_SOUND = "/usr/share/games/fillets-ng/sound"
KLETTRES_DIR = "/usr/share/klettres"
HYDROGEN_DIR = "/usr/share/hydrogen/data/drumkits"


# --------------------------------------------------------------------------
# Voices
# --------------------------------------------------------------------------

def voice_files(voice: str) -> list:
    kind, name = voice.split(":", 1)
    if kind.startswith("fillets-"):
        lang = kind.split("-")[1]
        return sorted(glob.glob(os.path.join(FILLETS_SOUND, "*", lang, f"*-{name}-*.ogg")))
    if kind == "klettres":
        return sorted(glob.glob(os.path.join(KLETTRES_DIR, name, "alpha", "*.ogg"))
                      + glob.glob(os.path.join(KLETTRES_DIR, name, "syllab", "*.ogg")))
    return []


def festival_say(text: str, voice: str, sr: int) -> np.ndarray:
    import soundfile as sf
    with tempfile.TemporaryDirectory(prefix="nmfaudio-tts-") as td:
        txt, wav = os.path.join(td, "in.txt"), os.path.join(td, "tts.wav")
        with open(txt, "w") as f:
            f.write(text + "\n")
        res = subprocess.run(["text2wave", "-eval", f"(voice_{voice})", "-o", wav, txt],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if res.returncode != 0 or not os.path.exists(wav):
            raise RuntimeError(f"text2wave ({voice}) failed: {res.stderr.strip()}")
        x, sr_in = sf.read(wav, dtype="float64")
    return S.resample(S.to_mono(x), sr_in, sr)


class VoicePool:
    """Hands out lines / sentences of each voice without reuse inside a build."""

    def __init__(self, rng, sentences, sr):
        self.rng, self.sr = rng, sr
        self.all_sentences = list(sentences)
        self.files, self.sentences = {}, {}

    def _files(self, voice):
        if voice not in self.files:
            fs = voice_files(voice)
            if not fs:
                raise RuntimeError(f"no audio files for voice {voice}")
            self.files[voice] = [fs[i] for i in self.rng.permutation(len(fs))]
        return self.files[voice]

    def _sents(self, voice):
        left = self.sentences.get(voice, [])
        if len(left) < 6:
            left = left + [self.all_sentences[i]
                           for i in self.rng.permutation(len(self.all_sentences))]
        self.sentences[voice] = left
        return left

    def take(self, voice, seconds):
        """(signal, description) of ``seconds`` of this voice."""
        kind, name = voice.split(":", 1)
        if kind.startswith("fillets-") or kind == "klettres":
            files = self._files(voice)
            gap = 0.2 if kind.startswith("fillets") else 0.12
            x, used = S.concat_lines(files, self.sr, seconds, gap=gap, max_lines=400)
            self.files[voice] = [p for p in files if p not in used] or files
            return x, {"voice": voice, "type": "recorded",
                       "files": [os.path.relpath(p, "/usr/share") for p in used]}
        if kind == "espeak":
            synth = lambda t: S.espeak(t, name, self.sr)  # noqa: E731
        elif kind == "festival":
            synth = lambda t: festival_say(t, name, self.sr)  # noqa: E731
        else:
            raise ValueError(voice)
        sents = self._sents(voice)
        x, used = S.tts_sentences(synth, sents, self.sr, seconds)
        self.sentences[voice] = [s for s in sents if s not in used]
        return x, {"voice": voice, "type": "synthetic", "sentences": used}


# --------------------------------------------------------------------------
# Noises
# --------------------------------------------------------------------------

def _recording(path, sr, n, nt, rng):
    """Cut a recording in two (first 55 % for the mixture, the rest for training)."""
    rec = S.read_mono(path, sr)
    cut = int(0.55 * len(rec))
    a = S.flatten_envelope(S.trim_silence(rec[:cut], sr, -50), sr)
    b = S.flatten_envelope(S.trim_silence(rec[cut:], sr, -50), sr)
    start = int(rng.integers(0, max(1, len(a) // 3)))
    mix = S.loop_excerpt(a, start, n, sr, xfade_s=min(0.2, len(a) / sr / 4))
    train = S.loop_excerpt(b, 0, nt, sr, xfade_s=min(0.2, len(b) / sr / 4))
    return S.fade(mix, sr), S.fade(train, sr), {"file": path, "cut_s": round(cut / sr, 3),
                                                 "recording_s": round(len(rec) / sr, 3)}


def _kit_hits(files, sr, n, rng, rate_hz):
    """Random hits of a drum kit's one-shot samples (knocks, claps): Poisson times."""
    x = np.zeros(n + 4 * sr)
    shots = [S.trim_silence(S.read_mono(f, sr), sr, -50)[: 2 * sr] for f in files]
    shots = [s / (np.max(np.abs(s)) + 1e-12) for s in shots if len(s) > 32]
    t = 0.0
    while True:
        t += rng.exponential(1.0 / rate_hz)
        i = int(t * sr)
        if i >= n:
            break
        s = shots[int(rng.integers(len(shots)))] * 10 ** (rng.uniform(-12, 0) / 20)
        x[i:i + len(s)] += s
    return x[:n] + 1e-3 * rng.standard_normal(n)


def hydrogen_kit_files(kit):
    return sorted(glob.glob(os.path.join(HYDROGEN_DIR, kit, "*.wav"))
                  + glob.glob(os.path.join(HYDROGEN_DIR, kit, "*.flac")))


def fan(rng, n, sr, blade_hz):
    """Fan: broadband noise, low-passed, amplitude-modulated at the blade rate,
    plus a few blade-rate harmonics whose frequency drifts slowly."""
    from scipy.signal import butter, sosfilt
    t = np.arange(n) / sr
    drift = 1 + 0.03 * np.sin(2 * np.pi * rng.uniform(0.05, 0.15) * t + rng.uniform(0, 6.3))
    phase = 2 * np.pi * np.cumsum(blade_hz * drift) / sr
    broad = sosfilt(butter(2, 2500, fs=sr, output="sos"), rng.standard_normal(n))
    x = broad * (1 + 0.35 * np.sin(phase))
    tones = sum(np.sin(k * phase + rng.uniform(0, 6.3)) / k for k in range(1, 6))
    x = x / S.rms(x) + 0.4 * tones / S.rms(tones)
    return x / S.rms(x)


def hum_drift(rng, n, sr, f0):
    """Mains hum whose fundamental drifts by up to +-0.4 Hz, 10 harmonics, faint hiss."""
    t = np.arange(n) / sr
    f = f0 + 0.4 * np.sin(2 * np.pi * rng.uniform(0.05, 0.2) * t + rng.uniform(0, 6.3))
    phase = 2 * np.pi * np.cumsum(f) / sr
    x = sum((1.5 if h % 2 else 0.6) / h * np.sin(h * phase + rng.uniform(0, 6.3))
            for h in range(1, 11))
    x = x / S.rms(x) + 0.03 * rng.standard_normal(n)
    return x / S.rms(x)


def traffic(rng, n, sr):
    """Traffic-like noise: rumbling low band noise (40-900 Hz) with slow swells
    (passing vehicles) and a weaker tyre hiss band (1-4 kHz)."""
    from scipy.signal import butter, sosfilt
    t = np.arange(n) / sr
    low = sosfilt(butter(2, [40, 900], btype="band", fs=sr, output="sos"), rng.standard_normal(n))
    hiss = sosfilt(butter(2, [1000, 4000], btype="band", fs=sr, output="sos"),
                   rng.standard_normal(n))
    env = np.full(n, 0.3)
    for c in rng.uniform(-2, n / sr + 2, size=max(2, int(n / sr / 2))):
        env += np.exp(-0.5 * ((t - c) / rng.uniform(0.6, 1.5)) ** 2)
    x = env * (low / S.rms(low) + 0.3 * hiss / S.rms(hiss))
    return x / S.rms(x)


def clicks(rng, n, sr, rate_hz):
    """Clicks and crackle: short decaying bursts at random times over faint hiss."""
    x = 0.02 * rng.standard_normal(n)
    t = 0.0
    while True:
        t += rng.exponential(1.0 / rate_hz)
        i = int(t * sr)
        if i >= n:
            break
        m = int(sr * rng.uniform(0.001, 0.006))
        burst = rng.standard_normal(m) * np.exp(-np.arange(m) / (m / 4)) * rng.uniform(0.3, 1)
        x[i:i + m] += burst[: n - i]
    return x / S.rms(x)


def babble(pool, talkers, n_samples, sr, rng, seconds):
    total = np.zeros(n_samples)
    parts = []
    for who in talkers:
        x, desc = pool.take(who, seconds + 1.5)
        off = int(rng.integers(0, int(1.5 * sr)))
        x = S.fade(S.fit_length(x[off:], n_samples), sr)
        total += x / S.rms(x)
        parts.append({"talker": who, "offset_s": round(off / sr, 3)})
    return total / S.rms(total), parts


def make_noise(noise, part, sr, seconds, train_seconds, rng, pool):
    """(mixture noise, training noise, description) of one noise id of ``part``
    (a split.json part dict)."""
    n, nt = int(round(seconds * sr)), int(round(train_seconds * sr))
    syn = part["synthetic_noises"]
    if noise.startswith("sonic-pi:"):
        mix, train, d = _recording(S.sonic_pi_sample(noise.split(":", 1)[1]), sr, n, nt, rng)
        return mix, train, {"type": "recorded", "package": "sonic-pi-samples", **d}
    if noise.startswith("hydrogen:"):
        files = hydrogen_kit_files(noise.split(":", 1)[1])
        mix = _kit_hits(files[0::2], sr, n, rng, 2.5)     # even files for the mixture,
        train = _kit_hits(files[1::2], sr, nt, rng, 2.5)  # odd ones for training
        return mix, train, {"type": "recorded one-shots", "package": "hydrogen-drumkits",
                            "n_files": len(files), "rate_hz": 2.5}
    if noise == "fan":
        b = syn["fan"]["blade_hz"]
        return fan(rng, n, sr, b), fan(rng, nt, sr, b), {"type": "synthetic", "blade_hz": b}
    if noise == "hum_drift":
        f0 = syn["hum_drift"]["f0_hz"]
        return (hum_drift(rng, n, sr, f0), hum_drift(rng, nt, sr, f0),
                {"type": "synthetic", "f0_hz": f0})
    if noise == "traffic":
        return traffic(rng, n, sr), traffic(rng, nt, sr), {"type": "synthetic"}
    if noise == "clicks":
        r = syn["clicks"]["rate_hz"]
        return clicks(rng, n, sr, r), clicks(rng, nt, sr, r), {"type": "synthetic", "rate_hz": r}
    if noise == "babble":
        talkers = part["babble_talkers"]
        mix, p1 = babble(pool, talkers, n, sr, rng, seconds)
        train, p2 = babble(pool, talkers, nt, sr, rng, train_seconds)
        return mix, train, {"type": "synthetic-mix", "talkers": p1, "train_talkers": p2}
    raise ValueError(f"unknown noise {noise!r}")
