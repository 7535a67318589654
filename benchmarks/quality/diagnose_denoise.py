#!/usr/bin/env python
"""Where does ``nmfaudio.denoise(noise=clip)`` lose? Oracle and candidate experiments, tune part.

    python benchmarks/quality/diagnose_denoise.py --experiment NAME [--only ROW,ROW] [--items N]

NAME: limits, noisedict, adapt, reassign, twopass, eq, prior, continuity, weighted, classifier,
clipuse, multires, wienerem, bootstrap, blind (below).

Every experiment refits today's model (16 noise templates learned on the noise clip, fixed; 32
free sparse speech templates; KL on magnitudes; 100 iterations; soft mask, power 1) and changes
one thing; rows report mean / median SDR, STOI, PESQ-WB of the speech over the items and how many
items beat / fall below the ``default`` row by more than 0.05 dB SDR.

- ``limits``: the noise templates learned on the *true* noise of the mixture instead of the clip
  (how much the clip/mixture mismatch costs); the fitted components assigned to speech or noise by
  their share of the ideal ratio mask (how much a perfect grouping of today's components would
  give); the speaker-dependent speech + noise dictionaries (``separate``) for reference.
- ``noisedict``: other fixed noise dictionaries from the same clip: pitch-shifted copies,
  frequency-smoothed copies (Gaussian, σ in bins), one flat column, the bundled ``drums`` model's
  templates added (generic percussive noise), or every frame of the clip as a template (exemplars).
- ``adapt``: the noise templates adapted on the mixture, by one factorisation of
  ``[V_clip (repeated) | V_mix]`` with the speech activations held at zero on the clip frames.
- ``reassign``: free components moved to the noise when log(KL fit error by the bundled speech
  model / by the noise templates) exceeds a threshold.
- ``twopass``: the noise templates relearned from the clip plus the mixture frames judged free of
  speech, then the model refitted: frames chosen by the truth (speech below −10 / −20 dB of the
  noise: the ceiling of the idea), by the first fit's speech share, or by pYIN voicing.
- ``eq``: the clip's noise templates may each take a smooth spectral equalisation learned on the
  mixture: ``w_k' = w_k ⊙ (B a_k)``, ``B`` M raised-cosine bands on log frequency (a partition of
  unity, so ``a_k = 1`` is the clip's template), ``a_k >= 0`` learned by its multiplicative
  update and clipped to ±``db`` dB; the rest as today, with plain KL multiplicative updates (the
  control row runs the same loop with M = 0).
- ``prior``: the free speech templates started from the bundled speech model reduced to K
  templates (an NMF of its 64), instead of random; ``random 24`` is the control with 24 random.
- ``continuity``: a temporal-continuity penalty (``nmf(continuity=μ)``, Virtanen 2007) on the
  free speech activations (drum hits and clicks change faster than syllables?) or on the noise's.
- ``weighted``: the sparsity of the free speech activations weighted per frame by how unlikely
  speech is there: a first fit with the bundled speech model and the clip's noise templates both
  fixed gives each frame's speech share ``p_t`` of the model; then ``λ_t = λ (1 + c (1 − p_t))``
  (or squared), in a plain KL loop (the control row: c = 0).
- ``classifier``: the same two passes with the frames chosen by a trained frame classifier
  (scikit-learn logistic regression or histogram gradient boosting on per-mel-band z-scores of the
  frame against the noise clip, their ±3 / ±10-frame means, and cepstral peak prominence), label
  "speech below −10 dB of the noise"; cross-validated: each item's classifier is trained on the
  items of the part that share neither its voice nor its noise.

- ``clipuse``: free components moved to the noise when they are of use on the noise clip: the
  clip explained by all the fitted templates (fixed), a component's activation energy per frame
  there over its energy per frame in the mixture above τ.
- ``multires``: the denoiser at several STFT sizes, the clean waveforms averaged (or their
  median); the same size three times is the random-start control.

- ``wienerem``: the default estimates refined by Wiener EM steps on the mixture STFT (each
  source's power from its posterior mean and variance), then the soft mask.
- ``bootstrap``: a speaker dictionary learned on the first pass's clean output (optionally only
  its speech-dominated frames), then ``separate`` with it and the clip's noise dictionary fixed.

- ``blind``: no clip; today's blind default against a noise model held to change slowly (a
  continuity penalty on the floor templates' activations, or the noise fixed at the
  minimum-statistics floor's NMF model × α, only the speech fitted).

Oracle rows read the true stems, so they are diagnostics, never candidates. Reads only the tune
part unless ``--part test``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))
sys.path.insert(0, str(HERE))

import nmfaudio  # noqa: E402
import run  # noqa: E402
from nmfaudio.dictionary import SourceDictionary, spectrogram  # noqa: E402
from nmfaudio.masking import source_estimates  # noqa: E402
from nmfaudio.nmf import nmf  # noqa: E402
from nmfaudio.supervised import frame_init  # noqa: E402

dn = sys.modules["nmfaudio.denoise"]
KN, KS, ITER = 16, 32, 100

EXPERIMENTS = {
    "limits": {"true-noise-dict": {}, "oracle-grouping": {}, "speech+noise dicts": {}},
    "noisedict": {"pitch ±1": {"shifts": [-1, 1]}, "pitch ±1, ±2": {"shifts": [-2, -1, 1, 2]},
                  "+ smoothed σ=2": {"smooth": [2]}, "+ smoothed σ=2, 6": {"smooth": [2, 6]},
                  "+ flat": {"flat": True}, "+ bundled drums model": {"models": ["drums"]},
                  "clip frames as templates": {"exemplars": True},
                  "+ 24 smooth bumps (1/2 oct)": {"bumps": (24, 0.5)},
                  "+ 12 smooth bumps (1 oct)": {"bumps": (12, 1.0)}},
    "adapt": {"joint": {"rep": 1}, "joint, clip ×2": {"rep": 2}, "joint, 24 noise": {"rep": 1, "Kn": 24}},
    "reassign": {f"τ = {t:g}": {"tau": t} for t in (-0.9, -0.7, -0.5, -0.3)},
    "twopass": {"truth < -10 dB": {"sel": "truth", "db": -10}, "truth < -20 dB": {"sel": "truth", "db": -20},
                "model share < 0.05": {"sel": "model", "share": 0.05},
                "model share < 0.1": {"sel": "model", "share": 0.1},
                "model share < 0.2": {"sel": "model", "share": 0.2},
                "pYIN p < 0.1, ±3": {"sel": "pyin", "p": 0.1, "d": 3},
                "pYIN p < 0.3, ±3": {"sel": "pyin", "p": 0.3, "d": 3}},
    "eq": {"plain MU, no EQ (control)": {"M": 0}, "EQ 6 bands, ±12 dB": {"M": 6, "db": 12},
           "EQ 6 bands, ±24 dB": {"M": 6, "db": 24}, "EQ 12 bands, ±12 dB": {"M": 12, "db": 12},
           "EQ 3 bands, ±12 dB": {"M": 3, "db": 12}},
    "prior": {"random 24": {"Ks": 24}, "prior init, reduced to 32": {"K": 32},
              "prior init, reduced to 24": {"K": 24}, "prior init, reduced to 16": {"K": 16}},
    "continuity": {f"speech μ = {m:g}": {"speech": m} for m in (0.001, 0.003, 0.01, 0.03, 0.1)}
    | {f"noise μ = {m:g}": {"noise": m} for m in (0.01, 0.1)},
    "weighted": {"custom loop, flat λ (control)": {"c": 0.0}}
    | {f"λ × (1 + {c:g}·(1 − p_t))": {"c": c} for c in (1.0, 4.0, 16.0)}
    | {f"λ × (1 + {c:g}·(1 − p_t)²)": {"c": c, "sq": True} for c in (4.0, 16.0)}
    | {"24 speech, flat λ": {"c": 0.0, "Ks": 24}, "24 speech, λ × (1 + 1·(1 − p_t))": {"c": 1.0, "Ks": 24},
       "24 speech, λ × (1 + 2·(1 − p_t))": {"c": 2.0, "Ks": 24},
       "24 speech, λ × (1 + 4·(1 − p_t)²)": {"c": 4.0, "sq": True, "Ks": 24}},
    "multires": {"2048 × seeds 0, 1, 2 (control)": {"ffts": (2048, 2048, 2048)},
                 "1024 + 2048": {"ffts": (1024, 2048)}, "2048 + 4096": {"ffts": (2048, 4096)},
                 "1024 + 2048 + 4096": {"ffts": (1024, 2048, 4096)},
                 "1024 + 2048 + 4096, median": {"ffts": (1024, 2048, 4096), "median": True}},
    "wienerem": {f"EM × {n}, final power {p:g}": {"n": n, "p": p} for n in (1, 3) for p in (1.0, 2.0)},
    "bootstrap": {"speech dict from pass 1, all frames": {"share": 0.0},
                  "speech dict from pass 1, share > 0.7": {"share": 0.7},
                  "speech dict from pass 1, share > 0.7, no pitch copies": {"share": 0.7, "shifts": ()}},
    "blind": {"blind default": {}, "mixture (noisy input)": {"mixture": True}}
    | {f"blind, noise continuity μ = {m:g}": {"mu": m} for m in (0.0001, 0.001, 0.01)}
    | {f"blind, noise = floor × {a:g}, fixed": {"fixed": a} for a in (1.5, 2.0, 3.0)},
    "clipuse": {f"use > {t:g}": {"tau": t} for t in (0.1, 0.2, 0.35, 0.5, 0.75)},
    "classifier": {f"{k} p > {t:g}": {"sel": "classifier", "model": k, "p": t}
                   for k in ("logistic", "boosting") for t in (0.5, 0.8, 0.95)},
}


def _unit(W):
    return W / np.maximum(W.sum(axis=0, keepdims=True), np.finfo(W.dtype).tiny)


def _kl_fit_error(w, B, iters=200):
    """Relative KL divergence of the best ``B h`` (h >= 0) to the unit-sum column ``w``."""
    h = np.full(B.shape[1], 1.0 / B.shape[1])
    for _ in range(iters):
        h *= (B.T @ (w / (B @ h + 1e-12))) / B.sum(axis=0)
    r = B @ h + 1e-12
    return float(np.sum(w * np.log((w + 1e-12) / r) - w + r))


class Case:
    """One item: its mixture spectrogram, the default fit, scoring."""

    def __init__(self, item):
        self.item, self.y, self.sr = item, item.mixture, item.sr
        self.params = dn.default_denoise_stft(self.sr)
        self.S, self.V = spectrogram(self.y, stft_params=self.params, power=1.0)
        js, jn = item.names.index("speech"), item.names.index("noise")
        self.Ss = np.abs(nmfaudio.stft(item.stems[js], stft_params=self.params))
        self.Sn = np.abs(nmfaudio.stft(item.stems[jn], stft_params=self.params))
        self.clip = item.train["noise"]
        self._clip_W = {}
        self._Vc = None

    @property
    def Vc(self):
        """The noise clip's magnitude spectrogram (computed once)."""
        if self._Vc is None:
            self._Vc = spectrogram(self.clip, stft_params=self.params, power=1.0)[1]
        return self._Vc

    def score(self, est):
        clean = dn._reconstruct(self.S, est, params=self.params, power=1.0, mask_power=1.0,
                                length=self.y.shape[-1], dtype=self.y.dtype)["clean"]
        return self.score_clean(clean)

    def score_clean(self, clean):
        s = run._score(self.item, run._speech_and_rest(self.item, clean), False, None)[0]
        return [s["sdr"], s["stoi"], s["pesq"]]

    def fit_fixed_noise(self, Wn, continuity=0.0):
        """Today's semi-supervised fit with the noise templates ``Wn`` fixed: the NMF result."""
        d = SourceDictionary(name="noise", W=_unit(Wn).astype(np.float32), sr=self.sr, stft=self.params)
        W0, n_s, upd, lam = dn._initial_templates(self.V, d, None, Kn=Wn.shape[1], Ks=KS, sparsity=dn.SPARSITY,
                                                  random_state=0, params=self.params, sr=self.sr)
        res = nmf(self.V, W=W0, H=frame_init(self.V, W0.shape[1]).astype(self.V.dtype), beta=1.0,
                  update_W=upd, max_iter=ITER, tol=0, sparsity=lam, random_state=0, continuity=continuity)
        return res, n_s

    def estimates(self, res, n_s, labels=None):
        if labels is None:
            labels = (np.arange(res.W.shape[1]) >= n_s).astype(int)
        return source_estimates(res.W, res.H, labels, 2, lead_shape=(), n_frames=self.V.shape[1])

    def clip_templates(self, noise=None, Kn=KN, shifts=()):
        """Noise templates learned on ``noise`` (default: the clip, learned once per setting)."""
        def learn(x):
            return nmfaudio.learn_dictionary(x, self.sr, name="noise", n_components=Kn, stft_params=self.params,
                                             beta="kl", pitch_shifts=tuple(shifts), random_state=0).W
        if noise is not None:
            return learn(noise)
        key = (Kn, tuple(shifts))
        if key not in self._clip_W:
            self._clip_W[key] = learn(self.clip)
        return self._clip_W[key]


