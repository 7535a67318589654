#!/usr/bin/env python
"""Denoising speech with a speech dictionary: ways to combine the speaker's dictionary with the
model ``denoise`` learns on the input itself (issue #14 item 6).

    python benchmarks/quality/dict_route.py [--part tune] [--grid first]

Dictionaries come from ``learn_dictionary``'s defaults on each item's training clips (what
``nmfaudio train`` writes): ``D`` (speech) and ``N`` (noise). Rows (speech only; SDR, SI-SDR,
STOI, PESQ and harmed items as in ``tune_denoise.py``; "better"/"worse" against the first row):

- ``D+clip``: ``denoise(noise=clip, speech_dictionary=D)`` (today's route);
- ``clip``: ``denoise(noise=clip)`` (no speech dictionary; for reference);
- ``D+clip x clip``: the geometric mean of the two models' estimates (``_usm.combine``), masked
  at ``mask_power`` p;
- ``Dbase``: ``D`` without its pitch-shifted copies (its ``base_components`` first columns);
- ``Nbase``: ``N`` without its pitch-shifted copies;
- ``D+region``: the clip put in front of the mixture and given as ``noise_region`` (the output
  cropped to the mixture);
- ``D+N``: ``denoise(noise_dictionary=N, speech_dictionary=D)``; ``D+N x N``: the geometric
  mean with ``denoise(noise_dictionary=N)`` (free speech templates and the voice model;
  ``N-2nd``: that model with the second pass on its quietest 15 % of frames);
- ``... 2nd``: the noise-sample second pass (``_second_pass``, the clip's frames and the
  input's quietest 15 %) after the dictionary model, as the noise-sample mode takes it (refit
  with free speech templates and the voice model); ``2ndD``: the refit keeps ``D`` (and the
  voice model beside it). With two dictionaries there is no clip: the quietest 15 % alone.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))
sys.path.insert(0, str(HERE))

import nmfaudio  # noqa: E402
import run  # noqa: E402
from nmfaudio import _usm  # noqa: E402
from nmfaudio.dictionary import spectrogram  # noqa: E402

dn = sys.modules["nmfaudio.denoise"]
#: the rows build their combinations themselves: each model here is one mode's alone
dn.SPEECH_DICT_WITH_INPUT = False
dn.NOISE_DICT_BASE_ONLY = False

GRIDS = {
    "first": [("D+clip", ("D+clip", None, 2.0)), ("clip", ("clip", None, 1.0)),
              ("Dbase+clip", ("Dbase+clip", None, 2.0)),
              ("D+clip x clip, p=1", ("D+clip", "clip", 1.0)), ("D+clip x clip, p=2", ("D+clip", "clip", 2.0)),
              ("Dbase+clip x clip, p=1", ("Dbase+clip", "clip", 1.0)),
              ("Dbase+clip x clip, p=2", ("Dbase+clip", "clip", 2.0)),
              ("D+clip 2nd, p=2", ("D+clip-2nd", None, 2.0)),
              ("D+N", ("D+N", None, 2.0)), ("D+N x N, p=1", ("D+N", "N", 1.0)), ("D+N x N, p=2", ("D+N", "N", 2.0)),
              ("Dbase+N x N, p=2", ("Dbase+N", "N", 2.0))],
    # after "first": the second pass refit with the speaker's dictionary kept ("2ndD"), the
    # combinations with the noise-sample mode, and the two-dictionary mode's second pass (the
    # noise of the quietest 15 % of frames; no clip to add)
    "second": [("D+clip", ("D+clip", None, 2.0)), ("D+clip x clip, p=2", ("D+clip", "clip", 2.0)),
               ("D+clip x clip, p=1.5", ("D+clip", "clip", 1.5)),
               ("D+clip 2nd, p=2", ("D+clip-2nd", None, 2.0)), ("D+clip 2nd, p=1.5", ("D+clip-2nd", None, 1.5)),
               ("D+clip 2ndD, p=2", ("D+clip-2ndD", None, 2.0)),
               ("D+clip 2nd x clip, p=2", ("D+clip-2nd", "clip", 2.0)),
               ("D+clip 2ndD x clip, p=2", ("D+clip-2ndD", "clip", 2.0)),
               ("D+N", ("D+N", None, 2.0)), ("D+N 2nd, p=2", ("D+N-2nd", None, 2.0)),
               ("D+N 2ndD, p=2", ("D+N-2ndD", None, 2.0))],
    # the candidates of "second" beside a noise region (the clip put in front of the mixture, as
    # tune_denoise.py --mode region does; no second pass in that mode) and two dictionaries
    "third": [("D+clip", ("D+clip", None, 2.0)), ("D+clip x clip, p=1.5", ("D+clip", "clip", 1.5)),
              ("D+region", ("D+region", None, 2.0)), ("D+region x region, p=1.5", ("D+region", "region", 1.5)),
              ("D+region x region, p=2", ("D+region", "region", 2.0)),
              ("D+N", ("D+N", None, 2.0)), ("D+N 2nd, p=1.5", ("D+N-2nd", None, 1.5)),
              ("D+N x N, p=1.5", ("D+N", "N", 1.5)), ("D+N x N-2nd, p=1.5", ("D+N", "N-2nd", 1.5)),
              ("D+N x N-2nd, p=2", ("D+N", "N-2nd", 2.0))],
    # the noise-dictionary mode alone, with and without that second pass (for the two-dictionary
    # candidate "D+N x N-2nd" to combine with what the noise-dictionary mode does)
    "fourth": [("N", ("N", None, 1.0)), ("N-2nd", ("N-2nd", None, 1.0)), ("D+N", ("D+N", None, 2.0))],
    # the noise dictionary without its pitch-shifted copies ("Nbase"), alone and beside D
    # the adopted speech-dictionary rows, for the test part (reported once)
    "report": [("D+clip", ("D+clip", None, 2.0)), ("D+clip x clip, p=1.5", ("D+clip", "clip", 1.5)),
               ("clip", ("clip", None, 1.0)), ("D+region", ("D+region", None, 2.0)),
               ("D+region x region, p=1.5", ("D+region", "region", 1.5))],
    # two dictionaries combined with the noise-dictionary mode as it now runs (base templates)
    "seventh": [("D+N", ("D+N", None, 2.0)), ("D+N x Nbase, p=1.5", ("D+N", "Nbase", 1.5)),
                ("D+N x Nbase, p=2", ("D+N", "Nbase", 2.0)), ("D+N x Nbase-2nd, p=1.5", ("D+N", "Nbase-2nd", 1.5))],
    # around the chosen combination: mask power, and the weight of the dictionaries' model in the
    # (weighted) geometric mean (a 4th entry w: est_a ** w * est_b ** (1 - w); default 1/2)
    "eighth": [("D+clip x clip, p=1.5", ("D+clip", "clip", 1.5)), ("D+clip x clip, p=1.25", ("D+clip", "clip", 1.25)),
               ("D+clip x clip, p=1.75", ("D+clip", "clip", 1.75)),
               ("D+clip x clip, p=1.5, w=1/3", ("D+clip", "clip", 1.5, 1 / 3)),
               ("D+clip x clip, p=1.5, w=2/3", ("D+clip", "clip", 1.5, 2 / 3)),
               ("D+N x Nbase, p=1.5", ("D+N", "Nbase", 1.5)), ("D+N x Nbase, p=1.5, w=1/3", ("D+N", "Nbase", 1.5, 1 / 3)),
               ("D+N x Nbase, p=1.5, w=2/3", ("D+N", "Nbase", 1.5, 2 / 3))],
    # the real-time StreamDenoiser (1024-sample blocks, run.py's _stream) with the noise
    # dictionary whole or without its pitch copies (speech learned on the stream)
    "realtime": [("StreamDenoiser(noise_dictionary=N)", ("rt-N", None, None)),
                 ("StreamDenoiser(noise_dictionary=Nbase)", ("rt-Nbase", None, None))],
    "report-noise": [("N", ("N", None, 1.0)), ("Nbase", ("Nbase", None, 1.0))],
    "report-dicts": [("D+N", ("D+N", None, 2.0)), ("D+N x Nbase, p=1.5", ("D+N", "Nbase", 1.5))],
    # two dictionaries with the noise dictionary's base templates only
    "sixth": [("D+N", ("D+N", None, 2.0)), ("D+Nbase", ("D+Nbase", None, 2.0)),
              ("D+Nbase x Nbase, p=1.5", ("D+Nbase", "Nbase", 1.5)), ("D+Nbase x Nbase, p=2", ("D+Nbase", "Nbase", 2.0)),
              ("Dbase+Nbase", ("Dbase+Nbase", None, 2.0))],
    "fifth": [("N", ("N", None, 1.0)), ("N-2nd", ("N-2nd", None, 1.0)), ("Nbase", ("Nbase", None, 1.0)),
              ("Nbase-2nd", ("Nbase-2nd", None, 1.0)), ("D+N", ("D+N", None, 2.0)),
              ("D+N x N-2nd, p=1.5", ("D+N", "N-2nd", 1.5)), ("D+Nbase x Nbase-2nd, p=1.5", ("D+Nbase", "Nbase-2nd", 1.5))],
}


def _base(d):
    """``d`` without its pitch-shifted copies."""
    K = int(d.info.get("base_components", d.W.shape[1]))
    W = d.W[:, :K].astype(np.float64)
    W = W / np.maximum(W.sum(axis=0, keepdims=True), np.finfo(np.float64).tiny)
    return nmfaudio.SourceDictionary(name=d.name, W=W.astype(np.float32), sr=d.sr, stft=d.stft, beta=d.beta,
                                     power=d.power, info={**d.info, "pitch_shifts": []})


def _model(item, how, D, N, cache):
    """``(S, est, power, params)`` of one model (cached per item)."""
    if how in cache:
        return cache[how]
    y, sr, clip = item.mixture, item.sr, item.train["noise"]
    if "region" in how:  # the clip in front of the mixture (the caller crops the output)
        y = np.concatenate([clip, y])
    params = D.stft
    kw = dict(Kn=dn.NOISE_COMPONENTS, Ks=dn.SPEECH_COMPONENTS, sparsity=dn.SPARSITY, max_iter=dn.DENOISE_ITER,
              random_state=0)
    name, _, second = how.partition("-")
    sd = {"D": D, "Dbase": _base(D)}.get(name.split("+")[0]) if "+" in name else None
    noise = clip if name.endswith(("clip", "region")) else None
    nd = N if name.endswith("N") else _base(N) if name.endswith("Nbase") else None
    S, est, power = dn._fit(y, sr, params, noise, nd, sd, sample_pass="region" not in name, **kw)
    if second:
        from nmfaudio import _second_pass

        keep = second == "2ndD"  # the refit keeps the speech dictionary (else: free speech templates)
        beta = dn._model_settings(None, sd)[0] if keep else dn.BETA
        V = np.abs(S).astype(np.float32)
        fkw = dict(beta=beta, Kn=kw["Kn"], Ks=kw["Ks"], sparsity=kw["sparsity"], max_iter=kw["max_iter"],
                   random_state=0, params=params, sr=sr)
        est = _second_pass.refine(
            V, est, fraction=dn.SAMPLE_SECOND_PASS, n_components=dn.NOISE_COMPONENTS, random_state=0,
            params=params, sr=sr, extra=spectrogram(clip, stft_params=params)[1] if noise is not None else None,
            refit=lambda nd2: dn.fit_frames(V, None, nd2, sd if keep else None,
                                            voices=dn.voices_apply(nd2, sd if keep else None, noise_sample=True),
                                            **fkw))
    cache[how] = (S, est, power, params)
    return cache[how]


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--part", choices=["tune", "test"], default="tune")
    ap.add_argument("--grid", choices=sorted(GRIDS), default="first")
    ap.add_argument("--items", type=int, default=None)
    ap.add_argument("--json", default=None, help="also write the per-item scores of every row here")
    args = ap.parse_args(argv)
    rows = GRIDS[args.grid]
    run._limit_threads(1)
    entries = [e for e in run.read_manifest(run.DEFAULT_DATA)["items"]
               if e["kind"] == "speech" and e.get("part") == args.part][:args.items]
    scores = {name: [] for name, _ in rows}
    for e in entries:
        item = run.load_item(run.DEFAULT_DATA, e)
        mix, _ = run._score(item, np.stack([item.mixture] * len(item.names)), False)
        D = nmfaudio.learn_dictionary(item.train["speech"], item.sr, name="speech")
        N = nmfaudio.learn_dictionary(item.train["noise"], item.sr, name="noise")
        cache = {}
        for name, (a, b, p, *w) in rows:
            if a.startswith("rt-"):
                nd = N if a == "rt-N" else _base(N)
                clean = run._stream(nmfaudio.StreamDenoiser(noise_dictionary=nd, sr=item.sr), item.mixture)
                scores[name].append(run._score(item, run._speech_and_rest(item, clean), False, mix)[0])
                continue
            S, est, power, params = _model(item, a, D, N, cache)
            if b is not None and not w:
                est = _usm.combine(est, _model(item, b, D, N, cache)[1])
            elif b is not None:
                other = _model(item, b, D, N, cache)[1]
                est = (est.astype(np.float64) ** w[0] * other.astype(np.float64) ** (1 - w[0])).astype(est.dtype)
            lead = item.train["noise"].shape[-1] if "region" in a else 0
            clean = dn._reconstruct(S, est, params=params, power=power, mask_power=p,
                                    length=lead + item.mixture.shape[-1], dtype=item.mixture.dtype)["clean"][..., lead:]
            out, _ = run._score(item, run._speech_and_rest(item, clean), False, mix)
            scores[name].append(out)
        print(f"  {e['id']} done", file=sys.stderr, flush=True)
    print(f"speech dictionary routes: {len(entries)} {args.part} items, grid {args.grid!r}\n")
    for line in run.comparison_table(scores):
        print(line, flush=True)
    if args.json:
        import json

        Path(args.json).write_text(json.dumps({name: {"items": [e["id"] for e in entries], **run.per_item(rs)}
                                               for name, rs in scores.items()}, indent=1, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
