"""Template adaptation on the mixture: separate(..., adapt=N, adapt_prior=P) (issue #15 item 4)."""

import numpy as np
import pytest

import nmfaudio
from nmfaudio import ParameterError
from nmfaudio.nmf import beta_divergence
from nmfaudio.supervised import adapt_templates


@pytest.fixture
def planted():
    """V = W_true H exactly; W0 a distorted copy of W_true (the 'model')."""
    rng = np.random.default_rng(1)
    W_true = rng.random((40, 4)) ** 2
    H = rng.random((4, 60))
    V = W_true @ H
    W0 = W_true * rng.uniform(0.3, 1.7, W_true.shape)
    return V, W_true / W_true.sum(axis=0), W0, H


@pytest.fixture
def dicts(two_tone):
    sr, a, b = two_tone
    p = nmfaudio.STFTParams(n_fft=256)
    return [nmfaudio.learn_dictionary(a, sr, name="tone", stft_params=p, n_components=3, max_iter=10),
            nmfaudio.learn_dictionary(b, sr, name="noise", stft_params=p, n_components=3, max_iter=10)]


@pytest.mark.parametrize("beta", [1.0, 0.5, 2.0])
def test_adaptation_changes_W_and_lowers_the_loss(planted, beta):
    V, W_true, W0, H = planted
    W_fixed, H_fixed, loss_fixed = adapt_templates(V, W0, H, beta=beta, n_iter=0)
    # fixed templates, best activations: a plain H-only solve
    fixed = nmfaudio.nmf(V, W=W0, H=H, beta=beta, update_W=False, max_iter=200, tol=0)
    W, H2, loss = adapt_templates(V, W0, fixed.H, beta=beta, n_iter=200, prior=0.0)
    assert not np.allclose(W, W0 / W0.sum(axis=0))
    assert loss < 0.5 * fixed.loss
    assert loss == pytest.approx(beta_divergence(V, W, H2, beta=beta), rel=1e-6)
    # adapted templates are closer to the planted ones than the model was
    err0 = np.abs(W0 / W0.sum(axis=0) - W_true).sum()
    assert np.abs(W - W_true).sum() < 0.5 * err0
    np.testing.assert_allclose(W.sum(axis=0), 1.0, rtol=1e-6)


def test_prior_keeps_templates_near_the_model(planted):
    V, _, W0, H = planted
    Wm = W0 / W0.sum(axis=0)
    dist = [np.abs(adapt_templates(V, W0, H, beta=1.0, n_iter=100, prior=p)[0] - Wm).sum()
            for p in (0.0, 1.0, 30.0)]
    assert dist[0] > dist[1] > dist[2]


def test_adapt_templates_keeps_float32_and_inputs(planted):
    V, _, W0, H = (x.astype(np.float32) for x in planted)
    copies = [x.copy() for x in (V, W0, H)]
    W, H2, _ = adapt_templates(V, W0, H, beta=0.5, n_iter=5)
    assert W.dtype == np.float32 and H2.dtype == np.float32
    for x, c in zip((V, W0, H), copies):
        np.testing.assert_array_equal(x, c)


def test_separate_adapt_changes_the_result_and_keeps_dtype(two_tone, dicts):
    sr, a, b = two_tone
    y = a + b
    y_copy = y.copy()
    fixed = nmfaudio.separate(y, sr, dictionaries=dicts, max_iter=5)
    out = nmfaudio.separate(y, sr, dictionaries=dicts, max_iter=5, adapt=10)
    np.testing.assert_array_equal(y, y_copy)
    assert sorted(out) == ["noise", "tone"]
    assert all(v.dtype == np.float32 and v.shape == y.shape for v in out.values())
    assert not np.allclose(out["tone"], fixed["tone"])
    np.testing.assert_allclose(sum(out.values()), y, atol=1e-4)
    # the separation's templates moved, the dictionaries' did not
    from nmfaudio.separate import separate_with_details

    _, sep, _ = separate_with_details(y, sr, dictionaries=dicts, max_iter=5, adapt=10, adapt_prior=0.0)
    W0 = np.concatenate([d.W for d in dicts], axis=1)
    assert not np.allclose(sep.W, W0)
    assert sep.n_iter == 15


