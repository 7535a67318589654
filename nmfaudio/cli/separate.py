"""``nmfaudio separate``: split a mixture into sources."""

from __future__ import annotations

from pathlib import Path

from ..separate import COMPONENTS_PER_SOURCE, UNSUPERVISED_ITER
from ..supervised import SUPERVISED_ITER_ACCELERATED, SUPERVISED_ITER_PLAIN
from ._common import add_output_args, add_stft_args, beta_arg, nonneg_int, positive_int
from ._progress import add_ux_args


def add_parser(sub):
    p = sub.add_parser(
        "separate", help="separate a mixture into sources",
        description="Separate MIX into sources, writing OUTDIR/<mix name>/<source>.wav.",
    )
    p.add_argument("mix", metavar="MIX", help="mixture audio file")
    p.add_argument("-o", "--out", required=True, metavar="OUTDIR", help="output directory")
    p.add_argument("--dict", dest="dicts", action="append", metavar="D.npz", default=[],
                   help="a trained source dictionary (repeat for each source); outputs are "
                        "named after the dictionaries")
    p.add_argument("--sources", type=positive_int, default=None, metavar="N",
                   help="number of sources for unsupervised separation (default 2)")
    p.add_argument("--residual", type=nonneg_int, default=0, metavar="K",
                   help="with --dict: K free components returned as 'residual.wav' (default 0)")
    p.add_argument("--adapt", type=nonneg_int, default=0, metavar="N",
                   help="with --dict: N iterations in which the dictionaries' templates adapt to "
                        "the mixture, pulled towards the dictionaries (default 0: fixed)")
    p.add_argument("--components", type=positive_int, default=None, metavar="K",
                   help=f"NMF components in total, unsupervised (default {COMPONENTS_PER_SOURCE} "
                        "times the number of sources)")
    p.add_argument("--beta", type=beta_arg, default="kl", metavar="BETA",
                   help="divergence: kl, euclidean, is, or a number (default kl)")
    p.add_argument("--iterations", type=positive_int, default=None, metavar="N",
                   help=f"NMF iterations (default {UNSUPERVISED_ITER} unsupervised; with --dict "
                        f"{SUPERVISED_ITER_ACCELERATED} accelerated, or {SUPERVISED_ITER_PLAIN} plain "
                        "with --residual or a Euclidean dictionary)")
    p.add_argument("--seed", type=nonneg_int, default=0, help="random seed (default 0)")
    p.add_argument("--block-seconds", type=float, default=None, metavar="S",
                   help="with --dict: read, separate and write S seconds at a time, so memory "
                        "stays bounded for long recordings (same result as without it)")
    add_stft_args(p, n_fft=None)
    add_output_args(p)
    add_ux_args(p)
    p.set_defaults(func=run)
    return p


def run(args) -> int:
    from .._options import check_separate_options
    from ..dictionary import SourceDictionary
    from ..exceptions import ParameterError
    from ..files import separate_file, source_paths, track_folder
    from ..supervised import supervised_settings
    from ._progress import Progress, Summary, check_plot_target, show_progress

    if args.dicts and args.sources is not None:
        raise ParameterError("give either --dict (supervised) or --sources (unsupervised), not both")
    check_separate_options({"dictionaries": args.dicts or None, "n_free": args.residual,
                            "n_components": args.components, "beta": args.beta,
                            "adapt": args.adapt}, flags=True)
    if args.block_seconds is not None and (not args.dicts or args.residual):
        raise ParameterError("--block-seconds needs --dict and no --residual (frames must be "
                             "independent to be processed block by block)")
    dicts = [SourceDictionary.load(p) for p in args.dicts] or None
    if dicts:
        names = [d.name for d in dicts] + (["residual"] if args.residual else [])
        n_iter = supervised_settings(dicts, n_free=args.residual, max_iter=args.iterations)[0]
        opts = {"n_free": args.residual}
        if args.adapt:
            opts["adapt"] = args.adapt
    else:
        names = [f"source{i + 1}" for i in range(args.sources or 2)]
        n_iter = args.iterations or UNSUPERVISED_ITER
        opts = {"n_sources": args.sources or 2, "n_components": args.components, "beta": args.beta}
    from ._common import refuse_existing

    refuse_existing(source_paths(track_folder(args.out, args.mix), names).values(), args.overwrite)
    check_plot_target(args)
    summary = Summary("separate", args)
    bar = Progress(n_iter, desc="separate", enabled=show_progress(args) and args.block_seconds is None)
    if args.block_seconds is None:
        opts.update(n_fft=args.n_fft, hop_length=args.hop, random_state=args.seed, callback=bar.callback)
    with bar:
        res = separate_file(args.mix, args.out, dictionaries=dicts, block_seconds=args.block_seconds,
                            overwrite=args.overwrite, max_iter=args.iterations, **opts)
    if args.plot:
        _plot(args, res)
    _describe(summary, args, res, dicts, n_iter)
    summary.finish([str(p) for p in res.paths.values()])
    return 0


def _plot(args, res):
    from ..display import plot_separation, save_figure
    from ..io import load

    y, sources, sr = res.audio, res.sources, res.processing_sr
    if y is None:  # block mode: nothing kept in memory; read the written files back
        y = load(args.mix, sr=res.sr)[0]
        sources = {k: load(p)[0] for k, p in res.paths.items()}
        sr = res.sr
    fig = plot_separation(y, sources, sr=sr, separation=res.separation, stft_params=res.stft_params,
                          title=f"nmfaudio separate: {Path(args.mix).name}")
    save_figure(fig, args.plot, overwrite=args.overwrite)


def _describe(summary, args, res, dicts, n_iter):
    sep = res.separation
    summary.doc["inputs"] = {"mix": args.mix, "dictionaries": list(args.dicts)}
    summary.doc["outputs"] = {n: str(p) for n, p in res.paths.items()}
    summary.doc["plot"] = args.plot
    summary.doc.update({"sample_rate": int(res.sr), "channels": res.channels,
                        "duration_seconds": round(res.duration_seconds, 6)})
    summary.doc["iterations"] = sep.n_iter if sep is not None else n_iter
    summary.doc["final_loss"] = sep.loss if sep is not None else None
    params = res.stft_params
    summary.doc["settings"] = {
        "mode": "supervised" if dicts else "unsupervised", "sources": list(res.paths),
        "components": int(sep.W.shape[1]) if sep is not None else sum(d.W.shape[1] for d in dicts),
        "beta": dicts[0].beta if dicts else args.beta,
        "n_fft": params.n_fft, "hop_length": params.hop_length,
        "max_iter": n_iter, "seed": args.seed,
        "residual_components": args.residual if dicts else 0,
        "adapt_iterations": args.adapt if dicts else 0,
    }
