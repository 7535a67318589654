"""Separation quality metrics: BSS-Eval v3 (SDR, SIR, SAR), SI-SDR, STOI and PESQ.

:func:`evaluate` scores estimated sources against the true ones, optionally
together with the improvement over the unprocessed mixture;
:func:`si_sdr` is the scale-invariant SDR of one source.

BSS-Eval v3 (Vincent, Gribonval & Févotte, 2006) comes from
``mir_eval.separation.bss_eval_sources`` (512-tap distortion filters), imported
only when :func:`evaluate` runs. SI-SDR follows Le Roux, Wisdom, Erdogan &
Hershey, "SDR – half-baked or well done?" (ICASSP 2019). The perceptual
metrics are optional (``pip install "nmfaudio[metrics]"``): STOI (Taal et al.,
2011) from ``pystoi`` and wide-band PESQ (ITU-T P.862.2) from ``pesq``, both
imported only when asked for.

Shapes follow the rest of the package: a set of sources is
``(n_sources, n_samples)`` or ``(n_sources, channels, n_samples)`` (or a list
or dict of per-source arrays ``(n_samples,)`` / ``(channels, n_samples)``).
Several channels are scored as one signal, their samples concatenated in
channel order, as :func:`nmfaudio.separate` factorises them.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from ._checks import valid_audio
from ._scores import BSS as _BSS, PERCEPTUAL as _PERCEPTUAL, PESQ_RATE, flat as _flat  # noqa: F401
from ._scores import import_perceptual as _import_perceptual, perceptual as _perceptual, si_sdr_1d as _si_sdr
from .exceptions import ParameterError

__all__ = ["evaluate", "si_sdr", "METRICS", "ALL_METRICS"]

#: Metric keys of one source in the result of :func:`evaluate` by default (without a mixture).
METRICS = ("sdr", "sir", "sar", "si_sdr")
#: Every metric :func:`evaluate` can compute (``stoi`` and ``pesq`` need the ``metrics`` extra).
ALL_METRICS = ("sdr", "sir", "sar", "si_sdr", "stoi", "pesq")
#: PESQ wide-band works at 16 kHz; other rates are resampled to it.


def _sources(x, what: str):
    """Validate a set of sources; returns ``(names, array (n_src, ..., n), keys-or-None)``."""
    keys = None
    if isinstance(x, dict):
        if not x:
            raise ParameterError(f"{what} is an empty dict; expected one array per source")
        keys = [str(k) for k in x]
        items = [(f"{what}[{k!r}]", v) for k, v in x.items()]
    elif isinstance(x, (list, tuple)):
        if not x:
            raise ParameterError(f"{what} is empty; expected one array per source")
        items = [(f"{what}[{i}]", v) for i, v in enumerate(x)]
    elif hasattr(x, "__array__"):
        arr = np.asarray(x)
        if arr.ndim not in (2, 3):
            raise ParameterError(
                f"{what} has shape {arr.shape}; expected (n_sources, n_samples) or "
                "(n_sources, channels, n_samples) (for one source pass y[None])"
            )
        if arr.shape[0] == 0:
            raise ParameterError(f"{what} has shape {arr.shape}: it contains no sources")
        items = [(f"{what}[{i}]", v) for i, v in enumerate(arr)]
    else:
        raise ParameterError(
            f"{what} must be an array (n_sources, [channels,] n_samples) or a list/dict of "
            f"per-source arrays, got {type(x).__name__}"
        )
    arrays = []
    for label, v in items:
        a = valid_audio(v, label)
        if arrays and a.shape != arrays[0].shape:
            raise ParameterError(
                f"{label} has shape {a.shape} but {items[0][0]} has shape {arrays[0].shape}; "
                f"all {what} must have the same length and channels"
            )
        arrays.append(a)
    return [label for label, _ in items], np.stack(arrays).astype(np.float64), keys


def _check_pair(ref_labels, R, est_labels, E):
    if E.shape[0] != R.shape[0]:
        raise ParameterError(
            f"estimates have {E.shape[0]} source(s) but references have {R.shape[0]}"
        )
    if E.shape[1:] != R.shape[1:]:
        rn, en = R.shape[-1], E.shape[-1]
        if rn != en:
            raise ParameterError(
                f"{est_labels[0]} has {en} samples but {ref_labels[0]} has {rn}; trim or pad the "
                "estimates to the length of the references (e.g. istft(..., length=n))"
            )
        raise ParameterError(
            f"{est_labels[0]} has shape {E.shape[1:]} but {ref_labels[0]} has shape {R.shape[1:]}; "
            "references and estimates must have the same channels"
        )


def _check_not_silent(labels, X, role):
    for label, x in zip(labels, X):
        if not np.any(x):
            if role == "reference":
                raise ParameterError(
                    f"{label} is silent (all zeros): BSS-Eval is undefined for a silent reference "
                    "source; leave that source out of the evaluation"
                )
            raise ParameterError(
                f"{label} is silent (all zeros): BSS-Eval cannot score a silent estimate "
                "(its projection on the references is zero)"
            )


def _bss_eval(R, E, *, permute):
    """mir_eval's BSS-Eval v3 on ``(n_src, n)`` float64 arrays."""
    try:
        from mir_eval.separation import bss_eval_sources
    except ImportError as exc:  # pragma: no cover - mir_eval is a dependency
        raise ImportError(
            "nmfaudio.evaluate needs mir_eval for BSS-Eval (pip install mir_eval)"
        ) from exc
    with warnings.catch_warnings():
        # mir_eval 0.8 marks its separation module deprecated (FutureWarning), and
        # near-perfect estimates can divide by ~0 inside it; neither concerns the caller.
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        try:
            sdr, sir, sar, perm = bss_eval_sources(R, E, compute_permutation=permute)
        except ValueError as exc:  # mir_eval's own shape limits (e.g. more sources than samples)
            first = str(exc).splitlines()[0]
            raise ParameterError(
                f"BSS-Eval cannot score {R.shape[0]} source(s) of {R.shape[1]} samples "
                f"(expected (n_sources, n_samples); transposed?): {first}"
            ) from None
    return sdr, sir, sar, [int(p) for p in perm]


