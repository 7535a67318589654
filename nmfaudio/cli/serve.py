"""``nmfaudio serve``: a local web page to separate, denoise and listen."""

from __future__ import annotations

import argparse

from ._common import positive_int


def _port(text):
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"invalid port {text!r}: expected a number from 0 to 65535")
    return value


def _megabytes(text):
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"invalid size {text!r}: expected a number of MB > 0")
    return value


def add_parser(sub):
    p = sub.add_parser(
        "serve", help="a local web page to separate, denoise and listen",
        description="Serve a page where you drop a recording, choose a mode (unsupervised, bundled "
                    "instruments, your dictionaries, denoise, drums), follow the progress, then listen "
                    "to each source, see its spectrogram and download it. Everything runs on this "
                    "computer; needs the web extra: pip install \"nmfaudio[web]\".",
    )
    p.add_argument("--host", default="127.0.0.1",
                   help="interface to listen on (default 127.0.0.1: this computer only; another "
                        "address makes the page reachable from the network, without a password)")
    p.add_argument("--port", type=_port, default=8765, help="TCP port (default 8765; 0 = any free port)")
    p.add_argument("--open", action="store_true", help="open the page in the default web browser")
    p.add_argument("--max-upload-mb", type=_megabytes, default=200, metavar="MB",
                   help="largest upload accepted, in MB (default 200); larger ones are refused")
    p.add_argument("--jobs", type=positive_int, default=1, metavar="N",
                   help="jobs run at the same time (default 1; the others wait in a queue)")
    p.set_defaults(func=run)
    return p


def run(args) -> int:
    from ..web import serve

    serve(host=args.host, port=args.port, open_browser=args.open, max_upload_mb=args.max_upload_mb,
          jobs=args.jobs)
    return 0
