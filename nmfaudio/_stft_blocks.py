"""Threaded STFT / inverse STFT of long signals (private; used by :mod:`nmfaudio.stft`).

Orientation as everywhere: spectrograms are ``(..., n_freq, n_frames)``.
"""

from __future__ import annotations

import numpy as np


def window(p):
    """``p``'s window (float64, as librosa builds it), zero-padded (centred) to ``n_fft``.

    The default periodic Hann window is built here with scipy's own arithmetic (bit-identical
    to ``librosa.filters.get_window("hann", n, fftbins=True)``, which calls
    ``scipy.signal.get_window``; tested), because importing ``librosa.filters`` costs ~1.5 s,
    most of a short file's fixed cost on the command line. Other windows go through librosa.
    """
    if p.window == "hann":
        win = _periodic_hann(p.win_length)
    else:
        import librosa

        win = librosa.filters.get_window(p.window, p.win_length, fftbins=True)
    lpad = (p.n_fft - win.shape[-1]) // 2  # librosa.util.pad_center's split
    return np.pad(win, (lpad, p.n_fft - win.shape[-1] - lpad))


def _periodic_hann(n):
    """``scipy.signal.get_window("hann", n, fftbins=True)``: the symmetric window of ``n + 1``
    points without its last, as a sum of cosines over ``linspace(-pi, pi, n + 1)``."""
    if n <= 1:
        return np.ones(n)
    fac = np.linspace(-np.pi, np.pi, n + 1)
    w = np.zeros(n + 1)
    for k, a in enumerate((0.5, 0.5)):
        w += a * np.cos(k * fac)
    return w[:-1]


def grown(buf, used, need):
    """``buf`` with room for ``need`` samples along its last axis: itself if it has it, else a
    zeroed buffer of at least twice the size holding its first ``used`` samples (amortised
    growth of the streaming buffers)."""
    if need <= buf.shape[-1]:
        return buf
    out = np.zeros(buf.shape[:-1] + (max(need, 2 * buf.shape[-1]),), buf.dtype)
    out[..., :used] = buf[..., :used]
    return out


def analyze(frames, win, cdt, out=None):
    """Spectra of ``frames (..., n_fft)`` (rows): ``rfft(frames * win)`` in float64, rounded to
    ``cdt``. librosa's arithmetic exactly, so a frame gets the same bits from every path."""
    X = np.fft.rfft(frames * win, axis=-1)
    if out is None:
        return X.astype(cdt)
    out[...] = X
    return out


# Long signals go through the threaded transforms below, short ones through librosa. The
# analysis is librosa's arithmetic exactly (float64 window product, numpy's FFT, rounded to
# the signal's precision: the same bits per frame); the inverse uses the same window and
# window-sum-square normalisation (equal to float rounding).
FAST_MIN_SAMPLES = 1 << 16
FAST_MIN_FRAMES = 64
_BLOCK_FRAMES = 256


def run(jobs):
    """Run the callables in ``jobs`` on up to ``_threads.max_threads()`` threads (numpy/scipy.fft
    release the GIL)."""
    from ._threads import max_threads

    n_threads = max_threads()
    if n_threads <= 1 or len(jobs) <= 1:
        for j in jobs:
            j()
        return
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(min(n_threads, len(jobs))) as ex:
        for f in [ex.submit(j) for j in jobs]:
            f.result()


def padded_signal(x, p):
    """One channel ``x (n,)`` as the frames read it: zero-padded by ``n_fft // 2`` if centred."""
    pad = p.n_fft // 2 if p.center else 0
    return np.pad(x, pad) if pad else np.ascontiguousarray(x)


def frame_view(x, a, b, p):
    """Frames ``a`` to ``b - 1`` of the padded channel ``x``: a read-only ``(b - a, n_fft)`` view."""
    hop = p.hop_length
    return np.lib.stride_tricks.as_strided(
        x[a * hop:], shape=(b - a, p.n_fft), strides=(hop * x.itemsize, x.itemsize), writeable=False)