def si_sdr(reference, estimate) -> float:
    """Scale-invariant signal-to-distortion ratio of one source, in dB.

    ``10 log10(|α s|² / |α s − ŝ|²)`` with ``α = <ŝ, s> / |s|²``: the estimate
    is compared with the best-scaled reference, so a gain change does not
    matter, while any filtering, interference or artefact counts as error.
    No mean is removed.

    Parameters
    ----------
    reference : np.ndarray [shape=(n_samples,) or (channels, n_samples)]
        True source; must not be silent.
    estimate : np.ndarray [shape=reference.shape]
        Estimated source. Channels are concatenated (one scale ``α`` for all).

    Returns
    -------
    float
        SI-SDR in dB; about 300 dB (only rounding error left) for an exact
        multiple of the reference, ``inf`` when the residual is exactly zero,
        ``-inf`` for an estimate orthogonal to the reference.

    Examples
    --------
    >>> import numpy as np, nmfaudio
    >>> s = np.sin(np.linspace(0, 100, 8000))
    >>> noise = np.random.default_rng(0).standard_normal(8000)
    >>> noise -= (noise @ s) / (s @ s) * s                 # orthogonal to s
    >>> noise *= np.linalg.norm(s) / np.linalg.norm(noise) / 10
    >>> round(nmfaudio.si_sdr(s, 0.5 * (s + noise)), 6)     # 20 dB, whatever the gain
    20.0
    """
    r = valid_audio(reference, "reference").astype(np.float64)
    e = valid_audio(estimate, "estimate").astype(np.float64)
    if r.shape != e.shape:
        raise ParameterError(
            f"estimate has shape {e.shape} but reference has shape {r.shape}; they must match"
        )
    if not np.any(r):
        raise ParameterError("reference is silent (all zeros): SI-SDR is undefined")
    return _si_sdr(r.ravel(), e.ravel())


