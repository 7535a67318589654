"""Segment-wise BSS-Eval v3 for :func:`nmfaudio.evaluate` (``segment=...``; private module).

The decomposition is the one of ``mir_eval.separation.bss_eval_sources`` (Vincent,
Gribonval & Févotte 2006; 512-tap time-invariant distortion filters), applied to
consecutive non-overlapping segments as SiSEC/museval report it (the median over
segments). Within a segment the Gram matrix of the delayed references is built and
factorised once and shared by every estimate (and by the mixture), where mir_eval
rebuilds and solves it for each estimate, and the energies come from the solves
(no filtering in time): the same numbers up to rounding (tested against mir_eval),
several times faster, and the memory is that of one segment.

Arrays are ``(n_sources, n)`` float64 (channels concatenated in time per segment).
"""

from __future__ import annotations

import math

import numpy as np

#: BSS-Eval v3 distortion filter length (taps), as in mir_eval.
FILTER_LENGTH = 512


def _safe_db(num, den):
    if den == 0:
        return math.inf
    if num == 0:
        return -math.inf
    return 10.0 * math.log10(num / den)


class _SegmentProjector:
    """Least-squares projections on delayed copies of one segment's references.

    ``G`` is the Gram matrix of the references delayed by 0..flen-1 samples (their full
    linear support, as mir_eval builds it). The projection of an estimate ``e`` on
    them, ``P = Σ_i C_i * r_i`` with ``G C = D`` (``D``: inner products of ``e`` with the
    delayed references), has ``|P|² = Cᵀ D`` and ``<e, P> = |P|²``; the projection on
    the delayed copies of ``r_j`` alone is nested in it. So the BSS-Eval energies
    follow from ``D`` and the solves, without filtering the references in time.
    """

    def __init__(self, R, flen=FILTER_LENGTH):
        from scipy.fft import next_fast_len
        from scipy.linalg import toeplitz

        self.nsrc, self.n = R.shape
        self.flen = flen
        self.n_fft = next_fast_len(self.n + flen - 1, real=True)
        self.sf = np.fft.rfft(R, n=self.n_fft, axis=1)
        L, k = flen, self.nsrc
        G = np.empty((k * L, k * L))
        for i in range(k):
            for j in range(i, k):
                c = np.fft.irfft(self.sf[i] * np.conj(self.sf[j]), n=self.n_fft)
                block = toeplitz(np.concatenate(([c[0]], c[-1:-L:-1])), c[:L])
                G[i * L:(i + 1) * L, j * L:(j + 1) * L] = block
                G[j * L:(j + 1) * L, i * L:(i + 1) * L] = block.T
        self._all = self._factor(G)
        self._own_col = [G[j * L:(j + 1) * L, j * L] for j in range(k)]  # r_j's autocorrelation

    @staticmethod
    def _factor(G):
        try:
            return ("cho", np.linalg.cholesky(G))
        except np.linalg.LinAlgError:  # singular (e.g. silent in this segment): least squares
            return ("lstsq", G)

    def _solve_all(self, D):
        from scipy.linalg import cho_solve

        kind, F = self._all
        if kind == "cho":
            return cho_solve((F, True), D, check_finite=False)
        return np.linalg.lstsq(F, D, rcond=None)[0]

    def _solve_own(self, j, Dj):
        """Solve with r_j's (symmetric Toeplitz) Gram block: Levinson recursion, O(flen²)."""
        from scipy.linalg import solve_toeplitz

        col = self._own_col[j]
        try:
            x = solve_toeplitz(col, Dj, check_finite=False)
            if np.all(np.isfinite(x)):
                return x
        except np.linalg.LinAlgError:
            pass
        from scipy.linalg import toeplitz  # singular: least squares, as mir_eval falls back to

        return np.linalg.lstsq(toeplitz(col), Dj, rcond=None)[0]

    def correlations(self, e):
        """Inner products of ``e`` with the delayed references (the right-hand side)."""
        L = self.flen
        c = np.fft.irfft(self.sf * np.conj(np.fft.rfft(e, n=self.n_fft)), n=self.n_fft, axis=1)
        return np.concatenate([c[:, :1], c[:, -1:-L:-1]], axis=1).reshape(-1)

    def energies(self, signals, js):
        """``(|e|², |P_j|², |P|²)`` for each estimate ``signals[i]`` scored against ``r_{js[i]}``:
        the estimate, its projection on ``r_j``'s delays, and on all references' delays."""
        L = self.flen
        cache, Ds = {}, []
        for e in signals:  # the mixture comes once per source: correlate it once
            key = id(e)
            if key not in cache:
                cache[key] = self.correlations(e)
            Ds.append(cache[key])
        D = np.stack(Ds, axis=1)
        C = self._solve_all(D)  # every right-hand side in one solve
        out = []
        for i, (e, j) in enumerate(zip(signals, js)):
            Dj = D[j * L:(j + 1) * L, i]
            own = self._solve_own(j, Dj)
            out.append((float(e @ e), float(own @ Dj), float(C[:, i] @ D[:, i])))
        return out


