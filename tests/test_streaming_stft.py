"""nmfaudio.StreamingSTFT / StreamingISTFT: block-wise transforms equal the offline ones, and
what push() returns belongs to the caller (never a view that a later call overwrites)."""

import numpy as np
import pytest

import nmfaudio


@pytest.mark.parametrize("channels", [1, 2])
def test_push_results_survive_later_pushes(channels):
    # one hop per push: one frame per call, the case where a view of the internal buffer
    # would look contiguous
    p = nmfaudio.STFTParams(n_fft=256)
    y = np.random.default_rng(1).standard_normal((channels, 40 * p.hop_length)).astype(np.float32)
    an = nmfaudio.StreamingSTFT(p, channels=channels)
    parts = [an.push(y[:, i:i + p.hop_length]) for i in range(0, y.shape[1], p.hop_length)]
    parts.append(an.finish())
    S = np.concatenate(parts, axis=-1)
    assert np.array_equal(S, nmfaudio.stft(y, stft_params=p))


@pytest.mark.parametrize("sizes", [[1], [7, 300, 1], [1000]])
def test_blocks_equal_offline(sizes):
    p = nmfaudio.STFTParams(n_fft=512)
    y = np.random.default_rng(2).standard_normal((1, 5000)).astype(np.float32)
    an = nmfaudio.StreamingSTFT(p, channels=1)
    out, i, k = [], 0, 0
    while i < y.shape[1]:
        n = sizes[k % len(sizes)]
        out.append(an.push(y[:, i:i + n]))
        i, k = i + n, k + 1
    out.append(an.finish())
    S = np.concatenate(out, axis=-1)
    assert np.array_equal(S, nmfaudio.stft(y, stft_params=p))
    syn = nmfaudio.StreamingISTFT(p, lead_shape=(1,))
    y2 = np.concatenate([syn.push(S[..., :3]), syn.push(S[..., 3:]), syn.finish(y.shape[1])], axis=-1)
    np.testing.assert_allclose(y2, y, atol=1e-5)


def test_frame_major_interface_matches_stft_and_istft(rng):
    # the allocation-free methods the block processors use: frame-major buffers, same results
    import nmfaudio
    from nmfaudio.streaming_stft import StreamingISTFT, StreamingSTFT

    p = nmfaudio.STFTParams(n_fft=256, hop_length=64)
    y = rng.standard_normal((2, 3001)).astype(np.float32)
    an = StreamingSTFT(p, channels=2)
    got = []
    for a, b in [(0, 1), (1, 500), (500, 501), (501, 3001)]:
        nt = an.push_frames(y[:, a:b])
        got.append(an.frames[:, :nt].copy())
    nt = an.finish_frames()
    got.append(an.frames[:, :nt].copy())
    S = np.concatenate(got, axis=1)                      # (C, T, F)
    ref = nmfaudio.stft(y, stft_params=p)                # (C, F, T)
    assert np.array_equal(S, np.swapaxes(ref, -1, -2))

    syn = StreamingISTFT(p, lead_shape=(2,))
    out = np.zeros((2, 3001), np.float32)
    o = 0
    scratch = np.empty((2, S.shape[1], p.n_fft), np.float32)
    for a, b in [(0, 3), (3, 4), (4, S.shape[1])]:
        m = syn.push_frames(np.ascontiguousarray(S[:, a:b]), scratch)
        syn.take_into(m, out, o)
        o += m
    m = syn.end(3001)
    assert o + m == 3001
    syn.take_into(m, out, o)
    np.testing.assert_allclose(out, nmfaudio.istft(ref, stft_params=p, length=3001), atol=2e-6)
    np.testing.assert_allclose(out, y, atol=1e-5)
