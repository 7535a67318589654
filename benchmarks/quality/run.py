#!/usr/bin/env python
"""Separation-quality benchmark: every method on every item of both parts of the set.

Choose on ``tune``, report on ``test`` (see ``split.json``). For each item the
methods of the registry ``METHODS`` run with their default settings; their
estimates are scored with :func:`nmfaudio.evaluate` (BSS-Eval v3 SDR via
mir_eval and SI-SDR; for speech also STOI and wide-band PESQ of the speech
source). Tables with mean, median and min … max over the items of each part,
side by side, a cost / do-no-harm table and the per-item rows are printed and
written into ``benchmarks/RESULTS.md`` between the ``quality`` markers, with the
command and date; the rest of that file is kept.

    python benchmarks/quality/make_set.py      # once: builds benchmarks/quality/data/
    python benchmarks/quality/run.py [--jobs 2] [--methods oracle,mixture] [--kinds speech]

Music items report the mean over their sources; speech items report the speech
source only (the noise estimate is still part of the BSS-Eval computation).
Needs ``pip install -e ".[metrics]"`` (pystoi, pesq) for the speech metrics. The
competitors' methods run when their packages are installed (a benchmark venv, never the
package's dependencies): ``pip install noisereduce logmmse pyroomacoustics``.

A method is a function ``fn(item) -> estimates``: an array
``(n_sources, n_samples)`` in the order of ``item.names``. Add one with
``@method("name", kinds=(...), permute=False, available=...)``.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import importlib
import json
import math
import os
import platform
import shlex
import sys
import time
import traceback
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
# Measure the nmfaudio of this checkout, not an installed copy.
sys.path.insert(0, str(ROOT))

import nmfaudio  # noqa: E402
from benchmarks._results import write_section  # noqa: E402

DEFAULT_DATA = HERE / "data"
DEFAULT_RESULTS = ROOT / "benchmarks" / "RESULTS.md"
KINDS = ("music", "speech")
COLUMNS = [("sdr", "SDR"), ("sir", "SIR"), ("sar", "SAR"), ("si_sdr", "SI-SDR"),
           ("sdr_improvement", "SDRi"), ("stoi", "STOI"), ("stoi_improvement", "ΔSTOI"),
           ("pesq", "PESQ-WB"), ("seconds", "time (s)"), ("peak_mb", "peak MB")]
# Metrics summarised per part (mean, median, min–max over items) for each kind.
SUMMARY = {"speech": [("sdr", "SDR"), ("si_sdr", "SI-SDR"), ("stoi", "STOI"), ("pesq", "PESQ-WB")],
           "music": [("sdr", "SDR"), ("si_sdr", "SI-SDR")],
           "drums": [("sdr", "SDR"), ("si_sdr", "SI-SDR")]}
PARTS = ("tune", "test")
#: Do-no-harm: an item counts as harmed when STOI(estimate) < STOI(noisy input) - HARM.
HARM = 0.02


# --------------------------------------------------------------------------- items


@dataclasses.dataclass
class Item:
    """One benchmark item, loaded: float32 mono arrays."""

    id: str
    kind: str
    part: str
    sr: int
    names: list            # stem names, in manifest order
    mixture: np.ndarray    # (n_samples,)
    stems: np.ndarray      # (n_sources, n_samples)
    train: dict            # stem name -> training clip (n,)
    info: dict             # the manifest entry

    @property
    def target(self) -> int:
        """Index of the source whose metrics are reported for speech items."""
        return self.names.index("speech")


def read_manifest(data_dir: Path) -> dict:
    path = Path(data_dir) / "manifest.json"
    if not path.is_file():
        raise SystemExit(
            f"run.py: no manifest at {path}; build the set first with "
            "'python benchmarks/quality/make_set.py' (see benchmarks/quality/README.md)"
        )
    return json.loads(path.read_text())


def load_item(data_dir: Path, entry: dict) -> Item:
    data_dir = Path(data_dir)

    def get(rel):
        y, sr = nmfaudio.load(data_dir / rel)
        if sr != entry["sample_rate"]:
            raise ValueError(f"{rel}: {sr} Hz, manifest says {entry['sample_rate']} Hz")
        return y

    names = list(entry["stems"])
    return Item(id=entry["id"], kind=entry["kind"], part=entry.get("part", "all"), sr=int(entry["sample_rate"]), names=names,
                mixture=get(entry["mixture"]), stems=np.stack([get(entry["stems"][n]) for n in names]),
                train={n: get(p) for n, p in entry["train"].items()}, info=entry)


# --------------------------------------------------------------------------- methods


@dataclasses.dataclass
class Method:
    fn: object
    kinds: tuple
    permute: bool
    available: object
    about: str


METHODS: dict[str, Method] = {}


def method(name, *, kinds=KINDS, permute=False, available=lambda: True, about=""):
    """Register ``fn(item) -> (n_sources, n_samples)`` estimates under ``name``."""

    def deco(fn):
        METHODS[name] = Method(fn=fn, kinds=tuple(kinds), permute=permute, available=available,
                               about=about or (fn.__doc__ or "").strip().splitlines()[0])
        return fn

    return deco


def _has(*attrs):
    return lambda: all(hasattr(nmfaudio, a) for a in attrs)


def _import(module):
    """Import ``module``, keeping numpy's floating-point error state (logmmse sets
    ``np.seterr('raise')`` for the whole process when it is imported)."""
    state = np.geterr()
    try:
        return importlib.import_module(module)
    finally:
        np.seterr(**state)


def _importable(module):
    def check():
        try:
            _import(module)
        except ImportError:
            return False
        return True

    return check


@method("oracle")
def oracle(item):
    """Ideal ratio mask (power 2) from the true stems, nmfaudio's default STFT: the ceiling of masking."""
    return nmfaudio.oracle_separate(item.stems, mixture=item.mixture)


