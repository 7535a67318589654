"""``nmfaudio train``: learn a source dictionary from example clips."""

from __future__ import annotations

from ._common import add_output_args, add_stft_args, beta_arg, positive_int


def add_parser(sub):
    p = sub.add_parser(
        "train", help="learn a source dictionary from clips of one source",
        description="Learn spectral templates of source NAME from CLIP(s) and save them to an .npz file.",
    )
    p.add_argument("name", metavar="NAME", help="source name (names the separated output files)")
    p.add_argument("clips", metavar="CLIP", nargs="+", help="training audio files (the source alone)")
    p.add_argument("-o", "--out", required=True, metavar="NAME.npz", help="dictionary file to write")
    p.add_argument("--components", type=positive_int, default=None, metavar="K",
                   help="number of templates (default: the API default)")
    p.add_argument("--beta", type=beta_arg, default="kl", metavar="BETA", help="divergence (default kl)")
    p.add_argument("--sr", type=positive_int, default=None, metavar="HZ",
                   help="resample the clips to this rate (default: the first clip's rate)")
    add_stft_args(p)
    add_output_args(p)
    p.set_defaults(func=run)
    return p


def run(args) -> int:
    import inspect

    from ..dictionary import learn_dictionary
    from ..exceptions import AudioFileError, ParameterError
    from ..io import load
    from ..stft import STFTParams

    from pathlib import Path

    out = Path(args.out)
    if out.suffix.lower() != ".npz":
        raise ParameterError(f"output {args.out!r} must end in .npz")
    if out.exists() and not args.overwrite:
        raise AudioFileError(f"{args.out!r} already exists; pass --overwrite to replace it")
    clips, sr = [], args.sr
    for path in args.clips:
        y, file_sr = load(path, sr=sr)
        if sr is None:
            sr = file_sr
        clips.append(y)
    kw = {}
    if args.components is not None:
        kw["n_components"] = args.components
    else:
        kw["n_components"] = inspect.signature(learn_dictionary).parameters["n_components"].default
    d = learn_dictionary(clips, sr, name=args.name, beta=args.beta,
                         stft=STFTParams(n_fft=args.n_fft, hop_length=args.hop), **kw)
    d.save(out, overwrite=args.overwrite)
    print(out)
    return 0
