"""nmfaudio.display: figures are labelled, validated, and matplotlib stays out of `import nmfaudio`."""

import os
import subprocess
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import nmfaudio  # noqa: E402
from nmfaudio import ParameterError  # noqa: E402
from nmfaudio import display  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture
def sep_result(two_tone):
    sr, a, b = two_tone
    y = a + b
    params = nmfaudio.STFTParams(n_fft=512)
    sep = nmfaudio.separate_spectrogram(nmfaudio.stft(y, stft_params=params), sr=sr, n_sources=2,
                                        n_components=6, max_iter=30)
    sources = {n: nmfaudio.istft(S, stft_params=params, length=len(y)) for n, S in zip(sep.names, sep.S_sources)}
    return sr, y, sources, sep, params


def test_import_nmfaudio_does_not_import_matplotlib():
    code = ("import sys, nmfaudio, nmfaudio.cli, nmfaudio.cli.plot, nmfaudio.cli._progress\n"
            "nmfaudio.cli.get_parser()\n"
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('matplotlib', 'tqdm'))\n"
            "print(bad)\nsys.exit(1 if bad else 0)\n")
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    res = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr


def test_matplotlib_imported_only_in_display():
    display = ROOT / "nmfaudio" / "display"
    assert (display / "__init__.py").exists()
    offenders = []
    for path in (ROOT / "nmfaudio").rglob("*.py"):
        if display in path.parents:
            continue
        text = path.read_text(encoding="utf-8")
        if "import matplotlib" in text or "from matplotlib" in text:
            offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


def test_spectrogram_is_labelled_in_hz_seconds_db(two_tone):
    sr, a, _ = two_tone
    img = display.plot_spectrogram(a, sr=sr, n_fft=512, title="tone")
    ax = img.axes
    assert ax.get_ylabel() == "Hz" and ax.get_xlabel() == "Time (s)" and ax.get_title() == "tone"
    assert img.get_clim() == (-80.0, 0.0)
    cbar_labels = [other.get_ylabel() for other in img.figure.axes if other is not ax]
    assert any("dB" in lab for lab in cbar_labels)
    assert ax.get_yscale() == "symlog"  # librosa's log-frequency axis
    # time axis covers the clip (1 s)
    assert ax.get_xlim()[1] == pytest.approx(1.0, abs=0.1)


def test_spectrogram_accepts_waveform_stft_and_magnitude_alike(two_tone):
    sr, a, _ = two_tone
    S = nmfaudio.stft(a, n_fft=512)
    imgs = [display.plot_spectrogram(x, sr=sr, n_fft=512, colorbar=False) for x in (a, S, np.abs(S))]
    arrays = [np.asarray(i.get_array()) for i in imgs]
    np.testing.assert_allclose(arrays[0], arrays[1], atol=1e-4)
    np.testing.assert_allclose(arrays[0], arrays[2], atol=1e-4)


def test_spectrogram_ref_makes_quiet_signals_look_quiet(two_tone):
    sr, a, _ = two_tone
    loud = display.plot_spectrogram(a, sr=sr, n_fft=512, colorbar=False)
    quiet = display.plot_spectrogram(0.01 * a, sr=sr, n_fft=512, colorbar=False,
                                     ref=float(np.abs(nmfaudio.stft(a, n_fft=512)).max()))
    assert np.max(loud.get_array()) == pytest.approx(0.0, abs=1e-6)
    assert np.max(quiet.get_array()) == pytest.approx(-40.0, abs=0.1)


@pytest.mark.parametrize("kwargs, match", [
    ({"y_axis": "banana"}, "y_axis='banana'"),
    ({"top_db": -3}, "top_db=-3"),
    ({"sr": 0}, "sr=0"),
    ({"ref": 0.0}, "ref=0.0"),
])
def test_spectrogram_validation(two_tone, kwargs, match):
    sr, a, _ = two_tone
    kw = {"sr": sr, "n_fft": 512, **kwargs}
    with pytest.raises(ParameterError, match=match):
        display.plot_spectrogram(a, **kw)


def test_spectrogram_rejects_3d_real_input():
    with pytest.raises(ParameterError, match="shape"):
        display.plot_spectrogram(np.ones((2, 3, 4)), sr=8000)


