"""scikit-learn compatible estimator :class:`NMF` wrapping :func:`nmfaudio.nmf`.

Orientation here is scikit-learn's: ``X`` is ``(n_samples, n_features)`` and
``X ≈ W @ components_`` with ``W = transform(X)`` of shape ``(n_samples, K)``.
(For a spectrogram used as ``X = V``, ``W`` are the templates and ``components_``
the activations; librosa's ``decompose`` passes ``V.T`` so its components are
the spectral templates.)
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils.validation import check_is_fitted, check_non_negative, validate_data

from .exceptions import ConvergenceWarning, ParameterError
from .nmf import beta_divergence, nmf, resolve_beta

__all__ = ["NMF"]

_SK_BETA = {"frobenius": 2.0, "kullback-leibler": 1.0, "itakura-saito": 0.0}


class NMF(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Non-negative matrix factorisation with multiplicative updates, scikit-learn style.

    Parameters
    ----------
    n_components : int or None
        Number of components; ``None`` keeps all features.
    beta_loss : {"frobenius", "kullback-leibler", "itakura-saito"} or float
        β-divergence (also accepts nmfaudio's "euclidean", "kl", "is").
    init : {None, "random", "nndsvda"}
        ``None``: "nndsvda" if ``n_components <= min(n_samples, n_features)``, else "random".
    max_iter : int
        Maximum number of multiplicative-update iterations.
    tol : float
        Relative loss decrease (checked every 10 iterations) that stops the solver.
    random_state : int, Generator or None
        Seed of the initialisation.
    accelerate : bool
        Use accelerated multiplicative updates (repeated inner updates, β = 2
        only; see :func:`nmfaudio.nmf`). Default True.

    Attributes
    ----------
    components_ : np.ndarray [shape=(n_components, n_features)]
    n_components_ : int
    n_iter_ : int
    reconstruction_err_ : float
        ``sqrt(2 * beta_divergence)`` of the fit, as in scikit-learn.
    n_features_in_ : int

    Notes
    -----
    ``transform(X)`` solves for the activations with ``components_`` fixed (exactly,
    by non-negative least squares, for β = 2), and ``fit_transform`` returns the
    same solution for the fitted components, so the two agree. The estimator
    passes ``sklearn.utils.estimator_checks.check_estimator`` with no expected
    failures; ``score`` (negative divergence) lets it be tuned on its own with
    ``GridSearchCV``.

    Examples
    --------
    >>> import numpy as np
    >>> from nmfaudio import NMF
    >>> X = np.array([[1, 1], [2, 1], [3, 1.2], [4, 1], [5, 0.8], [6, 1]])
    >>> model = NMF(n_components=2, init="random", random_state=0)
    >>> W = model.fit_transform(X)
    >>> bool(np.abs(W @ model.components_ - X).max() < 0.01)
    True
    """

    def __init__(self, n_components=None, *, beta_loss="frobenius", init=None, max_iter=200,
                 tol=1e-4, random_state=None, accelerate=True):
        self.n_components = n_components
        self.beta_loss = beta_loss
        self.init = init
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state
        self.accelerate = accelerate

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.positive_only = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags

    def _beta(self):
        if isinstance(self.beta_loss, str) and self.beta_loss in _SK_BETA:
            return _SK_BETA[self.beta_loss]
        return resolve_beta(self.beta_loss)

    def _check_X(self, X, reset):
        try:
            X = validate_data(self, X, dtype=[np.float64, np.float32], reset=reset)
            check_non_negative(X, f"{type(self).__name__} (input X)")
        except ParameterError:
            raise
        except ValueError as exc:  # scikit-learn's own checks: re-raised as nmfaudio's ValueError
            raise ParameterError(str(exc)) from None
        return X

    def _solve_W(self, X, H, W0=None):
        """Activations ``W (n_samples, K)`` minimising ``D(X | W H)`` for fixed ``H``.

        This sub-problem is convex for β in [1, 2]. For β = 2 it is solved exactly,
        one non-negative least-squares problem per sample; otherwise by
        multiplicative updates (``max_iter``, ``tol``), warm-started from ``W0``
        when given.
        """
        beta = self._beta_
        if beta == 2.0:
            from scipy.optimize import nnls

            A = np.asarray(H, dtype=np.float64).T  # (n_features, K)
            X64 = np.asarray(X, dtype=np.float64)
            W = np.empty((X.shape[0], H.shape[0]), dtype=np.float64)
            for i, row in enumerate(X64):
                W[i] = nnls(A, row)[0] if row.any() else 0.0
            return W.astype(X.dtype, copy=False)
        res = nmf(X, H.shape[0], beta=beta, W=W0, H=H, update_H=False, init="random",
                  max_iter=self.max_iter, tol=self.tol,
                  random_state=self.random_state, accelerate=self.accelerate)
        return res.W

    def fit_transform(self, X, y=None, W=None, H=None):
        """Learn the factorisation of ``X`` and return its activations.

        Parameters
        ----------
        X : array-like [shape=(n_samples, n_features)], non-negative
        y : ignored
        W : np.ndarray [shape=(n_samples, n_components)] or None
            Initial activations (optional).
        H : np.ndarray [shape=(n_components, n_features)] or None
            Initial components (optional).

        Returns
        -------
        W : np.ndarray [shape=(n_samples, n_components)]
            Same as ``transform(X)`` on the fitted model (up to solver tolerance):
            after the joint updates, ``W`` is re-solved with ``components_`` fixed.
        """
        X = self._check_X(X, reset=True)
        beta = self._beta()
        n_samples, n_features = X.shape
        K = self.n_components if self.n_components is not None else n_features
        init = self.init
        if init is None:
            init = "nndsvda" if K <= min(n_samples, n_features) else "random"
        if init == "custom":
            init = "random"
        res = nmf(X, K, beta=beta, W=W, H=H, init=init, max_iter=self.max_iter, tol=self.tol,
                  random_state=self.random_state, accelerate=self.accelerate)
        if not res.converged and self.tol > 0 and res.n_iter == self.max_iter and self.max_iter > 0:
            warnings.warn(
                f"Maximum number of iterations {self.max_iter} reached. Increase it to improve "
                "convergence.", ConvergenceWarning, stacklevel=2,
            )
        self._beta_ = beta
        self.components_ = res.H
        self.n_components_ = K
        self.n_iter_ = res.n_iter
        W_out = self._solve_W(X, res.H, res.W)
        loss = beta_divergence(X, W_out, res.H, beta)
        self.reconstruction_err_ = float(np.sqrt(2.0 * max(loss, 0.0)))
        return W_out

    def fit(self, X, y=None, **params):
        """Learn the factorisation of ``X``; returns self.

        Parameters
        ----------
        X : array-like [shape=(n_samples, n_features)], non-negative
        y : ignored
        **params
            ``W``/``H`` initial factors, as in :meth:`fit_transform`.

        Returns
        -------
        self : NMF
        """
        self.fit_transform(X, **params)
        return self

    def transform(self, X):
        """Activations of ``X`` on the fitted components.

        Parameters
        ----------
        X : array-like [shape=(n_samples, n_features)], non-negative

        Returns
        -------
        W : np.ndarray [shape=(n_samples, n_components)]
            The ``W`` minimising ``D(X | W @ components_)`` (see ``fit_transform``).
        """
        check_is_fitted(self)
        X = self._check_X(X, reset=False)
        return self._solve_W(X, self.components_)

    def score(self, X, y=None):
        """Negative β-divergence between ``X`` and its reconstruction (higher is better).

        Lets the estimator be used on its own in ``GridSearchCV`` (e.g. to choose
        ``beta_loss`` or ``max_iter``; more components always score higher on the
        training data, so compare component counts on held-out data).

        Parameters
        ----------
        X : array-like [shape=(n_samples, n_features)], non-negative
        y : ignored

        Returns
        -------
        score : float
            ``-beta_divergence(X, transform(X), components_) / n_samples``.
        """
        W = self.transform(X)
        X = np.asarray(X, dtype=W.dtype)
        return -float(beta_divergence(X, W, self.components_, self._beta_)) / X.shape[0]

    def inverse_transform(self, X):
        """Reconstruction ``X @ components_`` (n_samples, n_features)."""
        check_is_fitted(self)
        X = np.asarray(X, dtype=self.components_.dtype)
        return X @ self.components_

    @property
    def _n_features_out(self):
        return self.components_.shape[0]
