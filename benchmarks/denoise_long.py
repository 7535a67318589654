"""Long recordings denoised: peak RSS, wall and CPU time of ``nmfaudio.denoise_stream`` beside
the offline ``nmfaudio.denoise``, each run in a fresh process.

Writes 44.1 kHz mono noisy speech files (16-bit PCM, built chunk by chunk from the bundled
speech and noise clips with shifts and slowly varying gains, never held whole; the first 3 s
are noise alone, for the region mode) and a 4-second noise sample, under ``--workdir``
(default ``/tmp/nmfaudio-denoise-long``). Every (length, method) runs in its own subprocess,
which reports its ``ru_maxrss`` (peak RSS, imports included), wall time and CPU time (user +
system, all threads). "x real time" is the audio duration over the wall time.

Methods: ``stream-noise`` (``denoise_stream(noise=<sample file>)``), ``stream-region``
(``noise_region=(0, 3)``), ``stream-blind`` (no noise model: minimum-statistics floor; local
models, one per 10-s segment), ``stream-blind-one`` (``segment_seconds=inf``: one model learned on
the subsample),
``offline-noise`` (``nmfaudio.load`` + ``nmfaudio.denoise(noise=...)`` + ``nmfaudio.save``, what
``nmfaudio denoise`` did before; only up to ``--offline-max-minutes``), and the baselines side by
side: ``noisereduce`` (``noisereduce.reduce_noise(stationary=True, y_noise=<sample>)``, its defaults,
which process the file in 600 000-sample chunks) and ``noisereduce-nonstationary`` (no noise sample),
each reading the file whole as float32 and writing the result with soundfile; only up to
``--baseline-max-minutes``.

Usage::

    python benchmarks/denoise_long.py --minutes 3 10 20 120 [--methods stream-noise offline-noise]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SR = 44100
METHODS = ("stream-noise", "stream-region", "stream-blind", "stream-blind-one", "offline-noise", "noisereduce",
           "noisereduce-nonstationary")
#: methods that hold the whole file in memory: run only up to --baseline-max-minutes
WHOLE_FILE = ("noisereduce", "noisereduce-nonstationary")


def _clips():
    import soundfile as sf
    import soxr

    speech, sr0 = sf.read(str(ROOT / "audio_fixtures" / "speech" / "clean.wav"), dtype="float32")
    noise, _ = sf.read(str(ROOT / "audio_fixtures" / "speech" / "noise.wav"), dtype="float32")
    return (soxr.resample(speech, sr0, SR).astype(np.float32),
            soxr.resample(noise, sr0, SR).astype(np.float32))


def write_inputs(workdir: Path, minutes: float):
    """``(noisy file, noise sample file)``, written once."""
    import soundfile as sf

    path = workdir / f"noisy_{minutes:g}min.wav"
    sample = workdir / "noise_sample.wav"
    speech, noise = _clips()
    if not sample.exists():
        sf.write(str(sample), np.roll(noise, 12345), SR, subtype="FLOAT")
    if path.exists():
        return path, sample
    n = int(round(minutes * 60 * SR))
    tmp = path.with_suffix(".part.wav")
    rng = np.random.default_rng(0)
    with sf.SoundFile(str(tmp), "w", samplerate=SR, channels=1, subtype="PCM_16") as f:
        lead = 3 * SR
        f.write(0.3 * np.resize(noise, lead))
        i, k = lead, 0
        while i < n:
            m = min(speech.size, n - i)
            g = 0.4 + 0.6 * rng.random()                       # speech level per clip
            gn = 0.3 * (1 + 0.5 * np.sin(2 * np.pi * i / (SR * 97.0)))  # slowly varying noise
            x = g * np.roll(speech, int(rng.integers(speech.size))) + gn * np.roll(noise, 7919 * k)
            f.write(np.clip(x[:m], -1, 1))
            i, k = i + m, k + 1
    os.replace(tmp, path)
    return path, sample


def child(args):
    import resource

    t0, c0 = time.perf_counter(), time.process_time()
    import nmfaudio

    out = Path(args.out)
    if args.method in WHOLE_FILE:
        import noisereduce
        import soundfile as sf

        y, sr = sf.read(args.file, dtype="float32")
        kw = {"stationary": True, "y_noise": sf.read(args.noise, dtype="float32")[0]} \
            if args.method == "noisereduce" else {"stationary": False}
        sf.write(str(out), noisereduce.reduce_noise(y=y, sr=sr, **kw), sr, subtype="FLOAT")
    elif args.method == "offline-noise":
        y, sr = nmfaudio.load(args.file)
        noise, _ = nmfaudio.load(args.noise)
        nmfaudio.save(out, nmfaudio.denoise(y, sr, noise=noise), sr, overwrite=True)
    else:
        kw = {"stream-noise": {"noise": args.noise}, "stream-region": {"noise_region": (0.0, 3.0)},
              "stream-blind": {}, "stream-blind-one": {"segment_seconds": float("inf")}}[args.method]
        nmfaudio.denoise_stream(args.file, out, overwrite=True, **kw)
    ru = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({"wall": time.perf_counter() - t0, "cpu": time.process_time() - c0,
                      "rss": ru.ru_maxrss / 1024}))


def run_one(method, path, sample, workdir):
    proc = subprocess.run([sys.executable, __file__, "--child", "--method", method, "--file", str(path),
                           "--noise", str(sample), "--out", str(workdir / f"out_{method}.wav")],
                          capture_output=True, text=True, cwd=str(workdir))
    if proc.returncode != 0:
        print(proc.stderr[-2000:], file=sys.stderr)
        return None
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--minutes", type=float, nargs="+", default=[3, 10, 20, 120])
    p.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS))
    p.add_argument("--offline-max-minutes", type=float, default=10.0)
    p.add_argument("--baseline-max-minutes", type=float, default=20.0)
    p.add_argument("--workdir", default=os.path.join(tempfile.gettempdir(), "nmfaudio-denoise-long"))
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--method")
    p.add_argument("--file")
    p.add_argument("--noise")
    p.add_argument("--out")
    args = p.parse_args(argv)
    if args.child:
        return child(args)
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        import noisereduce  # noqa: F401  (only its presence is checked here)
        from importlib.metadata import version
        print(f"noisereduce {version('noisereduce')}", flush=True)
    except ImportError:
        if any(m in WHOLE_FILE for m in args.methods):
            raise SystemExit("denoise_long.py: the noisereduce baselines need 'pip install noisereduce' "
                             "(or pass --methods without them)")
    print(f"load average before: {os.getloadavg()[0]:.2f} (2 cores; numbers are indicative)", flush=True)
    print("| minutes | method | peak RSS (MiB) | wall (s) | CPU (s) | x real time (wall) |")
    print("|---|---|---|---|---|---|", flush=True)
    for minutes in args.minutes:
        path, sample = write_inputs(workdir, minutes)
        for method in args.methods:
            if method.startswith("offline") and minutes > args.offline_max_minutes:
                continue
            if method in WHOLE_FILE and minutes > args.baseline_max_minutes:
                continue
            r = run_one(method, path, sample, workdir)
            if r is None:
                print(f"| {minutes:g} | {method} | failed | | | |", flush=True)
                continue
            print(f"| {minutes:g} | {method} | {r['rss']:.0f} | {r['wall']:.1f} | {r['cpu']:.1f} "
                  f"| {minutes * 60 / r['wall']:.0f} |", flush=True)
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