@method("nmfaudio-supervised", available=_has("learn_dictionary"))
def nmfaudio_supervised(item):
    """nmfaudio.learn_dictionary on each training clip, then nmfaudio.separate(dictionaries=...), defaults."""
    dicts = [nmfaudio.learn_dictionary(item.train[n], item.sr, name=n) for n in item.names]
    out = nmfaudio.separate(item.mixture, item.sr, dictionaries=dicts)
    return np.stack([out[n] for n in item.names])


@method("nmfaudio-denoise", kinds=("speech",), available=_has("denoise"))
def nmfaudio_denoise(item):
    """nmfaudio.denoise(y, sr, noise=<noise training clip>), defaults; noise estimate = y - clean."""
    clean = nmfaudio.denoise(item.mixture, item.sr, noise=item.train["noise"])
    return _speech_and_rest(item, clean)


@method("nmfaudio-denoise-speech-dict", kinds=("speech",), available=_has("denoise"))
def nmfaudio_denoise_speech_dict(item):
    """nmfaudio.learn_dictionary on the speech training clip (defaults), then nmfaudio.denoise(y, sr, noise=<noise training clip>, speech_dictionary=...), defaults."""
    sd = nmfaudio.learn_dictionary(item.train["speech"], item.sr, name="speech")
    clean = nmfaudio.denoise(item.mixture, item.sr, noise=item.train["noise"], speech_dictionary=sd)
    return _speech_and_rest(item, clean)


@method("nmfaudio-denoise-dicts", kinds=("speech",), available=_has("denoise"))
def nmfaudio_denoise_dicts(item):
    """nmfaudio.learn_dictionary on each training clip (defaults; what `nmfaudio train` writes), then nmfaudio.denoise(y, sr, noise_dictionary=..., speech_dictionary=...), defaults."""
    sd = nmfaudio.learn_dictionary(item.train["speech"], item.sr, name="speech")
    nd = nmfaudio.learn_dictionary(item.train["noise"], item.sr, name="noise")
    clean = nmfaudio.denoise(item.mixture, item.sr, noise_dictionary=nd, speech_dictionary=sd)
    return _speech_and_rest(item, clean)


@method("nmfaudio-denoise-blind", kinds=("speech",), available=_has("denoise"))
def nmfaudio_denoise_blind(item):
    """nmfaudio.denoise(y, sr), defaults, no noise sample (noise modelled from its minimum-statistics floor)."""
    clean = nmfaudio.denoise(item.mixture, item.sr)
    return _speech_and_rest(item, clean)


@method("nmfaudio-denoise-region", kinds=("speech",), available=_has("denoise"))
def nmfaudio_denoise_region(item):
    """nmfaudio.denoise(noise_region=...) on <noise training clip> + y, the region being the noise clip; defaults, output cropped to y."""
    lead = item.train["noise"]
    y = np.concatenate([lead, item.mixture])
    clean = nmfaudio.denoise(y, item.sr, noise_region=(0.0, lead.size / item.sr))[lead.size:]
    return _speech_and_rest(item, clean)


