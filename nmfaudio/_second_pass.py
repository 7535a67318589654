"""Second pass: a noise model from the frames the first pass finds speech-free (blind, and
beside a noise sample).

Blind, the first pass learns its noise templates from a minimum-statistics floor, which
underestimates the noise where the noise moves (a floor is a low percentile). Its models
``Ŝ``, ``N̂`` still tell which frames hold little speech: each frame of ``V`` (frequency first,
channels side by side) gets the speech share ``r_t = Σ_f Ŝ / Σ_f (Ŝ + N̂)``; the ``fraction``
of frames with the lowest shares are taken from ``V`` itself, a KL noise dictionary is learned
on them, as :func:`nmfaudio.learn_noise_dictionary` learns one from a clip of the noise, and
the input is factorised again with that dictionary fixed (the noise-dictionary mode: free
speech templates and the universal speech model beside it). The mask comes from the geometric
mean of the two passes' estimates (:func:`nmfaudio._usm.combine`), as the voice model's does.

Tune part (benchmarks/quality/blind_bootstrap.py): lowest 10 % of frames +0.36 dB SDR over one
pass, 15 of 18 items better, 1 worse, none harmed; the second pass alone (no geometric mean)
+0.35 dB but 11 better, 5 worse; 5 / 7.5 / 12.5 / 15 % of frames +0.01 / +0.20 / +0.25 / +0.19 dB.

With a noise sample the noise of the second pass is learned on the sample's frames and the
input's quietest 15 %: tune +0.41 dB SDR over one pass, 13 of 18 items better, 1 worse, none
harmed (10 % / 20 %: +0.40 / +0.36 dB, 10 / 13 better; the quiet frames alone, 10 %: +0.45 dB
but 5 worse). With a noise region it gained only +0.05 dB (9 of 18 better): not taken there.

Babble (:func:`spread`): where those frames are too varied for a few templates, the mask cannot
keep the talker apart from the noise, and the clean gain is floored (:data:`GUARD_FLOOR_DB`).
"""

from __future__ import annotations

import numpy as np

#: Iterations of the noise dictionary's fit (as :func:`nmfaudio.learn_dictionary`'s default).
NOISE_ITER = 200
#: No speech-free frames: when the frames picked still hold a mean speech share >= GUARD_SHARE_BLIND
#: (blind, 10 % of the frames) / GUARD_SHARE_SAMPLE (beside a noise sample, 15 %) (None: never), the
#: first pass could not tell the speech from the noise: GUARD_SKIP skips the second pass, and the
#: estimates are softened: raised to GUARD_POWER (the mask's exponent at mask power 1) and the clean
#: part floored at GUARD_FLOOR_DB of the mixture (at mask power 1; None: no floor).
#: Not adopted (None): chosen on the tune part + hard_items.py's 16 tune items (2026-12-08;
#: 0.15 / 0.20, floor -10 dB: harmed 4 -> 0 blind, 2 -> 0 with a sample, -0.09 / -0.10 dB SDR), it did
#: not transfer: test part + hard test items, blind harmed 4 -> 2 at -0.26 dB, with a sample 3 -> 3
#: at -0.55 dB (tonal noises, not babble, trip it and lose 4-7 dB). benchmarks/RESULTS.md.
GUARD_SHARE_BLIND = GUARD_SHARE_SAMPLE = None
#: The guard in use: where the frames the noise is learned from are too varied for a few templates
#: (babble: the relative KL divergence of a GUARD_SPREAD_K-template fit of them >= GUARD_SPREAD_BLIND
#: / GUARD_SPREAD_SAMPLE, the middle of the tune part's gap: other noises <= 0.108 / 0.206, babble
#: >= 0.164 / 0.303; None: never), the second pass is kept and the clean gain floored at -10 dB.
#: Tune (34 items with hard_items.py's): harmed 4 -> 0 blind, 2 -> 0 with a sample, -0.01 / -0.02 dB
#: SDR; test, once: 4 -> 2 blind (+0.01 dB), 3 -> 0 with a sample (-0.09 dB). benchmarks/RESULTS.md.
GUARD_SPREAD_BLIND, GUARD_SPREAD_SAMPLE = 0.135, 0.25
GUARD_SPREAD_K = 4
#: At most this many of those frames (evenly spaced) enter the spread's fit: its cost stays bounded
#: on long inputs and noise samples (the benchmark's items have at most 212).
GUARD_SPREAD_FRAMES = 512
GUARD_SKIP = False
GUARD_POWER = 1.0
GUARD_FLOOR_DB = -10.0


