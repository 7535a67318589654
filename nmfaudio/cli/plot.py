"""``nmfaudio plot``: draw trained dictionaries (or audio spectrograms) to an image file."""

from __future__ import annotations

from ._common import add_output_args
from ._progress import add_ux_args

_AUDIO = (".wav", ".flac", ".ogg", ".mp3", ".aiff", ".aif")


def add_parser(sub):
    p = sub.add_parser(
        "plot", help="draw dictionaries' templates or audio spectrograms to a PNG/SVG/PDF",
        description="Draw the templates of trained dictionaries (DICT.npz, side by side) or the "
                    "spectrograms of audio files (one panel each, on a common dB scale) to FILE.",
    )
    p.add_argument("inputs", metavar="INPUT", nargs="+",
                   help="dictionary .npz files, or audio files (not both)")
    p.add_argument("-o", "--out", required=True, metavar="FILE.png", help="image file (.png, .svg, .pdf)")
    p.add_argument("--linear", action="store_true", help="linear frequency axis (default log)")
    add_output_args(p, audio=False, excerpt=False)
    add_ux_args(p, plot=False)
    p.set_defaults(func=run)
    return p


def run(args) -> int:
    from pathlib import Path

    from ..exceptions import ParameterError
    from ._progress import Summary, check_image_target

    check_image_target(args.out, "output", args.overwrite)
    out = Path(args.out)
    kinds = {"audio" if Path(p).suffix.lower() in _AUDIO else "dictionary" for p in args.inputs}
    if len(kinds) > 1:
        raise ParameterError("give either dictionary .npz files or audio files, not both")
    summary = Summary("plot", args)
    y_axis = "linear" if args.linear else "log"
    from .. import display

    if kinds == {"dictionary"}:
        from ..dictionary import SourceDictionary

        dicts = [SourceDictionary.load(p) for p in args.inputs]
        fig = display.plot_dictionary(dicts, y_axis=y_axis)
        summary.doc["inputs"] = {"dictionaries": {p: d.metadata() for p, d in zip(args.inputs, dicts)}}
    else:
        fig, info = _spectrograms(args.inputs, y_axis, display)
        summary.doc["inputs"] = {"audio": info}
    display.save_figure(fig, out, overwrite=args.overwrite)
    summary.doc["outputs"] = {"figure": out}
    summary.doc["settings"] = {"y_axis": y_axis}
    summary.finish([out])
    return 0


def _spectrograms(paths, y_axis, display):
    from ..io import load
    from ._progress import audio_info

    first, sr = load(paths[0])
    signals = [first] + [load(p, sr=sr)[0] for p in paths[1:]]  # one rate for a common time axis
    fig = display.plot_spectrograms(signals, sr=sr, names=[str(p) for p in paths], y_axis=y_axis)
    return fig, {str(p): audio_info(y, sr) for p, y in zip(paths, signals)}
