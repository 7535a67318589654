"""Peak memory (RSS) and wall time of the command line on long inputs, side by side.

Each command runs in a fresh subprocess under ``/usr/bin/time -v`` (its "Maximum
resident set size"); with several ``--python`` interpreters (e.g. one venv with
main installed, one with a branch) every command runs with each, one after the
other, and the table puts them side by side. The input is synthesised from the
bundled music fixtures (:mod:`benchmarks._audio`) and written under ``--workdir``
(default ``/tmp/nmfaudio-memory``), never into the repository.

Usage::

    python benchmarks/memory.py                       # unsupervised, 10 min stereo, this Python
    python benchmarks/memory.py --python /work/venv/bin/python --python .venv/bin/python \\
        --commands unsupervised supervised plot separate-plot --repeat 3

Commands:

* ``unsupervised``: ``nmfaudio separate MIX -o OUT`` (no dictionaries, 2 sources).
* ``supervised``: ``nmfaudio separate MIX -o OUT --instruments piano flute`` (no
  ``--block-seconds``; the 44.1 kHz input is resampled to the models' 22.05 kHz).
* ``plot``: ``nmfaudio plot MIX -o FIG.png``.
* ``separate-plot``: the unsupervised command with ``--plot FIG.png`` (on
  ``--plot-seconds``, default 180 s, as issue #18 measured it).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

COMMANDS = ("unsupervised", "supervised", "plot", "separate-plot")


def make_input(workdir: Path, seconds: float, channels: int, sr: int = 44100) -> Path:
    """Write (once) a ``seconds``-long ``channels``-channel float WAV at ``sr``; return its path."""
    import soundfile as sf

    from _audio import music

    path = workdir / f"mix_{int(seconds)}s_{channels}ch_{sr}.wav"
    if not path.exists():
        y = music(seconds, sr=sr, channels=channels, seed=0)
        y = 0.9 * y / max(float(abs(y).max()), 1e-9)
        tmp = path.with_suffix(".part.wav")
        sf.write(str(tmp), y.T if channels > 1 else y, sr, subtype="FLOAT")
        os.replace(tmp, path)
    return path


def argv_for(command: str, mix: Path, out: Path) -> list:
    if command == "unsupervised":
        return ["separate", str(mix), "-o", str(out), "-q"]
    if command == "supervised":
        return ["separate", str(mix), "-o", str(out), "--instruments", "piano", "flute", "-q"]
    if command == "plot":
        return ["plot", str(mix), "-o", str(out / "fig.png"), "-q"]
    if command == "separate-plot":
        return ["separate", str(mix), "-o", str(out), "--plot", str(out / "fig.png"), "-q"]
    raise ValueError(command)


def measure(python: str, argv: list, cwd: Path) -> dict:
    """Run ``python -m nmfaudio ARGV`` under ``/usr/bin/time -v``: wall s, peak RSS MiB, exit code.

    It runs in ``cwd`` (outside any checkout), so ``-m`` imports the interpreter's own
    installed nmfaudio, not one in the current folder.
    """
    proc = subprocess.run(["/usr/bin/time", "-v", python, "-m", "nmfaudio", *argv],
                          capture_output=True, text=True, cwd=str(cwd))
    err = proc.stderr
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", err)
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): ([\d:.]+)", err)
    seconds = None
    if wall:
        parts = [float(p) for p in wall.group(1).split(":")]
        seconds = sum(p * 60 ** i for i, p in enumerate(reversed(parts)))
    if proc.returncode != 0:
        tail = "\n".join(l for l in err.splitlines() if not l.startswith("\t"))[-800:]
        print(f"  exit {proc.returncode}: {tail}", file=sys.stderr)
    return {"rc": proc.returncode, "wall": seconds,
            "rss": int(rss.group(1)) / 1024 if rss else None}


def _summary(runs):
    """Median wall time and largest peak RSS of repeated runs (exit code: the worst)."""
    import statistics

    walls = [r["wall"] for r in runs if r["wall"] is not None]
    rss = [r["rss"] for r in runs if r["rss"] is not None]
    return {"rc": max(r["rc"] for r in runs), "wall": statistics.median(walls) if walls else None,
            "rss": max(rss) if rss else None}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--python", action="append", default=None, metavar="PY",
                    help="interpreter with nmfaudio installed (repeat to compare; default this one)")
    ap.add_argument("--commands", nargs="+", choices=COMMANDS, default=["unsupervised"])
    ap.add_argument("--seconds", type=float, default=600.0, help="input length (default 600)")
    ap.add_argument("--plot-seconds", type=float, default=180.0,
                    help="input length for separate-plot (default 180)")
    ap.add_argument("--channels", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=1,
                    help="runs per command and interpreter: the table gives the median wall time "
                         "and the largest peak RSS (default 1)")
    ap.add_argument("--workdir", default=os.path.join(tempfile.gettempdir(), "nmfaudio-memory"))
    args = ap.parse_args(argv)
    pythons = args.python or [sys.executable]
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    rows = []
    for command in args.commands:
        seconds = args.plot_seconds if command == "separate-plot" else args.seconds
        mix = make_input(workdir, seconds, args.channels)
        runs = [[] for _ in pythons]
        for _ in range(args.repeat):  # interleaved, so load changes hit every interpreter alike
            for i, py in enumerate(pythons):
                out = workdir / f"out{i}"
                shutil.rmtree(out, ignore_errors=True)
                out.mkdir()
                print(f"{command} ({seconds:g} s, {args.channels} ch) with {py} ...", file=sys.stderr,
                      flush=True)
                runs[i].append(measure(py, argv_for(command, mix, out), workdir))
                shutil.rmtree(out, ignore_errors=True)
        cells = [_summary(r) for r in runs]
        rows.append((command, f"{seconds / 60:g} min, {args.channels} ch", cells))
    what = "median wall s" if args.repeat > 1 else "wall s"
    head = "| command | input |" + "".join(f" {what} [{i}] | peak RSS MiB [{i}] |" for i in range(len(pythons)))
    print("\n".join(f"[{i}] {py}" for i, py in enumerate(pythons)))
    print(head)
    print("|" + "---|" * (2 + 2 * len(pythons)))
    for command, inp, cells in rows:
        line = f"| {command} | {inp} |"
        for c in cells:
            bad = "" if c["rc"] == 0 else f" (exit {c['rc']})"
            line += (f" {c['wall']:.1f}{bad} |" if c["wall"] is not None else " ? |")
            line += (f" {c['rss']:.0f} |" if c["rss"] is not None else " ? |")
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
