"""scikit-learn conformance of nmfaudio.NMF: check_estimator, clone, params, model selection."""

import json
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning as SkConvergenceWarning
from sklearn.utils.estimator_checks import parametrize_with_checks

import nmfaudio
from nmfaudio import NMF

# Every check runs and passes; nothing is declared as an expected failure. The only
# check scikit-learn may skip is check_array_api_input, which scikit-learn itself
# skips unless SCIPY_ARRAY_API=1 is set before SciPy is imported; the subprocess
# test below runs the whole suite with it set, so that check is exercised too.
EXPECTED_FAILED_CHECKS = {}


@pytest.fixture(autouse=True)
def _quiet_convergence():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", nmfaudio.ConvergenceWarning)
        warnings.simplefilter("ignore", SkConvergenceWarning)
        yield


@parametrize_with_checks([NMF()], expected_failed_checks=lambda est: EXPECTED_FAILED_CHECKS)
def test_sklearn_check(estimator, check):
    check(estimator)


def test_check_estimator_with_array_api_enabled(tmp_path):
    """The full check_estimator run, with SCIPY_ARRAY_API=1 so no check is skipped."""
    code = (
        "import json, warnings\n"
        "warnings.simplefilter('ignore')\n"
        "from sklearn.utils.estimator_checks import check_estimator\n"
        "import nmfaudio\n"
        "res = check_estimator(nmfaudio.NMF(), on_fail=None, on_skip=None)\n"
        "print(json.dumps([[r['check_name'], r['status']] for r in res]))\n"
    )
    env = dict(os.environ, SCIPY_ARRAY_API="1")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         timeout=300, check=True).stdout
    results = json.loads(out.strip().splitlines()[-1])
    assert len(results) > 40
    bad = [(name, status) for name, status in results if status != "passed"]
    assert bad == []


def test_fit_transform_matches_transform_for_kl(rng):
    X = rng.random((40, 6)) @ rng.random((6, 30)) + 0.01
    m = NMF(n_components=4, beta_loss="kullback-leibler", random_state=0, max_iter=300)
    W = m.fit_transform(X)
    W2 = m.transform(X)
    # multiplicative updates converge slowly on this convex sub-problem: agreement to ~1 %
    assert np.max(np.abs(W - W2)) < 2e-2 * np.max(W)
    np.testing.assert_allclose(m.inverse_transform(W), m.inverse_transform(W2), rtol=0.05, atol=1e-3)


def test_get_set_params_clone_roundtrip():
    m = NMF(n_components=3, beta_loss="itakura-saito", max_iter=7, random_state=1)
    assert m.get_params() == {"n_components": 3, "beta_loss": "itakura-saito", "init": None,
                              "max_iter": 7, "tol": 1e-4, "random_state": 1, "accelerate": True}
    c = clone(m)
    assert c is not m and c.get_params() == m.get_params()
    assert c.set_params(n_components=5, tol=0.0) is c
    assert c.n_components == 5 and m.n_components == 3
    with pytest.raises(ValueError, match="Invalid parameter"):
        c.set_params(n_components_typo=2)


def test_clone_of_fitted_is_unfitted(rng):
    X = rng.random((20, 5))
    m = NMF(n_components=2, random_state=0).fit(X)
    c = clone(m)
    assert hasattr(m, "components_") and not hasattr(c, "components_")


def test_gridsearch_pipeline_on_digits():
    """NMF features feeding a classifier, with the component count chosen by GridSearchCV."""
    from sklearn.datasets import load_digits
    from sklearn.linear_model import RidgeClassifier
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import Pipeline

    X, y = load_digits(return_X_y=True)
    X, y = X[:150], y[:150]
    pipe = Pipeline([("nmf", NMF(random_state=0, max_iter=50)),
                     ("clf", RidgeClassifier())])
    grid = GridSearchCV(pipe, {"nmf__n_components": [2, 12]}, cv=3)
    grid.fit(X, y)
    assert grid.best_params_ == {"nmf__n_components": 12}
    assert grid.best_estimator_.named_steps["nmf"].components_.shape == (12, 64)
    assert grid.score(X, y) > 0.8


def test_gridsearch_on_estimator_alone_uses_score(rng):
    from sklearn.model_selection import GridSearchCV

    X = rng.random((60, 3)) @ rng.random((3, 20))
    grid = GridSearchCV(NMF(n_components=3, random_state=0), {"beta_loss": ["frobenius", "kullback-leibler"]},
                        cv=3)
    grid.fit(X)
    assert set(grid.cv_results_["mean_test_score"].round(12)) and np.all(
        np.isfinite(grid.cv_results_["mean_test_score"]))
    m = NMF(n_components=3, random_state=0).fit(X)
    assert m.score(X) <= 0
    # a one-component model reconstructs worse, so it scores lower
    assert NMF(n_components=1, random_state=0).fit(X).score(X) < m.score(X)
