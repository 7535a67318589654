"""What a job of ``nmfaudio serve`` does: run the public API on its inputs, publish the results.

Every mode reads the files the upload left in the job's folder and writes its
outputs into ``<job folder>/out``: one WAV per source, the mixture, a
spectrogram PNG of each (drawn with :mod:`nmfaudio.display`, on one dB scale)
and a zip of all sources. Only the files listed in ``job.files`` can be
downloaded.

Modes
-----
unsupervised  ``separate_file(..., n_sources=N)``
instruments   ``separate_file(..., dictionaries=[load_model(name), ...])`` (bundled models)
dictionaries  uploaded ``.npz`` dictionaries and/or dictionaries learned from uploaded clips
denoise       ``denoise_file`` with a noise sample file, ``noise_region=(start, end)`` or blind
drums         ``split_drums`` (no progress reports: cancelling waits for it to finish)
"""

from __future__ import annotations

import threading
import zipfile
from pathlib import Path

from ..exceptions import ParameterError

__all__ = ["run_job", "MODES"]

MODES = ("unsupervised", "instruments", "dictionaries", "denoise", "drums")

# pyplot keeps global state: draw one figure at a time, whatever the number of workers.
_PLOT_LOCK = threading.Lock()

# Share of the progress bar each phase takes.
_WORK_START, _WORK_END = 0.03, 0.88


def run_job(job):
    """Run ``job.spec`` and fill ``job.files`` / ``job.results`` (raises on failure or cancel)."""
    from ..io import load

    spec = job.spec
    out = job.folder / "out"
    out.mkdir(exist_ok=True)
    job.progress(0.01, "reading the audio")
    y0, sr0 = load(spec["audio"])
    runner = {"unsupervised": _unsupervised, "instruments": _instruments,
              "dictionaries": _dictionaries, "denoise": _denoise, "drums": _drums}[spec["mode"]]
    paths, sources, sr = runner(job, spec, out, y0, sr0)
    job.progress(_WORK_END, "drawing spectrograms")
    _publish(job, out, y0, sr0, paths, sources, sr)
    job.progress(1.0, "done")


def _iterations(spec, default):
    return spec.get("iterations") or default


def _unsupervised(job, spec, out, y0, sr0):
    from ..files import separate_file
    from ..separate import UNSUPERVISED_ITER

    n_iter = _iterations(spec, UNSUPERVISED_ITER)
    res = separate_file(spec["audio"], out, n_sources=spec["sources"], max_iter=n_iter,
                        callback=job.callback(_WORK_START, _WORK_END - _WORK_START, n_iter,
                                              f"separating into {spec['sources']} sources"))
    return res.paths, res.sources, res.processing_sr


def _supervised(job, spec, out, dicts, start=_WORK_START):
    from ..files import separate_file
    from ..supervised import supervised_settings

    residual = spec.get("residual", 0)
    n_iter = supervised_settings(dicts, n_free=residual, max_iter=spec.get("iterations"))[0]
    res = separate_file(spec["audio"], out, dictionaries=dicts, n_free=residual,
                        max_iter=spec.get("iterations"),
                        callback=job.callback(start, _WORK_END - start, n_iter,
                                              "separating with " + ", ".join(d.name for d in dicts)))
    return res.paths, res.sources, res.processing_sr


def _instruments(job, spec, out, y0, sr0):
    from ..models import load_model

    job.progress(0.02, "loading the models")
    return _supervised(job, spec, out, [load_model(n) for n in spec["instruments"]])


def _dictionaries(job, spec, out, y0, sr0):
    from ..dictionary import SourceDictionary, learn_dictionary
    from ..io import load

    dicts = [SourceDictionary.load(p) for p in spec.get("dictionaries", ())]
    clips = spec.get("clips", ())
    train_end = 0.5 if clips else _WORK_START
    span = (train_end - _WORK_START) / max(1, len(clips))
    for i, (name, path) in enumerate(clips):
        ref = dicts[0] if dicts else None
        y, sr = load(path, sr=ref.sr if ref is not None else sr0)
        kw = {} if ref is None else {"stft_params": ref.stft, "beta": ref.beta, "power": ref.power}
        stage = f"learning {name!r} from its clip ({i + 1} of {len(clips)})"
        dicts.append(learn_dictionary(y, sr, name=name, max_iter=200,
                                      callback=job.callback(_WORK_START + i * span, span, 200, stage),
                                      **kw))
        job.progress(_WORK_START + (i + 1) * span)
    if not dicts:
        raise ParameterError("the dictionaries mode needs at least one .npz dictionary or training clip")
    return _supervised(job, spec, out, dicts, start=train_end)