def test_templates_grouped_by_source(rng):
    W = rng.random((257, 5))
    W_before = W.copy()
    img = display.plot_templates(W, sr=8000, labels=[1, 0, 1, 0, 1], names=["low", "high"])
    ax = img.axes
    assert [t.get_text() for t in ax.get_xticklabels()] == ["low", "high"]
    # sorted labels [0, 0, 1, 1, 1]: cells are centred on integers, the separator sits between 1 and 2
    assert list(ax.get_xticks()) == [0.5, 3.0]
    assert [line.get_xdata()[0] for line in ax.lines] == [1.5]
    assert ax.get_ylabel() == "Hz"
    # columns are sorted by source: first the two label-0 columns (1 and 3)
    D = np.asarray(img.get_array()).reshape(257, 5)
    expected = 20 * np.log10(W[:, 1] / W[:, 1].max())
    np.testing.assert_allclose(D[:, 0], np.maximum(expected, -60), atol=1e-6)
    np.testing.assert_array_equal(W, W_before)
    with pytest.raises(ParameterError, match=r"labels has shape \(3,\)"):
        display.plot_templates(W, sr=8000, labels=[0, 1, 0])
    with pytest.raises(ParameterError, match="non-negative"):
        display.plot_templates(-W, sr=8000)


def test_activations_time_axis_and_groups(rng):
    H = rng.random((4, 100))
    img = display.plot_activations(H, sr=8000, hop_length=80, labels=[0, 1, 1, 0], names=["a", "b"])
    ax = img.axes
    assert ax.get_xlabel() == "Time (s)"
    assert ax.get_xlim()[1] == pytest.approx(1.0, abs=0.02)  # 100 frames x 80 / 8000 Hz
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "b"]
    with pytest.raises(ParameterError, match="hop_length=0"):
        display.plot_activations(H, sr=8000, hop_length=0)


def test_masks(rng):
    m = rng.random((129, 30))
    img = display.plot_mask(m, sr=8000)
    assert img.get_clim() == (0.0, 1.0)
    fig = display.plot_masks(np.stack([m, 1 - m]), sr=8000, names=["x", "y"])
    titles = [ax.get_title(loc="left") for ax in fig.axes]
    assert "Mask: x" in titles and "Mask: y" in titles
    with pytest.raises(ParameterError, match="within"):
        display.plot_mask(m + 1.5, sr=8000)


def test_plot_separation_layout(sep_result):
    sr, y, sources, sep, params = sep_result
    fig = display.plot_separation(y, sources, sr=sr, separation=sep, stft_params=params, title="T")
    titles = [ax.get_title(loc="left") for ax in fig.axes]
    assert titles[:3] == ["Mixture", "Source 1: source1", "Source 2: source2"]
    assert any(ax.get_title() == "Templates W" for ax in fig.axes)
    assert any(t.startswith("Activations H") for t in titles)
    # activations share the spectrograms' time axis
    H_ax = next(ax for ax in fig.axes if ax.get_title(loc="left").startswith("Activations"))
    assert H_ax.get_xlim() == fig.axes[0].get_xlim()
    assert fig._suptitle.get_text() == "T"


def test_plot_separation_without_nmf_and_validation(sep_result):
    sr, y, sources, sep, params = sep_result
    fig = display.plot_separation(y, sources, sr=sr, stft_params=params)
    assert not any(ax.get_title() == "Templates W" for ax in fig.axes)
    with pytest.raises(ParameterError, match="source 'source1' has shape"):
        display.plot_separation(y, {"source1": y[:-1]}, sr=sr)
    with pytest.raises(ParameterError, match="257 frequency bins but stft_params gives 1025"):
        display.plot_separation(y, sources, sr=sr, separation=sep)  # default n_fft 2048
    with pytest.raises(ParameterError, match="non-empty dict"):
        display.plot_separation(y, {}, sr=sr)


def test_plot_dictionary(rng):
    d = nmfaudio.SourceDictionary(name="hiss", W=rng.random((257, 6)), sr=8000,
                                  stft=nmfaudio.STFTParams(n_fft=512))
    fig = display.plot_dictionary([d, d])
    assert "hiss" in fig.axes[0].get_title() and "K=6" in fig.axes[0].get_title()
    with pytest.raises(ParameterError, match="SourceDictionary"):
        display.plot_dictionary([np.ones((3, 3))])


def test_save_figure(tmp_path, rng):
    fig = display.plot_mask(rng.random((65, 10)), sr=8000).figure
    out = display.save_figure(fig, tmp_path / "sub" / "m.png")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    fig2 = display.plot_mask(rng.random((65, 10)), sr=8000).figure
    with pytest.raises(nmfaudio.AudioFileError, match="already exists"):
        display.save_figure(fig2, out)
    fig3 = display.plot_mask(rng.random((65, 10)), sr=8000).figure
    with pytest.raises(ParameterError, match="must end in"):
        display.save_figure(fig3, tmp_path / "m.jpg")
    assert sorted(p.name for p in (tmp_path / "sub").iterdir()) == ["m.png"]  # no temporaries left
