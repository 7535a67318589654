"""``nmfaudio separate``: split a mixture into sources."""

from __future__ import annotations

import logging
from pathlib import Path

from ._common import add_output_args, add_stft_args, beta_arg, positive_int, track_name

log = logging.getLogger("nmfaudio")


def add_parser(sub):
    p = sub.add_parser(
        "separate", help="separate a mixture into sources",
        description="Separate MIX into sources, writing OUTDIR/<mix name>/<source>.wav.",
    )
    p.add_argument("mix", metavar="MIX", help="mixture audio file")
    p.add_argument("-o", "--out", required=True, metavar="OUTDIR", help="output directory")
    p.add_argument("--sources", type=positive_int, default=2, metavar="N",
                   help="number of sources for unsupervised separation (default 2)")
    p.add_argument("--components", type=positive_int, default=None, metavar="K",
                   help="NMF components (default 8 per source)")
    p.add_argument("--beta", type=beta_arg, default="kl", metavar="BETA",
                   help="divergence: kl, euclidean, is, or a number (default kl)")
    p.add_argument("--iterations", type=positive_int, default=200, metavar="N",
                   help="maximum NMF iterations (default 200)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    add_stft_args(p)
    add_output_args(p)
    p.set_defaults(func=run)
    return p


def run(args) -> int:
    from ..io import load, save_many
    from ..separate import separate

    y, sr = load(args.mix)
    out_dir = Path(args.out) / track_name(args.mix)
    names = [f"source{i + 1}" for i in range(args.sources)]
    targets = [out_dir / f"{n}.wav" for n in names]
    if not args.overwrite:
        for t in targets:
            if t.exists():
                from ..exceptions import AudioFileError

                raise AudioFileError(f"{str(t)!r} already exists; pass --overwrite to replace it")
    sources = separate(y, sr, n_sources=args.sources, n_components=args.components, beta=args.beta,
                       n_fft=args.n_fft, hop_length=args.hop, max_iter=args.iterations,
                       random_state=args.seed)
    paths = save_many({out_dir / f"{n}.wav": (s, sr) for n, s in sources.items()},
                      overwrite=args.overwrite)
    for p in paths:
        print(p)
    return 0