def _criteria(e2, own, all_):
    """SDR, SIR, SAR (dB) from the energies of :meth:`_SegmentProjector.energies`.

    As mir_eval's ``_bss_source_crit``: target ``s = P_j``, interference ``P - P_j``,
    artefacts ``e - P`` (orthogonal pieces, so the energies are differences).
    """
    interf = max(all_ - own, 0.0)
    artif = max(e2 - all_, 0.0)
    return _safe_db(own, interf + artif), _safe_db(own, interf), _safe_db(all_, artif)


def segment_bounds(n, size):
    """Non-overlapping ``(start, stop)`` of ``size`` samples; a shorter tail is dropped
    (as museval does), unless the signal is shorter than one segment."""
    if n <= size:
        return [(0, n)]
    return [(a, a + size) for a in range(0, n - size + 1, size)]


def bss_segments(R, E, mixture, bounds, *, callback=None, flen=FILTER_LENGTH):
    """Per-segment SDR, SIR, SAR of ``E[j]`` (and SDR of the mixture) against ``R[j]``.

    Parameters
    ----------
    R, E : np.ndarray [shape=(n_src, channels, n) or (n_src, n)] float64
    mixture : np.ndarray [shape=(channels, n) or (n,)] or None
        The unprocessed mixture, scored as the estimate of every source.
    bounds : list of (start, stop)
        Sample ranges along the last axis.
    callback : callable or None
        ``callback(done, total)`` after each segment.

    Returns
    -------
    dict of np.ndarray [shape=(n_src, n_segments)]
        ``"sdr"``, ``"sir"``, ``"sar"`` (and ``"mix_sdr"``); NaN for a segment in
        which a reference or that estimate is silent.
    """
    from concurrent.futures import ThreadPoolExecutor

    from threadpoolctl import threadpool_limits

    from ._threads import max_threads

    k = R.shape[0]
    keys = ["sdr", "sir", "sar"] + (["mix_sdr"] if mixture is not None else [])
    out = {key: np.full((k, len(bounds)), np.nan) for key in keys}

    def one(bound):
        a, b = bound
        Rs = R[..., a:b].reshape(k, -1)
        Es = E[..., a:b].reshape(k, -1)
        m = None if mixture is None else mixture[..., a:b].reshape(-1)
        found = []
        if np.all(np.any(Rs, axis=1)):  # BSS-Eval needs every reference audible
            proj = _SegmentProjector(Rs, flen)
            jobs = [(Es[j], j, "sdr") for j in range(k) if np.any(Es[j])]
            if m is not None and np.any(m):
                jobs += [(m, j, "mix_sdr") for j in range(k)]
            if jobs:
                energies = proj.energies([x for x, _, _ in jobs], [j for _, j, _ in jobs])
                found = [(j, kind, _criteria(*en)) for (_, j, kind), en in zip(jobs, energies)]
        return found

    # Segments on worker threads, each with single-threaded BLAS: a 1024² Cholesky is too small
    # to gain from BLAS threads, and they spin badly when the cores are shared.
    with threadpool_limits(1, user_api="blas"), ThreadPoolExecutor(max_threads()) as pool:
        for s, found in enumerate(pool.map(one, bounds)):
            for j, kind, (sdr, sir, sar) in found:
                if kind == "sdr":
                    out["sdr"][j, s], out["sir"][j, s], out["sar"][j, s] = sdr, sir, sar
                else:
                    out["mix_sdr"][j, s] = sdr
            if callback is not None:
                callback(s + 1, len(bounds))
    return out


