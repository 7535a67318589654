"""Separate piano and flute block by block "as if live" with nmfaudio.StreamSeparator.

1. Learn a dictionary per instrument from its solo training clip (as in separate_instruments.py).
2. Feed the mixture to a StreamSeparator in 1024-sample blocks, as an audio callback would,
   timing every block: median and p99 block time against the block's duration, real-time factor.
3. Flush, drop the latency, write piano.wav / flute.wav; check they equal the offline
   nmfaudio.separate() result and score them against the true stems.

With a microphone and speakers the same processor runs live with
`nmfaudio live --dict piano.npz --dict flute.npz --source flute` (pip install "nmfaudio[live]").

Run:  python examples/separate_as_if_live.py --out examples_output
"""

from __future__ import annotations

import sys
import time

import numpy as np

import nmfaudio

from _common import FIXTURES, is_fast, parser, snr_db


def main(argv=None):
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--block-size", type=int, default=1024, help="samples per block (default 1024)")
    args = p.parse_args(argv)
    music = FIXTURES / "music"
    n_components, max_iter = (8, 30) if is_fast(args) else (24, 200)

    # 1. one dictionary per instrument
    dictionaries = []
    for name in ("piano", "flute"):
        clip, sr = nmfaudio.load(music / "train" / f"{name}.wav")
        dictionaries.append(nmfaudio.learn_dictionary(clip, sr, name=name, n_components=n_components,
                                                      max_iter=max_iter))

    # 2. block by block, timing each block as a live callback would
    mix, sr = nmfaudio.load(music / "mix.wav")
    proc = nmfaudio.StreamSeparator(dictionaries=dictionaries)
    block = args.block_size
    parts, seconds = [], []
    cpu0 = time.process_time()
    for start in range(0, len(mix), block):
        t0 = time.perf_counter()
        parts.append(proc.process(mix[start:start + block]))
        seconds.append(time.perf_counter() - t0)
    cpu = time.process_time() - cpu0
    parts.append(proc.flush())
    seconds = np.array(seconds)
    budget = block / sr
    print(f"{len(seconds)} blocks of {block} samples ({1000 * budget:.1f} ms each at {sr} Hz); "
          f"latency {1000 * (proc.latency + block) / sr:.1f} ms (processor {proc.latency} samples + one block)")
    print(f"block time: median {1000 * np.median(seconds):.2f} ms, p99 {1000 * np.percentile(seconds, 99):.2f} ms, "
          f"max {1000 * seconds.max():.2f} ms; real-time factor {len(mix) / sr / seconds.sum():.1f}x "
          f"(CPU time: {len(mix) / sr / cpu:.1f}x); "
          f"{int(np.sum(seconds > budget))} block(s) slower than real time")

    # 3. remove the latency: the streamed sources line up with the mix and equal offline separation
    offline = nmfaudio.separate(mix, sr, dictionaries=dictionaries)
    for name in proc.names:
        y = np.concatenate([part[name] for part in parts])[proc.latency:]
        nmfaudio.save(f"{args.out}/{name}.wav", y, sr, overwrite=True)
        truth, _ = nmfaudio.load(music / f"{name}.wav")
        print(f"{name}: SNR {snr_db(truth, y):5.1f} dB; streamed vs offline max |diff| "
              f"{np.max(np.abs(y - offline[name])):.1e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
