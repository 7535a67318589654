"""``nmfaudio drums``: split a drum recording into kick, snare and hi-hat."""

from __future__ import annotations

from ..drums import DRUMS_ITER
from ..files import DEFAULT_OUT_DIR
from ..stft import STFTParams
from ._common import add_mask_power_arg, add_output_args, default_out_help, fft_size, positive_int
from ._progress import add_ux_args, output_settings


def add_parser(sub):
    p = sub.add_parser(
        "drums", help="split a drum mix into kick, snare and hi-hat",
        description="Split the drum recording MIX with convolutive NMF (no training audio), "
                    "writing OUTDIR/<mix name>/kick.wav, snare.wav and hihat.wav "
                    f"(OUTDIR defaults to ./{DEFAULT_OUT_DIR}).",
    )
    p.add_argument("mix", metavar="MIX", help="drum audio file")
    p.add_argument("-o", "--out", default=DEFAULT_OUT_DIR, metavar="OUTDIR", help=default_out_help("drums"))
    p.add_argument("--iterations", type=positive_int, default=DRUMS_ITER, metavar="N",
                   help=f"NMFD iterations (default {DRUMS_ITER})")
    n_fft = STFTParams().n_fft
    p.add_argument("--n-fft", type=fft_size, default=n_fft, metavar="N",
                   help=f"FFT size (default {n_fft})")
    p.add_argument("--hop", type=positive_int, default=None, metavar="N",
                   help="hop length in samples (default n_fft / 4)")
    add_mask_power_arg(p)
    add_output_args(p)
    add_ux_args(p)
    p.set_defaults(func=run)
    return p


def run(args) -> int:
    from ..files import source_paths, split_drums_file, track_folder
    from ..drums import DRUMS
    from ._common import like_input, refuse_existing
    from ._progress import Progress, Summary, check_plot_target, show_progress

    like_input(args, args.mix)
    paths = source_paths(track_folder(args.out, args.mix), DRUMS, format=args.format)
    refuse_existing(paths.values(), args.overwrite)  # CLI wording, before any work
    check_plot_target(args)
    summary = Summary("drums", args)
    with Progress(args.iterations, desc="drums", enabled=show_progress(args)) as bar:
        res = split_drums_file(args.mix, args.out, format=args.format, bit_depth=args.bit_depth,
                               offset=args.start, duration=args.duration, overwrite=args.overwrite,
                               n_fft=args.n_fft, hop_length=args.hop, max_iter=args.iterations,
                               mask_power=args.mask_power, callback=bar.callback)
    if args.plot:
        from pathlib import Path

        from ..display import plot_separation, save_figure

        fig = plot_separation(res.audio, res.sources, sr=res.sr, stft_params=res.stft_params,
                              title=f"nmfaudio drums: {Path(args.mix).name}")
        save_figure(fig, args.plot, overwrite=args.overwrite)
    summary.doc["plot"] = args.plot
    summary.doc["inputs"] = {"mix": args.mix}
    summary.doc["outputs"] = {n: str(p) for n, p in res.paths.items()}
    summary.doc.update({"sample_rate": int(res.sr), "channels": res.channels,
                        "duration_seconds": round(res.duration_seconds, 6)})
    summary.doc["iterations"] = bar.iteration if bar.iteration is not None else args.iterations
    summary.doc["final_loss"] = bar.loss
    summary.doc["settings"] = {"method": "nmfd", "n_fft": res.stft_params.n_fft,
                               "hop_length": res.stft_params.hop_length, "max_iter": args.iterations,
                               "mask_power": args.mask_power,
                               **output_settings(args)}
    summary.finish([str(p) for p in res.paths.values()])
    return 0