def _stream(proc, y, block=1024):
    """Feed ``y`` to a block processor in ``block``-sample blocks; the delay-compensated speech."""
    parts = [proc.process(y[i:i + block]) for i in range(0, y.size, block)] + [proc.flush()]
    return np.concatenate([p["speech"] for p in parts])[proc.latency:]


@method("nmfaudio-stream-denoise", kinds=("speech",), available=_has("StreamDenoiser"))
def nmfaudio_stream_denoise(item):
    """nmfaudio.StreamDenoiser(noise=<noise training clip>), defaults, 1024-sample blocks."""
    clean = _stream(nmfaudio.StreamDenoiser(noise=item.train["noise"], sr=item.sr), item.mixture)
    return _speech_and_rest(item, clean)


@method("nmfaudio-stream-denoise-blind", kinds=("speech",), available=_has("StreamDenoiser"))
def nmfaudio_stream_denoise_blind(item):
    """nmfaudio.StreamDenoiser(sr=sr), defaults (blind: noise model adapted on quiet frames), 1024-sample blocks."""
    clean = _stream(nmfaudio.StreamDenoiser(sr=item.sr), item.mixture)
    return _speech_and_rest(item, clean)


@method("nmfaudio-unsupervised", permute=True)
def nmfaudio_unsupervised(item):
    """nmfaudio.separate(y, sr, n_sources=N), defaults, no training data; best permutation."""
    out = nmfaudio.separate(item.mixture, item.sr, n_sources=len(item.names))
    return np.stack(list(out.values()))


#: Stem name -> bundled model used for it by the ``nmfaudio-instruments*`` methods. Test-part
#: stems all have their own model (two spelled differently); tune-part instruments without one
#: get the nearest model of the library (family and register), as a user naming them would.
INSTRUMENT_MODEL = {"epiano": "electric-piano", "alto_sax": "saxophone", "reed_organ": "organ",
                    "vibraphone": "marimba", "oboe": "clarinet", "horn": "trumpet",
                    "strings2": "strings", "viola": "violin"}


def instrument_models(item):
    """The bundled model names for ``item.names`` (see ``INSTRUMENT_MODEL``)."""
    return [INSTRUMENT_MODEL.get(n, n) for n in item.names]


def _instruments(item, **options):
    models = instrument_models(item)
    out = nmfaudio.separate(item.mixture, item.sr, instruments=models, **options)
    return np.stack([out[m] for m in models])


@method("nmfaudio-instruments", kinds=("music",), available=_has("load_model"))
def nmfaudio_instruments(item):
    """nmfaudio.separate(y, sr, instruments=[bundled model per stem]), defaults (fixed templates), no training clips."""
    return _instruments(item)


#: ``adapt`` / ``adapt_prior`` of the ``nmfaudio-instruments-adapt`` method (chosen on the tune part,
#: benchmarks/models/tune_adapt.py).
ADAPT_SETTING = {"adapt": 10, "adapt_prior": 1.0}


@method("nmfaudio-instruments-adapt", kinds=("music",), available=_has("load_model"))
def nmfaudio_instruments_adapt(item):
    """nmfaudio.separate(y, sr, instruments=[...], adapt=N, adapt_prior=P) (ADAPT_SETTING): the bundled templates adapted to the mix."""
    return _instruments(item, **ADAPT_SETTING)


PLAIN_N_FFT, PLAIN_HOP, PLAIN_K = 2048, 512, 16


@method("plain-sklearn")
def plain_sklearn(item):
    """librosa STFT (2048/512) + scikit-learn NMF (mu, KL), K=16 per source from its training clip, dictionaries fixed, Wiener mask."""
    import librosa
    from sklearn.decomposition import NMF, non_negative_factorization
    from sklearn.exceptions import ConvergenceWarning

    def spec(y):
        return librosa.stft(y, n_fft=PLAIN_N_FFT, hop_length=PLAIN_HOP)

    # scikit-learn factorises X (n_samples, n_features) ≈ W H: frames are its samples, so
    # X = |S|.T (n_frames, n_freq) and components_ (K, n_freq) are the spectral templates.
    templates = []
    with warnings.catch_warnings():
        # scikit-learn warns when max_iter (default 200) is reached; that is the default a user gets
        warnings.simplefilter("ignore", ConvergenceWarning)
        for n in item.names:
            model = NMF(n_components=PLAIN_K, solver="mu", beta_loss="kullback-leibler",
                        random_state=0)
            model.fit(np.abs(spec(item.train[n])).T)
            templates.append(model.components_)
        H_fixed = np.concatenate(templates).astype(np.float64)       # (n_sources * K, n_freq)
        S = spec(item.mixture)
        X = np.abs(S).T.astype(np.float64)                             # (n_frames, n_freq)
        A, _, _ = non_negative_factorization(X, H=H_fixed, n_components=H_fixed.shape[0],
                                             update_H=False, solver="mu",
                                             beta_loss="kullback-leibler")  # activations (n_frames, K)
    est = np.stack([A[:, i * PLAIN_K:(i + 1) * PLAIN_K] @ templates[i] for i in range(len(templates))])
    P = est ** 2
    den = P.sum(axis=0)
    masks = np.where(den > 0, P / np.where(den > 0, den, 1), 1.0 / len(templates))  # (n_src, T, F)
    out = [librosa.istft(m.T * S, hop_length=PLAIN_HOP, n_fft=PLAIN_N_FFT, length=len(item.mixture))
           for m in masks]
    return np.stack(out).astype(np.float32)


