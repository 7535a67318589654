"""``nmfaudio separate``: split a mixture into sources."""

from __future__ import annotations

import logging
from pathlib import Path

from ._common import add_output_args, add_stft_args, beta_arg, nonneg_int, positive_int, refuse_existing, track_name
from ._progress import add_ux_args

log = logging.getLogger("nmfaudio")


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
    p.add_argument("--components", type=positive_int, default=None, metavar="K",
                   help="NMF components (default 8 per source)")
    p.add_argument("--beta", type=beta_arg, default="kl", metavar="BETA",
                   help="divergence: kl, euclidean, is, or a number (default kl)")
    p.add_argument("--iterations", type=positive_int, default=None, metavar="N",
                   help="NMF iterations (default 200 unsupervised; with --dict 20 accelerated, "
                        "or 100 plain with --residual or a Euclidean dictionary)")
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
    from ..io import load, resample, save_many
    from ..separate import separate_with_details as separate_details
    from ._progress import Progress, Summary, audio_info, check_plot_target, show_progress

    from .._options import check_separate_options
    from ..dictionary import SourceDictionary
    from ..exceptions import ParameterError

    if args.dicts and args.sources is not None:
        raise ParameterError("give either --dict (supervised) or --sources (unsupervised), not both")
    check_separate_options({"dictionaries": args.dicts or None, "n_free": args.residual,
                            "n_components": args.components, "beta": args.beta}, flags=True)
    dicts = [SourceDictionary.load(p) for p in args.dicts]
    if dicts:
        names = [d.name for d in dicts] + (["residual"] if args.residual else [])
    else:
        names = [f"source{i + 1}" for i in range(args.sources or 2)]
    out_dir = Path(args.out) / track_name(args.mix)
    if args.block_seconds is not None:
        if not dicts or args.residual:
            raise ParameterError("--block-seconds needs --dict and no --residual (frames must be "
                                 "independent to be processed block by block)")
        from ..stream import separate_stream

        paths = separate_stream(args.mix, out_dir, dicts, block_seconds=args.block_seconds,
                                max_iter=args.iterations,
                                overwrite=args.overwrite)
        for p in paths.values():
            print(p)
        return 0
    refuse_existing([out_dir / f"{n}.wav" for n in names], args.overwrite)
    check_plot_target(args)
    summary = Summary("separate", args)
    if dicts:
        from ..supervised import _supervised_settings

        n_iter, _ = _supervised_settings(dicts, n_free=args.residual, max_iter=args.iterations)
    else:
        n_iter = args.iterations or 200
    bar = Progress(n_iter, desc="separate",
                   enabled=show_progress(args))
    if dicts:
        # Separation runs at the dictionaries' rate; the outputs are resampled back.
        y0, file_sr = load(args.mix)
        sr = dicts[0].sr
        y = resample(y0, file_sr, sr) if sr != file_sr else y0
        with bar:
            sources, sep, params = separate_details(
                y, sr, dictionaries=dicts, n_free=args.residual, n_fft=args.n_fft,
                hop_length=args.hop, max_iter=args.iterations, random_state=args.seed,
                callback=bar.callback)
        shown = (y, dict(sources), sr)
        if sr != file_sr:
            log.warning("resampled %s Hz -> %s Hz for the dictionaries and back", file_sr, sr)
            sources = {k: resample(v, sr, file_sr, length=y0.shape[-1]) for k, v in sources.items()}
            sr = file_sr
    else:
        y, sr = load(args.mix)
        with bar:
            sources, sep, params = separate_details(
                y, sr, n_sources=args.sources or 2, n_components=args.components, beta=args.beta,
                n_fft=args.n_fft, hop_length=args.hop, max_iter=args.iterations,
                random_state=args.seed, callback=bar.callback)
        shown = (y, sources, sr)
    paths = save_many({out_dir / f"{n}.wav": (s, sr) for n, s in sources.items()},
                      overwrite=args.overwrite)
    if args.plot:
        from ..display import plot_separation, save_figure

        fig = plot_separation(shown[0], shown[1], sr=shown[2], separation=sep, stft_params=params,
                              title=f"nmfaudio separate: {Path(args.mix).name}")
        save_figure(fig, args.plot, overwrite=args.overwrite)
    summary.doc["inputs"] = {"mix": args.mix, "dictionaries": list(args.dicts)}
    summary.doc["outputs"] = {n: p for n, p in zip(sources, paths)}
    summary.doc["plot"] = args.plot
    summary.doc.update(audio_info(y0 if dicts else y, sr))
    summary.doc["iterations"] = sep.n_iter
    summary.doc["final_loss"] = sep.loss
    summary.doc["settings"] = {
        "mode": "supervised" if dicts else "unsupervised", "sources": sep.names,
        "components": int(sep.W.shape[1]), "beta": dicts[0].beta if dicts else args.beta,
        "n_fft": params.n_fft, "hop_length": params.hop_length,
        "max_iter": n_iter, "seed": args.seed,
        "residual_components": args.residual if dicts else 0,
    }
    summary.finish(paths)
    return 0

