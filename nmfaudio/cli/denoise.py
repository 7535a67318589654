"""``nmfaudio denoise``: remove noise from a recording."""

from __future__ import annotations

from ._common import add_output_args, positive_int, refuse_existing
from ._progress import add_ux_args


def add_parser(sub):
    p = sub.add_parser(
        "denoise", help="remove noise from a recording",
        description="Denoise NOISY. With --noise (a noise sample) or --noise-dict the noise "
                    "model is fixed and the speech is learned; with --speech-dict the converse; "
                    "with neither, the noise is modelled from the quietest frames.",
    )
    p.add_argument("noisy", metavar="NOISY", help="noisy audio file")
    p.add_argument("-o", "--out", required=True, metavar="CLEAN.wav", help="output file (.wav or .flac)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--noise", metavar="NOISE.wav", help="a sample of the noise alone")
    g.add_argument("--noise-dict", metavar="N.npz", help="a trained noise dictionary")
    p.add_argument("--speech-dict", metavar="S.npz", help="a trained speech dictionary")
    p.add_argument("--noise-out", metavar="NOISE.wav", help="also write the removed noise here")
    p.add_argument("--iterations", type=positive_int, default=100, metavar="N",
                   help="NMF iterations (default 100)")
    add_output_args(p)
    add_ux_args(p)
    p.set_defaults(func=run)
    return p


def run(args) -> int:
    from pathlib import Path

    from ..denoise import denoise_sources
    from ..dictionary import SourceDictionary
    from ..exceptions import ParameterError
    from ..io import _format_of, load, resample, save_many
    from ._progress import Progress, Summary, audio_info, check_plot_target, show_progress

    targets = [Path(args.out)] + ([Path(args.noise_out)] if args.noise_out else [])
    for t in targets:
        _format_of(t)  # fail on a bad extension before the work, not after
    if len(targets) == 2 and targets[0].resolve() == targets[1].resolve():
        raise ParameterError(f"--out and --noise-out are the same file {args.out!r}; give two paths")
    refuse_existing(targets, args.overwrite)
    check_plot_target(args)
    summary = Summary("denoise", args)
    noise_dict = SourceDictionary.load(args.noise_dict) if args.noise_dict else None
    speech_dict = SourceDictionary.load(args.speech_dict) if args.speech_dict else None
    ref = noise_dict or speech_dict
    y0, file_sr = load(args.noisy)
    sr = ref.sr if ref is not None else file_sr
    y = resample(y0, file_sr, sr) if sr != file_sr else y0
    noise = load(args.noise, sr=sr)[0] if args.noise else None
    with Progress(args.iterations, desc="denoise", enabled=show_progress(args)) as bar:
        parts = denoise_sources(y, sr, noise=noise, noise_dictionary=noise_dict,
                                speech_dictionary=speech_dict, max_iter=args.iterations,
                                callback=bar.callback)
    if sr != file_sr:
        # Denoised at the dictionaries' rate; written at the input's rate and length.
        parts = {k: resample(v, sr, file_sr, length=y0.shape[-1]) for k, v in parts.items()}
        sr = file_sr
    items = {Path(args.out): (parts["clean"], sr)}
    if args.noise_out:
        items[Path(args.noise_out)] = (parts["noise"], sr)
    paths = save_many(items, overwrite=args.overwrite)
    if args.plot:
        from ..display import plot_separation, save_figure
        from ..denoise import default_denoise_stft

        params = ref.stft if ref is not None else default_denoise_stft(sr)
        fig = plot_separation(y0, parts, sr=sr, stft_params=params,
                              title=f"nmfaudio denoise: {Path(args.noisy).name}")
        save_figure(fig, args.plot, overwrite=args.overwrite)
    mode = ("noise sample" if args.noise else "noise dictionary" if noise_dict is not None
            else "speech dictionary" if speech_dict is not None else "blind")
    summary.doc["inputs"] = {"noisy": args.noisy, "noise": args.noise, "noise_dict": args.noise_dict,
                             "speech_dict": args.speech_dict}
    summary.doc["outputs"] = {"clean": paths[0], "noise": paths[1] if args.noise_out else None}
    summary.doc["plot"] = args.plot
    summary.doc.update(audio_info(y0, sr))
    summary.doc["iterations"] = args.iterations
    summary.doc["final_loss"] = bar.loss
    summary.doc["final_loss_iteration"] = bar.iteration
    summary.doc["settings"] = {"mode": mode, "max_iter": args.iterations}
    summary.finish(paths)
    return 0