@method("noisereduce", kinds=("speech",), available=_importable("noisereduce"))
def noisereduce_stationary(item):
    """noisereduce.reduce_noise(stationary=True, y_noise=<noise training clip>), defaults; noise = y - clean."""
    import noisereduce

    clean = noisereduce.reduce_noise(y=item.mixture, sr=item.sr, y_noise=item.train["noise"],
                                     stationary=True)
    return _speech_and_rest(item, np.asarray(clean, dtype=np.float32)[..., :len(item.mixture)])


@method("noisereduce-nonstationary", kinds=("speech",), available=_importable("noisereduce"))
def noisereduce_nonstationary(item):
    """noisereduce.reduce_noise(stationary=False), defaults, no noise clip; noise = y - clean."""
    import noisereduce

    clean = noisereduce.reduce_noise(y=item.mixture, sr=item.sr, stationary=False)
    return _speech_and_rest(item, np.asarray(clean, dtype=np.float32)[..., :len(item.mixture)])


def _with_lead(item, fn):
    """``fn(noise clip + mixture, n_lead)`` cropped to the mixture: for enhancers that take
    their noise estimate from the start of the signal, the noise training clip goes first."""
    lead = item.train["noise"]
    out = np.asarray(fn(np.concatenate([lead, item.mixture]), lead.size), dtype=np.float32)
    return _fit_length(out[lead.size:], item.mixture.size)


def _fit_length(y, n):
    """``y`` cut or zero-padded to ``n`` samples (the classic enhancers drop the last partial frame)."""
    y = np.asarray(y, dtype=np.float32)[:n]
    return np.pad(y, (0, n - y.size))


def _logmmse_frame(sr):
    """logmmse's frame length in samples (20 ms, made even), as in logmmse.logmmse."""
    n = int(math.floor(0.02 * sr))
    return n + n % 2


@method("logmmse", kinds=("speech",), available=_importable("logmmse"))
def logmmse_blind(item):
    """logmmse.logmmse(y, sr), defaults (noise from the first 6 frames, 120 ms, then VAD updates); noise = y - clean."""
    lm = _import("logmmse")
    clean = _fit_length(lm.logmmse(item.mixture.copy(), item.sr), item.mixture.size)
    return _speech_and_rest(item, clean)


