#!/usr/bin/env python3
"""Regenerate the small committed audio fixtures in ``audio_fixtures/``.

Requirements (Debian 12, Python 3.11):
    apt-get update && apt-get install -y fluidsynth fluid-soundfont-gm \
        fillets-ng-data-nl sonic-pi-samples
    pip install pretty_midi soundfile numpy scipy soxr

Usage:
    python audio_fixtures/make_fixtures.py [--out audio_fixtures]

The output is deterministic (fixed seed ``SEED``); re-running it on the
same package versions reproduces the committed files bit for bit.

Music (22050 Hz, mono, 16-bit PCM):
    music/mix.wav, music/piano.wav, music/flute.wav   ~5 s, mix == piano + flute
    music/train/piano.wav, music/train/flute.wav       ~5 s, other notes
Speech (16000 Hz, mono, 16-bit PCM):
    speech/noisy.wav, speech/clean.wav, speech/noise.wav   ~4 s, 5 dB SNR,
        noisy == clean + noise
    speech/train/speech.wav  other lines of the same speaker, ~4 s
    speech/train/noise.wav   a different excerpt of the same recording, ~3 s

"Exact sum" means: read back as int16, mix == stem_1 + stem_2 sample for
sample (the stems are quantised first and the mix is their integer sum).
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np
import soundfile as sf

import _synth as S  # audio_fixtures/_synth.py, beside this script (Python puts its folder on sys.path)

HERE = os.path.dirname(os.path.abspath(__file__))

SEED = 20240611
MUSIC_SR = 22050
SPEECH_SR = 16000
MUSIC_SECONDS = 5.0
SPEECH_SECONDS = 4.0
TRAIN_SPEECH_SECONDS = 4.0
TRAIN_NOISE_SECONDS = 3.0
SNR_DB = 5.0
SPEAKER = "v"                    # Fish Fillets "big fish" (Dutch voice acting)
NOISE_SAMPLE = "vinyl_hiss"      # sonic-pi-samples, CC0 recording (8 s, 44.1 kHz)


def write16(path: str, x: np.ndarray, sr: int):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    assert x.dtype == np.int16
    sf.write(path, x, sr, subtype="PCM_16")


def to_int16(x: np.ndarray) -> np.ndarray:
    q = np.round(x * 32767)
    if np.max(np.abs(q)) > 32767:
        raise ValueError("clip")
    return q.astype(np.int16)


def make_music(out: str, rng: np.random.Generator):
    sf2 = S.SOUNDFONTS["FluidR3_GM"]
    piano, flute = S.INSTRUMENTS["piano"], S.INSTRUMENTS["flute"]

    piece = S.random_piece(rng, MUSIC_SECONDS)
    stems = [S.render_notes(S.write_part(piece, spec, rng, MUSIC_SECONDS), spec.program,
                            MUSIC_SR, MUSIC_SECONDS, sf2) for spec in (piano, flute)]
    # Balance: both instruments at the same RMS (0 dB source-to-source ratio).
    stems = [x / S.rms(x) for x in stems]
    (p16, f16), mix16, g = S.quantise_int16(stems, peak=0.8)
    write16(os.path.join(out, "music", "piano.wav"), p16, MUSIC_SR)
    write16(os.path.join(out, "music", "flute.wav"), f16, MUSIC_SR)
    write16(os.path.join(out, "music", "mix.wav"), mix16, MUSIC_SR)

    # Training clips: a different piece (new key/progression/notes), each
    # instrument solo, at the same RMS level as its stem in the mixture.
    for spec, stem16 in ((piano, p16), (flute, f16)):
        tpiece = S.random_piece(rng, MUSIC_SECONDS)
        x = S.render_notes(S.write_part(tpiece, spec, rng, MUSIC_SECONDS), spec.program,
                           MUSIC_SR, MUSIC_SECONDS, sf2)
        x = x * (S.rms(stem16 / 32767) / S.rms(x))
        if np.max(np.abs(x)) > 0.95:
            x *= 0.95 / np.max(np.abs(x))
        write16(os.path.join(out, "music", "train", spec.name + ".wav"), to_int16(x), MUSIC_SR)
    return piece


def make_speech(out: str, rng: np.random.Generator):
    lines = S.fillets_lines(SPEAKER)
    order = rng.permutation(len(lines))
    shuffled = [lines[i] for i in order]
    clean, used = S.concat_lines(shuffled, SPEECH_SR, SPEECH_SECONDS)
    rest = [p for p in shuffled if p not in used]
    train_speech, used_train = S.concat_lines(rest, SPEECH_SR, TRAIN_SPEECH_SECONDS)

    rec = S.read_mono(S.sonic_pi_sample(NOISE_SAMPLE), SPEECH_SR)
    n = int(SPEECH_SECONDS * SPEECH_SR)
    noise = S.fade(rec[:n].copy(), SPEECH_SR, 10)
    t0 = int(4.5 * SPEECH_SR)   # non-overlapping excerpt for training
    train_noise = S.fade(rec[t0:t0 + int(TRAIN_NOISE_SECONDS * SPEECH_SR)].copy(), SPEECH_SR, 10)

    noise = noise * S.snr_scale(clean, noise, SNR_DB)
    (c16, n16), noisy16, g = S.quantise_int16([clean, noise], peak=0.8)
    write16(os.path.join(out, "speech", "clean.wav"), c16, SPEECH_SR)
    write16(os.path.join(out, "speech", "noise.wav"), n16, SPEECH_SR)
    write16(os.path.join(out, "speech", "noisy.wav"), noisy16, SPEECH_SR)

    # Training clips at the same RMS level as the corresponding stems.
    ts = train_speech * (S.rms(c16 / 32767) / S.rms(train_speech))
    tn = train_noise * (S.rms(n16 / 32767) / S.rms(train_noise))
    for x in (ts, tn):
        if np.max(np.abs(x)) > 0.95:
            x *= 0.95 / np.max(np.abs(x))
    write16(os.path.join(out, "speech", "train", "speech.wav"), to_int16(ts), SPEECH_SR)
    write16(os.path.join(out, "speech", "train", "noise.wav"), to_int16(tn), SPEECH_SR)
    return used, used_train


def verify(out: str):
    ok = True
    for mix, stems in [("music/mix.wav", ["music/piano.wav", "music/flute.wav"]),
                       ("speech/noisy.wav", ["speech/clean.wav", "speech/noise.wav"])]:
        m, _ = sf.read(os.path.join(out, mix), dtype="int16")
        ss = [sf.read(os.path.join(out, s), dtype="int16")[0].astype(np.int32) for s in stems]
        exact = np.array_equal(m.astype(np.int32), sum(ss))
        ok &= exact
        print(f"{mix}: sum of stems exact = {exact}")
    c, _ = sf.read(os.path.join(out, "speech/clean.wav"))
    n, _ = sf.read(os.path.join(out, "speech/noise.wav"))
    print(f"speech SNR after quantisation: {10 * np.log10(np.sum(c**2) / np.sum(n**2)):.3f} dB")
    return ok


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=HERE, help="output directory (default: audio_fixtures/)")
    args = ap.parse_args(argv)
    try:
        S.require_tools(["fluidsynth"], [S.SOUNDFONTS["FluidR3_GM"], S.FILLETS_DIR,
                                         S.SONIC_PI_DIR])
    except S.MissingDependency as e:
        sys.exit(str(e))
    rng = np.random.default_rng(SEED)
    piece = make_music(args.out, rng)
    print(f"music: tonic={piece.tonic} scale={'major' if piece.scale == S.MAJOR else 'minor'} "
          f"bpm={piece.bpm} progression={piece.progression}")
    used, used_train = make_speech(args.out, rng)
    rel = lambda p: os.path.relpath(p, S.FILLETS_DIR)  # noqa: E731
    print("speech lines (clean):", ", ".join(map(rel, used)))
    print("speech lines (train):", ", ".join(map(rel, used_train)))
    if not verify(args.out):
        sys.exit("verification failed")


if __name__ == "__main__":
    main()