def run_limits(c, name, kw):
    if name == "true-noise-dict":
        jn = c.item.names.index("noise")
        return c.score(c.estimates(*c.fit_fixed_noise(c.clip_templates(c.item.stems[jn]))))
    if name == "oracle-grouping":
        res, n_s = c.fit_fixed_noise(c.clip_templates())
        irm = c.Ss ** 2 / np.maximum(c.Ss ** 2 + c.Sn ** 2, 1e-20)
        share = np.array([(np.outer(res.W[:, k], res.H[k]) * irm).sum()
                          / max(np.outer(res.W[:, k], res.H[k]).sum(), 1e-20) for k in range(res.W.shape[1])])
        return c.score(c.estimates(res, n_s, (share < 0.5).astype(int)))
    dicts = [nmfaudio.learn_dictionary(c.item.train[n], c.sr, name=n) for n in c.item.names]
    return c.score_clean(nmfaudio.separate(c.y, c.sr, dictionaries=dicts)["speech"])


def run_noisedict(c, name, kw):
    from scipy.ndimage import gaussian_filter1d

    if kw.get("exemplars"):  # every frame of the clip is a template (exemplar-based noise model)
        Vc = c.Vc
        keep = Vc.sum(axis=0) > 0
        return c.score(c.estimates(*c.fit_fixed_noise(np.ascontiguousarray(Vc[:, keep]))))
    W = _unit(c.clip_templates(shifts=kw.get("shifts", ())))
    extra = [_unit(gaussian_filter1d(W[:, :KN], s, axis=0, mode="nearest")) for s in kw.get("smooth", [])]
    if kw.get("flat"):
        extra.append(np.full((W.shape[0], 1), 1.0 / W.shape[0], W.dtype))
    if kw.get("bumps"):  # generic smooth spectral shapes: Gaussian bumps on log frequency
        n, width = kw["bumps"]
        f = np.linspace(0, c.sr / 2, W.shape[0])
        lf = np.log2(np.maximum(f, 50.0))
        centres = np.linspace(np.log2(80.0), np.log2(c.sr / 2), n)
        extra.append(_unit(np.exp(-0.5 * ((lf[:, None] - centres[None]) / (width / 2)) ** 2).astype(W.dtype)))
    if kw.get("models"):
        from nmfaudio.models import model_templates

        extra += [_unit(model_templates(m, c.params, c.sr).astype(W.dtype)) for m in kw["models"]]
    return c.score(c.estimates(*c.fit_fixed_noise(np.concatenate([W] + extra, axis=1))))


