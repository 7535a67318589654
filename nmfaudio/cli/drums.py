"""``nmfaudio drums``: split a drum recording into kick, snare and hi-hat."""

from __future__ import annotations

from pathlib import Path

from ._common import fft_size, add_output_args, positive_int, refuse_existing, track_name
from ._progress import add_ux_args


def add_parser(sub):
    p = sub.add_parser(
        "drums", help="split a drum mix into kick, snare and hi-hat",
        description="Split the drum recording MIX with convolutive NMF (no training audio), "
                    "writing OUTDIR/<mix name>/kick.wav, snare.wav and hihat.wav.",
    )
    p.add_argument("mix", metavar="MIX", help="drum audio file")
    p.add_argument("-o", "--out", required=True, metavar="OUTDIR", help="output directory")
    p.add_argument("--iterations", type=positive_int, default=None, metavar="N",
                   help="NMFD iterations (default: the API default)")
    p.add_argument("--n-fft", type=fft_size, default=2048, metavar="N",
                   help="FFT size (default 2048)")
    p.add_argument("--hop", type=positive_int, default=None, metavar="N",
                   help="hop length in samples (default n_fft / 4)")
    add_output_args(p)
    add_ux_args(p, plot=False)
    p.set_defaults(func=run)
    return p


def run(args) -> int:
    from ..drums import DRUMS, split_drums
    from ..io import load, save_many
    from ._progress import Summary, audio_info

    out_dir = Path(args.out) / track_name(args.mix)
    refuse_existing([out_dir / f"{n}.wav" for n in DRUMS], args.overwrite)
    summary = Summary("drums", args)
    y, sr = load(args.mix)
    kw = {} if args.iterations is None else {"max_iter": args.iterations}
    sources = split_drums(y, sr, n_fft=args.n_fft, hop_length=args.hop, **kw)
    paths = save_many({out_dir / f"{n}.wav": (sources[n], sr) for n in DRUMS},
                      overwrite=args.overwrite)
    summary.doc["inputs"] = {"mix": args.mix}
    summary.doc["outputs"] = {n: p for n, p in zip(DRUMS, paths)}
    summary.doc.update(audio_info(y, sr))
    import inspect

    default_iter = inspect.signature(split_drums).parameters["max_iter"].default
    summary.doc["settings"] = {"method": "nmfd", "n_fft": args.n_fft,
                               "hop_length": args.hop or args.n_fft // 4,
                               "max_iter": kw.get("max_iter", default_iter)}
    summary.finish(paths)
    return 0
