"""Which options apply to which mode: one rule table for the library and the CLI.

:func:`nmfaudio.separate`, :func:`nmfaudio.separate_many`, :func:`nmfaudio.denoise`
and the command line all check their arguments against these tables, so an
option that the chosen mode would silently ignore raises instead.

An option counts as *given* when its value differs from its default (passing
the default explicitly cannot be told apart from leaving it out, and is harmless).
"""

from __future__ import annotations

from .exceptions import ParameterError, UsageError

__all__ = []

SUPERVISED = "supervised (dictionaries given)"

#: Default strength of the pull towards the dictionaries' templates while they adapt to the
#: mixture (``separate(..., adapt=N, adapt_prior=...)``); imported by ``supervised.py``.
ADAPT_PRIOR = 1.0
UNSUPERVISED = "unsupervised (no dictionaries)"

#: separate(): option -> (default, modes it applies to, CLI flag or None)
SEPARATE_RULES = {
    "n_free": (0, {SUPERVISED}, "--residual"),
    "free_sparsity": (0.0, {SUPERVISED}, "--free-sparsity"),
    "n_components": (None, {UNSUPERVISED}, "--components"),
    "beta": ("kl", {UNSUPERVISED}, "--beta"),
    "grouping": ("mfcc", {UNSUPERVISED}, "--grouping"),
    "mask": ("soft", {UNSUPERVISED}, "--mask"),
    "tol": (1e-4, {UNSUPERVISED}, None),
    "window": ("hann", {UNSUPERVISED}, None),
    "adapt": (0, {SUPERVISED}, "--adapt"),
    "adapt_prior": (ADAPT_PRIOR, {SUPERVISED}, None),
}

NOISE_SAMPLE = "noise sample"
NOISE_DICT = "noise dictionary"
SPEECH_DICT = "speech dictionary"
NOISE_SAMPLE_SPEECH_DICT = "noise sample + speech dictionary"
BOTH_DICTS = "noise dictionary + speech dictionary"
BLIND = "blind (no noise sample or dictionary)"


#: Defaults of :func:`nmfaudio.denoise` / :func:`nmfaudio.denoise_sources`, chosen by measurement
#: on the quality benchmark (benchmarks/RESULTS.md). Defined here, where the rules need them,
#: and imported by ``denoise.py`` (also as ``nmfaudio.denoise.NOISE_COMPONENTS`` etc.), so that
#: neither module imports the other back.
NOISE_COMPONENTS = 16
SPEECH_COMPONENTS = 32
SPARSITY = 0.1


def _denoise_rules():
    return {
        # learned noise templates: from the sample, as free components, or from quiet frames
        "n_noise_components": (NOISE_COMPONENTS, {NOISE_SAMPLE, SPEECH_DICT, NOISE_SAMPLE_SPEECH_DICT,
                                                  BLIND}, "--noise-components"),
        # free speech components exist only without a speech dictionary
        # (and in the input's own model beside a speech dictionary with a noise sample or dictionary)
        "n_speech_components": (SPEECH_COMPONENTS, {NOISE_SAMPLE, NOISE_DICT, BLIND, NOISE_SAMPLE_SPEECH_DICT,
                                                    BOTH_DICTS}, "--speech-components"),
        "sparsity": (SPARSITY, {NOISE_SAMPLE, NOISE_DICT, BLIND, NOISE_SAMPLE_SPEECH_DICT, BOTH_DICTS}, "--sparsity"),
        # local models: blind only
        "segment_seconds": (None, {BLIND}, "--segment-seconds"),
        # the universal speech model stands beside the free speech templates, or beside a speech
        # dictionary when the noise is a sample or region; with two dictionaries it turns off the
        # input's own model (nmfaudio.denoise.with_input_model)
        "voice_model": (True, {NOISE_SAMPLE, NOISE_DICT, BLIND, NOISE_SAMPLE_SPEECH_DICT, BOTH_DICTS},
                        "--no-voice-model"),
    }


class OptionsError(UsageError):
    """An option that does not apply to the chosen mode (the CLI exits 2 on it)."""


def _given(value, default):
    if value is None or default is None:
        return value is not default
    try:
        return bool(value != default)
    except Exception:  # arrays and other odd values: given
        return True


def _show(value):
    return repr(value) if isinstance(value, str) else str(value)


def check_rules(rules, mode, values, *, what, flags=False):
    """Raise OptionsError naming every option in ``values`` that ``mode`` ignores.

    ``values`` maps option names to the values passed; names not in ``rules``
    are not checked. With ``flags`` the message uses the CLI flags.
    """
    bad = []
    for name, value in values.items():
        if name not in rules:
            continue
        default, modes, flag = rules[name]
        if mode not in modes and _given(value, default):
            shown = f"{flag} {value}" if flags and flag else f"{name}={_show(value)}"
            where = " or ".join(sorted(modes))
            bad.append(f"{shown} (only used in {where} mode)")
    if bad:
        raise OptionsError(f"{what} in {mode} mode ignores " + "; ".join(bad)
                           + "; remove " + ("it" if len(bad) == 1 else "them"))


def separate_mode(dictionaries):
    return SUPERVISED if dictionaries is not None else UNSUPERVISED