def run_adapt(c, name, kw):
    from nmfaudio._random import random_templates

    Kn, rep = kw.get("Kn", KN), kw["rep"]
    Vc = c.Vc
    Tc = Vc.shape[1] * rep
    VJ = np.ascontiguousarray(np.concatenate([Vc] * rep + [c.V], axis=1))
    Wn = _unit(c.clip_templates(Kn=Kn)).astype(c.V.dtype)
    W0 = np.concatenate([random_templates(np.random.default_rng(0), c.V.shape[0], KS, c.V.dtype), Wn], axis=1)
    H0 = frame_init(VJ, W0.shape[1]).astype(c.V.dtype)
    H0[:KS, :Tc] = 0  # multiplicative updates keep these zeros: speech is absent from the clip
    lam = np.where(np.arange(KS + Kn) < KS, dn.SPARSITY, 0.0)
    res = nmf(VJ, W=W0, H=H0, beta=1.0, update_W=True, max_iter=ITER, tol=0, sparsity=lam, random_state=0)
    labels = (np.arange(KS + Kn) >= KS).astype(int)
    return c.score(source_estimates(res.W, res.H[:, Tc:], labels, 2, lead_shape=(), n_frames=c.V.shape[1]))


def run_reassign(c, name, kw):
    res, n_s = c.fit_fixed_noise(c.clip_templates())
    prior = dn._speech_prior(c.params, c.sr, np.float64)
    Wn = _unit(res.W[:, n_s:].astype(np.float64))
    labels = (np.arange(res.W.shape[1]) >= n_s).astype(int)
    for k in range(n_s):
        w = _unit(res.W[:, k:k + 1].astype(np.float64))[:, 0]
        if np.log(_kl_fit_error(w, prior) / _kl_fit_error(w, Wn)) > kw["tau"]:
            labels[k] = 1
    return c.score(c.estimates(res, n_s, labels))