def _metric_list(metrics, sr):
    """Validate ``metrics`` (None = :data:`METRICS`); returns a tuple in canonical order."""
    if metrics is None:
        return METRICS
    if isinstance(metrics, str):
        metrics = (metrics,)
    try:
        asked = [str(m).lower() for m in metrics]
    except TypeError:
        raise ParameterError(
            f"metrics must be a sequence of names from {ALL_METRICS}, got {type(metrics).__name__}"
        ) from None
    bad = [m for m in asked if m not in ALL_METRICS]
    if bad or not asked:
        raise ParameterError(
            f"metrics={tuple(metrics)!r}: expected one or more of {ALL_METRICS}"
        )
    if any(m in _PERCEPTUAL for m in asked):
        if sr is None:
            raise ParameterError("metrics 'stoi' and 'pesq' need the sample rate: pass sr=...")
        if isinstance(sr, bool) or not isinstance(sr, (int, np.integer)) or sr <= 0:
            raise ParameterError(f"sr={sr!r}: expected a positive integer sample rate in Hz")
    return tuple(m for m in ALL_METRICS if m in asked)


def _num(x):
    """Plain float, or None for a value that is not finite (keeps the result valid JSON)."""
    x = float(x)
    return x if math.isfinite(x) else None


def evaluate(references, estimates, *, mixture=None, permute=False, metrics=None,
             sr=None, segment=None, callback=None) -> dict:
    """Score estimated sources against the true ones: SDR, SIR, SAR, SI-SDR (dB), STOI, PESQ.

    Parameters
    ----------
    references : np.ndarray [shape=(n_sources, n_samples) or (n_sources, channels, n_samples)], or list or dict of per-source arrays
        True sources. None may be silent (BSS-Eval is undefined then).
    estimates : same form and shape as ``references``
        Estimated sources. If both are dicts, estimates are matched to
        references by key; otherwise by position.
    mixture : np.ndarray [shape=(n_samples,) or (channels, n_samples)] or None
        The unprocessed mixture. If given, each source also gets
        ``sdr_improvement`` and ``si_sdr_improvement``: its metric minus the
        metric of the mixture used as the estimate of that source.
    permute : bool
        Match estimates to references by the permutation with the best mean
        SIR (as ``mir_eval`` does), for methods whose output order is arbitrary
        (unsupervised separation). Default False: estimate ``j`` is the
        estimate of reference ``j``.
    metrics : sequence of str or None
        Which metrics to compute, from :data:`ALL_METRICS`: ``"sdr"``,
        ``"sir"``, ``"sar"`` (BSS-Eval, computed together), ``"si_sdr"``,
        ``"stoi"`` and ``"pesq"``. None (default) is :data:`METRICS`, the four
        BSS-Eval and SI-SDR metrics. ``"stoi"`` and ``"pesq"`` need the
        optional packages of ``pip install "nmfaudio[metrics]"`` and ``sr``.
    sr : int or None
        Sample rate in Hz; needed for ``"stoi"``, ``"pesq"`` and ``segment``.
    segment : float > 0 or None
        Score consecutive segments of this many seconds and report, per source, the
        median over segments (as SiSEC/museval do, e.g. ``segment=1``) instead of
        one whole-signal score: SDR, SIR, SAR and SI-SDR per segment; STOI and PESQ
        stay whole-signal. Memory is that of one segment and it is much faster on
        long signals. Segments in which a reference or the estimate is silent are
        left out of the median; a shorter tail is dropped. With ``permute`` the
        permutation is the one with the best mean whole-signal SI-SDR. Default
        None: whole-signal BSS-Eval v3.
    callback : callable or None
        ``callback(done, total)`` as the work advances (segments with ``segment``,
        else the metric passes), for progress bars.

    Returns
    -------
    dict
        Plain JSON-serialisable dict::

            {"per_source": [{"name": ..., "sdr": ..., "sir": ..., "sar": ...,
                             "si_sdr": ...[, "sdr_improvement": ...,
                             "si_sdr_improvement": ...]}, ...],
             "mean": {"sdr": ..., ...},
             "permutation": [...]}

        ``per_source`` follows the order of the references; ``permutation[j]``
        is the index of the estimate matched to reference ``j``. A value that
        is not finite (SIR of a single source, which has no interference; SDR
        of a perfect estimate) is ``None``, and so is a mean over it. Names are
        the dict keys, else ``source1``, ``source2``, ... Only the metrics
        asked for appear, each with ``<metric>_improvement`` for ``sdr``,
        ``si_sdr``, ``stoi`` and ``pesq`` when ``mixture`` is given. With
        ``segment`` the dict also has ``"segments": {"seconds": ..., "count": ...}``.

    Raises
    ------
    ParameterError
        Mismatched numbers of sources, lengths or channels; NaN or Inf samples;
        a silent (all-zero) reference or estimate; an unknown metric name;
        ``"stoi"``/``"pesq"`` without ``sr`` or without their package installed
        (the message says ``pip install "nmfaudio[metrics]"``).

    Notes
    -----
    SDR, SIR and SAR are BSS-Eval v3 from ``mir_eval.separation.bss_eval_sources``
    (time-invariant 512-tap distortion filters, computed on the whole signal).
    Multichannel sources are scored with their channels concatenated in time.
    Inputs are converted to float64; float32 is fine.

    STOI (Taal, Hendriks, Heusdens & Jensen, 2011; ``pystoi.stoi``, not the
    extended variant) lies in about [0, 1], higher is more intelligible; pystoi
    resamples to 10 kHz itself. PESQ is the wide-band mode of ITU-T P.862.2
    (``pesq.pesq(16000, ref, est, "wb")``), MOS-LQO in about [1, 4.64]; it is
    defined at 16 kHz only, so other rates are resampled to 16 kHz with soxr
    (high quality) first, and a signal in which PESQ finds no speech scores
    None. Both are meant for speech. Several channels are scored one by one
    and averaged.

    Examples
    --------
    >>> import numpy as np, nmfaudio
    >>> rng = np.random.default_rng(0)
    >>> refs = rng.standard_normal((2, 8000))
    >>> ests = refs + 0.1 * rng.standard_normal((2, 8000))
    >>> res = nmfaudio.evaluate(refs, ests, mixture=refs.sum(axis=0))
    >>> sorted(res["mean"])
    ['sar', 'sdr', 'sdr_improvement', 'si_sdr', 'si_sdr_improvement', 'sir']
    >>> 19 < res["mean"]["si_sdr"] < 21
    True
    """
    metrics = _metric_list(metrics, sr)
    size = _segment_size(segment, sr)
    if callback is not None and not callable(callback):
        raise ParameterError(f"callback={callback!r} is not callable")
    ref_labels, R, ref_keys = _sources(references, "references")
    est_labels, E, est_keys = _sources(estimates, "estimates")
    if ref_keys is not None and est_keys is not None:
        if set(ref_keys) != set(est_keys):
            raise ParameterError(
                f"estimates have keys {sorted(est_keys)} but references have {sorted(ref_keys)}"
            )
        order = [est_keys.index(k) for k in ref_keys]
        E, est_labels = E[order], [est_labels[i] for i in order]
    _check_pair(ref_labels, R, est_labels, E)
    _check_not_silent(ref_labels, R, "reference")
    _check_not_silent(est_labels, E, "estimate")
    m = None
    if mixture is not None:
        m = valid_audio(mixture, "mixture").astype(np.float64)
        if m.shape != R.shape[1:]:
            raise ParameterError(
                f"mixture has shape {m.shape} but each reference has shape {R.shape[1:]}; "
                "they must match"
            )
        if not np.any(m):
            raise ParameterError("mixture is silent (all zeros)")
    for name in metrics:
        if name in _PERCEPTUAL:
            _import_perceptual(name)  # fail before the slow BSS-Eval
    names = ref_keys if ref_keys is not None else [f"source{i + 1}" for i in range(R.shape[0])]
    if size is None:
        values, perm = _scores(R, E, None if m is None else np.broadcast_to(m, R.shape),
                               metrics=metrics, permute=bool(permute), sr=sr, callback=callback)
    else:
        from ._bss_segments import scores_segmented, segment_bounds

        bounds = segment_bounds(R.shape[-1], size)
        values, perm = scores_segmented(R, E, m, bounds, metrics=metrics, permute=bool(permute),
                                         sr=sr, callback=callback)
    per_source = [{"name": name, **{k: _num(v[j]) for k, v in values.items()}}
                  for j, name in enumerate(names)]
    mean = {}
    for k in values:
        vals = [row[k] for row in per_source]
        mean[k] = None if any(v is None for v in vals) else float(np.mean(vals))
    result = {"per_source": per_source, "mean": mean, "permutation": perm}
    if size is not None:
        result["segments"] = {"seconds": float(segment), "count": len(bounds)}
    return result


