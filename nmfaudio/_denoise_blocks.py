"""Block engine of :func:`nmfaudio.denoise_stream` (private): file reading and writing, the
frame-local model, the streaming overlap-add and the subsample's noise floor.

Orientation as everywhere: spectra ``(channels, n_freq, n_frames)``, ``W (n_freq, K)``.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from . import _minstat, _segments
from .exceptions import AudioFileError, ParameterError

__all__ = []


class FloorAt:
    """The minimum-statistics floor (:func:`nmfaudio._minstat.floor`) at chosen frames.

    Frames arrive in order, a block at a time; only the frames some pending pick still needs
    are kept. Pick ``t`` takes the ``_minstat.rank(n)``-th smallest of frames ``t - lo`` to
    ``t + hi`` (:func:`nmfaudio._minstat.bounds`) truncated to the signal, ``n`` their count,
    which is what :func:`nmfaudio._minstat.floor` computes on the whole spectrogram.
    """

    def __init__(self, picks, T, win, percentile):
        self.picks = [int(t) for t in picks]
        self.T, (self.lo, self.hi) = T, _minstat.bounds(win)
        self.percentile = percentile
        self.buf, self.first = None, 0   # frames [first, first + buf.shape[-1])
        self.next = 0                    # index of the next pick to compute
        self.out = []

    def push(self, V):
        """Append frames ``V (C, F, nt)`` (the next ones in time)."""
        self.buf = V if self.buf is None else np.concatenate([self.buf, V], axis=-1)
        have = self.first + self.buf.shape[-1]
        while self.next < len(self.picks):
            t = self.picks[self.next]
            if min(self.T - 1, t + self.hi) >= have:
                break
            a, b = max(0, t - self.lo) - self.first, min(self.T, t + self.hi + 1) - self.first
            r = _minstat.rank(b - a, self.percentile)
            self.out.append(np.partition(self.buf[:, :, a:b], r, axis=-1)[..., r].copy())
            self.next += 1
        if self.next < len(self.picks):
            drop = min(max(0, self.picks[self.next] - self.lo) - self.first, self.buf.shape[-1])
            if drop > 0:
                self.buf = self.buf[:, :, drop:].copy()
                self.first += drop
        else:
            self.first += self.buf.shape[-1]
            self.buf = self.buf[:, :, :0]

    def result(self):
        """``(C, F, n_picks)``."""
        return np.stack(self.out, axis=-1)


class Model:
    """Clean (and noise) spectra of complete frames, all templates fixed: frame-local.

    ``voices`` ``(W, n_speech, sparsity)``: a second model solved on the same frames
    (``voice_iter`` iterations), the mask taken from the geometric mean of the two models'
    estimates, as :func:`nmfaudio._usm.combine` gives offline."""

    def __init__(self, W, n_speech, *, lam, beta, power, mask_power, max_iter, accelerate, want_noise,
                 floor_db=None, voices=None, voice_iter=None, partner=None):
        self.partner = partner  # another Model, its estimates combined with these (geometric mean)
        self.voices = None
        if voices is not None:  # (W, n_speech, lam) of a second model; masks from the geometric mean
            # the voice model is KL (nmfaudio._usm.fit), whatever the dictionaries' beta
            self.voices = Model(*voices[:2], lam=voices[2], beta=1.0, power=power, mask_power=mask_power,
                                max_iter=max_iter if voice_iter is None else voice_iter, accelerate=accelerate,
                                want_noise=want_noise)
        self.W = np.ascontiguousarray(W, dtype=np.float32)
        self.Ws = np.ascontiguousarray(self.W[:, :n_speech])
        self.Wn = np.ascontiguousarray(self.W[:, n_speech:])
        self.n_speech, self.lam, self.beta, self.power = n_speech, lam, beta, power
        self.q = mask_power / power
        self.max_iter, self.accelerate, self.want_noise = max_iter, accelerate, want_noise
        self.floor = None if floor_db is None else np.float32(10.0 ** (floor_db / 20.0))

    def model(self, V):
        """``(W_s H_s, W_n H_n)`` of the magnitudes ``V (F, nt)``."""
        from .nmf import nmf
        from .supervised import frame_init

        plain = {} if self.accelerate else {"loss_every": None}  # plain updates need no loss
        H = nmf(V, W=self.W, H=frame_init(V, self.W.shape[1]).astype(V.dtype), beta=self.beta,
                update_W=False, max_iter=self.max_iter, tol=0, sparsity=self.lam, accelerate=self.accelerate,
                **plain).H
        return self.Ws @ H[:self.n_speech], self.Wn @ H[self.n_speech:]

    def estimates(self, V):
        """``(clean, noise)`` estimates of ``V (F, nt)``: the geometric mean of this model's, its
        voice model's and its partner's, nested as :func:`nmfaudio._usm.combine` nests them offline."""
        es, en = self.model(V)
        if self.voices is not None:
            vs, vn = self.voices.model(V)
            es, en = np.sqrt(es * vs), np.sqrt(en * vn)
        if self.partner is not None:
            ps, pn = self.partner.estimates(V)
            es, en = np.sqrt(es * ps), np.sqrt(en * pn)
        return es, en

    def __call__(self, S):
        """``S (C, F, nt)`` -> ``(n_out, C, F, nt)``: clean (and noise) spectra."""
        from .dictionary import powered

        C, F, nt = S.shape
        out = np.empty((1 + self.want_noise, C, F, nt), S.dtype)
        if nt == 0:
            return out
        for c in range(C):
            V = np.abs(S[c])
            if self.power != 1.0:
                V = powered(V, self.power)
            es, en = self.estimates(V)
            M = clean_mask(es, en, self.q)
            if self.floor is not None:
                np.maximum(M, self.floor, out=M)
            np.multiply(M, S[c], out=out[0, c])
            if self.want_noise:
                np.subtract(S[c], out[0, c], out=out[1, c])
        return out


class SegmentModel:
    """Blind local models, segment by segment (:mod:`nmfaudio._segments`): the frames of each
    segment (and the floor's context around it) are gathered, the segment factorised as
    :func:`nmfaudio.denoise` factorises it, the models cross-faded, and the frames returned
    once no later segment reaches them. Same arithmetic as the offline path, so the same result.
    """

    def __init__(self, T, params, sr, *, seconds, win, percentile, fit, mask, want_noise):
        self.T, self.fit, self.mask, self.want_noise = T, fit, mask, want_noise
        self.segs = _segments.segments_of(T, seconds, sr, params.hop_length)
        self.win, self.percentile = win, percentile
        self.lo, self.hi = _minstat.bounds(win)
        self.buf, self.first = None, 0      # complex frames [first, first + buf.shape[-1])
        self.i = 0                           # next segment to fit
        self.pending = None                  # weighted models of the overlap with segment i - 1

    def __call__(self, S):
        """``S (C, F, nt)``, the next frames -> ``(n_out, C, F, m)`` spectra of the frames now final."""
        self.buf = S if self.buf is None else np.concatenate([self.buf, S], axis=-1)
        have = self.first + self.buf.shape[-1]
        outs = []
        while self.i < len(self.segs) and have >= min(self.T, self.segs[self.i][1] + self.hi):
            outs.append(self._segment(self.i))
            self.i += 1
        C, F = S.shape[:2]
        if not outs:
            return np.empty((1 + self.want_noise, C, F, 0), S.dtype)
        return np.concatenate(outs, axis=-1)

    def _segment(self, i):
        a, b = self.segs[i]
        c0, c1 = max(0, a - self.lo), min(self.T, b + self.hi)
        V = np.abs(self.buf[:, :, c0 - self.first:c1 - self.first])
        floor = _minstat.floor(V, self.win, self.percentile)[:, :, a - c0:b - c0]
        V = np.ascontiguousarray(V[:, :, a - c0:b - c0])
        est = self.fit(V, np.ascontiguousarray(floor)) * _segments.weights(self.segs, i).astype(V.dtype)
        if self.pending is not None:
            est[..., :self.pending.shape[-1]] += self.pending
        nxt = self.segs[i + 1][0] if i + 1 < len(self.segs) else b
        self.pending = np.ascontiguousarray(est[..., nxt - a:]) if nxt < b else None
        S = self.buf[:, :, a - self.first:nxt - self.first]
        g = self.mask(S, np.ascontiguousarray(est[..., :nxt - a]))
        out = np.empty((1 + self.want_noise,) + S.shape, S.dtype)
        np.multiply(g, S, out=out[0])
        if self.want_noise:
            np.subtract(S, out[0], out=out[1])
        keep = max(0, nxt - self.lo) if i + 1 < len(self.segs) else self.T  # the next segment's context
        drop = min(keep - self.first, self.buf.shape[-1])
        if drop > 0:
            self.buf = self.buf[:, :, drop:].copy()
            self.first += drop
        return out


def clean_mask(ec, en, q):
    """``soft_masks([ec, en], mask_power=q)[0]`` (same arithmetic), computed in place."""
    m = np.maximum(ec, en)
    zero = m == 0
    np.divide(ec, m, out=ec, where=~zero)
    np.divide(en, m, out=en, where=~zero)
    if q != 1.0:
        np.power(ec, q, out=ec)
        np.power(en, q, out=en)
    en += ec
    np.divide(ec, en, out=ec, where=~zero)
    ec[zero] = 0.5
    return ec


class Synthesis:
    """Overlap-add of frames arriving in order into samples, each returned once final.

    The inverse STFT of :func:`nmfaudio.istft` for a signal of ``n`` samples and ``T`` frames
    (centred, ``hop`` dividing ``n_fft``), with :mod:`nmfaudio._stft_blocks`' transform and
    window-sum-square normalisation (summed in the same order), one block at a time: only
    the ``n_fft / hop - 1`` rows of ``hop`` samples later frames still overlap are kept.
    """

    def __init__(self, p, T, n, lead):
        from . import _stft_blocks as blocks

        self.p, self.T, self.n, self.lead = p, T, n, tuple(lead)
        self.hop, self.R = p.hop_length, p.n_fft // p.hop_length
        self.win = blocks.window(p).astype(np.float32)
        self.w2 = (self.win * self.win).reshape(self.R, self.hop)
        self.base = 0                 # row (of hop samples, padded signal) of carry[..., 0, :]
        self.carry = np.zeros(self.lead + (self.R - 1, self.hop), np.float32)
        self.start = p.n_fft // 2     # padded samples before the signal
        self.tiny = np.finfo(np.float32).tiny

    def push(self, parts, a):
        """Add frames ``a, a+1, ...`` ``parts (*lead, n_freq, nt)``; the samples now final ``(*lead, m)``."""
        from ._stft_blocks import overlap_add

        nt = parts.shape[-1]
        last = a + nt == self.T
        rows = a + nt + self.R - 1 - self.base
        buf = np.zeros(self.lead + (rows, self.hop), np.float32)
        buf[..., :self.R - 1, :] = self.carry
        for idx in np.ndindex(*self.lead):
            overlap_add(buf[idx], parts[idx], a - self.base, self.p, self.win)
        done = rows if last else a + nt - self.base  # rows no later frame reaches
        r = np.arange(self.base, self.base + done)
        wss = np.zeros((done, self.hop), np.float32)
        for k in range(self.R):  # frame r - k adds w2[k] to row r (istft's summation order)
            ok = (r - k >= 0) & (r - k < self.T)
            wss[ok] += self.w2[k]
        wss = np.where(wss > self.tiny, wss, np.float32(1.0))
        y = (buf[..., :done, :] / wss).reshape(self.lead + (done * self.hop,))
        lo, hi = self.base * self.hop - self.start, (self.base + done) * self.hop - self.start
        self.carry = buf[..., done:done + self.R - 1, :] if not last else self.carry
        self.base += done
        i, j = max(0, lo), min(self.n, hi)
        return y[..., i - lo:max(i, j) - lo]


class Reader:
    """Samples ``[start, start + n)`` of an open sound file, float32 ``(channels, m)`` blocks."""

    def __init__(self, f, path, start, n, block):
        self.f, self.path, self.start, self.n, self.block = f, path, start, n, block
        self.sr, self.channels = f.samplerate, f.channels

    def read(self, i, j):
        self.f.seek(self.start + i)
        data = self.f.read(j - i, dtype="float32", always_2d=True)
        if data.shape[0] != j - i:
            raise AudioFileError(f"{self.path!r} ended early: expected {j - i} samples at "
                                 f"{(self.start + i) / self.sr:.2f} s, read {data.shape[0]}")
        if not np.isfinite(data).all():
            bad = np.flatnonzero(~np.isfinite(data).all(axis=1))[0]
            raise ParameterError(f"{self.path!r} holds NaN/Inf samples at "
                                 f"{(self.start + i + bad) / self.sr:.3f} s; expected finite audio")
        return np.ascontiguousarray(data.T)

    def blocks(self):
        for i in range(0, self.n, self.block):
            j = min(self.n, i + self.block)
            yield j, self.read(i, j)


class Writer:
    """An output written block by block to a temporary file, with :func:`nmfaudio.save`'s rules
    (format from the extension, bit depth, clipping warning for integer and lossy subtypes)."""

    def __init__(self, stack, path, sr, channels, *, bit_depth, channel_mask, overwrite):
        import soundfile as sf

        from ._formats import RATES, check_mask, format_of, subtype_for
        from .io import atomic_write

        self.path = Path(path)
        fmt = format_of(self.path)
        self.subtype = subtype_for(self.path, bit_depth=bit_depth)
        if self.subtype in RATES and sr not in RATES[self.subtype]:
            raise ParameterError(f"cannot write {str(path)!r} at sr={sr}: {self.subtype} takes "
                                 f"{', '.join(map(str, RATES[self.subtype]))} Hz; use .flac or .wav")
        self.mask = check_mask(channel_mask, channels, fmt, path) if channel_mask is not None else None
        self.tmp = stack.enter_context(atomic_write(self.path, overwrite=overwrite))
        self.clip = not self.subtype.startswith(("FLOAT", "DOUBLE"))
        self.peak = 0.0
        self.file = sf.SoundFile(str(self.tmp), "w", samplerate=sr, channels=channels,
                                 format="WAVEX" if self.mask is not None else fmt, subtype=self.subtype)

    def write(self, x):
        data = np.ascontiguousarray(x.T)
        if self.clip and data.size:
            self.peak = max(self.peak, float(np.max(np.abs(data))))
            data = np.clip(data, -1.0, 1.0)
        self.file.write(data)

    def close(self):
        from ._formats import patch_mask

        self.file.close()
        if self.mask is not None:
            patch_mask(Path(self.tmp), self.mask)
        if self.peak > 1.0:
            warnings.warn(f"{str(self.path)!r}: samples up to {self.peak:.3f} "
                          f"({20 * np.log10(self.peak):+.1f} dBFS) exceed [-1, 1] and are clipped for "
                          f"{self.subtype}; write 32-bit float WAV to keep them", stacklevel=4)


def frames_at(reader, picks, params, C, power, progress, batch=256):
    """``|STFT| ** power`` of frames ``picks`` only, channels side by side ``(F, C * len(picks))``:
    the bits :class:`nmfaudio.StreamingSTFT` gives them (same frames, same arithmetic)."""
    from . import _stft_blocks as blocks
    from .dictionary import powered

    N, hop, pad, n = params.n_fft, params.hop_length, params.n_fft // 2, reader.n
    win = blocks.window(params)
    out = np.empty((C, params.n_freq, len(picks)), np.float32)
    for b0 in range(0, len(picks), batch):
        ts = picks[b0:b0 + batch]
        frames = np.zeros((C, len(ts), N), np.float32)
        for i, t in enumerate(ts):
            a = t * hop - pad
            lo, hi = max(0, a), min(n, a + N)
            frames[:, i, lo - a:hi - a] = reader.read(lo, hi)
        V = np.abs(blocks.analyze(frames, win, np.complex64))
        out[:, :, b0:b0 + len(ts)] = np.swapaxes(powered(V, power) if power != 1.0 else V, -1, -2)
        if progress is not None:
            progress(reader.n / reader.sr * min(1.0, (b0 + len(ts)) / len(picks)))
    return np.ascontiguousarray(np.concatenate(list(out), axis=-1))


def pipeline(reader, analysis, model, synthesis, writers, progress):
    """Read and analyse block ``k + 1`` and synthesise and write block ``k - 1`` on two worker
    threads while the model solves block ``k`` (the transforms and most numpy work release the
    GIL); each stage keeps its order, so the output is that of the sequential loop."""
    from concurrent.futures import ThreadPoolExecutor

    def front(item):
        if item is None:
            return analysis.finish()
        return analysis.push(item[1])

    state = {"t": 0}

    def back(parts, t):
        if parts.shape[-1] == 0:
            return
        for w, part in zip(writers, synthesis.push(parts, t)):
            w.write(part)

    items = reader.blocks()
    with ThreadPoolExecutor(1) as fe, ThreadPoolExecutor(1) as be:
        pending = []
        nxt = next(items, None)
        fut = fe.submit(front, nxt)
        while True:
            S = fut.result()
            last = nxt is None
            if not last:
                j = nxt[0]
                nxt = next(items, None)
                fut = fe.submit(front, nxt)
            parts = model(S)  # the model may hold frames back (SegmentModel)
            pending.append(be.submit(back, parts, state["t"]))
            state["t"] += parts.shape[-1]
            while len(pending) > 1:  # at most one block waiting to be written
                pending.pop(0).result()
            if not last and progress is not None:
                progress(j)
            if last:
                break
        for p in pending:
            p.result()