def quiet_frames(est, fraction, with_share=False):
    """Indices (sorted) of the ``fraction`` of frames of ``est (2, F, T)`` (clean first)
    whose speech share is lowest; at least 2 (``with_share``: and their mean speech share)."""
    s, n = est[0].sum(axis=0), est[1].sum(axis=0)
    share = s / np.maximum(s + n, np.finfo(est.dtype).tiny)
    T = share.shape[-1]
    order = np.argsort(share, kind="stable")
    pick = np.sort(order[:min(T, max(2, int(round(fraction * T))))])
    return (pick, float(share[pick].mean())) if with_share else pick


def spread(X, *, random_state=0):
    """Relative KL divergence ``D(X | W H) / Σ X`` of a :data:`GUARD_SPREAD_K`-template KL fit of the
    magnitude frames ``X (F, n)`` (at most :data:`GUARD_SPREAD_FRAMES` of them, evenly spaced): near 0
    for a steady noise, large for one of many spectra; 0 for silence. Few frames fit well whatever
    they hold (n <= K: 0), so on a very short input the guard does not trip."""
    from .nmf import nmf

    if X.shape[1] > GUARD_SPREAD_FRAMES:
        X = np.ascontiguousarray(X[:, np.linspace(0, X.shape[1] - 1, GUARD_SPREAD_FRAMES).round().astype(int)])
    tiny = np.finfo(X.dtype).tiny
    total = float(X.sum(dtype=np.float64))
    if not total > 0:
        return 0.0
    res = nmf(X, min(GUARD_SPREAD_K, X.shape[1]), beta="kl", max_iter=NOISE_ITER, tol=0,
              random_state=random_state, loss_every=None)
    R, Xf = np.maximum(res.W @ res.H, tiny).astype(np.float64), X.astype(np.float64)
    pos = Xf > 0
    return float((np.sum(Xf[pos] * np.log(Xf[pos] / R[pos])) - Xf.sum() + R.sum()) / total)


def floor_factor(floor_db, exponent=1.0):
    """``c`` such that ``Ŝ >= c N̂`` keeps the soft mask ``Ŝ^p / (Ŝ^p + N̂^p)`` (``p = exponent``) of
    the clean part at ``floor_db`` dB (an amplitude gain) or more."""
    f = 10.0 ** (floor_db / 20.0)
    return float((f / (1.0 - f)) ** (1.0 / exponent))


def guarded(est):
    """``est (2, ..., F, T)`` softened (:data:`GUARD_POWER`, :data:`GUARD_FLOOR_DB`)."""
    e = est if GUARD_POWER == 1.0 else np.power(est, GUARD_POWER, dtype=est.dtype)
    if GUARD_FLOOR_DB is not None:
        e = np.stack([np.maximum(e[0], e.dtype.type(floor_factor(GUARD_FLOOR_DB)) * e[1]), e[1]])
    return e


def noise_dictionary(V, *, n_components, random_state, params, sr):
    """A KL noise dictionary (unit-sum templates) learned on the magnitude frames ``V (F, n)``."""
    from .dictionary import SourceDictionary
    from .nmf import nmf

    res = nmf(V, min(n_components, V.shape[1]), beta="kl", max_iter=NOISE_ITER, tol=0,
              random_state=random_state, loss_every=None)
    W = res.W / np.maximum(res.W.sum(axis=0, keepdims=True), np.finfo(V.dtype).tiny)
    return SourceDictionary(name="noise", W=W.astype(np.float32), sr=sr, stft=params, beta=1.0, power=1.0)


def refine(V, est, *, fraction, n_components, random_state, params, sr, refit, extra=None):
    """The estimates ``est (2, ..., F, T)`` of a pass on ``V (..., F, T)``, combined with those
    of ``refit(noise_dictionary)``: the same input factorised again with the noise of its
    quietest frames (:func:`quiet_frames`, ``fraction``) fixed, learned together with the frames
    ``extra (..., F, n)`` (the noise sample's magnitudes) if given."""
    from ._usm import combine
    from .separation import stack_channels

    Vs = stack_channels(V)
    ests = np.stack([stack_channels(e) for e in est])
    pick, share = quiet_frames(ests, fraction, with_share=True)
    X = Vs[:, pick] if extra is None else np.concatenate([stack_channels(extra).astype(Vs.dtype), Vs[:, pick]], axis=1)
    X = np.ascontiguousarray(X)
    tau = GUARD_SHARE_BLIND if extra is None else GUARD_SHARE_SAMPLE
    tau_spread = GUARD_SPREAD_BLIND if extra is None else GUARD_SPREAD_SAMPLE
    guard = ((tau is not None and share >= tau)
             or (tau_spread is not None and spread(X, random_state=random_state) >= tau_spread))
    if guard and GUARD_SKIP:
        return guarded(est)
    nd = noise_dictionary(X, n_components=n_components,
                          random_state=random_state, params=params, sr=sr)
    est = combine(est, refit(nd).astype(est.dtype, copy=False))
    return guarded(est) if guard else est
