"""``nmfaudio separate``: split a mixture into sources."""

from __future__ import annotations

from pathlib import Path

from ..files import DEFAULT_OUT_DIR
from ..separate import COMPONENTS_PER_SOURCE, UNSUPERVISED_ITER
from ..stft import STFTParams
from ..supervised import SUPERVISED_ITER_ACCELERATED, SUPERVISED_ITER_PLAIN
from ..grouping import GROUPING_METHODS
from ._common import (add_mask_power_arg, add_output_args, add_stft_args, beta_arg, default_out_help,
                      instrument_name, nonneg_float, nonneg_int, positive_int, positive_seconds)
from ._progress import add_ux_args, output_settings


def add_parser(sub):
    p = sub.add_parser(
        "separate", help="separate a mixture into sources",
        description="Separate MIX into sources, writing OUTDIR/<mix name>/<source>.wav "
                    f"(OUTDIR defaults to ./{DEFAULT_OUT_DIR}). Output locations are checked "
                    "before any work.",
    )
    p.add_argument("mix", metavar="MIX", help="mixture audio file")
    p.add_argument("-o", "--out", default=DEFAULT_OUT_DIR, metavar="OUTDIR", help=default_out_help())
    p.add_argument("--instruments", nargs="+", type=instrument_name, default=None, metavar="NAME",
                   help="separate into these bundled models (see 'nmfaudio models'), e.g. "
                        "--instruments piano flute")
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
    p.add_argument("--grouping", choices=list(GROUPING_METHODS), default=GROUPING_METHODS[0],
                   help=f"unsupervised: how components are clustered into sources (default "
                        f"{GROUPING_METHODS[0]})")
    p.add_argument("--mask", choices=["soft", "binary"], default="soft",
                   help="unsupervised: soft (Wiener-like) or binary masks (default soft)")
    add_mask_power_arg(p)
    p.add_argument("--free-sparsity", type=nonneg_float, default=0.0, metavar="L",
                   help="with --residual: L1 penalty on the free components' activations, so "
                        "they take less of the modelled sources (default 0)")
    p.add_argument("--block-seconds", type=positive_seconds, default=None, metavar="S",
                   help="with --dict: read, separate and write S seconds at a time, so memory "
                        "stays bounded for long recordings (same result as without it)")
    add_stft_args(p, default_help=f"default {STFTParams().n_fft}; with --dict or --instruments the "
                                  "models' own")
    add_output_args(p)
    add_ux_args(p)
    p.set_defaults(func=run)
    return p


def run(args) -> int:
    from .._options import check_separate_options
    from ..dictionary import SourceDictionary
    from ..exceptions import UsageError
    from ..files import separate_file, source_paths, track_folder
    from ..models import model_dictionaries
    from ..supervised import supervised_settings
    from ._progress import Progress, Summary, check_plot_target, show_progress

    given = [f for f, v in (("--dict", args.dicts), ("--instruments", args.instruments),
                            ("--sources", args.sources)) if v]
    if len(given) > 1:
        raise UsageError(f"give only one of --dict, --instruments (supervised) and --sources "
                         f"(unsupervised); got {' and '.join(given)}")
    if args.instruments:
        dicts = model_dictionaries(args.instruments)
    else:
        dicts = [SourceDictionary.load(p) for p in args.dicts] or None
    check_separate_options({"dictionaries": dicts, "n_free": args.residual,
                            "n_components": args.components, "beta": args.beta,
                            "grouping": args.grouping, "mask": args.mask,
                            "free_sparsity": args.free_sparsity, "adapt": args.adapt}, flags=True)
    if args.free_sparsity and not args.residual:
        raise UsageError("--free-sparsity applies to the free components of --residual K; add --residual")
    if args.block_seconds is not None and (not dicts or args.residual):
        raise UsageError("--block-seconds needs --dict (or --instruments) and no --residual "
                         "(frames must be independent to be processed block by block)")
    if dicts:
        names = [d.name for d in dicts] + (["residual"] if args.residual else [])
        n_iter = supervised_settings(dicts, n_free=args.residual, max_iter=args.iterations)[0]
        opts = {"n_free": args.residual, "mask_power": args.mask_power}
        if args.free_sparsity:
            opts["free_sparsity"] = args.free_sparsity
        if args.adapt:
            opts["adapt"] = args.adapt
    else:
        names = [f"source{i + 1}" for i in range(args.sources or 2)]
        n_iter = args.iterations or UNSUPERVISED_ITER
        opts = {"n_sources": args.sources or 2, "n_components": args.components, "beta": args.beta,
                "grouping": args.grouping, "mask": args.mask, "mask_power": args.mask_power}
    from ._common import like_input, refuse_existing

    if args.block_seconds is None:  # the block path writes float WAV
        like_input(args, args.mix)
    refuse_existing(source_paths(track_folder(args.out, args.mix), names, format=args.format).values(),
                    args.overwrite)
    check_plot_target(args)
    summary = Summary("separate", args)
    bar = Progress(n_iter, desc="separate", enabled=show_progress(args) and args.block_seconds is None)
    if args.block_seconds is None:
        opts.update(n_fft=args.n_fft, hop_length=args.hop, random_state=args.seed, callback=bar.callback)
    with bar:
        res = separate_file(args.mix, args.out, dictionaries=dicts, block_seconds=args.block_seconds,
                            format=args.format, bit_depth=args.bit_depth, offset=args.start,
                            duration=args.duration, overwrite=args.overwrite,
                            max_iter=args.iterations, **opts)
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
    summary.doc["inputs"] = {"mix": args.mix, "dictionaries": list(args.dicts),
                             "instruments": list(args.instruments or [])}
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
        "mask_power": args.mask_power,
        **({"grouping": args.grouping, "mask": args.mask} if not dicts else
           {"free_sparsity": args.free_sparsity}),
        **output_settings(args),
        "adapt_iterations": args.adapt if dicts else 0,
    }
