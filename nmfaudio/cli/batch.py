"""``nmfaudio batch``: separate a corpus, locally or on a Dask cluster."""

from __future__ import annotations

import sys

from ..denoise import DENOISE_ITER
from ..files import DEFAULT_OUT_DIR
from ..separate import COMPONENTS_PER_SOURCE, UNSUPERVISED_ITER
from ..stft import STFTParams
from ..supervised import SUPERVISED_ITER_ACCELERATED, SUPERVISED_ITER_PLAIN
from ._common import add_output_args, default_out_help, fft_size, nonneg_int, positive_int
from ._progress import add_ux_args


def add_parser(sub):
    p = sub.add_parser(
        "batch", help="separate many files (process pool or Dask cluster)",
        description="Separate every input (files, folders searched recursively, glob patterns) "
                    "into OUTDIR/<file name>/<source>.wav, on a local process pool or, with "
                    "--scheduler, a Dask cluster. Each file's status, timing and error go to "
                    "OUTDIR/manifest.jsonl; running again skips the files already done. Exits 1 "
                    "when any file failed.",
    )
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="audio file, folder or glob pattern")
    p.add_argument("-o", "--out", default=DEFAULT_OUT_DIR, metavar="OUTDIR",
                   help=default_out_help() + " and OUTDIR/manifest.jsonl records each file")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--dict", dest="dicts", action="append", metavar="D.npz", default=None,
                      help="a trained source dictionary (repeat for each source)")
    mode.add_argument("--sources", type=positive_int, default=None, metavar="N",
                      help="unsupervised separation into N sources (the default, with N=2)")
    mode.add_argument("--denoise", action="store_true",
                      help="denoise each file into clean.wav and noise.wav")
    p.add_argument("--noise", metavar="NOISE.wav",
                   help="with --denoise: a sample of the noise alone (learned once for all files)")
    p.add_argument("--residual", type=nonneg_int, default=0, metavar="K",
                   help="with --dict: K free components returned as 'residual.wav' (default 0)")
    p.add_argument("--components", type=positive_int, default=None, metavar="K",
                   help=f"NMF components in total, unsupervised (default {COMPONENTS_PER_SOURCE} "
                        "times the number of sources)")
    p.add_argument("--n-fft", type=fft_size, default=None, metavar="N",
                   help=f"FFT size, unsupervised only (default {STFTParams().n_fft})")
    p.add_argument("--hop", type=positive_int, default=None, metavar="N",
                   help="hop length, unsupervised (default n_fft / 4)")
    p.add_argument("--iterations", type=positive_int, default=None, metavar="N",
                   help=f"NMF iterations (default {UNSUPERVISED_ITER} unsupervised; with --dict "
                        f"{SUPERVISED_ITER_ACCELERATED} accelerated, or {SUPERVISED_ITER_PLAIN} plain "
                        f"with --residual or a Euclidean dictionary; {DENOISE_ITER} with --denoise)")
    p.add_argument("--seed", type=nonneg_int, default=0, help="random seed (default 0)")
    engine = p.add_argument_group("engine")
    engine.add_argument("-j", "--jobs", type=positive_int, default=None, metavar="N",
                        help="local worker processes (default: number of CPUs)")
    engine.add_argument("--scheduler", metavar="ADDRESS", default=None,
                        help="run on the Dask cluster at ADDRESS (e.g. tcp://host:8786) instead "
                             "of a local pool; needs pip install 'nmfaudio[dask]'")
    p.add_argument("--unique-names", action="store_true",
                   help="when two inputs share a file name, name their output folders after "
                        "their parent folders (a__take, b__take) instead of stopping")
    add_output_args(p, excerpt=False)
    add_ux_args(p, plot=False)  # --json, -q/--quiet
    p.set_defaults(func=run)
    return p


def run(args) -> int:
    from .._options import check_batch_options
    from ..batch import separate_many
    from ..exceptions import ParameterError

    if args.jobs is not None and args.scheduler:
        raise ParameterError("give either --jobs (local pool) or --scheduler (Dask cluster), not both")
    check_batch_options({"dictionaries": args.dicts, "denoise": args.denoise, "noise": args.noise,
                         "n_free": args.residual, "n_components": args.components,
                         "n_fft": args.n_fft, "hop_length": args.hop}, flags=True)
    report = separate_many(
        args.inputs, args.out, dictionaries=args.dicts, n_sources=args.sources,
        denoise=args.denoise, noise=args.noise, n_free=args.residual,
        n_components=args.components, n_fft=args.n_fft, hop_length=args.hop,
        max_iter=args.iterations, random_state=args.seed, jobs=args.jobs,
        client=args.scheduler, overwrite=args.overwrite, unique_names=args.unique_names,
        progress=False if (args.quiet or args.json) else None, format=args.format,
        bit_depth=args.bit_depth)
    for rec in report.failed:
        where = "" if rec["input"] in (rec["error"] or "") else f"{rec['input']}: "
        print(f"nmfaudio: error: {where}{rec['error']}", file=sys.stderr)
    if args.json:
        _json_summary(args, report)
    elif not args.quiet:
        n_done, n_failed = len(report.done), len(report.failed)
        rate = f" ({n_done / report.seconds:.2f} files/s)" if n_done and report.seconds > 0 else ""
        print(f"{n_done} separated, {len(report.skipped)} already done, {n_failed} failed "
              f"in {report.seconds:.1f} s{rate}; manifest: {report.manifest}")
    return 0 if report.ok else 1


def _json_summary(args, report):
    """The common document (see docs/cli.md) plus the batch counts and failures."""
    from ._progress import Summary, output_settings

    summary = Summary("batch", args)
    mode = "supervised" if args.dicts else "denoise" if args.denoise else "unsupervised"
    summary.doc["inputs"] = {"inputs": list(args.inputs), "dictionaries": list(args.dicts or []),
                             "noise": args.noise}
    summary.doc["outputs"] = {"folder": str(report.manifest.parent), "manifest": str(report.manifest)}
    summary.doc["settings"] = {"mode": mode, "sources": args.sources, "components": args.components,
                               "n_fft": args.n_fft, "hop_length": args.hop, "max_iter": args.iterations,
                               "seed": args.seed, "residual_components": args.residual,
                               **output_settings(args)}
    summary.doc.update({
        "ok": report.ok, "done": len(report.done), "skipped": len(report.skipped),
        "failed": [{"input": r["input"], "error": r["error"]} for r in report.failed],
        "sample_rate": None, "channels": None,  # vary per file (see the manifest)
        "duration_seconds": round(report.audio_seconds, 3),  # audio separated in this run
        "audio_seconds": round(report.audio_seconds, 3), "seconds": round(report.seconds, 3),
        "manifest": str(report.manifest),
    })
    summary.doc["elapsed_seconds"] = round(report.seconds, 3)
    summary.finish(elapsed=False)
