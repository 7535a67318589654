"""Drum items of the quality benchmark set (kind ``"drums"``), used by make_set.py.

Each item is a 10 s drum loop at 44100 Hz with three stems, ``kick``, ``snare``
and ``hihat``; the mixture is their exact float32 sum. Half of the items are
rendered from the General MIDI drum kit (MIDI channel 10, ``is_drum=True`` in
pretty_midi) with fluidsynth and FluidR3_GM or TimGM6mb; the other half are
built from recorded one-shots of ``sonic-pi-samples`` (CC0) placed on the
same kind of seeded groove.

Requirements: the Debian packages fluidsynth, fluid-soundfont-gm,
timgm6mb-soundfont and sonic-pi-samples; pretty_midi, soundfile, soxr.
"""

from __future__ import annotations

import os
import subprocess
import tempfile

import numpy as np

import _sources as S

DRUM_SR = 44100
DRUM_SECONDS = 10.0
STEMS = ("kick", "snare", "hihat")

# General MIDI percussion keys (channel 10).
GM_KEYS = {"kick": (36, 35), "snare": (38, 40), "hihat_closed": 42, "hihat_pedal": 44,
           "hihat_open": 46}

# (source, detail): GM soundfont name, or a recorded kit of sonic-pi-samples names.
RECORDED_KITS = [
    {"kick": "drum_heavy_kick", "snare": "drum_snare_hard", "hihat": "drum_cymbal_closed"},
    {"kick": "bd_haus", "snare": "sn_dolf", "hihat": "drum_cymbal_pedal"},
    {"kick": "bd_tek", "snare": "sn_generic", "hihat": "drum_cymbal_closed"},
    {"kick": "bd_fat", "snare": "elec_snare", "hihat": "drum_cymbal_pedal"},
]
DRUM_ITEMS = [("gm", "FluidR3_GM"), ("recorded", 0), ("gm", "TimGM6mb"), ("recorded", 1),
              ("gm", "FluidR3_GM"), ("recorded", 2), ("gm", "TimGM6mb"), ("recorded", 3)]


def required_files():
    files = [S.SOUNDFONTS["FluidR3_GM"], S.SOUNDFONTS["TimGM6mb"], S.SONIC_PI_DIR]
    files += sorted({S.sonic_pi_sample(v) for kit in RECORDED_KITS for v in kit.values()})
    return files


