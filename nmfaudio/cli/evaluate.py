"""``nmfaudio evaluate``: score separated files against the true sources."""

from __future__ import annotations

from ..evaluate import ALL_METRICS, METRICS
from ._common import positive_seconds, track_name
from ._progress import add_ux_args

_COLUMNS = [("sdr", "SDR"), ("sir", "SIR"), ("sar", "SAR"), ("si_sdr", "SI-SDR"),
            ("stoi", "STOI"), ("pesq", "PESQ-WB"),
            ("sdr_improvement", "SDRi"), ("si_sdr_improvement", "SI-SDRi"),
            ("stoi_improvement", "STOIi"), ("pesq_improvement", "PESQi")]


def add_parser(sub):
    p = sub.add_parser(
        "evaluate", help="score estimated sources against the true ones (SDR, SIR, SAR, SI-SDR)",
        description="Score estimated sources against reference sources: BSS-Eval v3 SDR, SIR, SAR "
                    "(mir_eval) and SI-SDR in dB, per source and mean. The i-th --est file is the "
                    "estimate of the i-th --ref file unless --permute is given.",
    )
    p.add_argument("--ref", nargs="+", required=True, metavar="REF",
                   help="reference (true) source files")
    p.add_argument("--est", nargs="+", required=True, metavar="EST",
                   help="estimated source files, as many as --ref")
    p.add_argument("--mix", metavar="MIX", default=None,
                   help="the unprocessed mixture; adds the improvement over it (SDRi, SI-SDRi)")
    p.add_argument("--permute", action="store_true",
                   help="match estimates to references by the best permutation (mean SIR; with "
                        "--segment, mean whole-signal SI-SDR)")
    p.add_argument("--metrics", default=None, metavar="M1,M2",
                   help="comma-separated metrics from " + ",".join(ALL_METRICS) + " (default "
                        + ",".join(METRICS) + "; sdr/sir/sar come from one BSS-Eval run). stoi and "
                        "pesq (wide-band, computed at 16 kHz) need pip install "
                        "\"nmfaudio[metrics]\"")
    p.add_argument("--segment", type=positive_seconds, default=None, metavar="S",
                   help="score consecutive S-second segments and report each source's median "
                        "(as SiSEC/museval, e.g. --segment 1; memory of one segment, much faster "
                        "on long files) instead of whole-signal BSS-Eval v3")
    add_ux_args(p, plot=False)
    p.set_defaults(func=run)
    return p


def _fmt(v, key="") -> str:
    if v is None:
        return "—"
    return f"{v:.3f}" if key.startswith("stoi") else f"{v:.2f}"


def format_table(result) -> str:
    """A plain-text table of an :func:`nmfaudio.evaluate` result (dB)."""
    cols = [(k, h) for k, h in _COLUMNS if k in result["mean"]]
    rows = [[r["name"]] + [_fmt(r[k], k) for k, _ in cols] for r in result["per_source"]]
    rows.append(["mean"] + [_fmt(result["mean"][k], k) for k, _ in cols])
    head = ["source"] + [h for _, h in cols]
    widths = [max(len(x) for x in col) for col in zip(head, *rows)]
    lines = ["  ".join(h.ljust(w) if i == 0 else h.rjust(w) for i, (h, w) in enumerate(zip(head, widths)))]
    for r in rows:
        lines.append("  ".join(x.ljust(w) if i == 0 else x.rjust(w) for i, (x, w) in enumerate(zip(r, widths))))
    return "\n".join(lines)


def run(args) -> int:
    from ..evaluate import evaluate
    from ..exceptions import ParameterError
    from ..io import load
    from ._progress import Progress, show_progress

    import time

    start = time.perf_counter()
    if len(args.est) != len(args.ref):
        raise ParameterError(f"got {len(args.ref)} --ref file(s) but {len(args.est)} --est file(s); "
                             "give one estimate per reference")
    refs, ests, rates = {}, [], {}
    for path in args.ref:
        y, sr = load(path)
        name = track_name(path)
        while name in refs:  # same file name in different folders
            name += "'"
        refs[name] = y
        rates[path] = sr
    for path in args.est:
        y, sr = load(path)
        ests.append(y)
        rates[path] = sr
    mix = None
    if args.mix is not None:
        mix, rates[args.mix] = load(args.mix)
    if len(set(rates.values())) > 1:
        listing = ", ".join(f"{p}: {r} Hz" for p, r in rates.items())
        raise ParameterError(f"the files have different sample rates ({listing})")
    metrics = None
    if args.metrics is not None:
        metrics = tuple(m.strip() for m in args.metrics.split(",") if m.strip())
    sr = next(iter(rates.values()))
    unit = "segment" if args.segment else "pass"
    with Progress(None, desc="evaluate", unit=unit, enabled=show_progress(args)) as bar:
        result = evaluate(refs, dict(zip(refs, ests)), mixture=mix, permute=args.permute,
                          metrics=metrics, sr=sr, segment=args.segment, callback=bar.steps)
    for row, ref, j in zip(result["per_source"], args.ref, result["permutation"]):
        row["reference"], row["estimate"] = ref, args.est[j]  # which files were compared
    if args.json:
        from ._progress import Summary

        summary = Summary("evaluate", args)
        summary.start = start
        summary.doc["inputs"] = {"references": list(args.ref), "estimates": list(args.est),
                                 "mix": args.mix}
        summary.doc["settings"] = {"metrics": list(result["mean"]), "permute": bool(args.permute),
                                   "segment_seconds": args.segment}
        first = next(iter(refs.values()))
        summary.doc.update({"sample_rate": int(sr), "channels": 1 if first.ndim == 1 else int(first.shape[0]),
                            "duration_seconds": round(first.shape[-1] / sr, 6)})
        summary.doc.update(result)
        summary.finish()
    else:
        print(format_table(result))
        if args.permute:
            for row in result["per_source"]:
                print(f"{row['name']} <- {row['estimate']}")
    return 0
