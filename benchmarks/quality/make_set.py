#!/usr/bin/env python3
"""Build the nmfaudio quality benchmark set, offline and deterministically.

The set has a ``tune`` and a ``test`` part defined by ``split.json`` (beside
this file): they share no voice, babble talker, noise recording or instrument
rendering (soundfont + GM program), and their MIDI pieces come from separate
random streams. Choose settings on ``tune``; report on ``test``.

Requirements (Debian 12, Python 3.11): the script installs missing Debian
packages itself with ``apt-get update && apt-get install`` (needs root;
``--no-install`` only checks and stops with the list), and pip-installs
pretty_midi into the running environment if it is missing. Never run it in CI.

    python benchmarks/quality/make_set.py [--seed 0] [--out benchmarks/quality/data]
    python benchmarks/quality/make_set.py --verify-only [--out ...]

About 36 speech items (6 s, 22050 Hz, 0/5/10 dB SNR) and 12 music items
(10 s, 2-3 instruments, with training clips of each instrument playing other
notes) are written to ``--out`` (default ``benchmarks/quality/data/``, which is
gitignored) with ``manifest.json``; ``--drums`` adds the 8 drum items. Every
mixture is the exact float32 sum of its stems, added in the order the stems
are listed in the manifest; the build checks this at the end.
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
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, ROOT)  # the repository root: _sources imports audio_fixtures._synth

import _sources as S  # noqa: E402
import _drums  # noqa: E402
import _split_sources as V  # noqa: E402

MANIFEST_VERSION = 1
MUSIC_SR = 22050
SPEECH_SR = 22050
MUSIC_SECONDS = 10.0
MUSIC_TRAIN_SECONDS = 10.0
SPEECH_SECONDS = 6.0
SPEECH_TRAIN_SECONDS = 4.0
NOISE_TRAIN_SECONDS = 4.0
N_MUSIC_PER_PART = 6
N_SPEECH_PER_PART = 18
SPLIT_FILE = os.path.join(HERE, "split.json")
APT_PACKAGES = ["fluidsynth", "fluid-soundfont-gm", "timgm6mb-soundfont", "csound-soundfont",
                "fillets-ng-data-nl", "fillets-ng-data-cs", "klettres-data", "espeak-ng",
                "festival", "festvox-kallpc16k", "festvox-kdlpc16k", "festvox-us-slt-hts",
                "sonic-pi-samples", "hydrogen-drumkits"]

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

# Instruments beyond _sources.INSTRUMENTS (programs of the tune part's FluidR3_GM renderings).
EXTRA_INSTRUMENTS = {
    "epiano":        S.InstrumentSpec("epiano", 4, "chords", 48, 79, 85),
    "vibraphone":    S.InstrumentSpec("vibraphone", 11, "melody", 60, 86, 95),
    "reed_organ":    S.InstrumentSpec("reed_organ", 20, "chords", 48, 74, 80),
    "steel_guitar":  S.InstrumentSpec("steel_guitar", 25, "arpeggio", 45, 71, 95),
    "fingered_bass": S.InstrumentSpec("fingered_bass", 33, "bass", 28, 48, 100),
    "viola":         S.InstrumentSpec("viola", 41, "line", 48, 72, 95),
    "strings2":      S.InstrumentSpec("strings2", 49, "chords", 48, 76, 80),
    "horn":          S.InstrumentSpec("horn", 60, "line", 41, 65, 95),
    "alto_sax":      S.InstrumentSpec("alto_sax", 65, "melody", 56, 80, 95),
}
S.INSTRUMENTS.update(EXTRA_INSTRUMENTS)
ROLE_GROUP = {"chords": "harmony", "arpeggio": "harmony", "melody": "melody",
              "bass": "low", "line": "low"}


def load_split(path=SPLIT_FILE):
    with open(path) as f:
        return json.load(f)


def _pools(programs):
    """harmony / melody / low instrument names among the given GM programs."""
    by_prog = {spec.program: name for name, spec in S.INSTRUMENTS.items()}
    pools = {"harmony": [], "melody": [], "low": []}
    for p in programs:
        name = by_prog[p]
        pools[ROLE_GROUP[S.INSTRUMENTS[name].role]].append(name)
    return pools


def choose_music_items(split, part, rng):
    """(instrument names, soundfont) of each music item of ``part``: one harmony and
    one melody instrument, plus a low one in two out of three items. Renderings
    (soundfont + program) come only from the part's list in split.json."""
    rends = split["music"][part]["renderings"]
    pools = [{k: [v[j] for j in rng.permutation(len(v))] for k, v in _pools(r["programs"]).items()}
             for r in rends]
    items = []
    for i in range(N_MUSIC_PER_PART):
        r, k = i % len(rends), i // len(rends)     # k-th item of rendering r
        p = pools[r]
        nh = len(p["harmony"])
        names = [p["harmony"][k % nh], p["melody"][(k + k // nh) % len(p["melody"])]]
        if i % 3 != 0:
            names.append(p["low"][(i // 3) % len(p["low"])])
        items.append((names, rends[r]["soundfont"]))
    return items


def speech_plan(split, part):
    """(voice, noise, SNR) of each speech item of ``part``."""
    sp = split["speech"][part]
    noises = list(sp["noise_recordings"]) + list(sp["synthetic_noises"])
    snrs = split["speech"]["snr_db"]
    plan = []
    for i in range(N_SPEECH_PER_PART):
        plan.append((sp["voices"][i % len(sp["voices"])], noises[i % len(noises)],
                     float(snrs[(i + i // len(noises)) % len(snrs)])))
    return plan


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

def build_music_item(item_id, part, names, sf_mix, rng, out):
    sf_train = sf_mix
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
        "id": item_id, "kind": "music", "part": part, "sample_rate": MUSIC_SR,
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

def build_speech_item(item_id, part, voice, noise_kind, snr_db, rng, pool, split, out):
    d = os.path.join(out, item_id)
    clean, sdesc = pool.take(voice, SPEECH_SECONDS)
    train_speech, tdesc = pool.take(voice, SPEECH_TRAIN_SECONDS)
    noise, train_noise, ndesc = V.make_noise(noise_kind, split["speech"][part], SPEECH_SR,
                                             SPEECH_SECONDS, NOISE_TRAIN_SECONDS, rng, pool)
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
        "id": item_id, "kind": "speech", "part": part, "sample_rate": SPEECH_SR,
        "duration_s": SPEECH_SECONDS, "mixture": rel(paths["mixture"]),
        "stems": {"speech": rel(paths["speech"]), "noise": rel(paths["noise"])},
        "train": {"speech": rel(paths["train_speech"]), "noise": rel(paths["train_noise"])},
        "train_duration_s": {"speech": SPEECH_TRAIN_SECONDS,
                             "noise": round(len(tn) / SPEECH_SR, 3)},
        "snr_db": snr_db, "snr_db_measured": round(float(measured), 4),
        "soundfont": None, "mismatch": False,
        "speech_source": voice, "noise_type": noise_kind,
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
                              *APT_PACKAGES],
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
        if re.fullmatch(r"(music|speech|drums)-((tune|test)-)?\d\d", name) and os.path.isdir(p):
            shutil.rmtree(p)
        elif name == "manifest.json":
            os.remove(p)


def ensure_dependencies(install=True):
    """apt-get the missing Debian packages (after apt-get update) and pip-install
    pretty_midi if needed; with ``install=False`` only report what is missing."""
    out = subprocess.run(["dpkg-query", "-W", "-f=${Package} ${Status}\\n", *APT_PACKAGES],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True).stdout
    # "unknown ok not-installed" also ends with "installed": compare the whole status
    have = {ln.split()[0] for ln in out.splitlines() if ln.endswith(" ok installed")}
    missing = [p for p in APT_PACKAGES if p not in have]
    if missing:
        if not install:
            sys.exit("missing Debian packages: " + " ".join(missing))
        print("installing with apt-get:", " ".join(missing), flush=True)
        subprocess.run(["apt-get", "update", "-q"], check=True, stdout=subprocess.DEVNULL)
        subprocess.run(["apt-get", "install", "-y", "-q", "--no-install-recommends", *missing],
                       check=True, stdout=subprocess.DEVNULL)
    try:
        import pretty_midi  # noqa: F401
    except ImportError:
        if not install:
            sys.exit("missing Python package pretty_midi (pip install pretty_midi)")
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "pretty_midi"], check=True)


def build_part(split, part, rng_music, rng_speech, out, items):
    for i, (names, sf) in enumerate(choose_music_items(split, part, rng_music)):
        it = build_music_item(f"music-{part}-{i:02d}", part, names, sf, rng_music, out)
        items.append(it)
        print(f"  {it['id']}: {'+'.join(names):32s} {sf}", flush=True)
    pool = V.VoicePool(rng_speech, SENTENCES, SPEECH_SR)
    for i, (voice, noise, snr) in enumerate(speech_plan(split, part)):
        it = build_speech_item(f"speech-{part}-{i:02d}", part, voice, noise, snr, rng_speech,
                               pool, split, out)
        items.append(it)
        print(f"  {it['id']}: {voice:26s} + {noise:32s} SNR {snr:4.1f} dB", flush=True)


def main(argv=None):
    ap = argparse.ArgumentParser(description="Build the nmfaudio quality benchmark set.")
    ap.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    ap.add_argument("--out", default=os.path.join(HERE, "data"),
                    help="output folder (default benchmarks/quality/data)")
    ap.add_argument("--drums", action="store_true", help="also build the 8 drum items")
    ap.add_argument("--no-install", action="store_true",
                    help="never run apt-get or pip; stop if something is missing")
    ap.add_argument("--no-verify", action="store_true", help="skip the check after building")
    ap.add_argument("--verify-only", action="store_true",
                    help="only check an existing set in --out (mixture == sum of stems, SNRs)")
    args = ap.parse_args(argv)
    out = os.path.abspath(args.out)

    if args.verify_only:
        sys.exit(0 if verify(out) else 1)
    ensure_dependencies(install=not args.no_install)
    split = load_split()

    t0 = time.time()
    os.makedirs(out, exist_ok=True)
    clean_out(out)
    # Independent random streams per part and kind: the tune part's pieces,
    # lines and noise realisations never depend on the test part's.
    ss = np.random.SeedSequence(args.seed)
    streams = [np.random.default_rng(s) for s in ss.spawn(5)]
    items = []
    build_part(split, "tune", streams[0], streams[1], out, items)
    build_part(split, "test", streams[2], streams[3], out, items)
    if args.drums:
        for i, (source, detail) in enumerate(_drums.DRUM_ITEMS):
            it = _drums.build_drum_item(i, source, detail, streams[4], out, write_f32)
            items.append(it)
            print(f"  {it['id']}: kick+snare+hihat from {source} {detail}", flush=True)

    manifest = {
        "version": MANIFEST_VERSION,
        "generator": "benchmarks/quality/make_set.py",
        "seed": args.seed,
        "options": {"drums": bool(args.drums)},
        "split": "benchmarks/quality/split.json",
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
            "fillets-ng-data-cs": "GPL-2",
            "klettres-data, hydrogen-drumkits, csound-soundfont, festvox-kdlpc16k, "
            "festvox-us-slt-hts": "free licences, see /usr/share/doc/<package>/copyright",
            "generated arrangements": "CC0",
        },
        "items": items,
    }
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
    dt = time.time() - t0
    size = sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(out) for f in fs)
    n_m = sum(it["kind"] == "music" for it in items)
    n_d = sum(it["kind"] == "drums" for it in items)
    print(f"built {len(items)} items ({n_m} music, {len(items) - n_m - n_d} speech, {n_d} drums) "
          f"in {dt:.1f} s, "
          f"{size / 1e6:.1f} MB, in {out}")
    if not args.no_verify and not verify(out):
        sys.exit(1)


if __name__ == "__main__":
    main()
