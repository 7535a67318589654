"""Speech-enhancement gain rules driven by an NMF model (private; issue #14 experiment).

The NMF model serves only as a noise (and speech) power estimate; the clean gain comes
from the classic short-time spectral rules, applied frame by frame along time:

* ``"wiener"``: decision-directed a priori SNR, Wiener gain ``ξ / (1 + ξ)``;
* ``"lsa"``: decision-directed a priori SNR, Ephraim–Malah log-spectral amplitude gain;
* ``"model"``: a priori SNR from the model, ``λ_s / λ_n``, smoothed over time by the
  decision-directed recursion, Wiener gain (``"model-lsa"``: the same with the LSA gain).

Selected by :data:`nmfaudio.denoise.POSTFILTER` (``None``: the model's soft mask).
"""

from __future__ import annotations

import numpy as np
from scipy.special import exp1

from .exceptions import ParameterError

#: Default parameters of a post-filter setting.
DEFAULTS = {"rule": "lsa", "alpha": 0.98, "xi_min_db": -25.0, "gain_min_db": None,
            "noise_scale": 1.0}
RULES = ("wiener", "lsa", "model", "model-lsa")
#: Bounds that keep the SNRs finite where the noise estimate vanishes.
_SNR_MAX = 1e10
_V_MIN = 1e-10


def postfilter_setting(setting):
    """The full parameter dict of ``setting`` (a rule name or a dict of :data:`DEFAULTS` keys).

    Parameters
    ----------
    setting : str or dict

    Returns
    -------
    dict
        Every key of :data:`DEFAULTS`.
    """
    given = {"rule": setting} if isinstance(setting, str) else dict(setting)
    unknown = set(given) - set(DEFAULTS)
    if unknown:
        raise ParameterError(f"unknown post-filter keys {sorted(unknown)}; expected {sorted(DEFAULTS)}")
    out = {**DEFAULTS, **given}
    if out["rule"] not in RULES:
        raise ParameterError(f"post-filter rule {out['rule']!r} must be one of {RULES}")
    if not 0.0 <= float(out["alpha"]) < 1.0:
        raise ParameterError(f"post-filter alpha={out['alpha']!r} must be in [0, 1)")
    return out


def spectral_gain(S, lam_n, lam_s=None, *, rule="lsa", alpha=0.98, xi_min_db=-25.0,
                  gain_min_db=None, noise_scale=1.0):
    """Clean gain of the mixture STFT from noise (and speech) power estimates.

    Parameters
    ----------
    S : np.ndarray [shape=(..., F, T), complex]
        Mixture STFT.
    lam_n : np.ndarray [shape=(..., F, T)]
        Noise power estimate (e.g. ``(W_n H_n) ** 2`` of a magnitude model), >= 0.
    lam_s : np.ndarray [shape=(..., F, T)] or None
        Speech power estimate; needed by the ``"model"`` rules only.
    rule : {"wiener", "lsa", "model", "model-lsa"}
    alpha : float in [0, 1)
        Weight of the previous frame's clean-amplitude estimate in the a priori SNR.
    xi_min_db : float
        Floor of the a priori SNR ξ in dB.
    gain_min_db : float or None
        Floor of the returned gain in dB (``None``: none); the recursion uses the unfloored gain.
    noise_scale : float > 0
        Factor on ``lam_n`` (e.g. ``4 / π`` turns a squared mean magnitude into a power).

    Returns
    -------
    G : np.ndarray [shape=(..., F, T)]
        Real gains in ``[10 ** (gain_min_db / 20), 1]`` (``[0, 1]`` without a floor), of the
        real dtype matching ``S`` (float32 for complex64). Frame 0 uses ``ξ = max(γ − 1, 0)``
        (or ``λ_s / λ_n``), floored, as it has no previous frame.

    Examples
    --------
    >>> import numpy as np
    >>> S = np.full((2, 3), 10.0 + 0j)
    >>> G = spectral_gain(S, np.ones((2, 3)), rule="wiener")
    >>> bool(np.all((G > 0.9) & (G <= 1)))
    True
    """
    S = np.asarray(S)
    lam_n = np.asarray(lam_n)
    if lam_n.shape != S.shape:
        raise ParameterError(f"lam_n has shape {lam_n.shape}; expected the STFT's {S.shape}")
    model = rule.startswith("model")
    if model and (lam_s is None or np.shape(lam_s) != S.shape):
        raise ParameterError(f"rule {rule!r} needs lam_s shaped like the STFT {S.shape}")
    out_dtype = np.finfo(np.result_type(S.dtype, np.float32)).dtype
    P = np.abs(S).astype(np.float64) ** 2                                   # (..., F, T)
    noise = np.maximum(noise_scale * lam_n.astype(np.float64), np.finfo(np.float64).tiny)
    gamma = np.minimum(P / noise, _SNR_MAX)                                  # a posteriori SNR
    inst = (np.minimum(np.asarray(lam_s, np.float64) / noise, _SNR_MAX) if model
            else np.maximum(gamma - 1.0, 0.0))                               # one-frame ξ estimate
    xi_min = 10.0 ** (xi_min_db / 10.0)
    lsa = rule.endswith("lsa")
    G = np.empty(S.shape, np.float64)
    prev = np.zeros(S.shape[:-1])                                            # |Â_{t-1}|², (..., F)
    for t in range(S.shape[-1]):
        xi = inst[..., t] if t == 0 else alpha * prev / noise[..., t] + (1.0 - alpha) * inst[..., t]
        xi = np.clip(xi, xi_min, _SNR_MAX)
        g = xi / (1.0 + xi)
        if lsa:
            v = np.maximum(g * gamma[..., t], _V_MIN)
            g = g * np.exp(0.5 * exp1(v))
        g = np.minimum(g, 1.0)
        G[..., t] = g
        prev = g * g * P[..., t]
    if gain_min_db is not None:
        np.maximum(G, 10.0 ** (gain_min_db / 20.0), out=G)
    return G.astype(out_dtype, copy=False)


def model_gain(S, est, *, power, setting):
    """:func:`spectral_gain` of ``S`` with the powers of a two-source model (clean, noise).

    Parameters
    ----------
    S : np.ndarray [shape=(..., F, T), complex]
        Mixture STFT.
    est : np.ndarray [shape=(2, ..., F, T)]
        Model spectrograms ``|S_s| ** power`` of the clean part, then the noise.
    power : float > 0
        The spectrogram power the model describes (1 = magnitudes).
    setting : str or dict
        A rule name or parameters (:func:`postfilter_setting`).

    Returns
    -------
    G : np.ndarray [shape=(..., F, T)]
    """
    p = postfilter_setting(setting)
    est = np.asarray(est)
    lam_s, lam_n = (est[0] ** (2.0 / power), est[1] ** (2.0 / power)) if power != 2 else (est[0], est[1])
    return spectral_gain(S, lam_n, lam_s if p["rule"].startswith("model") else None, **p)