def _segment_size(segment, sr):
    """``segment`` seconds as samples (None for whole-signal scoring)."""
    if segment is None:
        return None
    from ._bss_segments import FILTER_LENGTH
    from ._checks import check_finite_float

    segment = check_finite_float(segment, "segment", low=0.0, low_open=True)
    if sr is None:
        raise ParameterError("segment needs the sample rate: pass sr=...")
    if isinstance(sr, bool) or not isinstance(sr, (int, np.integer)) or sr <= 0:
        raise ParameterError(f"sr={sr!r}: expected a positive integer sample rate in Hz")
    size = int(round(segment * sr))
    if size < 2 * FILTER_LENGTH:
        raise ParameterError(f"segment={segment:g} s is {size} samples at {sr} Hz; BSS-Eval's "
                             f"{FILTER_LENGTH}-tap filters need segments of at least {2 * FILTER_LENGTH}")
    return size


def _scores(R, E, M, *, metrics, permute, sr, callback=None):
    """Metric name -> per-reference values; and the permutation. ``M``: mixture per source."""
    Rf, Ef = _flat(R), _flat(E)
    perm = list(range(R.shape[0]))
    values = {}
    bss = permute or any(k in metrics for k in _BSS)
    perceptual = [n for n in _PERCEPTUAL if n in metrics]
    passes = [bss, M is not None and "sdr" in metrics] + [True] * len(perceptual) * (2 if M is not None else 1)
    total, done = max(1, sum(passes)), [0]

    def step():
        done[0] += 1
        if callback is not None:
            callback(min(done[0], total), total)

    if bss:
        sdr, sir, sar, perm = _bss_eval(Rf, Ef, permute=permute)
        values.update({"sdr": sdr, "sir": sir, "sar": sar})
        step()
    Ep = E[perm]
    if "si_sdr" in metrics:
        values["si_sdr"] = [_si_sdr(Rf[j], Ef[perm[j]]) for j in range(len(perm))]
    for name in perceptual:
        values[name] = _perceptual(name, R, Ep, sr)
        step()
    values = {k: values[k] for k in metrics}
    if M is not None:
        M = np.ascontiguousarray(M)
        Mf = _flat(M)
        if "sdr" in metrics:
            msdr = _bss_eval(Rf, Mf, permute=False)[0]
            values["sdr_improvement"] = np.asarray(values["sdr"]) - msdr
            step()
        if "si_sdr" in metrics:
            msi = [_si_sdr(Rf[j], Mf[j]) for j in range(Rf.shape[0])]
            values["si_sdr_improvement"] = np.asarray(values["si_sdr"]) - np.asarray(msi)
        for name in perceptual:
            values[name + "_improvement"] = values[name] - _perceptual(name, R, M, sr)
            step()
    if done[0] < total:
        done[0] = total - 1
        step()
    return values, perm