def groove(rng, seconds):
    """A seeded rock/funk-style pattern: list of (stem, time_s, velocity, variant)."""
    bpm = float(np.round(rng.uniform(85, 130), 1))
    step = 60.0 / bpm / 4                      # sixteenth note
    n_steps = int(seconds / step) - 2
    sixteenths = rng.random() < 0.4            # hi-hat in 16ths, else 8ths
    extra_kicks = rng.choice([3, 6, 7, 10, 11, 14], size=2, replace=False)
    events = []

    def jitter():
        return float(rng.normal(0, 0.004))

    for i in range(n_steps):
        s = i % 16
        t0 = 0.05 + i * step
        # kick
        if s in (0, 8) or (s in extra_kicks and rng.random() < 0.6):
            events.append(("kick", t0 + jitter(), int(rng.integers(95, 121)), "main"))
        # snare: backbeat, ghost notes, a short fill every fourth bar
        if s in (4, 12):
            events.append(("snare", t0 + jitter(), int(rng.integers(95, 118)), "main"))
        elif (i // 16) % 4 == 3 and s in (13, 14, 15) and rng.random() < 0.7:
            events.append(("snare", t0 + jitter(), int(rng.integers(70, 100)), "main"))
        elif rng.random() < 0.08:
            events.append(("snare", t0 + jitter(), int(rng.integers(35, 55)), "ghost"))
        # hi-hat
        if sixteenths or s % 2 == 0:
            accent = s % 4 == 0
            vel = int(rng.integers(85, 110) if accent else rng.integers(50, 80))
            variant = "open" if s == 14 and rng.random() < 0.3 else "closed"
            events.append(("hihat", t0 + jitter(), vel, variant))
    return bpm, sixteenths, sorted(events, key=lambda e: e[1])


def render_gm(events, soundfont, seconds, rng):
    """Render each stem on its own with fluidsynth (GM drum kit, reverb/chorus off)."""
    import pretty_midi
    import soundfile as sf

    kick_key = GM_KEYS["kick"][int(rng.integers(2))]
    snare_key = GM_KEYS["snare"][int(rng.integers(2))]
    keys = {"kick": kick_key, "snare": snare_key}
    n = int(round(seconds * DRUM_SR))
    out = {}
    for stem in STEMS:
        pm = pretty_midi.PrettyMIDI(initial_tempo=120.0)
        inst = pretty_midi.Instrument(program=0, is_drum=True)
        for st, t, v, var in events:
            if st != stem:
                continue
            key = keys.get(stem) if stem != "hihat" else GM_KEYS["hihat_" + var]
            inst.notes.append(pretty_midi.Note(velocity=v, pitch=key, start=max(t, 0.0),
                                               end=max(t, 0.0) + 0.1))
        pm.instruments.append(inst)
        with tempfile.TemporaryDirectory(prefix="nmfaudio-drums-") as td:
            mid, wav = os.path.join(td, "d.mid"), os.path.join(td, "d.wav")
            pm.write(mid)
            cmd = ["fluidsynth", "-ni", "-q", "-R", "0", "-C", "0", "-g", "0.5", "-r",
                   str(DRUM_SR), "-O", "float", "-T", "wav", "-F", wav, S.SOUNDFONTS[soundfont], mid]
            res = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            if res.returncode != 0 or not os.path.exists(wav):
                raise RuntimeError(f"fluidsynth failed ({res.returncode}): {res.stderr.strip()}")
            x, sr_out = sf.read(wav, dtype="float64")
        x = S.to_mono(x)
        if sr_out != DRUM_SR:
            x = S.resample(x, sr_out, DRUM_SR)
        out[stem] = S.fit_length(x, n)
    return out, {"kick": kick_key, "snare": snare_key, "hihat": [42, 44, 46]}


def render_recorded(events, kit, seconds):
    """Place recorded one-shots on the groove; a new hi-hat hit chokes the previous one."""
    n = int(round(seconds * DRUM_SR))
    samples = {k: S.read_mono(S.sonic_pi_sample(v), DRUM_SR) for k, v in kit.items()}
    out = {k: np.zeros(n) for k in STEMS}
    hats = [(t, v, var) for st, t, v, var in events if st == "hihat"]
    for st, t, v, var in events:
        x = samples[st] * (v / 127.0) ** 1.5
        if st == "hihat":
            nxt = [h[0] for h in hats if h[0] > t]
            if var == "open":
                x = np.concatenate([x, x[::-1] * 0.3])  # a longer, washier hit
            if nxt:
                L = int((nxt[0] - t) * DRUM_SR)
                if L < len(x):
                    x = S.fade(x[:max(L, 16)], DRUM_SR, ms=3.0)
        a = int(round(max(t, 0.0) * DRUM_SR))
        b = min(n, a + len(x))
        out[st][a:b] += x[:b - a]
    return out


def build_drum_item(idx, source, detail, rng, out, write_f32):
    item_id = f"drums-{idx:02d}"
    d = os.path.join(out, item_id)
    bpm, sixteenths, events = groove(rng, DRUM_SECONDS)
    if source == "gm":
        raw, keys = render_gm(events, detail, DRUM_SECONDS, rng)
        src = {"kind": "General MIDI drum kit (channel 10) rendered with fluidsynth, reverb and "
                       "chorus off", "soundfont": detail, "gm_keys": keys}
    else:
        kit = RECORDED_KITS[detail]
        raw = render_recorded(events, kit, DRUM_SECONDS)
        src = {"kind": "recorded one-shots from sonic-pi-samples (CC0)",
               "samples": {k: v + ".flac" for k, v in kit.items()}}
    gains_db = [float(np.round(rng.uniform(-3, 3), 2)) for _ in STEMS]
    stems = [raw[k] / S.rms(raw[k]) * 10 ** (g / 20) for k, g in zip(STEMS, gains_db)]
    q, mix, _ = S.mix_float32(stems, peak=0.8)
    rel = lambda p: os.path.relpath(p, out)  # noqa: E731
    write_f32(os.path.join(d, "mixture.wav"), mix, DRUM_SR)
    stem_paths = {}
    for k, s in zip(STEMS, q):
        p = os.path.join(d, "stems", k + ".wav")
        write_f32(p, s, DRUM_SR)
        stem_paths[k] = rel(p)
    counts = {k: sum(e[0] == k for e in events) for k in STEMS}
    return {
        "id": item_id, "kind": "drums", "sample_rate": DRUM_SR, "duration_s": DRUM_SECONDS,
        "mixture": rel(os.path.join(d, "mixture.wav")), "stems": stem_paths, "train": {},
        "snr_db": None, "soundfont": detail if source == "gm" else None, "mismatch": False,
        "drums": {k: {"gain_db": g, "n_hits": counts[k]} for k, g in zip(STEMS, gains_db)},
        "sources": {"groove": {"bpm": bpm, "hihat": "16ths" if sixteenths else "8ths"}, **src},
    }
