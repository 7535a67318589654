"""One spelling per concept: the renamed keywords, and their old names still working.

``stft_params=`` is the STFT settings everywhere (was ``params=`` in stft/istft/spectrogram and
``stft=`` in learn_dictionary); ``mask_power=`` is the soft-mask exponent everywhere (was
``power=`` in soft_masks and oracle_separate). The old names give the same result with a
DeprecationWarning naming the new one.
"""

import ast
import inspect
import warnings
from pathlib import Path

import numpy as np
import pytest

import nmfaudio
from nmfaudio import ParameterError, STFTParams
from nmfaudio._checks import renamed_keywords
from nmfaudio.dictionary import spectrogram

ROOT = Path(__file__).resolve().parents[1]
SR = 8000
P = STFTParams(n_fft=256, hop_length=64)


def _y():
    t = np.arange(SR) / SR
    rng = np.random.default_rng(0)
    return (np.sin(2 * np.pi * 440 * t) + 0.1 * rng.standard_normal(t.size)).astype(np.float32)


def _est():
    return np.random.default_rng(1).random((2, 5, 7)).astype(np.float32)


P2 = STFTParams(n_fft=256, hop_length=128)

# name: (function, positional args, old keyword, new keyword, value, another value)
CASES = {
    "stft": (nmfaudio.stft, lambda: (_y(),), "params", "stft_params", P, P2),
    "istft": (nmfaudio.istft, lambda: (nmfaudio.stft(_y(), stft_params=P),), "params", "stft_params", P, P2),
    "spectrogram": (spectrogram, lambda: (_y(),), "params", "stft_params", P, P2),
    "learn_dictionary": (lambda y, **kw: nmfaudio.learn_dictionary(y, SR, name="x", n_components=2,
                                                                   max_iter=5, pitch_shifts=(), **kw),
                         lambda: (_y(),), "stft", "stft_params", P, STFTParams(n_fft=128)),
    "soft_masks": (nmfaudio.soft_masks, lambda: (_est(),), "power", "mask_power", 1.0, 3.0),
    "oracle_separate": (lambda s, **kw: nmfaudio.oracle_separate(s, n_fft=256, **kw),
                        lambda: (np.stack([_y(), np.roll(_y(), 100)]),), "power", "mask_power", 1.0, 3.0),
}


def _arrays(out):
    if isinstance(out, tuple):
        return list(out)
    if isinstance(out, nmfaudio.SourceDictionary):
        return [out.W]
    return [out]


@pytest.mark.parametrize("case", sorted(CASES))
def test_old_keyword_warns_and_gives_the_same_result(case):
    fn, args, old, new, value, other = CASES[case]
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        expected = fn(*args(), **{new: value})
    with pytest.warns(DeprecationWarning, match=rf"\({old}=\.\.\.\) is deprecated; use .*\({new}=\.\.\.\)"):
        got = fn(*args(), **{old: value})
    for a, b in zip(_arrays(expected), _arrays(got), strict=True):
        assert np.array_equal(a, b)
    # the old keyword is not ignored: another value gives another result
    with pytest.warns(DeprecationWarning):
        changed = fn(*args(), **{old: other})
    assert not all(np.array_equal(a, b) for a, b in zip(_arrays(expected), _arrays(changed)))
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        assert all(np.array_equal(a, b) for a, b in zip(_arrays(fn(*args(), **{new: other})),
                                                         _arrays(changed)))


@pytest.mark.parametrize("case", sorted(CASES))
def test_both_spellings_at_once_is_a_parameter_error(case):
    fn, args, old, new, value, _ = CASES[case]
    with pytest.raises(ParameterError, match=rf"both {old}= and {new}="):
        fn(*args(), **{old: value, new: value})


@pytest.mark.parametrize("fn, old, new", [
    (nmfaudio.stft, "params", "stft_params"), (nmfaudio.istft, "params", "stft_params"),
    (spectrogram, "params", "stft_params"), (nmfaudio.learn_dictionary, "stft", "stft_params"),
    (nmfaudio.soft_masks, "power", "mask_power"), (nmfaudio.oracle_separate, "power", "mask_power"),
])
def test_signature_and_docstring_show_the_new_name_only(fn, old, new):
    params = inspect.signature(fn).parameters
    assert new in params and old not in params
    assert fn.renamed_keywords == {old: new}
    assert f"{new} : " in fn.__doc__ and f"\n    {old} : " not in fn.__doc__


def test_unknown_keywords_still_raise_type_error():
    with pytest.raises(TypeError):
        nmfaudio.stft(_y(), stft_parms=P)


def test_the_decorator_keeps_name_docstring_and_positional_arguments():
    @renamed_keywords(power="mask_power")
    def f(x, *, mask_power=2.0):
        """Doc."""
        return x ** mask_power

    assert f.__name__ == "f" and f.__doc__ == "Doc." and f(3.0) == 9.0 and f(3.0, mask_power=1) == 3.0


OLD = {"stft": {"params"}, "istft": {"params"}, "spectrogram": {"params"}, "learn_dictionary": {"stft"},
       "soft_masks": {"power"}, "oracle_separate": {"power"}}


def _old_spelling_calls(path):
    hits = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call):
            name = getattr(node.func, "attr", None) or getattr(node.func, "id", None)
            for kw in node.keywords:
                if kw.arg in OLD.get(name, ()):
                    hits.append(f"{path.relative_to(ROOT)}:{node.lineno} {name}({kw.arg}=)")
    return hits


def test_nothing_in_the_repository_uses_the_old_spellings():
    hits = []
    for folder in ("nmfaudio", "examples", "benchmarks"):
        for path in (ROOT / folder).rglob("*.py"):
            hits += _old_spelling_calls(path)
    assert hits == []
