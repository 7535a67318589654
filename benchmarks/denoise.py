#!/usr/bin/env python
"""Denoising side by side (issue #14): nmfaudio's denoise modes against classic enhancers.

Every speech item of the ``test`` part of ``benchmarks/quality`` (``--tune`` adds the tune
part) is denoised by each method in one run; the speech estimate is scored with SDR (BSS-Eval
v3), SI-SDR, STOI and wide-band PESQ, and the script prints one markdown table per part: mean /
median / min … max over the items, the do-no-harm count (items whose STOI falls below the noisy
input's − 0.02), wall and CPU seconds per item (medians) and the largest allocation peak
(tracemalloc). Without ``--no-write`` the section ``denoise-bench`` of
``benchmarks/RESULTS.md`` is replaced by it (nothing else in the file changes).

Methods, item loading, scoring and timing are those of ``benchmarks/quality/run.py`` (its
registry ``METHODS``): this script only picks the denoising methods and tabulates them side by
side. A method whose package is missing is skipped with a line saying so.

Install (a benchmark venv: the competitors are never dependencies of nmfaudio)::

    pip install -e ".[metrics]"                        # nmfaudio + pystoi, pesq (scoring)
    pip install noisereduce logmmse pyroomacoustics    # the competitors
    python benchmarks/quality/make_set.py              # once: builds benchmarks/quality/data/

    python benchmarks/denoise.py [--jobs 2] [--tune] [--methods A,B] [--no-write] [--json FILE]

librosa and scikit-learn (the ``plain-sklearn`` baseline) come with nmfaudio.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shlex
import sys
import time
from importlib import metadata
from pathlib import Path


HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE / "quality"))

import run as quality  # noqa: E402  (benchmarks/quality/run.py)
from benchmarks._results import write_section  # noqa: E402

import nmfaudio  # noqa: E402

SECTION = "denoise-bench"
#: The methods compared, in table order, with what each needs besides the noisy recording.
NEEDS = {
    "mixture": "the noisy input itself",
    "nmfaudio-denoise": "noise clip",
    "nmfaudio-denoise-region": "noise region",
    "nmfaudio-denoise-blind": "nothing",
    "nmfaudio-supervised": "speech + noise clips",
    "nmfaudio-denoise-speech-dict": "speech + noise clips",
    "nmfaudio-denoise-dicts": "speech + noise clips",
    "nmfaudio-stream-denoise": "noise clip",
    "nmfaudio-stream-denoise-blind": "nothing",
    "noisereduce": "noise clip",
    "noisereduce-nonstationary": "nothing",
    "logmmse": "nothing",
    "logmmse-noise": "noise clip",
    "pyroomacoustics-wiener": "nothing",
    "pyroomacoustics-specsub": "nothing",
    "plain-sklearn": "speech + noise clips",
    "oracle": "true stems: the ceiling",
}
METHOD_NAMES = list(NEEDS)
METRICS = [("sdr", "SDR"), ("si_sdr", "SI-SDR"), ("stoi", "STOI"), ("pesq", "PESQ-WB")]
#: Packages whose versions the report states.
VERSIONS = ("noisereduce", "logmmse", "pyroomacoustics", "librosa", "scikit-learn", "numpy",
            "pystoi", "pesq", "mir_eval")


def _positive(text):
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {n}")
    return n


def get_parser():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, default=quality.DEFAULT_DATA,
                   help="folder with manifest.json (default benchmarks/quality/data/)")
    p.add_argument("--methods", type=quality._csv, default=None, metavar="A,B",
                   help=f"methods to run, in this order (default all: {','.join(METHOD_NAMES)})")
    p.add_argument("--items", type=quality._csv, default=None, metavar="ID1,ID2",
                   help="speech item ids (default every item of the chosen parts)")
    p.add_argument("--tune", action="store_true",
                   help="also run the tune part (default: the test part only)")
    p.add_argument("--jobs", type=_positive, default=1, metavar="N",
                   help="worker processes, one item each at a time (default 1)")
    p.add_argument("--threads", type=_positive, default=1, metavar="N",
                   help="BLAS threads per process (default 1)")
    p.add_argument("--results", type=Path, default=quality.DEFAULT_RESULTS,
                   help="markdown file whose denoise-bench section is replaced (default benchmarks/RESULTS.md)")
    p.add_argument("--no-write", action="store_true", help="only print the tables")
    p.add_argument("--json", type=Path, default=None, metavar="FILE",
                   help="also write all rows as JSON")
    return p


def parse_args(argv=None):
    """Parse and check the command line; refuses unknown methods before any data is read."""
    parser = get_parser()
    args = parser.parse_args(argv)
    names = args.methods if args.methods is not None else METHOD_NAMES
    unknown = [n for n in names if n not in quality.METHODS]
    if unknown:
        parser.error(f"unknown method(s) {unknown}; choose from {METHOD_NAMES}")
    not_speech = [n for n in names if "speech" not in quality.METHODS[n].kinds]
    if not_speech:
        parser.error(f"method(s) {not_speech} do not run on speech items")
    if not names:
        parser.error("--methods is empty")
    if len(set(names)) < len(names):
        parser.error(f"--methods names a method twice: {names}")
    args.methods = list(names)
    return args


def versions():
    """``{package: version}`` of the packages in VERSIONS that are installed."""
    out = {}
    for name in VERSIONS:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return out


def summary(rows, names, part):
    """Per method: statistics over the part's items (run.py's ``_stats``) and the harmed count."""
    out = {}
    for name in names:
        sel = [r for r in rows if r["method"] == name and r["part"] == part]
        if not sel:
            continue
        ok = [r for r in sel if "error" not in r]
        s = {k: quality._stats([r.get(k) for r in ok])
             for k in [m for m, _ in METRICS] + ["seconds", "cpu_seconds", "peak_mb"]}
        d = [r.get("stoi_improvement") for r in ok]
        s.update(n=len(ok), failed=len(sel) - len(ok),
                 harmed=sum(1 for v in d if v is not None and v < -quality.HARM))
        out[name] = s
    return out


def _cell(st, key):
    if st is None:
        return "—"
    f = lambda v: quality._fmt(v, key)  # noqa: E731
    return f"{f(st['mean'])} / {f(st['median'])} / {f(st['min'])} … {f(st['max'])}"


def table(stats):
    head = (["method", "needs"] + [f"{h} mean / median / min … max" for _, h in METRICS]
            + ["harmed", "wall s / item (median)", "CPU s / item (median)", "peak MB (max)"])
    lines = ["| " + " | ".join(head) + " |", "|---|---|" + "---:|" * (len(head) - 2)]
    for name, s in stats.items():
        label = name + (f" ({s['failed']} failed)" if s["failed"] else "")
        cost = [quality._fmt(s["seconds"]["median"], "seconds") if s["seconds"] else "—",
                quality._fmt(s["cpu_seconds"]["median"], "seconds") if s["cpu_seconds"] else "—",
                quality._fmt(s["peak_mb"]["max"], "peak_mb") if s["peak_mb"] else "—"]
        lines.append("| " + " | ".join([f"`{label}`", NEEDS.get(name, "")]
                                       + [_cell(s[k], k) for k, _ in METRICS]
                                       + [f"{s['harmed']}/{s['n']}"] + cost) + " |")
    return lines


def per_item(rows, names, part):
    """Per item: SDR / ΔSTOI of every method (ΔSTOI below −HARM in bold)."""
    items = list(dict.fromkeys(r["item"] for r in rows if r["part"] == part))
    get = {(r["item"], r["method"]): r for r in rows}
    lines = ["| item | " + " | ".join(f"`{n}`" for n in names) + " |",
             "|---|" + "---:|" * len(names)]
    for it in items:
        cells = []
        for n in names:
            r = get.get((it, n))
            if r is None or "error" in r:
                cells.append("failed" if r else "—")
                continue
            d = r.get("stoi_improvement")
            ds = "—" if d is None else f"{d:+.3f}"
            cells.append(f"{quality._fmt(r.get('sdr'), 'sdr')} / "
                         + (f"**{ds}**" if d is not None and d < -quality.HARM else ds))
        lines.append(f"| {it} | " + " | ".join(cells) + " |")
    return lines


def markdown(rows, names, parts, *, command, date, load, skipped, info):
    vers = versions()
    lines = [
        "## Denoising side by side (`benchmarks/denoise.py`, issue #14)",
        "",
        f"Command: `{command}`  ",
        f"Date: {date}  ",
        f"Set: {info}  ",
        f"nmfaudio {nmfaudio.__version__}, Python {platform.python_version()}, {platform.machine()}, "
        f"{os.cpu_count()} CPUs, {load}.  ",
        "Versions: " + ", ".join(f"{k} {v}" for k, v in vers.items()) + ".",
        "",
        "Speech source only. SDR (BSS-Eval v3) and SI-SDR in dB, STOI (0–1), PESQ-WB (MOS "
        "1–4.64): mean / median / min … max over the items. *harmed*: items whose STOI is below "
        f"the noisy input's − {quality.HARM}. Wall and CPU seconds of the method on one 6-s "
        "22.05 kHz item (CPU: all threads of the worker), medians over items, including any "
        "dictionary learning; peak MB: largest tracemalloc peak (Python/numpy allocations) over "
        "the items. Every method runs with its defaults; the methods are those of "
        "`benchmarks/quality/run.py`:",
        "",
    ]
    for name in names:
        lines.append(f"- `{name}` ({NEEDS.get(name, '')}): {quality.METHODS[name].about}")
    for name, why in skipped:
        lines.append(f"- `{name}`: not run ({why})")
    for part in parts:
        stats = summary(rows, names, part)
        n_items = len({r["item"] for r in rows if r["part"] == part})
        lines += ["", f"### {part} part ({n_items} speech items)", ""] + table(stats)
    for part in parts:
        lines += ["", f"<details><summary>Per item, {part} part: SDR / ΔSTOI</summary>", ""]
        lines += per_item(rows, names, part) + ["", "</details>"]
    return "\n".join(lines) + "\n"


def _load():
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")


def main(argv=None):
    args = parse_args(argv)
    argv = sys.argv[1:] if argv is None else list(argv)
    command = shlex.join(["python", "benchmarks/denoise.py", *argv])
    manifest = quality.read_manifest(args.data)
    parts = ["tune", "test"] if args.tune else ["test"]
    entries = [e for e in manifest["items"] if e["kind"] == "speech" and e.get("part") in parts]
    if args.items:
        known = {e["id"] for e in entries}
        missing = sorted(set(args.items) - known)
        if missing:
            raise SystemExit(f"denoise.py: no speech item(s) {missing} in the "
                             f"{' and '.join(parts)} part(s) of {args.data / 'manifest.json'}")
        entries = [e for e in entries if e["id"] in args.items]
    if not entries:
        raise SystemExit(f"denoise.py: no speech items in {args.data / 'manifest.json'}")
    skipped = []
    for n in args.methods:
        if not quality.METHODS[n].available():
            why = "not in this nmfaudio" if n.startswith("nmfaudio") else "package not installed"
            skipped.append((n, why))
            print(f"denoise.py: skipping {n}: {why}", file=sys.stderr)
    names = [n for n in args.methods if n not in dict(skipped)]
    if not names:
        raise SystemExit("denoise.py: none of the methods is available")

    load0, t0 = _load(), time.perf_counter()
    if args.jobs > 1:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(max_workers=args.jobs) as pool:
            futures = [pool.submit(quality.run_item, args.data, e, names, args.threads)
                       for e in entries]
            results = []
            for e, f in zip(entries, futures):
                results.append(f.result())
                print(f"  {e['id']} done", file=sys.stderr)
    else:
        results = []
        for e in entries:
            t = time.perf_counter()
            results.append(quality.run_item(args.data, e, names, args.threads))
            print(f"  {e['id']} done ({time.perf_counter() - t:.0f} s)", file=sys.stderr)
    rows = [{k: v for k, v in r.items() if k != "per_source"} for rs in results for r in rs]
    load1 = _load()
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    load = (f"{args.jobs} worker process{'es' if args.jobs > 1 else ''} with {args.threads} BLAS "
            f"thread{'s' if args.threads > 1 else ''} each, {time.perf_counter() - t0:.0f} s in all; "
            f"load average {load0:.1f} at the start, {load1:.1f} at the end (shared machine: "
            "times are indicative)")
    info = (f"{len(entries)} speech items of `benchmarks/quality` (make_set.py seed "
            f"{manifest.get('seed')}, manifest version {manifest.get('version')})")
    section = markdown(rows, names, parts, command=command, date=date, load=load,
                       skipped=skipped, info=info)
    print(section)
    if args.json:
        args.json.write_text(json.dumps({"command": command, "date": date, "rows": rows},
                                        indent=1, allow_nan=False))
    if not args.no_write:
        write_section(SECTION, section, path=args.results)
        print(f"denoise.py: wrote section {SECTION!r} of {args.results}", file=sys.stderr)
    return 1 if any("error" in r for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
