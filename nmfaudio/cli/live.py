"""``nmfaudio live``: the microphone through the separator to the speakers (needs ``nmfaudio[live]``)."""

from __future__ import annotations

import argparse

from ._common import positive_int, positive_seconds


def _device(text: str):
    """A PortAudio device: an index, or a substring of its name."""
    text = text.strip()
    if not text:
        raise argparse.ArgumentTypeError("a device is an index or part of its name (see --list-devices)")
    return int(text) if text.lstrip("-").isdigit() else text


def _block_size(text: str) -> int:
    from ..live import MAX_BLOCK, MIN_BLOCK

    value = positive_int(text)
    if not MIN_BLOCK <= value <= MAX_BLOCK:
        raise argparse.ArgumentTypeError(f"{text!r} samples: expected {MIN_BLOCK} to {MAX_BLOCK} "
                                         "(typical: 256-2048)")
    return value


def add_parser(sub):
    p = sub.add_parser(
        "live", help="separate or denoise the microphone live to the speakers",
        description="Play the default (or chosen) microphone through a StreamSeparator (--dict, "
                    "--instruments) or a StreamDenoiser (--noise, --noise-dict, --denoise) to the speakers, "
                    "block by block, until Ctrl-C or --duration; prints xruns, block times and latency at "
                    "the end. Needs pip install \"nmfaudio[live]\" and the PortAudio library "
                    "(Debian/Ubuntu: libportaudio2).",
    )
    p.add_argument("--dict", dest="dicts", action="append", metavar="D.npz", default=[],
                   help="a trained source dictionary (repeat for each source)")
    p.add_argument("--instruments", nargs="+", metavar="NAME", default=None,
                   help="bundled models instead of --dict (see 'nmfaudio models'); the stream runs at 22.05 kHz")
    p.add_argument("--noise", default=None, metavar="CLIP",
                   help="denoise: a recording of the noise alone (its rate is the stream's)")
    p.add_argument("--noise-dict", default=None, metavar="N.npz",
                   help="denoise with a trained noise dictionary (its rate is the stream's)")
    p.add_argument("--denoise", action="store_true",
                   help="denoise blind: the noise model adapts on quiet frames as the stream goes")
    p.add_argument("--sr", type=positive_int, default=None, metavar="HZ",
                   help="stream rate for --denoise (default 22050)")
    p.add_argument("--source", default=None, metavar="NAME",
                   help="the source to play (default: the first; 'speech' when denoising)")
    p.add_argument("--all-sources", action="store_true",
                   help="play every source, each on its own output channel")
    p.add_argument("--input-device", type=_device, default=None, metavar="ID",
                   help="input device index or name (default: the system's)")
    p.add_argument("--output-device", type=_device, default=None, metavar="ID",
                   help="output device index or name (default: the system's)")
    p.add_argument("--block-size", type=_block_size, default=1024, metavar="N",
                   help="samples per audio callback (default 1024)")
    p.add_argument("--duration", type=positive_seconds, default=None, metavar="SECONDS",
                   help="stop after this many seconds (default: run until Ctrl-C)")
    p.add_argument("--list-devices", action="store_true", help="list the audio devices and exit")
    p.set_defaults(func=run)
    return p


def _processor(args, mode):
    from .. import io
    from ..dictionary import SourceDictionary
    from ..realtime import StreamSeparator
    from ..realtime_denoise import StreamDenoiser

    if mode == "--dict":
        return StreamSeparator(dictionaries=[SourceDictionary.load(p) for p in args.dicts])
    if mode == "--instruments":
        return StreamSeparator(instruments=args.instruments)
    if mode == "--noise":
        clip, sr = io.load(args.noise)
        return StreamDenoiser(noise=clip, sr=sr)
    if mode == "--noise-dict":
        return StreamDenoiser(noise_dictionary=SourceDictionary.load(args.noise_dict))
    return StreamDenoiser(sr=args.sr or 22050)


def run(args) -> int:
    from .._options import OptionsError
    from .. import live

    if args.list_devices:
        print(live.list_devices())
        return 0
    modes = [m for m, on in (("--dict", bool(args.dicts)), ("--instruments", args.instruments is not None),
                             ("--noise", args.noise is not None), ("--noise-dict", args.noise_dict is not None),
                             ("--denoise", args.denoise)) if on]
    if len(modes) != 1:
        raise OptionsError("give one of --dict D.npz ..., --instruments NAME ... (separate) or --noise CLIP, "
                           "--noise-dict N.npz, --denoise (denoise)"
                           + (f"; got {' and '.join(modes)}" if modes else ""))
    if args.sr is not None and not args.denoise:
        raise OptionsError("--sr applies to --denoise only (otherwise the model's rate is the stream's)")
    if args.source is not None and args.all_sources:
        raise OptionsError("give --source NAME or --all-sources, not both")
    live.import_sounddevice()  # fail on a missing package before loading anything
    proc = _processor(args, modes[0])
    if args.source is not None and args.source not in proc.names:
        raise OptionsError(f"--source {args.source!r}: the sources are {', '.join(proc.names)}")
    source = list(proc.names) if args.all_sources else args.source
    played = ", ".join(proc.names if args.all_sources else [args.source or proc.names[0]])

    def open_stream(**kwargs):  # say what plays once the devices have accepted the stream
        stream = live.sounddevice_stream(**kwargs)
        print(f"nmfaudio live: playing {played} at {proc.sr} Hz in {args.block_size}-sample blocks "
              f"(latency {1000 * (proc.latency + args.block_size) / proc.sr:.1f} ms); Ctrl-C stops", flush=True)
        return stream

    report = live.run_live(proc, source=source, block_size=args.block_size, input_device=args.input_device,
                           output_device=args.output_device, duration=args.duration, stream_factory=open_stream)
    print(f"nmfaudio live: {'stopped (Ctrl-C); ' if report.interrupted else ''}{report.summary()}")
    return 0
