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