def _clip_use(c, res, n_s):
    """Per free component: its activation energy per frame when the noise clip is explained by all
    the fitted templates (fixed, plain KL MU), over its energy per frame in the mixture. Speech
    templates should be of little use on a clip without speech; templates that took noise events
    should explain the clip's events."""
    W = res.W.astype(np.float64)
    Vc = c.Vc.astype(np.float64)
    Hc = nmf(Vc, W=W, H=frame_init(Vc, W.shape[1]), beta=1.0, update_W=False, max_iter=ITER, tol=0,
             random_state=0).H
    e_clip = W.sum(axis=0) * Hc.mean(axis=1)
    e_mix = W.sum(axis=0) * res.H.astype(np.float64).mean(axis=1)
    return (e_clip / np.maximum(e_mix, 1e-30))[:n_s]


def _oracle_share(c, res):
    """Each component's share of its energy under the ideal ratio mask (speech)."""
    irm = c.Ss ** 2 / np.maximum(c.Ss ** 2 + c.Sn ** 2, 1e-20)
    return np.array([(np.outer(res.W[:, k], res.H[k]) * irm).sum()
                     / max(np.outer(res.W[:, k], res.H[k]).sum(), 1e-20) for k in range(res.W.shape[1])])


def run_clipuse(c, name, kw):
    key = "_clipuse"
    if not hasattr(c, key):
        res, n_s = c.fit_fixed_noise(c.clip_templates())
        use = _clip_use(c, res, n_s)
        noise_like = _oracle_share(c, res)[:n_s] < 0.5
        if noise_like.any() and not noise_like.all():  # how well the feature ranks them (diagnostic)
            from sklearn.metrics import roc_auc_score

            print(f"  {c.item.id}: clip-use AUC {roc_auc_score(noise_like, use):.2f} "
                  f"({int(noise_like.sum())} of {n_s} free components noise-like)", file=sys.stderr)
        setattr(c, key, (res, n_s, use))
    res, n_s, use = getattr(c, key)
    labels = (np.arange(res.W.shape[1]) >= n_s).astype(int)
    move = use > kw["tau"]
    if move.all():  # keep the least clip-like one as speech
        move[np.argmin(use)] = False
    labels[:n_s][move] = 1
    return c.score(c.estimates(res, n_s, labels))