def segment_median(values):
    """Median over segments per source, ignoring NaN (silent segments); NaN if none is left."""
    values = np.asarray(values, dtype=np.float64)
    res = np.full(values.shape[0], np.nan)
    for j, row in enumerate(values):
        row = row[~np.isnan(row)]
        if row.size:
            res[j] = float(np.median(row))
    return res


def _best_si_sdr_permutation(Rf, Ef):
    import itertools

    from ._scores import si_sdr_1d as _si_sdr

    k = Rf.shape[0]
    score = np.array([[_si_sdr(Rf[i], Ef[j]) for j in range(k)] for i in range(k)])
    score = np.where(np.isfinite(score), score, np.sign(score) * 1e6)
    best = max(itertools.permutations(range(k)), key=lambda p: score[range(k), list(p)].sum())
    return [int(p) for p in best]


def _segment_si_sdr(R, X, bounds):
    """``(n_src, n_segments)`` SI-SDR of ``X[j]`` against ``R[j]``; NaN where either is silent."""
    from ._scores import si_sdr_1d as _si_sdr

    k = R.shape[0]
    out = np.full((k, len(bounds)), np.nan)
    for s, (a, b) in enumerate(bounds):
        for j in range(k):
            r, x = R[j, ..., a:b].ravel(), X[j, ..., a:b].ravel()
            if np.any(r) and np.any(x):
                out[j, s] = _si_sdr(r, x)
    return out


def scores_segmented(R, E, m, bounds, *, metrics, permute, sr, callback):
    """``evaluate``'s scores with SDR/SIR/SAR/SI-SDR as medians over ``bounds``.

    ``R``, ``E``: ``(n_src, [channels,] n)`` float64; ``m``: the mixture or None.
    Returns ``(values, permutation)`` as ``evaluate._scores`` does.
    """
    from ._scores import BSS as _BSS, PERCEPTUAL as _PERCEPTUAL, flat as _flat, perceptual as _perceptual

    perm = _best_si_sdr_permutation(_flat(R), _flat(E)) if permute else list(range(R.shape[0]))
    Ep = np.ascontiguousarray(E[perm])
    values = {}
    seg = {}
    if any(k in metrics for k in _BSS):
        seg = bss_segments(R, Ep, m if "sdr" in metrics else None, bounds, callback=callback)
        values.update({k: segment_median(seg[k]) for k in _BSS})
    elif callback is not None:
        callback(len(bounds), len(bounds))
    if "si_sdr" in metrics:
        values["si_sdr"] = segment_median(_segment_si_sdr(R, Ep, bounds))
    for name in _PERCEPTUAL:
        if name in metrics:
            values[name] = _perceptual(name, R, Ep, sr)
    values = {k: values[k] for k in metrics}
    if m is not None:
        M = np.broadcast_to(m, R.shape)
        if "sdr" in metrics:
            values["sdr_improvement"] = values["sdr"] - segment_median(seg["mix_sdr"])
        if "si_sdr" in metrics:
            values["si_sdr_improvement"] = values["si_sdr"] - segment_median(_segment_si_sdr(R, M, bounds))
        for name in _PERCEPTUAL:
            if name in metrics:
                values[name + "_improvement"] = values[name] - _perceptual(name, R, np.ascontiguousarray(M), sr)
    return values, perm