def test_separate_adapt_with_instruments(two_tone):
    d = nmfaudio.load_model("bass")
    t = np.arange(d.sr // 2) / d.sr
    y = (0.3 * np.sin(2 * np.pi * 110 * t) + 0.1 * np.sin(2 * np.pi * 880 * t)).astype(np.float32)
    fixed = nmfaudio.separate(y, d.sr, instruments=["bass", "flute"], max_iter=5)
    out = nmfaudio.separate(y, d.sr, instruments=["bass", "flute"], max_iter=5, adapt=5)
    assert sorted(out) == ["bass", "flute"] and out["bass"].dtype == np.float32
    assert not np.allclose(out["bass"], fixed["bass"])


@pytest.mark.parametrize("kwargs, words", [
    (dict(adapt=-1), ["adapt=-1", "integer >= 0"]),
    (dict(adapt=2.5), ["adapt=2.5", "integer"]),
    (dict(adapt=True), ["adapt=True"]),
    (dict(adapt="10"), ["adapt='10'"]),
    (dict(adapt=5, adapt_prior=-0.1), ["adapt_prior", "-0.1"]),
    (dict(adapt=5, adapt_prior=float("nan")), ["adapt_prior"]),
    (dict(adapt=5, adapt_prior="big"), ["adapt_prior"]),
    (dict(adapt_prior=3.0), ["adapt_prior=3.0", "adapt=0"]),
    (dict(adapt=5, n_free=2), ["adapt=5", "n_free=2"]),
])
def test_bad_adapt_values_are_refused(two_tone, dicts, kwargs, words):
    sr, a, b = two_tone
    with pytest.raises(ParameterError) as err:
        nmfaudio.separate(a + b, sr, dictionaries=dicts, max_iter=5, **kwargs)
    assert all(w in str(err.value) for w in words), str(err.value)


@pytest.mark.parametrize("kwargs, name", [(dict(adapt=10), "adapt=10"),
                                          (dict(adapt_prior=0.5), "adapt_prior=0.5")])
def test_unsupervised_refuses_adapt(two_tone, kwargs, name):
    sr, a, b = two_tone
    with pytest.raises(ParameterError, match=f"{name} \\(only used in supervised"):
        nmfaudio.separate(a + b, sr, n_sources=2, n_fft=256, max_iter=5, **kwargs)


def test_cli_adapt_flag(tmp_path, two_tone, dicts, capsys):
    import json

    from nmfaudio.cli import main

    sr, a, b = two_tone
    mix = tmp_path / "mix.wav"
    nmfaudio.save(mix, a + b, sr)
    paths = []
    for d in dicts:
        paths += ["--dict", str(d.save(tmp_path / f"{d.name}.npz"))]
    assert main(["separate", str(mix), *paths, "-o", str(tmp_path / "out"), "--adapt", "5",
                 "--iterations", "5", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["settings"]["adapt_iterations"] == 5 and doc["iterations"] == 10
    # without --dict the flag is refused (usage error, exit 2)
    assert main(["separate", str(mix), "-o", str(tmp_path / "o2"), "--adapt", "5"]) == 2
    assert "--adapt 5" in capsys.readouterr().err


@pytest.mark.parametrize("kwargs, words", [
    (dict(n_iter=-1), ["n_iter"]),
    (dict(prior=-1.0), ["prior"]),
    (dict(beta="bogus"), ["beta"]),
])
def test_adapt_templates_refuses_bad_arguments(planted, kwargs, words):
    V, _, W0, H = planted
    args = dict(beta=1.0, n_iter=5) | kwargs
    with pytest.raises(ParameterError) as err:
        adapt_templates(V, W0, H, **args)
    assert all(w in str(err.value) for w in words)
    with pytest.raises(ParameterError, match="shapes"):
        adapt_templates(V, W0[:-1], H, beta=1.0, n_iter=5)
    with pytest.raises(ParameterError):
        adapt_templates(-V, W0, H, beta=1.0, n_iter=5)


def test_adapt_keeps_stereo_layout(two_tone, dicts):
    sr, a, b = two_tone
    y = np.stack([a + b, 0.5 * a + b])
    out = nmfaudio.separate(y, sr, dictionaries=dicts, max_iter=5, adapt=5)
    assert all(v.shape == y.shape and v.dtype == np.float32 for v in out.values())
    np.testing.assert_allclose(sum(out.values()), y, atol=1e-4)
