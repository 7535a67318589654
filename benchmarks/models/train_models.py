"""Train the bundled instrument / speech models of ``nmfaudio.models``.

Renders training material that the quality benchmark's test part never uses
(TimGM6mb and the csound GM bank, never FluidR3_GM or soundfonts derived from it;
hydrogen drum kits and sonic-pi drum samples; espeak-ng / festival voices that
benchmarks/quality/split.json does not put in its test part), learns templates
with :func:`nmfaudio.nmf` (instruments: one per note, from each note rendered alone; drums and
speech: one NMF on all the material, barely used templates pruned) and writes
``nmfaudio/models/<name>.npz`` plus ``nmfaudio/models/index.json``.

Needs (installed by ``--install``, which runs apt-get update first)::

    apt-get install fluidsynth timgm6mb-soundfont csound-soundfont hydrogen-drumkits \
        sonic-pi-samples espeak-ng festival festvox-kallpc16k
    pip install pretty_midi          # benchmark-only, not a dependency of nmfaudio

Usage (the defaults rebuild the shipped library: instruments note-wise, one template per note;
drums and speech by one NMF with K = 64)::

    python benchmarks/models/train_models.py [--install] [--only piano,bass] [--recipe notes|nmf]
        [--per-note 1] [--split] [--components 64] [--soundfonts "csound GM bank"] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
import nmfaudio  # noqa: E402
from nmfaudio.dictionary import default_stft, spectrogram  # noqa: E402
from nmfaudio.models import store  # noqa: E402

SR = 22050
OUT = ROOT / "nmfaudio" / "models"
APT = ["fluidsynth", "timgm6mb-soundfont", "csound-soundfont", "hydrogen-drumkits", "sonic-pi-samples",
       "espeak-ng", "festival", "festvox-kallpc16k"]
SOUNDFONTS = {
    "TimGM6mb": ("/usr/share/sounds/sf2/TimGM6mb.sf2", "timgm6mb-soundfont", "GPL-2 (Tim Brechbill)"),
    "csound GM bank": ("/usr/share/sounds/sf2/sf_GMbank.sf2", "csound-soundfont", "LGPL-2.1+ (Csound developers)"),
}
FORBIDDEN = ("fluidr3", "musescore", "generaluser")  # the benchmark's test soundfont and its derivatives

# name: (kind, GM program, lowest MIDI note, highest MIDI note)
INSTRUMENTS = {
    "piano": ("instrument", 0, 21, 108), "electric-piano": ("instrument", 4, 28, 103),
    "organ": ("instrument", 19, 36, 96), "guitar": ("instrument", 24, 40, 86),
    "bass": ("instrument", 32, 28, 67), "violin": ("instrument", 40, 55, 100),
    "cello": ("instrument", 42, 36, 76), "strings": ("instrument", 48, 28, 96),
    "trumpet": ("instrument", 56, 54, 86), "saxophone": ("instrument", 65, 49, 81),
    "clarinet": ("instrument", 71, 50, 91), "flute": ("instrument", 73, 60, 96),
    "marimba": ("instrument", 12, 45, 96),
}
VELOCITIES = (40, 80, 120)
# Test voices and babble talkers of the benchmark are excluded by reading split.json;
# these are the espeak-ng voice+variant pairs the speech model may use.
ESPEAK = ["en-us+m1", "en-us+m2", "en-us+m4", "en-us+f1", "en-us+f3", "en-us+f5", "en-gb+m2", "en-gb+m3",
          "en-gb+f1", "en-gb+f2", "en+m4", "en+f5", "de+m2", "de+f1", "fr+m3", "fr+f2", "nl+m6", "nl+f3",
          "es+m1", "it+f4", "pl+m3", "sv+f1"]
SENTENCES = [
    "The quick brown fox jumps over the lazy dog while the band keeps playing.",
    "Please call Stella and ask her to bring these things with her from the store.",
    "Six spoons of fresh snow peas, five thick slabs of blue cheese, and maybe a snack.",
    "We also need a small plastic snake and a big toy frog for the kids.",
    "She can scoop these things into three red bags, and we will go meet her Wednesday.",
    "One, two, three, four, five, six, seven, eight, nine, ten.",
]


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kw)


def install():
    sh(["apt-get", "update"])
    sh(["apt-get", "install", "-y", *APT], env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})


def read(path, sr=SR):
    y, fs = sf.read(str(path), dtype="float32", always_2d=True)
    y = y.mean(axis=1)
    if fs != sr:
        y = soxr.resample(y, fs, sr).astype(np.float32)
    return y


def render(pm, sf2, tmp):
    assert not any(f in sf2.lower() for f in FORBIDDEN), sf2
    mid, wav = Path(tmp) / "x.mid", Path(tmp) / "x.wav"
    pm.write(str(mid))
    sh(["fluidsynth", "-ni", "-R", "0", "-C", "0", "-g", "0.6", "-r", str(SR), "-F", str(wav), sf2, str(mid)])
    return read(wav)


def instrument_midi(program, lo, hi, *, drum=False, notes=None):
    """Chromatic scale over [lo, hi] and chords (triads, fifths) at several velocities."""
    import pretty_midi

    pm = pretty_midi.PrettyMIDI()
    inst = pretty_midi.Instrument(program=program, is_drum=drum)
    t = 0.0
    for vel in VELOCITIES:
        for p in (notes if notes is not None else range(lo, hi + 1)):
            dur = 0.25 if drum else 0.6
            inst.notes.append(pretty_midi.Note(velocity=vel, pitch=p, start=t, end=t + dur))
            t += dur + 0.1
        if drum:
            continue
        for root in range(lo, hi - 6, 5):
            for iv in ((0, 4, 7), (0, 3, 7), (0, 7, 12) if root + 12 <= hi else (0, 7)):
                for q in iv:
                    if root + q <= hi:
                        inst.notes.append(pretty_midi.Note(velocity=vel, pitch=root + q, start=t, end=t + 0.8))
                t += 0.95
    pm.instruments.append(inst)
    return pm


#: Note-wise recipe: each note alone, this long (s), then this much silence (s) for its release.
NOTE_DUR, NOTE_GAP = 0.6, 0.4


def note_midi(program, lo, hi):
    """Every note of [lo, hi] alone at every velocity; returns (PrettyMIDI, [(pitch, start, end)])."""
    import pretty_midi

    pm = pretty_midi.PrettyMIDI()
    inst = pretty_midi.Instrument(program=program)
    notes, t = [], 0.2
    for vel in VELOCITIES:
        for p in range(lo, hi + 1):
            inst.notes.append(pretty_midi.Note(velocity=vel, pitch=p, start=t, end=t + NOTE_DUR))
            notes.append((p, t, t + NOTE_DUR + NOTE_GAP))
            t += NOTE_DUR + NOTE_GAP
    pm.instruments.append(inst)
    return pm, notes


def note_material(name, tmp, soundfonts):
    """``{pitch: [spectrogram of that note alone, per soundfont and velocity]}`` and the material text."""
    kind, program, lo, hi = INSTRUMENTS[name]
    params = default_stft(SR)
    per_note, material, licences = {}, [], []
    for sf_name in soundfonts:
        path, pkg, lic = SOUNDFONTS[sf_name]
        pm, notes = note_midi(program, lo, hi)
        V = spectrogram(render(pm, path, tmp), stft_params=params)[1]
        fps = SR / params.hop_length
        for p, a, b in notes:
            seg = V[:, int(a * fps): int(b * fps)]
            per_note.setdefault(p, []).append(seg[:, seg.sum(axis=0) > 1e-3 * seg.sum(axis=0).max()])
        material.append(f"{sf_name} ({pkg}) GM program {program}: every note of MIDI {lo}-{hi} alone, "
                        f"velocities {'/'.join(map(str, VELOCITIES))}, rendered with fluidsynth")
        licences.append(f"{sf_name}: {lic}")
    return per_note, material, licences


def learn_notes(name, kind, per_note, material, licences, per_note_k, max_iter=60, split=False):
    """Note-wise templates: a small NMF (``per_note_k`` templates) on each note's frames alone
    (with ``split``, on each rendering of the note -- soundfont and velocity -- alone)."""
    params = default_stft(SR)
    cols = []
    for p in sorted(per_note):
        for seg in (per_note[p] if split else [np.concatenate(per_note[p], axis=1)]):
            res = nmfaudio.nmf(np.ascontiguousarray(seg), per_note_k, beta=0.5, max_iter=max_iter,
                               random_state=p)
            cols.append(res.W / np.maximum(res.W.sum(axis=0), 1e-20))
    W = np.concatenate(cols, axis=1)
    info = {"kind": kind, "training_material": material, "licence": "; ".join(licences),
            "train_seconds": round(sum(s.shape[1] for v in per_note.values() for s in v)
                                   * params.hop_length / SR, 1),
            "n_frames": int(sum(s.shape[1] for v in per_note.values() for s in v)),
            "learned_components": int(W.shape[1]), "pruned": 0, "recipe": f"notes, {per_note_k} per note" + (" and rendering" if split else ""),
            "trained_by": "benchmarks/models/train_models.py"}
    return nmfaudio.SourceDictionary(name=name, W=W.astype(np.float32), sr=SR, stft=params, beta=0.5,
                                     power=1.0, info=info)


def instrument_material(name, tmp, soundfonts=tuple(SOUNDFONTS)):
    kind, program, lo, hi = INSTRUMENTS[name]
    clips, material, licences = [], [], []
    for sf_name in soundfonts:
        path, pkg, lic = SOUNDFONTS[sf_name]
        clips.append(render(instrument_midi(program, lo, hi), path, tmp))
        material.append(f"{sf_name} ({pkg}) GM program {program}: chromatic MIDI {lo}-{hi} and triads/fifths, "
                        f"velocities {'/'.join(map(str, VELOCITIES))}, rendered with fluidsynth")
        licences.append(f"{sf_name}: {lic}")
    return clips, material, licences


def drum_material(name, tmp):
    clips, material, licences = [], [], []
    gm_drums = list(range(35, 82))
    for sf_name, (path, pkg, lic) in SOUNDFONTS.items():
        clips.append(render(instrument_midi(0, 35, 81, drum=True, notes=gm_drums), path, tmp))
        material.append(f"{sf_name} ({pkg}) GM drum kit, notes 35-81 at 3 velocities")
        licences.append(f"{sf_name}: {lic}")
    kits = {"Millo-Drums_v.1": "GPL-2 (Emiliano Grilli)", "BJA_Pacific": "CC-BY-SA-3.0-us (Luc Tunguay)",
            "Audiophob": "CC0", "ElectricEmpireKit": "GPL-2+ (Artemiy Pavlov)"}
    base = Path("/usr/share/hydrogen/data/drumkits")
    for kit, lic in kits.items():
        files = sorted(p for p in (base / kit).iterdir() if p.suffix.lower() in (".flac", ".wav"))
        clips.extend(read(p)[: 2 * SR] for p in files if "empty" not in p.name.lower())
        material.append(f"hydrogen-drumkits {kit} ({len(files)} samples)")
        licences.append(f"hydrogen-drumkits {kit}: {lic}")
    drums = sorted(Path("/usr/share/sonic-pi/samples").glob("drum_*.flac"))
    clips.extend(read(p)[: 2 * SR] for p in drums)
    material.append(f"sonic-pi-samples drum_* ({len(drums)} recordings)")
    licences.append("sonic-pi-samples drum_*: CC0 (freesound contributors)")
    return clips, material, licences


def test_voices():
    split = ROOT / "benchmarks" / "quality" / "split.json"
    if not split.exists():
        out = subprocess.run(["git", "-C", str(ROOT), "show", "bench:benchmarks/quality/split.json"],
                             capture_output=True, text=True)
        data = json.loads(out.stdout) if out.returncode == 0 else None
    else:
        data = json.loads(split.read_text())
    if data is None:
        raise SystemExit("benchmarks/quality/split.json not found: cannot exclude the test voices")
    test = data["speech"]["test"]
    return set(test["voices"]) | set(test["babble_talkers"])


def speech_material(name, tmp):
    banned = test_voices()
    clips, used = [], []
    wav = Path(tmp) / "s.wav"
    for i, voice in enumerate(ESPEAK):
        if f"espeak:{voice}" in banned:
            continue
        text = " ".join(SENTENCES[i % 6: i % 6 + 3])
        sh(["espeak-ng", "-v", voice, "-s", "150", "-w", str(wav), text])
        clips.append(read(wav))
        used.append(voice)
    material = [f"espeak-ng (espeak-ng-data) voices {', '.join(used)}: English sentences"]
    licences = ["espeak-ng-data: GPL-3+"]
    if "festival:kal_diphone" not in banned:
        (Path(tmp) / "t.txt").write_text(" ".join(SENTENCES))
        sh(["text2wave", "-o", str(wav), "-eval", "(voice_kal_diphone)", str(Path(tmp) / "t.txt")])
        clips.append(read(wav))
        material.append("festival voice kal_diphone (festvox-kallpc16k): the same sentences")
        licences.append("festvox-kallpc16k: festvox licence (BSD-style, free use with attribution)")
    material.append("no voice or babble talker of the test part of benchmarks/quality/split.json")
    return clips, material, licences


VOICE_SECONDS = 30.0
VOICE_K = 8


def voices_material():
    """Per-voice clips for the universal speech model: no voice of split.json (tune or test).

    The voices are those of ``benchmarks/quality/usm.py`` (klettres native speakers of the
    languages the split does not use, and the espeak-ng voices of the ``speech`` model).
    """
    sys.path.insert(0, str(ROOT / "benchmarks" / "quality"))
    import usm
    from _split_sources import VoicePool

    pool = VoicePool(np.random.default_rng(0), usm.SENTENCES * 4, SR)
    names = usm.voices()
    clips = [pool.take(v, VOICE_SECONDS)[0].astype(np.float32) for v in names]
    kl = [v.split(":")[1] for v in names if v.startswith("klettres:")]
    es = [v.split(":")[1] for v in names if v.startswith("espeak:")]
    material = [f"klettres-data: letters and syllables read by native speakers, languages {', '.join(kl)}",
                f"espeak-ng (espeak-ng-data) voices {', '.join(es)}: English sentences",
                f"{VOICE_SECONDS:g} s per voice; no voice or babble talker of the tune or test part of "
                "benchmarks/quality/split.json"]
    licences = ["klettres-data: GPL-2+", "espeak-ng-data: GPL-3+"]
    return names, clips, material, licences


def learn_voices(name, names, clips, material, licences, K=VOICE_K, max_iter=200):
    """One KL-NMF block of K templates per voice (the universal speech model of denoise)."""
    params = default_stft(SR)
    Ws, blocks, frames = [], [], 0
    for i, x in enumerate(clips):
        V = spectrogram(x, stft_params=params)[1]
        e = V.sum(axis=0)
        V = np.ascontiguousarray(V[:, e > 1e-3 * np.median(e[e > 0])])
        frames += V.shape[1]
        res = nmfaudio.nmf(V, K, beta=1.0, max_iter=max_iter, random_state=0)
        Ws.append(res.W / np.maximum(res.W.sum(axis=0, keepdims=True), 1e-12))
        blocks += [i] * K
    info = {"kind": "speech", "training_material": material, "licence": "; ".join(licences),
            "train_seconds": round(sum(len(c) for c in clips) / SR, 1), "n_frames": frames,
            "recipe": f"voices, K={K} per voice ({len(names)} voices)", "voices": names, "blocks": blocks,
            "trained_by": "benchmarks/models/train_models.py"}
    return nmfaudio.SourceDictionary(name=name, W=np.concatenate(Ws, axis=1).astype(np.float32), sr=SR,
                                     stft=params, beta=1.0, power=1.0, info=info)


def learn(name, kind, clips, material, licences, K, max_iter):
    params = default_stft(SR)
    V = np.concatenate([spectrogram(c, stft_params=params)[1] for c in clips], axis=1)
    keep = V.sum(axis=0) > 1e-3 * np.median(V.sum(axis=0)[V.sum(axis=0) > 0])  # drop silent frames
    V = np.ascontiguousarray(V[:, keep])
    res = nmfaudio.nmf(V, K, beta=0.5, max_iter=max_iter, random_state=0)
    W, H = res.W.astype(np.float64), res.H
    use = W.sum(axis=0) * H.sum(axis=1)
    alive = use > 0.002 * use.sum()  # prune templates carrying < 0.2 % of the energy
    W = W[:, alive] / W[:, alive].sum(axis=0)
    info = {"kind": kind, "training_material": material, "licence": "; ".join(licences),
            "train_seconds": round(sum(len(c) for c in clips) / SR, 1), "n_frames": int(V.shape[1]),
            "learned_components": K, "pruned": int((~alive).sum()), "n_iter": res.n_iter,
            "loss": round(float(res.loss), 3), "trained_by": "benchmarks/models/train_models.py"}
    d = nmfaudio.SourceDictionary(name=name, W=W.astype(np.float32), sr=SR, stft=params, beta=0.5,
                                  power=1.0, info=info)
    return d


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--install", action="store_true", help="apt-get update + install the material packages")
    ap.add_argument("--only", default="", help="comma-separated model names (default: all)")
    ap.add_argument("--components", type=int, default=64, help="K of the nmf recipe (drums, speech)")
    ap.add_argument("--max-iter", type=int, default=150)
    ap.add_argument("--out", default=str(OUT))
    ap.add_argument("--soundfonts", default=",".join(SOUNDFONTS),
                    help="comma-separated training soundfonts (default all; fewer for cross-validation)")
    ap.add_argument("--recipe", default="notes", choices=("nmf", "notes"),
                    help="instruments: notes (default; --per-note templates per note) or nmf (one NMF "
                         "with --components on all the material); drums and speech always use nmf")
    ap.add_argument("--per-note", type=int, default=1)
    ap.add_argument("--split", action="store_true",
                    help="notes recipe: templates per rendering of a note (soundfont, velocity), not pooled")
    args = ap.parse_args(argv)
    soundfonts = [s for s in args.soundfonts.split(",") if s]
    if not set(soundfonts) <= set(SOUNDFONTS):
        raise SystemExit(f"--soundfonts: expected names from {list(SOUNDFONTS)}")
    if args.install:
        install()
    names = [*INSTRUMENTS, "drums", "speech", "speech-voices"]
    if args.only:
        names = [n for n in args.only.split(",") if n]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            if name == "speech-voices":
                d = learn_voices(name, *voices_material())
            elif name == "drums":
                kind, mat = "instrument", drum_material(name, tmp)
            elif name == "speech":
                kind, mat = "speech", speech_material(name, tmp)
            elif args.recipe == "notes":
                d = learn_notes(name, INSTRUMENTS[name][0], *note_material(name, tmp, soundfonts),
                                per_note_k=args.per_note, split=args.split)
            else:
                kind, mat = INSTRUMENTS[name][0], instrument_material(name, tmp, soundfonts)
            if name in ("drums", "speech") or (args.recipe == "nmf" and name != "speech-voices"):
                d = learn(name, kind, *mat, K=args.components, max_iter=args.max_iter)
            path = store.write_model(d, out / f"{name}.npz")
            print(f"{name:15s} K={d.n_components:3d} ({d.info.get('pruned', 0)} pruned) "
                  f"{d.info['train_seconds']:7.1f} s of audio  {path.stat().st_size / 1024:6.1f} KiB", flush=True)
    index = store.write_index(out)
    if out.resolve() == OUT.resolve():
        write_models_md(index)


def write_models_md(index_path):
    """MODELS.md: the human-readable index (generated from index.json)."""
    models = json.loads(Path(index_path).read_text())["models"]
    lines = ["# Bundled models", "",
             "Generated by `benchmarks/models/train_models.py` (do not edit by hand). Each model is a",
             "`SourceDictionary` (`nmfaudio.load_model(name)`); W is stored as float16 (column peak 1) and",
             "returned as float32 with unit-sum columns. No model is trained on FluidR3_GM (the quality",
             "benchmark's music test soundfont) or on a voice, babble talker or noise recording of the test",
             "part of `benchmarks/quality/split.json`.", "",
             "Recipes: `notes, 1 per note` -- every note of the instrument's range rendered alone at",
             "velocities 40/80/120 from each soundfont, one β = 0.5 NMF template per note learned on all",
             "renderings of that note pooled (`--recipe notes --per-note 1`); `nmf, K=64` -- one NMF with",
             "K = 64 on all the material, templates carrying < 0.2 % of the energy pruned; `voices, K=8",
             "per voice` -- one KL-NMF dictionary of 8 templates per voice on 30 s of it, the blocks",
             "concatenated (`info[\"blocks\"]` names each template's voice): the universal speech model",
             "that `denoise` fits beside its free speech templates (`nmfaudio/_usm.py`).", "",
             "| name | kind | sr | K | recipe | size | seconds of training audio |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for m in models:
        lines.append(f"| {m['name']} | {m['kind']} | {m['sr']} | {m['n_components']} | {m.get('recipe', '')} | "
                     f"{m['bytes'] / 1024:.0f} KiB | {m['train_seconds']} |")
    lines += ["", f"Total: {sum(m['bytes'] for m in models) / 1024 / 1024:.2f} MiB.", ""]
    for m in models:
        lines += [f"## {m['name']}", "", "Trained on:", ""] + [f"- {x}" for x in m["training_material"]]
        lines += ["", f"Licence of the material: {m['licence']}", ""]
    (Path(index_path).parent / "MODELS.md").write_text("\n".join(lines))


if __name__ == "__main__":
    main()
