"""Separation for the CLI through the spectrogram-level API (private).

``nmfaudio.separate`` returns only waveforms; the CLI also wants the
:class:`~nmfaudio.Separation` (templates, activations, labels for ``--plot``;
iterations and final loss for ``--json``). This runs the same chain as
``separate`` — :func:`stft` → :func:`separate_spectrogram` or
:func:`separate_supervised_spectrogram` → :func:`istft` — with the same defaults;
``tests/test_cli_ux.py`` checks that the waveforms are identical.
"""

from __future__ import annotations

from ..exceptions import ParameterError
from ..separate import separate_spectrogram, separate_supervised_spectrogram
from ..stft import STFTParams, istft, stft


def separate_details(y, sr, *, dictionaries=None, n_sources=None, n_free=0, n_components=None,
                     beta="kl", n_fft=None, hop_length=None, max_iter=None, random_state=0,
                     callback=None):
    """Return ``(sources, separation, stft_params)``; parameters as in :func:`nmfaudio.separate`."""
    if dictionaries:
        d0 = dictionaries[0]
        if d0.sr != sr:
            raise ParameterError(f"the audio is at {sr} Hz but the dictionaries were trained at {d0.sr} Hz")
        for key, value in (("n_fft", n_fft), ("hop_length", hop_length)):
            if value is not None and value != getattr(d0.stft, key):
                raise ParameterError(
                    f"{key}={value} conflicts with the dictionaries' {key}={getattr(d0.stft, key)}; "
                    "leave it unset to use the dictionaries' STFT settings"
                )
        params = d0.stft
        sep = separate_supervised_spectrogram(
            stft(y, params=params), dictionaries, n_free=n_free,
            max_iter=100 if max_iter is None else max_iter, random_state=random_state,
            callback=callback)
    else:
        params = STFTParams(n_fft=2048 if n_fft is None else n_fft, hop_length=hop_length)
        sep = separate_spectrogram(
            stft(y, params=params), sr=sr, n_sources=2 if n_sources is None else n_sources,
            n_components=n_components, beta=beta, max_iter=200 if max_iter is None else max_iter,
            random_state=random_state, n_fft=params.n_fft, callback=callback)
    sources = {name: istft(S, params=params, length=y.shape[-1]).astype(y.dtype, copy=False)
               for name, S in zip(sep.names, sep.S_sources)}
    return sources, sep, params