def run_wienerem(c, name, kw):
    """The default model's estimates refined by ``n`` Wiener EM steps on the mixture STFT (mono
    norbert-style: power of each posterior mean plus its posterior variance, ``v_j <- |m_j S|^2
    + m_j v_(other)``), then a soft mask of power ``p`` on the refined magnitudes."""
    res, n_s = c.fit_fixed_noise(c.clip_templates())
    est = c.estimates(res, n_s).astype(np.float64)
    v = est ** 2
    P = np.abs(c.S) ** 2
    for _ in range(kw["n"]):
        m = v[0] / np.maximum(v[0] + v[1], 1e-30)
        v = np.stack([m * m * P + m * v[1], (1 - m) ** 2 * P + (1 - m) * v[0]])
    clean = dn._reconstruct(c.S, np.sqrt(v), params=c.params, power=1.0, mask_power=kw["p"],
                            length=c.y.shape[-1], dtype=c.y.dtype)["clean"]
    return c.score_clean(clean)


def run_bootstrap(c, name, kw):
    """Pass 1: today's denoiser. Pass 2: a speaker dictionary learned (``learn_dictionary``) on
    pass 1's clean output (the frames where the model's speech share exceeds ``share``), the
    noise dictionary on the clip, and ``separate`` with both fixed (the supervised route)."""
    res, n_s = c.fit_fixed_noise(c.clip_templates())
    est = c.estimates(res, n_s)
    clean = dn._reconstruct(c.S, est, params=c.params, power=1.0, mask_power=1.0,
                            length=c.y.shape[-1], dtype=c.y.dtype)["clean"]
    shifts = kw.get("shifts")
    opts = {} if shifts is None else {"pitch_shifts": shifts}
    if kw["share"] > 0:  # keep the STFT frames where speech dominates the model
        share = est[0].sum(axis=0) / np.maximum(est.sum(axis=(0, 1)), 1e-30)
        keep = share > kw["share"]
        if keep.sum() < 8:
            keep = share >= np.sort(share)[-8]
        hop = c.params.hop_length
        clean = np.concatenate([clean[max(0, t * hop - hop):t * hop + hop] for t in np.flatnonzero(keep)])
    ds = nmfaudio.learn_dictionary(clean, c.sr, name="speech", **opts)
    dnz = nmfaudio.learn_dictionary(c.clip, c.sr, name="noise", **opts)
    return c.score_clean(nmfaudio.separate(c.y, c.sr, dictionaries=[ds, dnz])["speech"])


def run_blind(c, name, kw):
    """Blind mode (no clip): today's default, or its noise model constrained to change slowly:
    a continuity penalty on the floor templates' activations, or the noise held at the
    minimum-statistics floor's own NMF model × α (only the speech fitted, plain KL MU)."""
    if kw.get("mixture"):
        return c.score_clean((c.y * (1 - 1e-3)).astype(c.y.dtype))  # a non-silent "noise" estimate
    if not kw:
        return c.score(dn._fit(c.y, c.sr, c.params, None, None, None, Kn=KN, Ks=KS, sparsity=dn.SPARSITY,
                               max_iter=ITER, random_state=0)[1])
    V = c.V.astype(np.float64)
    floor = dn._minstat_noise(V, c.params, c.sr)
    fn = nmf(floor, KN, beta="kl", max_iter=200, random_state=0)
    if "mu" in kw:
        Wn = _unit(fn.W)
        W0 = np.concatenate([dn.random_templates(np.random.default_rng(0), V.shape[0], KS, V.dtype), Wn], axis=1)
        upd = np.arange(KS + KN) < KS
        res = nmf(V, W=W0, H=frame_init(V, W0.shape[1]), beta=1.0, update_W=upd, max_iter=ITER, tol=0,
                  sparsity=np.where(upd, dn.SPARSITY, 0.0), random_state=0,
                  continuity=np.where(upd, 0.0, kw["mu"]))
        return c.score(c.estimates(res, KS))
    N = kw["fixed"] * (fn.W @ fn.H)
    rng = np.random.default_rng(0)
    Ws = dn.random_templates(rng, V.shape[0], KS, V.dtype).astype(np.float64)
    Hs = np.full((KS, V.shape[1]), V.mean() / KS)
    eps = 1e-12
    for _ in range(ITER):
        R = V / (Ws @ Hs + N + eps)
        Hs *= (Ws.T @ R) / (Ws.sum(axis=0)[:, None] + dn.SPARSITY + eps)
        R = V / (Ws @ Hs + N + eps)
        Ws *= (R @ Hs.T) / (Hs.sum(axis=1)[None, :] + eps)
        scale = Ws.sum(axis=0)
        Ws /= np.maximum(scale, eps)
        Hs *= scale[:, None]
    return c.score(np.stack([Ws @ Hs, N]))


