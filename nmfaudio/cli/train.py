"""``nmfaudio train``: learn a source dictionary from example clips."""

from __future__ import annotations

from ..dictionary import DEFAULT_BETA, DEFAULT_COMPONENTS, DEFAULT_PITCH_SHIFTS, TRAIN_ITER, default_stft
from ._common import add_output_args, add_stft_args, beta_arg, positive_int, refuse_existing
from ._progress import add_ux_args


def add_parser(sub):
    p = sub.add_parser(
        "train", help="learn a source dictionary from clips of one source",
        description="Learn spectral templates of source NAME from CLIP(s) and save them to an .npz file.",
    )
    p.add_argument("name", metavar="NAME", help="source name (names the separated output files)")
    p.add_argument("clips", metavar="CLIP", nargs="+", help="training audio files (the source alone)")
    p.add_argument("-o", "--out", required=True, metavar="NAME.npz", help="dictionary file to write")
    p.add_argument("--components", type=positive_int, default=DEFAULT_COMPONENTS, metavar="K",
                   help=f"number of templates learned (default {DEFAULT_COMPONENTS}; the pitch-shifted "
                        "copies come on top)")
    p.add_argument("--beta", type=beta_arg, default=DEFAULT_BETA, metavar="BETA",
                   help=f"divergence: kl, euclidean, is or a number (default {DEFAULT_BETA})")
    p.add_argument("--sr", type=positive_int, default=None, metavar="HZ",
                   help="resample the clips to this rate (default: the first clip's rate)")
    p.add_argument("--pitch-shifts", type=int, default=max(DEFAULT_PITCH_SHIFTS), metavar="N",
                   help="also keep every template transposed by ±1..±N semitones, so notes missing "
                        f"from the clips are covered (default {max(DEFAULT_PITCH_SHIFTS)}; 0 disables)")
    add_stft_args(p, default_help=f"default: about 93 ms at the clips' rate, e.g. "
                                  f"{default_stft(22050).n_fft} at 22.05 kHz")
    add_output_args(p, audio=False, excerpt=False)
    add_ux_args(p, plot=True)
    p.hints = {"required: CLIP": "the first argument is the source NAME: nmfaudio train NAME CLIP..."}
    p.set_defaults(func=run)
    return p


def _check_name(name, clips):
    """NAME forgotten: the first clip would silently become the name."""
    import os

    from .._formats import EXTENSIONS
    from ..exceptions import UsageError

    if os.path.exists(name) or os.path.splitext(name)[1].lower() in EXTENSIONS:
        example = " ".join([name, *clips][:2])
        raise UsageError(f"NAME {name!r} looks like a clip, not a source name; give the name first: "
                         f"nmfaudio train NAME CLIP... (e.g. nmfaudio train piano {example} -o piano.npz)")


def run(args) -> int:
    from ..dictionary import learn_dictionary
    from ..exceptions import ParameterError
    from ..io import load
    from ..stft import STFTParams
    from ._progress import Progress, Summary, check_plot_target, show_progress

    from pathlib import Path

    _check_name(args.name, args.clips)
    out = Path(args.out)
    if out.suffix.lower() != ".npz":
        raise ParameterError(f"output {args.out!r} must end in .npz")
    refuse_existing([args.out], args.overwrite)
    check_plot_target(args)
    summary = Summary("train", args)
    clips, sr = [], args.sr
    with Progress(len(args.clips), desc="loading", unit="file",
                  enabled=show_progress(args) and len(args.clips) > 1) as files:
        for path in files.iterate(args.clips):
            y, file_sr = load(path, sr=sr)
            if sr is None:
                sr = file_sr
            clips.append(y)
    kw = {"n_components": args.components}
    max_iter = TRAIN_ITER
    with Progress(max_iter, desc="train", enabled=show_progress(args)) as bar:
        if args.pitch_shifts < 0 or args.pitch_shifts > 24:
            raise ParameterError(f"--pitch-shifts {args.pitch_shifts} must be between 0 and 24")
        shifts = [s for s in range(-args.pitch_shifts, args.pitch_shifts + 1) if s != 0]
        stft = None
        if args.n_fft is not None or args.hop is not None:
            from ..dictionary import default_stft

            stft = STFTParams(n_fft=args.n_fft or default_stft(sr).n_fft, hop_length=args.hop)
        d = learn_dictionary(clips, sr, name=args.name, beta=args.beta, stft_params=stft,
                             pitch_shifts=shifts, callback=bar.callback, **kw)
    d.save(out, overwrite=args.overwrite)
    if args.plot:
        from ..display import plot_dictionary, save_figure

        save_figure(plot_dictionary(d), args.plot, overwrite=args.overwrite)
    summary.doc["inputs"] = {"clips": list(args.clips)}
    summary.doc["outputs"] = {"dictionary": out}
    summary.doc["plot"] = args.plot
    summary.doc["sample_rate"] = sr
    channels = {1 if c.ndim == 1 else int(c.shape[0]) for c in clips}
    summary.doc["channels"] = channels.pop() if len(channels) == 1 else None
    summary.doc["duration_seconds"] = d.info.get("train_seconds")
    summary.doc["iterations"] = d.info.get("n_iter")
    summary.doc["final_loss"] = d.info.get("loss")
    summary.doc["settings"] = {"name": d.name, "components": d.info.get("base_components"),
                               "templates": d.n_components, "pitch_shifts": d.info.get("pitch_shifts"),
                               "beta": d.beta,
                               "n_fft": d.stft.n_fft, "hop_length": d.stft.hop_length,
                               "max_iter": max_iter}
    summary.finish([out])
    return 0