def check_separate_options(args, *, flags=False):
    """Check the arguments of :func:`nmfaudio.separate` (``args``: their names and values).

    Also refuses one dictionary with no free components: with nothing else in the
    model, that source explains the whole mixture and would come back unchanged.
    """
    check_rules(SEPARATE_RULES, separate_mode(args.get("dictionaries")), args,
                what="nmfaudio separate" if flags else "separate()", flags=flags)
    dicts = args.get("dictionaries")
    try:
        single = dicts is not None and not isinstance(dicts, str) and len(dicts) == 1
    except TypeError:  # not a sequence: the dictionary checks report it
        single = False
    if single and not args.get("n_free"):
        if flags:
            hint = "add --residual K (K free components for everything else) or a second --dict"
        else:
            hint = "pass n_free=K (free components for everything else) or a second dictionary"
        raise UsageError("one dictionary and no free components explain the whole mixture, so the "
                         f"one source would be the mixture unchanged; {hint}")


def denoise_mode(noise, noise_dictionary, speech_dictionary):
    has_noise, has_nd, has_sd = noise is not None, noise_dictionary is not None, speech_dictionary is not None
    if has_sd:
        return NOISE_SAMPLE_SPEECH_DICT if has_noise else BOTH_DICTS if has_nd else SPEECH_DICT
    return NOISE_SAMPLE if has_noise else NOISE_DICT if has_nd else BLIND


def check_denoise_options(args, *, flags=False):
    """Check the arguments of :func:`nmfaudio.denoise` (``args``: their names and values)."""
    mode = denoise_mode(args.get("noise"), args.get("noise_dictionary"), args.get("speech_dictionary"))
    check_rules(_denoise_rules(), mode, args, what="nmfaudio denoise" if flags else "denoise()",
                flags=flags)


def check_input_model_options(args, with_input):
    """Beside a speech dictionary, ``n_speech_components`` and ``sparsity`` shape only the input's own
    model (:func:`nmfaudio.denoise.with_input_model`): refused where that model is not fitted."""
    mode = denoise_mode(args.get("noise"), args.get("noise_dictionary"), args.get("speech_dictionary"))
    if with_input or mode not in (NOISE_SAMPLE_SPEECH_DICT, BOTH_DICTS):
        return
    rules = _denoise_rules()
    bad = [f"{n}={_show(args.get(n))}" for n in ("n_speech_components", "sparsity") if _given(args.get(n), rules[n][0])]
    if bad:
        raise OptionsError(f"denoise() in {mode} mode ignores " + "; ".join(bad) + " without the input's own model "
                           "(voice_model=True, magnitude dictionaries); remove " + ("it" if len(bad) == 1 else "them"))


DENOISE = "denoise"

#: separate_many(): option -> (default, modes, CLI flag); the separate() rules plus batch modes.
BATCH_RULES = {
    "n_free": (0, {SUPERVISED}, "--residual"),
    "n_components": (None, {UNSUPERVISED}, "--components"),
    "n_fft": (None, {UNSUPERVISED}, "--n-fft"),
    "hop_length": (None, {UNSUPERVISED}, "--hop"),
    "noise": (None, {DENOISE}, "--noise"),
}


def check_batch_options(args, *, flags=False):
    """Check the arguments of :func:`nmfaudio.separate_many` (``args``: names and values)."""
    mode = (SUPERVISED if args.get("dictionaries") is not None else DENOISE if args.get("denoise")
            else UNSUPERVISED)
    check_rules(BATCH_RULES, mode, args, what="nmfaudio batch" if flags else "separate_many()",
                flags=flags)


def check_dictionary_types(noise_dictionary, speech_dictionary):
    """Both given dictionaries of :func:`nmfaudio.denoise` are SourceDictionary objects."""
    from .dictionary import SourceDictionary

    for label, d in (("noise_dictionary", noise_dictionary), ("speech_dictionary", speech_dictionary)):
        if d is not None and not isinstance(d, SourceDictionary):
            raise ParameterError(f"{label} must be a SourceDictionary, got {type(d).__name__}")


def stft_settings(noise_dictionary, speech_dictionary, stft_params):
    """The dictionaries' STFT settings (which must agree with each other and with
    ``stft_params`` when given), else ``stft_params`` (None: the caller's default)."""
    from .stft import check_stft_params

    if stft_params is not None:
        check_stft_params(stft_params)
    ref = noise_dictionary or speech_dictionary
    if ref is None:
        return stft_params
    params = ref.stft
    for d in (noise_dictionary, speech_dictionary):
        if d is not None and d.stft != params:
            raise ParameterError(
                f"noise and speech dictionaries have different STFT settings: "
                f"{noise_dictionary.stft} vs {speech_dictionary.stft}"
            )
    if stft_params is not None and stft_params != params:
        raise ParameterError(f"stft_params={stft_params} conflicts with the dictionary's {params}")
    return params


def model_settings(noise_dictionary, speech_dictionary, default_beta):
    """``(beta, power)`` of a denoising model.

    The dictionaries' spectrogram power (both must describe the same spectrogram) and
    β (the speech dictionary's when both are given); ``default_beta`` on magnitudes without any.
    """
    given = [d for d in (speech_dictionary, noise_dictionary) if d is not None]
    if not given:
        return default_beta, 1.0
    first = given[0]
    for d in given[1:]:
        if d.power != first.power:
            raise ParameterError(
                f"speech and noise dictionaries model different spectrograms: {first.name!r} has "
                f"power={first.power}, {d.name!r} has power={d.power}; expected the same power"
            )
    return float(first.beta), float(first.power)
