"""Every script in examples/ runs (fast configuration) and produces its outputs."""

import doctest
import importlib
import inspect
import runpy
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

import nmfaudio  # noqa: E402

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"

CASES = {
    "separate_instruments.py": (["piano.wav", "flute.wav", "piano.npz", "flute.npz",
                                 "separate_instruments.png"], ["piano: SNR", "flute: SNR"]),
    "denoise_speech.py": (["clean.wav", "denoise_speech.png"], ["SNR before", "SNR after"]),
    "unsupervised_split.py": (["source1.wav", "source2.wav", "unsupervised_split.png",
                               "unsupervised_masks.png"], ["closest to"]),
    "separate_as_if_live.py": (["piano.wav", "flute.wav"],
                               ["block time: median", "p99", "real-time factor", "streamed vs offline"]),
    "sklearn_librosa_interop.py": (["librosa_decompose.png"],
                                   ["W (513, 8) (n_freq, K), H (8, 431) (K, n_frames)",
                                    "GridSearchCV chose", "accuracy on unseen music"]),
}


def test_every_example_is_tested():
    scripts = {p.name for p in EXAMPLES.glob("*.py") if not p.name.startswith("_")}
    assert scripts == set(CASES)


@pytest.mark.parametrize("script", sorted(CASES))
def test_example_runs(script, tmp_path, monkeypatch, capsys):
    monkeypatch.syspath_prepend(str(EXAMPLES))
    monkeypatch.chdir(tmp_path)
    module = runpy.run_path(str(EXAMPLES / script), run_name="example")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", nmfaudio.ConvergenceWarning)
        assert module["main"](["--out", str(tmp_path / "out"), "--fast"]) == 0
    plt.close("all")
    files, phrases = CASES[script]
    out = capsys.readouterr().out
    for name in files:
        path = tmp_path / "out" / name
        assert path.exists() and path.stat().st_size > 0, name
    for phrase in phrases:
        assert phrase in out
    for png in (tmp_path / "out").glob("*.png"):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    if script == "denoise_speech.py":
        # even in the fast configuration, denoising beats doing nothing
        snr = {k: float(v.split()[0]) for k, v in
               (line.split(":") for line in out.splitlines() if line.startswith("SNR"))}
        assert snr["SNR after"] > snr["SNR before"] + 2
    if script == "separate_as_if_live.py":
        # the block-by-block outputs, latency removed, are the offline separation
        diffs = [float(line.rsplit(" ", 1)[1]) for line in out.splitlines() if "max |diff|" in line]
        assert len(diffs) == 2 and max(diffs) < 1e-5
        mix, _ = nmfaudio.load(EXAMPLES.parent / "audio_fixtures" / "music" / "mix.wav")
        assert nmfaudio.load(tmp_path / "out" / "piano.wav")[0].shape == mix.shape


def _public_objects():
    import nmfaudio.display

    for mod, names in ((nmfaudio, nmfaudio.__all__), (nmfaudio.display, nmfaudio.display.__all__)):
        for name in names:
            obj = getattr(mod, name)
            if inspect.isclass(obj) and issubclass(obj, BaseException):
                continue
            if inspect.isfunction(obj) or inspect.isclass(obj):
                yield f"{mod.__name__}.{name}", obj


def test_public_docstrings_have_shapes_sections_and_examples():
    missing = []
    for qualname, obj in _public_objects():
        doc = inspect.getdoc(obj) or ""
        sections = ["Examples", "Attributes" if inspect.isclass(obj) and "Attributes" in doc else "Parameters"]
        if inspect.isfunction(obj):
            sections.append("Returns")
        missing += [f"{qualname}: {s}" for s in sections if f"{s}\n--" not in doc]
    assert missing == []


def _all_modules():
    """Every module of the package (one collector, no hand-kept list); __main__ would run the CLI."""
    import pkgutil

    return sorted(m.name for m in pkgutil.walk_packages(nmfaudio.__path__, "nmfaudio.")
                  if not m.name.endswith("__main__"))


def test_module_collector_sees_the_package():
    names = _all_modules()
    assert {"nmfaudio.nmf", "nmfaudio.nmfd", "nmfaudio.drums", "nmfaudio.cli.separate"} <= set(names)


@pytest.mark.parametrize("module", _all_modules())
def test_docstring_examples_run(module, monkeypatch):
    monkeypatch.chdir(EXAMPLES.parent)
    mod = importlib.import_module(module)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", nmfaudio.ConvergenceWarning)
        result = doctest.testmod(mod, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    plt.close("all")
    assert result.failed == 0