def run_multires(c, name, kw):
    """Today's denoiser (noise sample) at several STFT sizes (hop n_fft / 4, as the default), the
    clean waveforms averaged sample by sample (or their median); the same size repeated means
    the random starts 0, 1, 2."""
    outs = []
    for seed, n_fft in enumerate(kw["ffts"]):
        params = nmfaudio.STFTParams(n_fft=n_fft, hop_length=n_fft // 4)
        S, est, power = dn._fit(c.y, c.sr, params, c.clip, None, None, Kn=KN, Ks=KS, sparsity=dn.SPARSITY,
                                max_iter=ITER, random_state=seed if len(set(kw["ffts"])) == 1 else 0)
        outs.append(dn._reconstruct(S, est, params=params, power=power, mask_power=1.0,
                                    length=c.y.shape[-1], dtype=c.y.dtype)["clean"])
    clean = np.median(outs, axis=0) if kw.get("median") else np.mean(outs, axis=0)
    return c.score_clean(clean.astype(c.y.dtype))


def frame_features(V, Vc, sr, n_fft, n_bands=32):
    """Per-frame features of the mixture ``V`` against the noise clip ``Vc`` (both magnitudes):
    ``(T, 3 * n_bands + 4)``."""
    import librosa
    from scipy.ndimage import uniform_filter1d

    def cpp(P):  # cepstral peak prominence over quefrencies 2.5-15 ms (pitch 67-400 Hz)
        C = np.fft.irfft(np.log(P + 1e-10), axis=0)
        q = np.arange(C.shape[0]) / sr
        Cb = C[(q >= 0.0025) & (q <= 0.015)]
        return Cb.max(0) - np.median(Cb, 0)

    mel = librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_bands, fmax=sr / 2)
    P, Pc = V.astype(np.float64) ** 2, Vc.astype(np.float64) ** 2
    E, Ec = np.log(mel @ P + 1e-10), np.log(mel @ Pc + 1e-10)
    z = (E - Ec.mean(1, keepdims=True)) / (Ec.std(1, keepdims=True) + 0.5)
    c, cc = cpp(P), cpp(Pc)
    cz = (c - cc.mean()) / (cc.std() + 1e-3)
    tot = z.mean(0, keepdims=True)
    return np.concatenate([z, uniform_filter1d(z, 7, axis=1, mode="nearest"),
                           uniform_filter1d(z, 21, axis=1, mode="nearest"), cz[None],
                           uniform_filter1d(cz, 7, mode="nearest")[None], tot,
                           uniform_filter1d(tot, 7, axis=1, mode="nearest")], axis=0).T


def _frame_labels(c):
    ratio = (c.Ss ** 2).sum(0) / np.maximum((c.Sn ** 2).sum(0), 1e-20)
    return 10 * np.log10(ratio + 1e-20)


_CLASSIFIER_DATA = {}


