"""``nmfaudio live``: the microphone through the separator to the speakers (needs ``nmfaudio[live]``)."""

from __future__ import annotations

import argparse

from ._common import positive_int


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


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} must be a positive number of seconds")
    return value


def add_parser(sub):
    p = sub.add_parser(
        "live", help="separate the microphone live to the speakers",
        description="Play the default (or chosen) microphone through a StreamSeparator to the speakers, "
                    "block by block, until Ctrl-C or --duration; prints xruns, block times and latency at "
                    "the end. Needs pip install \"nmfaudio[live]\" and the PortAudio library "
                    "(Debian/Ubuntu: libportaudio2).",
    )
    p.add_argument("--dict", dest="dicts", action="append", metavar="D.npz", default=[],
                   help="a trained source dictionary (repeat for each source)")
    p.add_argument("--instruments", nargs="+", metavar="NAME", default=None,
                   help="bundled models instead of --dict (see 'nmfaudio models'); the stream runs at 22.05 kHz")
    p.add_argument("--source", default=None, metavar="NAME",
                   help="the source to play (default: the first)")
    p.add_argument("--all-sources", action="store_true",
                   help="play every source, each on its own output channel")
    p.add_argument("--input-device", type=_device, default=None, metavar="ID",
                   help="input device index or name (default: the system's)")
    p.add_argument("--output-device", type=_device, default=None, metavar="ID",
                   help="output device index or name (default: the system's)")
    p.add_argument("--block-size", type=_block_size, default=1024, metavar="N",
                   help="samples per audio callback (default 1024)")
    p.add_argument("--duration", type=_seconds, default=None, metavar="SECONDS",
                   help="stop after this many seconds (default: run until Ctrl-C)")
    p.add_argument("--list-devices", action="store_true", help="list the audio devices and exit")
    p.set_defaults(func=run)
    return p


def run(args) -> int:
    from .._options import OptionsError
    from ..dictionary import SourceDictionary
    from .. import live
    from ..realtime import StreamSeparator

    if args.list_devices:
        print(live.list_devices())
        return 0
    if bool(args.dicts) == (args.instruments is not None):
        raise OptionsError("give the sources with --dict D.npz ... or --instruments NAME ..., one of them")
    if args.source is not None and args.all_sources:
        raise OptionsError("give --source NAME or --all-sources, not both")
    live.import_sounddevice()  # fail on a missing package before loading anything
    if args.dicts:
        proc = StreamSeparator(dictionaries=[SourceDictionary.load(p) for p in args.dicts])
    else:
        proc = StreamSeparator(instruments=args.instruments)
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