@method("logmmse-noise", kinds=("speech",), available=_importable("logmmse"))
def logmmse_noise(item):
    """logmmse.logmmse on <noise training clip> + y with initial_noise = the clip's frames, output cropped to y."""
    lm = _import("logmmse")
    frames = lambda n: max(1, n // _logmmse_frame(item.sr))  # noqa: E731
    clean = _with_lead(item, lambda y, n: lm.logmmse(y, item.sr, initial_noise=frames(n)))
    return _speech_and_rest(item, clean)


#: pyroomacoustics' one-shot denoisers use a streaming STFT: the output lags by half a frame.
PRA_FRAME = 512


def _pra(item, fn):
    y = np.pad(item.mixture.astype(np.float64), (0, PRA_FRAME // 2))
    out = fn(y)[PRA_FRAME // 2:]
    return _speech_and_rest(item, _fit_length(out, item.mixture.size))


@method("pyroomacoustics-wiener", kinds=("speech",), available=_importable("pyroomacoustics"))
def pyroomacoustics_wiener(item):
    """pyroomacoustics.denoise.apply_iterative_wiener(y), defaults (512-sample frames, LPC order 20), delay removed."""
    pra = _import("pyroomacoustics.denoise")
    return _pra(item, lambda y: pra.apply_iterative_wiener(y, frame_len=PRA_FRAME))


@method("pyroomacoustics-specsub", kinds=("speech",), available=_importable("pyroomacoustics"))
def pyroomacoustics_specsub(item):
    """pyroomacoustics.denoise.apply_spectral_sub(y), defaults (nfft 512, 25 dB max reduction, 12-frame lookback), delay removed."""
    pra = _import("pyroomacoustics.denoise")
    return _pra(item, lambda y: pra.apply_spectral_sub(y, nfft=PRA_FRAME))


# Drum items (kind "drums" of make_set.py; issue #9): kick/snare/hihat, no training clips.
KINDS = KINDS + ("drums",)


@method("nmfaudio-drums", kinds=("drums",), available=_has("split_drums"))
def nmfaudio_drums(item):
    """nmfaudio.split_drums(y, sr): convolutive NMF from drum-shaped templates, defaults, no training data."""
    out = nmfaudio.split_drums(item.mixture, item.sr)
    return np.stack([out[n] for n in item.names])


@method("nmfaudio-drums-nmf", kinds=("drums",), available=_has("split_drums"))
def nmfaudio_drums_nmf(item):
    """nmfaudio.split_drums(y, sr, n_lags=1): the same with plain (one-frame) NMF templates, for comparison."""
    out = nmfaudio.split_drums(item.mixture, item.sr, n_lags=1)
    return np.stack([out[n] for n in item.names])


@method("mixture")
def mixture(item):
    """The unprocessed mixture as the estimate of every source."""
    return np.stack([item.mixture] * len(item.names))


def _speech_and_rest(item, clean):
    """Estimates for (speech, noise) in item order from a clean-speech estimate."""
    est = {"speech": clean, "noise": item.mixture - clean}
    return np.stack([est[n] for n in item.names])


# --------------------------------------------------------------------------- running


_PROCESS_STATE = {}


def _limit_threads(n):
    if "limits" not in _PROCESS_STATE:
        from threadpoolctl import threadpool_limits  # comes with scikit-learn

        _PROCESS_STATE["limits"] = threadpool_limits(limits=n)


def _excerpt(item, seconds=1.0):
    n = int(seconds * item.sr)
    return dataclasses.replace(item, mixture=item.mixture[:n], stems=item.stems[:, :n],
                               train={k: v[:n] for k, v in item.train.items()})


def _warm_up(item, method_names):
    """Run each method once, untimed, on a 1 s excerpt: imports and first-call costs
    (librosa's caches, numba compilation) then do not land on whichever method runs first."""
    small = _excerpt(item)
    for name in method_names:
        key = ("warm", name, item.kind)
        if key in _PROCESS_STATE or item.kind not in METHODS[name].kinds:
            continue
        _PROCESS_STATE[key] = True
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                METHODS[name].fn(small)
        except Exception:
            pass  # the timed run reports the error


def _score(item, est, permute, mix_scores=None):
    """Metrics of one estimate: BSS-Eval and SI-SDR (all sources, speech: the speech
    row), plus STOI and PESQ-WB of the speech source; improvements over ``mix_scores``."""
    res = nmfaudio.evaluate(dict(zip(item.names, item.stems)), dict(zip(item.names, est)),
                            permute=permute)
    if item.kind == "speech":
        j = item.target
        out = dict(res["per_source"][j])
        per = nmfaudio.evaluate(item.stems[j:j + 1], est[j:j + 1], metrics=("stoi", "pesq"),
                                sr=item.sr)
        out.update(per["per_source"][0])
    else:
        out = dict(res["mean"])
    out.pop("name", None)
    if mix_scores is not None:
        for k in ("sdr", "si_sdr", "stoi", "pesq"):
            if out.get(k) is not None and mix_scores.get(k) is not None:
                out[k + "_improvement"] = out[k] - mix_scores[k]
    return out, res["per_source"]


def run_item(data_dir, entry, method_names, threads):
    """All requested methods on one item; returns a list of row dicts."""
    import tracemalloc

    _limit_threads(threads)
    item = load_item(data_dir, entry)
    _warm_up(item, method_names)
    mix_scores, _ = _score(item, np.stack([item.mixture] * len(item.names)), False)
    rows = []
    for name in method_names:
        m = METHODS[name]
        if item.kind not in m.kinds:
            continue
        row = {"item": item.id, "kind": item.kind, "part": item.part, "method": name}
        try:
            tracemalloc.start()
            t0, c0 = time.perf_counter(), time.process_time()
            est = m.fn(item)
            row["seconds"] = time.perf_counter() - t0
            row["cpu_seconds"] = time.process_time() - c0  # all threads of this process
            row["peak_mb"] = tracemalloc.get_traced_memory()[1] / 1e6
            tracemalloc.stop()
            est = np.asarray(est)
            if est.shape != item.stems.shape:
                raise ValueError(f"estimates have shape {est.shape}, expected {item.stems.shape}")
            metrics, per_source = _score(item, est, m.permute, mix_scores)
        except Exception as exc:  # one failing method must not stop the benchmark
            tracemalloc.stop()
            row["error"] = f"{type(exc).__name__}: {exc}".splitlines()[0]
            traceback.print_exc(file=sys.stderr)
            rows.append(row)
            continue
        row.update({k: metrics[k] for k, _ in COLUMNS if k in metrics})
        row["per_source"] = per_source
        rows.append(row)
    return rows


#: The per-item scores the tuning scripts write with --json.
PER_ITEM_KEYS = ("sdr", "si_sdr", "stoi", "pesq", "stoi_improvement")


def per_item(rows):
    """``{metric: [value per item]}`` of a list of score dicts (the tuning scripts' --json)."""
    return {k: [r.get(k) for r in rows] for k in PER_ITEM_KEYS}


def comparison_table(named, extra=None):
    """Markdown lines comparing rows ``{name: [score dict per item]}`` with the first row: SDR
    mean and median, SI-SDR, STOI and PESQ means, items better / worse by SDR (± 0.05 dB) and
    harmed items; ``extra`` ``(header, {name: cell})`` adds a last column."""
    head = "| row | SDR mean | median | SI-SDR | STOI | PESQ | SDR better | SDR worse | harmed |"
    lines = [head + (f" {extra[0]} |" if extra else ""), "|---|" + "---:|" * (8 + bool(extra))]
    ref = np.array([r["sdr"] for r in next(iter(named.values()))])
    for name, rows in named.items():
        sdr = np.array([r["sdr"] for r in rows])
        harmed = sum(r["stoi_improvement"] < -HARM for r in rows)
        lines.append(f"| {name} | {sdr.mean():.2f} | {np.median(sdr):.2f} | {np.mean([r['si_sdr'] for r in rows]):.2f} | "
                     f"{np.mean([r['stoi'] for r in rows]):.3f} | {np.mean([r['pesq'] for r in rows]):.2f} | "
                     f"{int((sdr > ref + 0.05).sum())}/{len(rows)} | {int((sdr < ref - 0.05).sum())}/{len(rows)} | "
                     f"{harmed} |" + (f" {extra[1][name]} |" if extra else ""))
    return lines


def _mean(values):
    vals = [v for v in values if v is not None]
    if len(vals) < len(values) or not vals:
        return None
    return float(np.mean(vals))


def _stats(values):
    vals = [v for v in values if v is not None and math.isfinite(v)]
    if not vals:
        return None
    return {"mean": float(np.mean(vals)), "median": float(np.median(vals)),
            "min": float(np.min(vals)), "max": float(np.max(vals)), "n": len(vals),
            "missing": len(values) - len(vals)}


def summarise(rows, method_names):
    """Statistics per (kind, method, part) over the items where the method ran without error."""
    out = []
    parts = sorted({r["part"] for r in rows}, key=lambda p: (PARTS + (p,)).index(p))
    for kind in KINDS:
        for name in method_names:
            for part in parts:
                sel = [r for r in rows if r["kind"] == kind and r["method"] == name
                       and r["part"] == part]
                if not sel:
                    continue
                ok = [r for r in sel if "error" not in r]
                s = {"kind": kind, "method": name, "part": part, "n": len(ok),
                     "failed": len(sel) - len(ok)}
                for k, _ in COLUMNS:
                    s[k] = _stats([r.get(k) for r in ok])
                if kind == "speech":
                    d = [r.get("stoi_improvement") for r in ok]
                    s["harmed"] = sum(1 for v in d if v is not None and v < -HARM)
                out.append(s)
    return out


def _fmt(v, key):
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "—"
    if key in ("stoi", "stoi_improvement"):
        return f"{v:.3f}"
    if key in ("seconds", "pesq", "pesq_improvement"):
        return f"{v:.2f}"
    if key == "peak_mb":
        return f"{v:.0f}"
    return f"{v:.1f}"


def _cells(st, key):
    if st is None:
        return ["—", "—", "—"]
    return [_fmt(st["mean"], key), _fmt(st["median"], key),
            f"{_fmt(st['min'], key)} … {_fmt(st['max'], key)}"]


def _summary_tables(means, kind, parts):
    sel = [m for m in means if m["kind"] == kind]
    parts = [p for p in parts if any(m["part"] == p for m in sel)]  # only the parts this kind has
    methods = list(dict.fromkeys(m["method"] for m in sel))
    get = {(m["method"], m["part"]): m for m in sel}
    n_items = {p: max((m["n"] + m["failed"] for m in sel if m["part"] == p), default=0)
               for p in parts}
    what = "speech source only" if kind == "speech" else "mean over each item's sources"
    lines = [f"#### {kind} ({what}; " + ", ".join(f"{p}: {n_items[p]} items" for p in parts) + ")",
             ""]
    for key, head in SUMMARY[kind]:
        lines += [f"**{head}**", "",
                  "| method | " + " | ".join(f"{p} mean | {p} median | {p} min … max" for p in parts)
                  + " |", "| --- " + "| ---: " * (3 * len(parts)) + "|"]
        for name in methods:
            cells = []
            for p in parts:
                m = get.get((name, p))
                cells += _cells(m[key] if m else None, key)
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
        lines.append("")
    extra = [("seconds", "time (s), mean"), ("peak_mb", "peak MB, max")]
    head = []
    for p in parts:
        if kind == "speech":
            head += [f"{p} ΔSTOI mean", f"{p} harmed"]
        head += [f"{p} {h}" for _, h in extra]
    lines += ["**Cost" + (" and do-no-harm" if kind == "speech" else "") + "**", "",
              "| method | " + " | ".join(head) + " |", "| --- " + "| ---: " * len(head) + "|"]
    for name in methods:
        cells = []
        for p in parts:
            m = get.get((name, p))
            if kind == "speech":
                d = m and m["stoi_improvement"]
                cells += [_fmt(d["mean"], "stoi") if d else "—",
                          f"{m['harmed']}/{m['n']}" if m else "—"]
            cells += [_fmt(m[k]["max" if k == "peak_mb" else "mean"], k) if m and m[k] else "—"
                      for k, _ in extra]
        fail = sum(get[(name, p)]["failed"] for p in parts if (name, p) in get)
        lines.append(f"| {name}{f' ({fail} failed)' if fail else ''} | " + " | ".join(cells) + " |")
    return lines + [""]


def markdown(rows, means, *, command, date, data_info, skipped, load):
    seen = {m["part"] for m in means}
    parts = [p for p in PARTS if p in seen] + sorted(seen - set(PARTS))
    lines = [
        "## Separation quality (`benchmarks/quality`)",
        "",
        f"Command: `{command}`  ",
        f"Date: {date}  ",
        f"Set: {data_info}  ",
        f"nmfaudio {nmfaudio.__version__}, Python {platform.python_version()}, "
        f"{platform.machine()}, {os.cpu_count()} CPUs, {load}.",
        "",
        "**Choose on `tune`, report on `test`**: the parts share no voice, babble talker, noise "
        "recording or instrument rendering (soundfont + GM program), see "
        "`benchmarks/quality/split.json`. SDR (BSS-Eval v3, mir_eval) and SI-SDR in dB; STOI "
        "(pystoi, 0–1) and PESQ-WB (pesq, ITU-T P.862.2 at 16 kHz, MOS 1–4.64), higher is better. "
        "**Speech: the speech source only; music: mean over the item's sources.** Mean, median "
        "and min … max are over items. ΔSTOI = STOI(estimate) − STOI(noisy input); *harmed* "
        f"counts items whose ΔSTOI < −{HARM}. Time: wall-clock seconds of the method on one item, "
        "including dictionary learning, excluding scoring; peak MB: largest Python/numpy "
        "allocation peak of the method (tracemalloc). Every method runs with default settings. "
        "`mixture` is the unprocessed input.",
        "",
        "Methods:",
        "",
    ]
    ran = {m["method"] for m in means}
    for name in [n for n in METHODS if n in ran]:
        lines.append(f"- `{name}`: {METHODS[name].about}")
    for name, why in skipped:
        lines.append(f"- `{name}`: not run ({why})")
    lines += [""]
    for kind in KINDS:
        if any(m["kind"] == kind for m in means):
            lines += _summary_tables(means, kind, parts)
    cols = [c for c in COLUMNS if c[0] not in ("sir", "sar")]
    head = "| " + " | ".join(h for _, h in cols) + " |"
    lines += ["<details><summary>Per item</summary>", "",
              "| item | part | method " + head, "| --- | --- | --- " + "| ---: " * len(cols) + "|"]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['item']} | {r['part']} | {r['method']} | failed: {r['error']} |"
                         + " |" * (len(cols) - 1))
        else:
            lines.append(f"| {r['item']} | {r['part']} | {r['method']} | "
                         + " | ".join(_fmt(r.get(k), k) for k, _ in cols) + " |")
    return "\n".join(lines + ["", "</details>", ""]) + "\n"


def _csv(text):
    return [t.strip() for t in text.split(",") if t.strip()]


def get_parser():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, default=DEFAULT_DATA,
                   help="folder with manifest.json (default benchmarks/quality/data/)")
    p.add_argument("--methods", type=_csv, default=None, metavar="A,B",
                   help=f"methods to run (default all available: {','.join(METHODS)})")
    p.add_argument("--items", type=_csv, default=None, metavar="ID1,ID2", help="item ids (default all)")
    p.add_argument("--kinds", type=_csv, default=list(KINDS), metavar="music,speech",
                   help="item kinds (default music,speech)")
    p.add_argument("--jobs", type=int, default=1, metavar="N",
                   help="worker processes, one item each at a time (default 1)")
    p.add_argument("--threads", type=int, default=1, metavar="N",
                   help="BLAS threads per process (default 1)")
    p.add_argument("--results", type=Path, default=DEFAULT_RESULTS,
                   help="markdown file to update (default benchmarks/RESULTS.md)")
    p.add_argument("--no-write", action="store_true", help="only print the table")
    p.add_argument("--json", type=Path, default=None, metavar="FILE",
                   help="also write all rows (with per-source metrics) as JSON")
    return p


def main(argv=None):
    args = get_parser().parse_args(argv)
    command = shlex.join(["python", "benchmarks/quality/run.py", *(sys.argv[1:] if argv is None else argv)])
    manifest = read_manifest(args.data)
    bad = [k for k in args.kinds if k not in KINDS]
    if bad:
        raise SystemExit(f"run.py: unknown kind(s) {bad}; choose from {list(KINDS)}")
    names = args.methods or list(METHODS)
    unknown = [n for n in names if n not in METHODS]
    if unknown:
        raise SystemExit(f"run.py: unknown method(s) {unknown}; choose from {list(METHODS)}")
    skipped = [(n, "not in this nmfaudio" if n.startswith("nmfaudio") else "not installed")
               for n in names if not METHODS[n].available()]
    for n, why in skipped:
        print(f"run.py: skipping {n}: {why}", file=sys.stderr)
    names = [n for n in names if METHODS[n].available()]
    entries = [e for e in manifest["items"] if e["kind"] in args.kinds]
    if args.items:
        missing = set(args.items) - {e["id"] for e in manifest["items"]}
        if missing:
            raise SystemExit(f"run.py: no item(s) {sorted(missing)} in the manifest")
        entries = [e for e in entries if e["id"] in args.items]
    if not entries or not names:
        raise SystemExit("run.py: nothing to run")

    load0 = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    t0 = time.perf_counter()
    if args.jobs > 1:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(max_workers=args.jobs) as pool:
            futures = [pool.submit(run_item, args.data, e, names, args.threads) for e in entries]
            results = []
            for e, f in zip(entries, futures):
                results.append(f.result())
                print(f"  {e['id']} done", file=sys.stderr)
    else:
        results = []
        for e in entries:
            t = time.perf_counter()
            results.append(run_item(args.data, e, names, args.threads))
            print(f"  {e['id']} done ({time.perf_counter() - t:.0f} s)", file=sys.stderr)
    rows = [r for rs in results for r in rs]
    means = summarise(rows, names)
    data_info = (f"{len(entries)} items built by `make_set.py` (seed {manifest.get('seed')}, "
                 f"manifest version {manifest.get('version')})")
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    load = (f"{args.jobs} worker process{'es' if args.jobs > 1 else ''} with {args.threads} BLAS "
            f"thread{'s' if args.threads > 1 else ''} each; load average {load0:.1f} at the start "
            f"(times from a shared machine are indicative only)")
    section = markdown(rows, means, command=command, date=date, data_info=data_info, skipped=skipped,
                       load=load)
    print(section)
    print(f"run.py: {len(rows)} runs in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    if args.json:
        args.json.write_text(json.dumps({"command": command, "date": date, "rows": rows, "means": means},
                                        indent=1, allow_nan=False))
    if not args.no_write:
        write_section("quality", section, path=args.results)
        print(f"run.py: wrote {args.results}", file=sys.stderr)
    return 1 if any("error" in r for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