def _classifier_frames(c, kw):
    """Frames of ``c`` a classifier trained on the other items (no shared voice or noise) calls
    noise-only with probability > ``kw["p"]``."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    pool = _CLASSIFIER_DATA["pool"]
    key = (c.item.id, kw["model"])
    if key not in _CLASSIFIER_DATA:
        me = c.item.info
        train = [d for d in pool if d["voice"] != me["speech_source"] and d["noise"] != me["noise_type"]]
        X = np.concatenate([d["X"] for d in train])
        y = np.concatenate([d["y"] for d in train])
        clf = (make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=2000)) if kw["model"] == "logistic"
               else HistGradientBoostingClassifier(max_iter=200, learning_rate=0.1, max_leaf_nodes=15))
        clf.fit(X, y)
        Vc = c.Vc
        _CLASSIFIER_DATA[key] = clf.predict_proba(frame_features(c.V, Vc, c.sr, c.params.n_fft))[:, 1]
    return _CLASSIFIER_DATA[key] > kw["p"]


def _classifier_pool(data, entries):
    pool = []
    for e in entries:
        c = Case(run.load_item(data, e))
        Vc = c.Vc
        pool.append({"voice": e["speech_source"], "noise": e["noise_type"],
                     "X": frame_features(c.V, Vc, c.sr, c.params.n_fft), "y": (_frame_labels(c) < -10).astype(int)})
    _CLASSIFIER_DATA["pool"] = pool


def run_twopass(c, name, kw):
    T = c.V.shape[1]
    if kw["sel"] == "classifier":
        sel = _classifier_frames(c, kw)
    elif kw["sel"] == "truth":
        ratio = (c.Ss ** 2).sum(0) / np.maximum((c.Sn ** 2).sum(0), 1e-20)
        sel = 10 * np.log10(ratio + 1e-20) < kw["db"]
    elif kw["sel"] == "model":
        est = c.estimates(*c.fit_fixed_noise(c.clip_templates()))
        sel = est[0].sum(0) / np.maximum(est.sum(axis=(0, 1)), 1e-20) < kw["share"]
    else:
        import librosa
        from scipy.ndimage import binary_dilation

        _, _, prob = librosa.pyin(c.y.astype(np.float64), fmin=65, fmax=400, sr=c.sr, frame_length=c.params.n_fft,
                                  hop_length=c.params.hop_length, center=True)
        sel = ~binary_dilation(prob[:T] > kw["p"], iterations=kw["d"])
    Vc = c.Vc
    if sel.sum() < 2:
        return c.score(c.estimates(*c.fit_fixed_noise(c.clip_templates())))
    Wn = nmf(np.ascontiguousarray(np.concatenate([Vc, c.V[:, sel]], axis=1)), KN, beta="kl", max_iter=200,
             random_state=0).W
    return c.score(c.estimates(*c.fit_fixed_noise(Wn)))


def _bands(f, M, sr):
    """``(F, M)`` raised-cosine bands on log2 frequency, summing to one at every frequency."""
    lf = np.log2(np.maximum(f, 50.0))
    centres = np.linspace(np.log2(50.0), np.log2(sr / 2), M)
    step = centres[1] - centres[0] if M > 1 else 1.0
    d = np.clip(np.abs(lf[:, None] - centres[None]) / step, 0, 1)
    B = 0.5 + 0.5 * np.cos(np.pi * d)
    return B / B.sum(axis=1, keepdims=True)


def run_eq(c, name, kw):
    """Plain KL MU: free sparse speech templates + clip noise templates with a learned smooth EQ."""
    M = kw["M"]
    eq = None
    if M:
        db = kw.get("db", 0)
        eq = (_bands(np.linspace(0, c.sr / 2, c.V.shape[0]), M, c.sr), 10 ** (-db / 20), 10 ** (db / 20))
    return c.score(_kl_fit(c, c.clip_templates(), np.full(c.V.shape[1], dn.SPARSITY), eq=eq))


def run_prior(c, name, kw):
    saved = dn.SPEECH_PRIOR, dn._speech_prior
    full = dn._speech_prior

    def reduced(params, sr, dtype):
        P = np.ascontiguousarray(full(params, sr, np.float64))
        return _unit(nmf(P, kw["K"], beta="kl", max_iter=300, random_state=0).W).astype(dtype)

    try:
        if "K" in kw:
            dn.SPEECH_PRIOR, dn._speech_prior = "init", reduced
        S, est, _ = dn._fit(c.y, c.sr, c.params, c.clip, None, None, Kn=KN, Ks=kw.get("Ks", KS),
                            sparsity=dn.SPARSITY, max_iter=ITER, random_state=0)
    finally:
        dn.SPEECH_PRIOR, dn._speech_prior = saved
    return c.score(est)


def run_continuity(c, name, kw):
    mu = np.r_[np.full(KS, kw.get("speech", 0.0)), np.full(KN, kw.get("noise", 0.0))]
    return c.score(c.estimates(*c.fit_fixed_noise(c.clip_templates(), continuity=mu)))


def _kl_fit(c, Wn, lam_t, iters=ITER, Ks=KS, eq=None):
    """Plain KL MU with ``Ks`` free sparse speech templates (per-frame L1 weights ``lam_t (T,)``)
    and the fixed noise templates ``Wn``, or with ``eq = (B, lo, hi)`` each noise template
    ``w_k ⊙ (B a_k)`` with a learned ``a_k`` in ``[lo, hi]`` (see ``eq``): the estimates
    ``(2, F, T)`` float32."""
    from nmfaudio._random import random_templates

    V = c.V.astype(np.float64)
    scale = V.mean()
    V = V / scale
    F, T = V.shape
    Wn = _unit(Wn.astype(np.float64))
    Kn = Wn.shape[1]
    Ws = random_templates(np.random.default_rng(0), F, Ks, np.float64)
    H = frame_init(V, Ks + Kn)
    lam = np.zeros(H.shape)
    lam[:Ks] = lam_t[None, :]
    A = None if eq is None else np.ones((eq[0].shape[1], Kn))
    eps = 1e-12

    def noise_templates():
        return Wn if eq is None else Wn * (eq[0] @ A)

    for _ in range(iters):
        W = np.concatenate([Ws, noise_templates()], axis=1)
        R = V / np.maximum(W @ H, eps)
        H *= (W.T @ R) / (W.sum(axis=0)[:, None] + lam)
        R = V / np.maximum(W @ H, eps)
        Ws *= (R @ H[:Ks].T) / np.maximum(H[:Ks].sum(axis=1)[None, :], eps)
        n = Ws.sum(axis=0)
        Ws /= n
        H[:Ks] *= n[:, None]
        if eq is not None:
            B, lo, hi = eq
            Nn = R @ H[Ks:].T                  # the noise columns' KL update: numerator
            Dn = H[Ks:].sum(axis=1)[None, :]   # and denominator
            A *= (B.T @ (Wn * Nn)) / np.maximum(B.T @ (Wn * Dn), eps)
            g = np.exp(np.mean(np.log(np.maximum(A, eps)), axis=0))  # the overall gain goes to H
            A /= g
            H[Ks:] *= g[:, None]
            np.clip(A, lo, hi, out=A)
    return (np.stack([Ws @ H[:Ks], noise_templates() @ H[Ks:]]) * scale).astype(np.float32)


def run_weighted(c, name, kw):
    Wn = c.clip_templates()
    p_t = np.ones(c.V.shape[1])
    if kw["c"]:
        P = dn._speech_prior(c.params, c.sr, np.float32)
        W = np.ascontiguousarray(np.concatenate([P, _unit(Wn)], axis=1))
        res = nmf(c.V, W=W, H=frame_init(c.V, W.shape[1]).astype(c.V.dtype), beta=1.0, update_W=False,
                  max_iter=50, tol=0, random_state=0)
        sp = (P @ res.H[:P.shape[1]]).sum(axis=0)
        p_t = sp / np.maximum((W @ res.H).sum(axis=0), 1e-20)
    g = 1.0 + kw["c"] * ((1.0 - p_t) ** 2 if kw.get("sq") else (1.0 - p_t))
    return c.score(_kl_fit(c, Wn, dn.SPARSITY * g, Ks=kw.get("Ks", KS)))


RUNNERS = {"limits": run_limits, "noisedict": run_noisedict, "adapt": run_adapt, "reassign": run_reassign,
           "twopass": run_twopass, "classifier": run_twopass, "eq": run_eq,
           "prior": run_prior, "continuity": run_continuity, "weighted": run_weighted,
           "clipuse": run_clipuse, "multires": run_multires, "wienerem": run_wienerem,
           "bootstrap": run_bootstrap, "blind": run_blind}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--experiment", choices=sorted(EXPERIMENTS), required=True)
    ap.add_argument("--part", choices=["tune", "test"], default="tune")
    ap.add_argument("--items", type=int, default=None, help="first N items only")
    ap.add_argument("--json", default=None, help="also write the per-item scores here")
    ap.add_argument("--only", default=None, help="comma-separated: run only the rows whose name holds one")
    args = ap.parse_args(argv)
    rows_of = EXPERIMENTS[args.experiment]
    if args.only:
        rows_of = {k: v for k, v in rows_of.items() if any(w in k for w in args.only.split(","))}
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)
    dn.USM_LAMBDA = None  # today's model was the free templates alone when these rows were measured
    data = HERE / "data"
    entries = [e for e in run.read_manifest(data)["items"] if e["kind"] == "speech" and e["part"] == args.part]
    if args.experiment == "classifier":
        _classifier_pool(data, entries)  # trained on the whole part, cross-validated per item
    entries = entries[:args.items] if args.items else entries
    rows = []
    for e in entries:
        c = Case(run.load_item(data, e))
        row = {"id": e["id"], "noise": e["noise_type"],
               "default": c.score(c.estimates(*c.fit_fixed_noise(c.clip_templates())))}
        for name, kw in rows_of.items():
            row[name] = RUNNERS[args.experiment](c, name, kw)
        rows.append(row)
        print(f"{e['id']} ({e['noise_type']}): " + ", ".join(
            f"{k} {v[0]:.2f}" for k, v in row.items() if k not in ("id", "noise")), file=sys.stderr, flush=True)
    print(f"`{args.part}: {len(rows)} speech items; experiment {args.experiment!r}`\n")
    print("| row | SDR mean | median | STOI | PESQ | SDR better | SDR worse |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name in ["default"] + list(rows_of):
        a = np.array([r[name] for r in rows])
        d = a[:, 0] - np.array([r["default"][0] for r in rows])
        print(f"| {name} | {a[:, 0].mean():.2f} | {np.median(a[:, 0]):.2f} | {a[:, 1].mean():.3f} | "
              f"{a[:, 2].mean():.2f} | {int((d > 0.05).sum())}/{len(rows)} | {int((d < -0.05).sum())}/{len(rows)} |")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
