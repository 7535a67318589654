#!/usr/bin/env python3
"""Build the nmfaudio quality benchmark set, offline and deterministically.

Requirements (Debian 12, Python 3.11) -- install them yourself, this script
never runs apt-get or pip:

    apt-get update && apt-get install -y fluidsynth fluid-soundfont-gm \
        timgm6mb-soundfont fillets-ng-data-nl espeak-ng festival \
        festvox-kallpc16k sonic-pi-samples
    pip install pretty_midi soundfile numpy scipy soxr

Usage:

    python benchmarks/quality/make_set.py [--seed 0] [--out benchmarks/quality/data]
    python benchmarks/quality/make_set.py --verify-only [--out ...]

The set (about 8 music and 9 speech items, all WAV float32) is written to
``--out`` (default ``benchmarks/quality/data/``, which is gitignored) together
with ``manifest.json``. Every mixture is the exact float32 sum of its stems,
added in the order the stems are listed in the manifest. The build checks this
at the end (``--no-verify`` skips it; ``--verify-only`` checks an existing set).
See README.md beside this file for the layout and the manifest format.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import _sources as S  # noqa: E402

MANIFEST_VERSION = 1
MUSIC_SR = 22050
SPEECH_SR = 16000
MUSIC_SECONDS = 10.0
MUSIC_TRAIN_SECONDS = 10.0
SPEECH_SECONDS = 6.0
SPEECH_TRAIN_SECONDS = 4.0
NOISE_TRAIN_SECONDS = 4.0
N_MUSIC = 8

# --------------------------------------------------------------------------
# Speech material
# --------------------------------------------------------------------------

# Sentences for the synthetic voices (written for this benchmark).
SENTENCES = [
    "The kettle on the old stove began to whistle softly.",
    "Seven small boats drifted past the harbour wall at dawn.",
    "Please put the blue folder back on the second shelf.",
    "A cold wind swept across the empty market square.",
    "She counted the coins twice before paying for the bread.",
    "The train to the coast leaves every hour on the hour.",
    "His garden was full of tall sunflowers and tomato plants.",
    "We painted the fence green and left it to dry overnight.",
    "The library closes early on the first Monday of the month.",
    "Thunder rolled over the hills long after the rain had stopped.",
    "Bring a warm coat, because the evenings get chilly here.",
    "The clock in the hallway is always five minutes fast.",
    "A flock of geese flew low over the frozen lake.",
    "He fixed the bicycle chain with a borrowed pair of pliers.",
    "The soup needs more salt and a little black pepper.",
    "Our neighbours are moving to a farm in the north.",
    "The children built a tall tower out of wooden blocks.",
    "Fresh snow covered the road before the plough arrived.",
    "Turn left at the bakery and walk to the end of the lane.",
    "The museum keeps its oldest maps in a locked room.",
    "A single candle lit the narrow stairs to the attic.",
    "The baker starts work long before the sun comes up.",
    "They watched the storm from the window of the lighthouse.",
    "Write the address clearly on the front of the envelope.",
    "The river rose quickly after three days of heavy rain.",
    "Most of the apples fell from the tree in one night.",
    "The radio played quiet music while we cooked dinner.",
    "Keep the receipt in case the shoes do not fit.",
    "An old dog slept in the shade beneath the wagon.",
    "The meeting was moved to the large room upstairs.",
    "Pack the glasses carefully with plenty of paper around them.",
    "The path through the forest is marked with red stones.",
    "Her letter arrived a week after she had already left.",
    "The engine coughed twice and then started at last.",
    "Dry leaves crunched under our boots on the way home.",
    "The painter mixed yellow and blue to get a bright green.",
    "A tiny bird built its nest above the kitchen door.",
    "The ferry was late because of the thick morning fog.",
    "Nobody remembered who had left the gate wide open.",
    "The soup kitchen served hot meals to everyone who came.",
]

# Synthetic voices: (name, description, synthesiser spec)
VOICES = {
    "espeak-en-us-m3": {"tool": "espeak-ng", "voice": "en-us+m3", "speed": 155, "pitch": 45},
    "espeak-en-gb-f3": {"tool": "espeak-ng", "voice": "en-gb+f3", "speed": 150, "pitch": 55},
    "espeak-en-us-f2": {"tool": "espeak-ng", "voice": "en-us+f2", "speed": 165, "pitch": 60},
    "festival-kal": {"tool": "text2wave", "voice": "kal_diphone"},
}
# Talkers only used in babble noise.
BABBLE_VOICES = {
    "espeak-en-gb-m1": {"tool": "espeak-ng", "voice": "en-gb+m1", "speed": 170, "pitch": 35},
    "espeak-en-sc-m4": {"tool": "espeak-ng", "voice": "en-gb-scotland+m4", "speed": 160, "pitch": 50},
    "espeak-en-us-f4": {"tool": "espeak-ng", "voice": "en-us+f4", "speed": 175, "pitch": 65},
    "espeak-en-m7": {"tool": "espeak-ng", "voice": "en+m7", "speed": 150, "pitch": 40},
}
FILLETS_SPEAKERS = {
    "v": "fillets-ng-data-nl, Dutch voice of the big fish (male, median F0 ~140 Hz)",
    "m": "fillets-ng-data-nl, Dutch voice of the small fish (higher voice, median F0 ~220 Hz)",
}

# Recorded noises from sonic-pi-samples (CC0, freesound), with the usable
# stationary part [a, b] in seconds and where the training excerpt starts.
# The recordings are short (8-9 s), so the mixture excerpt [a, split] is
# looped with 0.2 s crossfades to the item length and the training excerpt is
# [split, b]; the two never share audio. Both have their slow level trend
# (1 s RMS envelope) divided out so that the loop has no level jumps.
RECORDED_NOISES = {
    "vinyl_hiss": {"a": 0.0, "split": 4.2, "b": 8.0,
                   "desc": "vinyl record hiss and crackle (sonic-pi-samples vinyl_hiss.flac, "
                           "veezay, freesound 130393, CC0)"},
    "ambi_sauna": {"a": 0.3, "split": 4.0, "b": 7.0,
                   "desc": "sauna steam hiss (sonic-pi-samples ambi_sauna.flac, CC0)"},
}

# The speech items: (speech source, noise type, SNR in dB).
# Speech source "fillets:v"/"fillets:m" is recorded voice; others are VOICES keys.
SPEECH_ITEMS = [
    ("fillets:v", "vinyl_hiss", 0.0),
    ("espeak-en-us-m3", "pink", 5.0),
    ("fillets:m", "hum50", 10.0),
    ("festival-kal", "ambi_sauna", 5.0),
    ("espeak-en-gb-f3", "babble", 10.0),
    ("fillets:v", "white", 5.0),
    ("fillets:m", "babble", 0.0),
    ("espeak-en-us-f2", "brown", 0.0),
    ("espeak-en-gb-f3", "vinyl_hiss", 10.0),
]

SYNTH_NOISE_DESC = {
    "white": "synthetic white Gaussian noise",
    "pink": "synthetic pink noise (1/f power spectrum)",
    "brown": "synthetic brown noise (1/f^2 power spectrum)",
    "hum50": "synthetic 50 Hz mains hum with 8 harmonics, slow amplitude wobble, faint noise floor",
    "babble": "babble: sum of 5 other talkers (espeak-ng voices and Fish Fillets lines of "
              "other speakers), random start offsets",
}

# --------------------------------------------------------------------------
# Music material
# --------------------------------------------------------------------------

HARMONY = ["piano", "guitar", "organ", "strings"]
MELODY = ["violin", "flute", "clarinet", "trumpet", "marimba", "oboe"]
LOW = ["bass", "cello"]


def choose_music_items(rng):
    """Deterministic list of (instrument names, mix soundfont, train soundfont)."""
    harm = list(rng.permutation(HARMONY))
    mel = list(rng.permutation(MELODY))
    low = list(rng.permutation(LOW))
    items = []
    for i in range(N_MUSIC):
        names = [harm[i % len(harm)], mel[i % len(mel)]]
        if i % 3 != 0:                     # two out of three items have 3 instruments
            if i % 3 == 1:
                names.append(low[(i // 3) % len(low)])
            else:                          # a second melody instrument, other register
                m1 = S.INSTRUMENTS[names[1]]
                for cand in mel[(i + 3) % len(mel):] + mel[:(i + 3) % len(mel)]:
                    c = S.INSTRUMENTS[cand]
                    if cand not in names and abs((c.low + c.high) - (m1.low + m1.high)) / 2 >= 5:
                        names.append(cand)
                        break
                else:
                    names.append(low[0])
        # soundfonts: about a third of the items have a training/mixture timbre mismatch
        if i % 3 == 1:
            sfs = ("FluidR3_GM", "TimGM6mb") if i != 7 else ("TimGM6mb", "FluidR3_GM")
        elif i == 5:
            sfs = ("TimGM6mb", "TimGM6mb")
        else:
            sfs = ("FluidR3_GM", "FluidR3_GM")
        items.append((names, sfs[0], sfs[1]))
    return items


# --------------------------------------------------------------------------
# Writing helpers
# --------------------------------------------------------------------------

def write_f32(path, x, sr):
    """Write a mono float32 WAV (IEEE float).

    scipy's writer is used rather than libsndfile because libsndfile adds a
    PEAK chunk with a timestamp, which would make rebuilt files differ byte
    for byte; soundfile reads these files back as subtype FLOAT."""
    from scipy.io import wavfile
    os.makedirs(os.path.dirname(path), exist_ok=True)
    x = np.ascontiguousarray(x, dtype=np.float32)
    if not np.all(np.isfinite(x)):
        raise ValueError(f"non-finite samples in {path}")
    wavfile.write(path, sr, x)


def level_match(x, ref_rms, max_peak=0.99):
    """Scale x to RMS ``ref_rms``; if that would exceed ``max_peak``, scale
    down to ``max_peak`` instead. Returns (signal, gain_shortfall_db)."""
    y = x * (ref_rms / S.rms(x))
    pk = np.max(np.abs(y))
    if pk > max_peak:
        short = 20 * np.log10(pk / max_peak)
        return y * (max_peak / pk), float(short)
    return y, 0.0


def piece_info(piece):
    return {"tonic_midi": piece.tonic,
            "scale": "major" if piece.scale == S.MAJOR else "natural minor",
            "bpm": piece.bpm, "progression_degrees": piece.progression}


# --------------------------------------------------------------------------
# Music items
# --------------------------------------------------------------------------

def build_music_item(idx, names, sf_mix, sf_train, rng, out):
    item_id = f"music-{idx:02d}"
    d = os.path.join(out, item_id)
    piece = S.random_piece(rng, MUSIC_SECONDS)
    raw = []
    for name in names:
        spec = S.INSTRUMENTS[name]
        notes = S.write_part(piece, spec, rng, MUSIC_SECONDS)
        x = S.render_notes(notes, spec.program, MUSIC_SR, MUSIC_SECONDS, S.SOUNDFONTS[sf_mix])
        raw.append((name, spec, x, len(notes)))
    gains_db = [float(np.round(rng.uniform(-3, 3), 2)) for _ in names]
    stems = [x / S.rms(x) * 10 ** (g / 20) for (_, _, x, _), g in zip(raw, gains_db)]
    q, mix, _ = S.mix_float32(stems, peak=0.8)

    rel = lambda p: os.path.relpath(p, out)  # noqa: E731
    stem_paths, train_paths, inst_info = {}, {}, {}
    write_f32(os.path.join(d, "mixture.wav"), mix, MUSIC_SR)
    train_pieces = {}
    for (name, spec, _, n_notes), s, g in zip(raw, q, gains_db):
        p = os.path.join(d, "stems", name + ".wav")
        write_f32(p, s, MUSIC_SR)
        stem_paths[name] = rel(p)
        # training clip: a different piece (new key, progression and notes)
        tpiece = S.random_piece(rng, MUSIC_TRAIN_SECONDS)
        tnotes = S.write_part(tpiece, spec, rng, MUSIC_TRAIN_SECONDS)
        t = S.render_notes(tnotes, spec.program, MUSIC_SR, MUSIC_TRAIN_SECONDS,
                           S.SOUNDFONTS[sf_train])
        t, short = level_match(t, S.rms(s))
        tp = os.path.join(d, "train", name + ".wav")
        write_f32(tp, t, MUSIC_SR)
        train_paths[name] = rel(tp)
        train_pieces[name] = piece_info(tpiece)
        inst_info[name] = {"gm_program": spec.program, "role": spec.role,
                           "register_midi": [spec.low, spec.high], "gain_db": g,
                           "n_notes": n_notes, "train_n_notes": len(tnotes),
                           "train_level_shortfall_db": round(short, 2)}
    return {
        "id": item_id, "kind": "music", "sample_rate": MUSIC_SR,
        "duration_s": MUSIC_SECONDS, "mixture": rel(os.path.join(d, "mixture.wav")),
        "stems": stem_paths, "train": train_paths, "snr_db": None,
        "soundfont": {"mixture": sf_mix, "train": sf_train},
        "mismatch": sf_mix != sf_train,
        "instruments": inst_info,
        "sources": {
            "music": "seeded scale-based MIDI written with pretty_midi, each part rendered "
                     "separately with fluidsynth (reverb and chorus off)",
            "piece": piece_info(piece), "train_pieces": train_pieces,
            "soundfonts": {k: S.SOUNDFONTS[k] for k in sorted({sf_mix, sf_train})},
        },
    }


# --------------------------------------------------------------------------
# Speech items
# --------------------------------------------------------------------------

class SpeechPool:
    """Hands out voice lines / sentences without reuse inside one build."""

    def __init__(self, rng, use_festival=True):
        self.rng = rng
        self.use_festival = use_festival
        self.lines = {}
        for spk in FILLETS_SPEAKERS:
            ls = S.fillets_lines(spk)
            self.lines[spk] = [ls[i] for i in rng.permutation(len(ls))]
        self.sentences = [SENTENCES[i] for i in rng.permutation(len(SENTENCES))]
        self.item_used = set()

    def _take_lines(self, spk, seconds, sr):
        x, used = S.concat_lines(self.lines[spk], sr, seconds)
        self.lines[spk] = [p for p in self.lines[spk] if p not in used]
        return x, [os.path.relpath(p, S.FILLETS_DIR) for p in used]

    def _synth(self, voice_name):
        spec = {**VOICES, **BABBLE_VOICES}[voice_name]
        if spec["tool"] == "text2wave":
            return lambda text: S.festival(text, SPEECH_SR)
        return lambda text: S.espeak(text, spec["voice"], SPEECH_SR, spec["speed"], spec["pitch"])

    def begin_item(self):
        """Sentences are not reused inside one item (mixture, training clips
        and babble); across items the pool is reshuffled when it runs low."""
        self.item_used = set()

    def _take_sentences(self, voice_name, seconds, sr):
        if len(self.sentences) < 8:
            fresh = [SENTENCES[i] for i in self.rng.permutation(len(SENTENCES))]
            self.sentences += [s for s in fresh
                               if s not in self.item_used and s not in self.sentences]
        x, used = S.tts_sentences(self._synth(voice_name), self.sentences, sr, seconds)
        self.sentences = [s for s in self.sentences if s not in used]
        self.item_used.update(used)
        return x, used

    def take(self, source, seconds):
        """Return (signal, description dict) for ``seconds`` of speech."""
        if source.startswith("fillets:"):
            spk = source.split(":")[1]
            x, used = self._take_lines(spk, seconds, SPEECH_SR)
            return x, {"type": "recorded", "package": "fillets-ng-data-nl",
                       "speaker": spk, "speaker_desc": FILLETS_SPEAKERS[spk],
                       "language": "nl", "files": used}
        spec = {**VOICES, **BABBLE_VOICES}[source]
        x, used = self._take_sentences(source, seconds, SPEECH_SR)
        desc = {"type": "synthetic", "tool": spec["tool"], "voice": spec["voice"],
                "language": "en", "sentences": used}
        if spec["tool"] == "espeak-ng":
            desc.update(speed=spec["speed"], pitch=spec["pitch"])
        return x, desc


def make_babble(pool, target, seconds, rng):
    """Five talkers other than ``target``: three espeak voices, and two
    Fish Fillets lines streams (of speakers other than the target)."""
    n = int(round(seconds * SPEECH_SR))
    talkers = [v for v in BABBLE_VOICES if v != target]
    fil = [s for s in FILLETS_SPEAKERS if f"fillets:{s}" != target]
    chosen = [talkers[i] for i in rng.permutation(len(talkers))[:3]]
    chosen += [f"fillets:{s}" for s in fil]
    while len(chosen) < 5:
        chosen.append(f"fillets:{fil[0]}")
    total = np.zeros(n)
    parts = []
    for who in chosen:
        x, desc = pool.take(who, seconds + 1.5)
        off = int(rng.integers(0, int(1.5 * SPEECH_SR)))
        x = x[off:off + n]
        x = S.fade(S.fit_length(x, n), SPEECH_SR)
        total += x / S.rms(x)
        parts.append({"talker": who, "start_offset_s": round(off / SPEECH_SR, 3), **desc})
    return total / S.rms(total), parts


def make_noise(kind, seconds, train_seconds, rng, pool, target):
    """Return (noise, train_noise, description)."""
    n = int(round(seconds * SPEECH_SR))
    nt = int(round(train_seconds * SPEECH_SR))
    if kind in RECORDED_NOISES:
        info = RECORDED_NOISES[kind]
        rec = S.read_mono(S.sonic_pi_sample(kind), SPEECH_SR)
        a, sp, b = (int(info[k] * SPEECH_SR) for k in ("a", "split", "b"))
        seg = S.flatten_envelope(rec[a:sp], SPEECH_SR)
        start = int(rng.integers(0, len(seg) // 2))
        noise = S.loop_excerpt(seg, start, n, SPEECH_SR)
        train = S.flatten_envelope(rec[sp:b], SPEECH_SR)[:nt]
        return noise, S.fade(train, SPEECH_SR), {
            "type": "recorded", "package": "sonic-pi-samples", "name": kind,
            "file": S.sonic_pi_sample(kind), "desc": info["desc"],
            "mixture_excerpt_s": [info["a"], info["split"]],
            "mixture_excerpt_start_s": round(info["a"] + start / SPEECH_SR, 3),
            "mixture_looped": len(seg) - start < n,
            "level_trend_flattened": True,
            "train_excerpt_s": [info["split"], round(info["split"] + len(train) / SPEECH_SR, 3)],
        }
    if kind in ("white", "pink", "brown"):
        e = {"white": 0, "pink": 1, "brown": 2}[kind]
        noise = S.colored_noise(rng, n, e)
        train = S.colored_noise(rng, nt, e)
        return S.fade(noise, SPEECH_SR), S.fade(train, SPEECH_SR), {
            "type": "synthetic", "name": kind, "desc": SYNTH_NOISE_DESC[kind],
            "spectral_exponent": e}
    if kind == "hum50":
        noise = S.hum(rng, n, SPEECH_SR)
        train = S.hum(rng, nt, SPEECH_SR)
        return S.fade(noise, SPEECH_SR), S.fade(train, SPEECH_SR), {
            "type": "synthetic", "name": kind, "desc": SYNTH_NOISE_DESC[kind], "f0_hz": 50.0}
    if kind == "babble":
        noise, parts = make_babble(pool, target, seconds, rng)
        train, tparts = make_babble(pool, target, train_seconds, rng)
        return noise, train, {"type": "synthetic-mix", "name": kind,
                              "desc": SYNTH_NOISE_DESC[kind], "talkers": parts,
                              "train_talkers": tparts}
    raise ValueError(kind)


def build_speech_item(idx, source, noise_kind, snr_db, rng, pool, out):
    item_id = f"speech-{idx:02d}"
    d = os.path.join(out, item_id)
    pool.begin_item()
    clean, sdesc = pool.take(source, SPEECH_SECONDS)
    train_speech, tdesc = pool.take(source, SPEECH_TRAIN_SECONDS)
    noise, train_noise, ndesc = make_noise(noise_kind, SPEECH_SECONDS, NOISE_TRAIN_SECONDS,
                                           rng, pool, source)
    noise = noise * S.snr_scale(clean, noise, snr_db)
    (c32, n32), mix, _ = S.mix_float32([clean, noise], peak=0.8)
    c64, n64 = c32.astype(np.float64), n32.astype(np.float64)
    measured = 10 * np.log10(np.sum(c64 ** 2) / np.sum(n64 ** 2))
    ts, ts_short = level_match(train_speech, S.rms(c64))
    tn, tn_short = level_match(train_noise, S.rms(n64))

    rel = lambda p: os.path.relpath(p, out)  # noqa: E731
    paths = {k: os.path.join(d, v) for k, v in {
        "mixture": "mixture.wav", "speech": "stems/speech.wav", "noise": "stems/noise.wav",
        "train_speech": "train/speech.wav", "train_noise": "train/noise.wav"}.items()}
    write_f32(paths["mixture"], mix, SPEECH_SR)
    write_f32(paths["speech"], c32, SPEECH_SR)
    write_f32(paths["noise"], n32, SPEECH_SR)
    write_f32(paths["train_speech"], ts, SPEECH_SR)
    write_f32(paths["train_noise"], tn, SPEECH_SR)
    return {
        "id": item_id, "kind": "speech", "sample_rate": SPEECH_SR,
        "duration_s": SPEECH_SECONDS, "mixture": rel(paths["mixture"]),
        "stems": {"speech": rel(paths["speech"]), "noise": rel(paths["noise"])},
        "train": {"speech": rel(paths["train_speech"]), "noise": rel(paths["train_noise"])},
        "train_duration_s": {"speech": SPEECH_TRAIN_SECONDS,
                             "noise": round(len(tn) / SPEECH_SR, 3)},
        "snr_db": snr_db, "snr_db_measured": round(float(measured), 4),
        "soundfont": None, "mismatch": False,
        "speech_source": source, "noise_type": noise_kind,
        "train_level_shortfall_db": {"speech": round(ts_short, 2), "noise": round(tn_short, 2)},
        "sources": {"speech": sdesc, "train_speech": tdesc, "noise": ndesc},
    }


# --------------------------------------------------------------------------
# Verification, tool versions, main
# --------------------------------------------------------------------------

def verify(out):
    import soundfile as sf
    with open(os.path.join(out, "manifest.json")) as f:
        man = json.load(f)
    bad = []
    for it in man["items"]:
        mix, sr = sf.read(os.path.join(out, it["mixture"]), dtype="float32")
        acc = None
        for name, p in it["stems"].items():
            s, sr_s = sf.read(os.path.join(out, p), dtype="float32")
            if sr_s != sr or len(s) != len(mix):
                bad.append(f"{it['id']}: stem {name} has sr {sr_s}/len {len(s)}")
                continue
            acc = s.copy() if acc is None else acc + s
        for name, p in it["train"].items():
            info = sf.info(os.path.join(out, p))
            if info.samplerate != sr or info.frames == 0:
                bad.append(f"{it['id']}: training clip {name} has sr {info.samplerate}")
        if sr != it["sample_rate"]:
            bad.append(f"{it['id']}: sample rate {sr} != manifest {it['sample_rate']}")
        if acc is None or not np.array_equal(acc, mix):
            bad.append(f"{it['id']}: mixture != float32 sum of stems")
        if it["snr_db"] is not None:
            c, _ = sf.read(os.path.join(out, it["stems"]["speech"]), dtype="float64")
            nz, _ = sf.read(os.path.join(out, it["stems"]["noise"]), dtype="float64")
            snr = 10 * np.log10(np.sum(c ** 2) / np.sum(nz ** 2))
            if abs(snr - it["snr_db"]) > 0.01:
                bad.append(f"{it['id']}: SNR {snr:.3f} dB != {it['snr_db']}")
    for b in bad:
        print("VERIFY FAIL", b)
    print(f"verify: {len(man['items']) - len({b.split(':')[0] for b in bad})}"
          f"/{len(man['items'])} items OK")
    return not bad


def tool_versions():
    v = {}
    try:
        out = subprocess.run(["dpkg-query", "-W", "-f=${Package} ${Version}\\n",
                              "fluidsynth", "fluid-soundfont-gm", "timgm6mb-soundfont",
                              "fillets-ng-data-nl", "espeak-ng", "festival",
                              "festvox-kallpc16k", "sonic-pi-samples"],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True).stdout
        for line in out.splitlines():
            if line.strip():
                k, _, ver = line.partition(" ")
                v[k] = ver
    except FileNotFoundError:
        pass
    import pretty_midi
    import soundfile
    import soxr
    v["python:numpy"] = np.__version__
    v["python:pretty_midi"] = getattr(pretty_midi, "__version__", "?")
    v["python:soundfile"] = soundfile.__version__
    v["python:soxr"] = soxr.__version__
    return v


def clean_out(out):
    """Remove what an earlier build wrote (only our own item folders and manifest)."""
    if not os.path.isdir(out):
        return
    for name in os.listdir(out):
        p = os.path.join(out, name)
        if re.fullmatch(r"(music|speech)-\d\d", name) and os.path.isdir(p):
            shutil.rmtree(p)
        elif name == "manifest.json":
            os.remove(p)


def main(argv=None):
    ap = argparse.ArgumentParser(description="Build the nmfaudio quality benchmark set.")
    ap.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    ap.add_argument("--out", default=os.path.join(HERE, "data"),
                    help="output folder (default benchmarks/quality/data)")
    ap.add_argument("--no-festival", action="store_true",
                    help="replace the festival voice by an espeak-ng voice "
                         "(if festival is not installed)")
    ap.add_argument("--no-verify", action="store_true", help="skip the check after building")
    ap.add_argument("--verify-only", action="store_true",
                    help="only check an existing set in --out (mixture == sum of stems, SNRs)")
    args = ap.parse_args(argv)
    out = os.path.abspath(args.out)

    if args.verify_only:
        sys.exit(0 if verify(out) else 1)

    tools = ["fluidsynth", "espeak-ng"] + ([] if args.no_festival else ["text2wave"])
    try:
        S.require_tools(tools, [S.SOUNDFONTS["FluidR3_GM"], S.SOUNDFONTS["TimGM6mb"],
                                S.FILLETS_DIR, S.SONIC_PI_DIR]
                        + [S.sonic_pi_sample(k) for k in RECORDED_NOISES]
                        + ([] if args.no_festival else [S.FESTIVAL_KAL]))
        if not S.fillets_lines("v") or not S.fillets_lines("m"):
            raise S.MissingDependency("no Dutch voice lines found under " + S.FILLETS_DIR
                                      + " (apt package fillets-ng-data-nl)")
    except S.MissingDependency as e:
        sys.exit(str(e))

    t0 = time.time()
    os.makedirs(out, exist_ok=True)
    clean_out(out)
    # Independent random streams for music and speech, so that changing one
    # part of the set does not reshuffle the other.
    ss = np.random.SeedSequence(args.seed)
    rng_music, rng_speech = (np.random.default_rng(s) for s in ss.spawn(2))

    items = []
    for i, (names, sf_mix, sf_train) in enumerate(choose_music_items(rng_music)):
        it = build_music_item(i, names, sf_mix, sf_train, rng_music, out)
        items.append(it)
        print(f"  {it['id']}: {'+'.join(names):28s} mix={sf_mix:10s} train={sf_train:10s}"
              f"{'  MISMATCH' if it['mismatch'] else ''}", flush=True)

    pool = SpeechPool(rng_speech)
    for i, (source, noise_kind, snr) in enumerate(SPEECH_ITEMS):
        if args.no_festival and source == "festival-kal":
            source = "espeak-en-us-m3"
        it = build_speech_item(i, source, noise_kind, snr, rng_speech, pool, out)
        items.append(it)
        print(f"  {it['id']}: {source:16s} + {noise_kind:11s} SNR {snr:4.1f} dB "
              f"(measured {it['snr_db_measured']:.3f})", flush=True)

    manifest = {
        "version": MANIFEST_VERSION,
        "generator": "benchmarks/quality/make_set.py",
        "seed": args.seed,
        "options": {"no_festival": bool(args.no_festival)},
        "format": "mono WAV, float32 (subtype FLOAT); mixture == float32 sum of stems "
                  "added in listed order; paths relative to this file",
        "tool_versions": tool_versions(),
        "licences": {
            "FluidR3_GM": "MIT (fluid-soundfont-gm)",
            "TimGM6mb": "GPL-2 (timgm6mb-soundfont)",
            "fillets-ng-data-nl": "GPL-2",
            "sonic-pi-samples": "CC0 (freesound samples)",
            "espeak-ng": "GPL-3+ (synthesiser; its output is generated audio)",
            "festival/festvox-kallpc16k": "free licence of CSTR/Edinburgh and CMU "
                                         "(see /usr/share/doc/festvox-kallpc16k/copyright)",
            "generated arrangements": "CC0",
        },
        "items": items,
    }
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
    dt = time.time() - t0
    size = sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(out) for f in fs)
    n_m = sum(it["kind"] == "music" for it in items)
    print(f"built {len(items)} items ({n_m} music, {len(items) - n_m} speech) in {dt:.1f} s, "
          f"{size / 1e6:.1f} MB, in {out}")
    if not args.no_verify and not verify(out):
        sys.exit(1)


if __name__ == "__main__":
    main()