def _denoise(job, spec, out, y0, sr0):
    from ..files import denoise_file

    noise, region = spec.get("noise"), spec.get("region")
    kw = {} if region is None else {"noise_region": tuple(region)}  # checked by the API
    n_iter = _iterations(spec, 100)
    what = ("from the noise sample" if noise is not None else "from the noise region" if region
            else "blind (noise floor)")
    res = denoise_file(spec["audio"], out / "clean.wav", noise=noise, noise_out=out / "noise.wav",
                       max_iter=n_iter, callback=job.callback(_WORK_START, _WORK_END - _WORK_START,
                                                              n_iter, f"denoising {what}"), **kw)
    return res.paths, res.sources, res.processing_sr


def _drums(job, spec, out, y0, sr0):
    from ..drums import DRUMS, split_drums
    from ..io import save_many

    job.progress(_WORK_START, "splitting kick, snare and hi-hat (no progress for this mode)")
    kw = {"max_iter": spec["iterations"]} if spec.get("iterations") else {}
    sources = split_drums(y0, sr0, **kw)
    job.progress(_WORK_END - 0.01)
    written = save_many({out / f"{n}.wav": (sources[n], sr0) for n in DRUMS})
    return dict(zip(DRUMS, written)), sources, sr0


def _spectrogram(y, sr, path, ref, title):
    from .. import display

    with _PLOT_LOCK:
        img = display.plot_spectrogram(y, sr=sr, ref=ref, title=title, colorbar=False)
        img.figure.set_size_inches(8, 2.6)
        display.save_figure(img.figure, path, dpi=72)


def _reference(y):
    """Largest STFT magnitude of ``y`` (channels averaged), the 0 dB of every spectrogram."""
    import numpy as np

    from ..stft import STFTParams, stft

    M = np.abs(stft(y, stft_params=STFTParams(n_fft=2048)))
    if M.ndim == 3:
        M = M.mean(axis=0)
    return max(float(M.max()), 1e-12)


def _publish(job, out, y0, sr0, paths, sources, sr):
    from ..io import save

    track = job.spec.get("track") or "mix"
    files = {"mixture.wav": (save(out / "mixture-input.wav", y0, sr0), f"{track}.wav")}
    ref = _reference(y0)
    _spectrogram(y0, sr0, out / "mixture.png", ref, "mixture")
    files["mixture.png"] = (out / "mixture.png", f"{track}.png")
    entries = []
    for i, (name, path) in enumerate(paths.items(), start=1):
        job.progress(_WORK_END + (1 - _WORK_END) * i / (len(paths) + 1), f"drawing {name}")
        image = out / f"spectrogram-{i}.png"
        _spectrogram(sources[name], sr, image, ref, name)
        files[f"s{i}.wav"] = (Path(path), f"{track}-{name}.wav")
        files[f"s{i}.png"] = (image, f"{track}-{name}.png")
        entries.append({"name": name, "audio": f"s{i}.wav", "image": f"s{i}.png",
                        "download": f"{track}-{name}.wav"})
    archive = out / "sources.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_STORED) as zf:
        for name, path in paths.items():
            zf.write(path, f"{track}/{name}.wav")
    files["all.zip"] = (archive, f"{track}-sources.zip")
    job.files = files
    job.results = {"track": track, "mode": job.spec["mode"], "sample_rate": int(sr0),
                   "duration_seconds": round(y0.shape[-1] / sr0, 3),
                   "mixture": {"audio": "mixture.wav", "image": "mixture.png", "download": f"{track}.wav"},
                   "sources": entries, "zip": "all.zip", "zip_download": f"{track}-sources.zip"}
