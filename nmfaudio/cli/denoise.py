"""``nmfaudio denoise``: remove noise from a recording."""

from __future__ import annotations

from ._common import add_output_args, positive_int


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
    p.set_defaults(func=run)
    return p


def run(args) -> int:
    from pathlib import Path

    from ..denoise import denoise_sources
    from ..dictionary import SourceDictionary
    from ..exceptions import AudioFileError
    from ..io import load, save_many

    targets = [Path(args.out)] + ([Path(args.noise_out)] if args.noise_out else [])
    if not args.overwrite:
        for t in targets:
            if t.exists():
                raise AudioFileError(f"{str(t)!r} already exists; pass --overwrite to replace it")
    noise_dict = SourceDictionary.load(args.noise_dict) if args.noise_dict else None
    speech_dict = SourceDictionary.load(args.speech_dict) if args.speech_dict else None
    ref = noise_dict or speech_dict
    y, sr = load(args.noisy, sr=ref.sr if ref is not None else None)
    noise = load(args.noise, sr=sr)[0] if args.noise else None
    parts = denoise_sources(y, sr, noise=noise, noise_dictionary=noise_dict,
                            speech_dictionary=speech_dict, max_iter=args.iterations)
    items = {Path(args.out): (parts["clean"], sr)}
    if args.noise_out:
        items[Path(args.noise_out)] = (parts["noise"], sr)
    for path in save_many(items, overwrite=args.overwrite):
        print(path)
    return 0