def stft_threads(y, p):
    """STFT of ``y (..., n)``, frames in blocks on worker threads, written C-contiguous."""
    lead, n = y.shape[:-1], y.shape[-1]
    Y = y.reshape(-1, n)
    cdt = np.complex64 if y.dtype == np.float32 else np.complex128
    win = window(p)
    T = p.n_frames(n)
    out = np.empty((Y.shape[0], p.n_freq, T), cdt)
    padded = [padded_signal(Y[c], p) for c in range(Y.shape[0])]

    def job(c, a, b):
        out[c, :, a:b] = analyze(frame_view(padded[c], a, b, p), win, cdt).T

    edges = list(range(0, T, _BLOCK_FRAMES)) + [T]
    run([lambda c=c, a=a, b=b: job(c, a, b)
          for c in range(Y.shape[0]) for a, b in zip(edges[:-1], edges[1:])])
    return out.reshape(lead + (p.n_freq, T))


def ola_plan(p, T, length, rdt):
    """The overlap-add layout of an inverse STFT of ``T`` frames: ``(n_frames, L, rows, start,
    win, scale)`` (frames used, output length, rows of ``hop`` samples in the buffer, samples
    cut at the start, the window in ``rdt``, the window-sum-square divisor of the output)."""
    n_fft, hop = p.n_fft, p.hop_length
    start = n_fft // 2 if p.center else 0
    if length:
        n_frames = min(T, int(np.ceil((length + 2 * start) / hop)))
        L = length
    else:
        n_frames = T
        L = n_fft + hop * (n_frames - 1) - 2 * start
    R = n_fft // hop
    rows = R + n_frames - 1  # the full overlap-add buffer is rows * hop samples
    win = window(p).astype(rdt)
    wss = np.zeros((rows, hop), rdt)
    w2 = (win * win).reshape(R, hop)
    for k in range(R):
        wss[k:k + n_frames] += w2[k]
    wss = wss.ravel()[start:start + L]
    keep = wss > np.finfo(rdt).tiny
    scale = np.ones_like(wss)
    scale[keep] = wss[keep]
    return n_frames, L, rows, start, win, scale


def overlap_add(buf, S_block, a, p, win):
    """Add the frames ``a, a+1, ...`` of ``S_block (n_freq, frames)`` (complex) into ``buf
    (rows, hop)``: inverse FFT, window, overlap-add."""
    n_fft, hop = p.n_fft, p.hop_length
    R = n_fft // hop
    b = a + S_block.shape[-1]
    # numpy's FFT (float32 in numpy >= 2; scipy.fft gives the same and costs ~0.1 s to import)
    fr = np.fft.irfft(S_block.T, n=n_fft, axis=-1).astype(buf.dtype, copy=False)
    fr *= win
    fr = fr.reshape(b - a, R, hop)
    for k in range(R):
        buf[a + k:b + k] += fr[:, k]


def istft_threads(S, p, length):
    """Overlap-add inverse of :func:`_stft_threads` (librosa's normalisation), one thread per signal."""
    hop = p.hop_length
    lead, T = S.shape[:-2], S.shape[-1]
    Sc = S.reshape((-1,) + S.shape[-2:])
    rdt = np.float32 if S.dtype == np.complex64 else np.float64
    n_frames, L, rows, start, win, scale = ola_plan(p, T, length, rdt)
    out = np.zeros((Sc.shape[0], L), rdt)

    def job(c):
        buf = np.zeros((rows, hop), rdt)
        for a in range(0, n_frames, _BLOCK_FRAMES):
            b = min(a + _BLOCK_FRAMES, n_frames)
            overlap_add(buf, Sc[c, :, a:b], a, p, win)
        y = buf.ravel()[start:start + L]
        np.divide(y, scale[:y.size], out=out[c, :y.size])

    run([lambda c=c: job(c) for c in range(Sc.shape[0])])
    return out.reshape(lead + (L,))
