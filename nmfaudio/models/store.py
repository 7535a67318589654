"""On-disk format of the bundled models: how they are written and read.

A bundled model is an ``.npz`` (zip) file with two entries: ``W`` — the templates
``(n_freq, K)`` stored as float16, each column scaled to a maximum of 1 — and
``metadata``, the JSON of :meth:`nmfaudio.SourceDictionary.metadata`. Reading
returns float32 templates normalised to unit sum per column (the dictionary
convention), never unpickling anything. ``index.json`` beside the files lists
every model with its kind, training material and licence, so that listing the
library opens no model.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np

from ..dictionary import SourceDictionary
from ..exceptions import AudioFileError
from ..stft import STFTParams

__all__ = ["write_model", "read_model", "write_index", "INDEX_FILE"]

INDEX_FILE = "index.json"


def write_model(d: SourceDictionary, path) -> Path:
    """Write ``d`` as a compressed model file (float16 templates); returns the path."""
    path = Path(path)
    W = np.asarray(d.W, dtype=np.float64)
    peak = W.max(axis=0)
    W16 = (W / np.where(peak > 0, peak, 1.0)).astype(np.float16)
    buf = io.BytesIO()
    np.savez_compressed(buf, W=W16, metadata=np.array(json.dumps(d.metadata())))
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(buf.getvalue())
    tmp.replace(path)
    return path


def read_model(data: bytes, *, where: str = "model") -> SourceDictionary:
    """A :class:`SourceDictionary` from the bytes of a model file (float32 ``W``, unit-sum columns)."""
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            W = np.asarray(npz["W"], dtype=np.float32)
            meta = json.loads(str(npz["metadata"]))
        sums = W.sum(axis=0, dtype=np.float64)
        W = (W / np.where(sums > 0, sums, 1.0)).astype(np.float32)
        return SourceDictionary(name=meta["name"], W=W, sr=meta["sr"], stft=STFTParams.from_dict(meta["stft"]),
                                beta=meta["beta"], power=meta["power"], info=meta.get("info", {}))
    except Exception as exc:  # a broken package file: say which one
        raise AudioFileError(f"bundled {where} is damaged: {exc}") from None


def write_index(folder) -> Path:
    """(Re)write ``index.json`` in ``folder`` from the model files found there."""
    folder = Path(folder)
    entries = []
    for f in sorted(folder.glob("*.npz")):
        d = read_model(f.read_bytes(), where=f.name)
        info = d.info
        entries.append({
            "name": d.name, "file": f.name, "kind": info["kind"], "sr": d.sr,
            "n_components": d.n_components, "n_fft": d.stft.n_fft, "hop_length": d.stft.hop_length,
            "bytes": f.stat().st_size, "training_material": info["training_material"],
            "licence": info["licence"], "train_seconds": info["train_seconds"],
            "recipe": info.get("recipe") or (f"nmf, K={info['learned_components']} on all the material, "
                                             f"{info['pruned']} pruned" if "learned_components" in info
                                             else "unknown"),
        })
    entries.sort(key=lambda e: e["name"])  # by name ("speech" before "speech-voices"), not file name
    path = folder / INDEX_FILE
    path.write_text(json.dumps({"format": "nmfaudio-models", "version": 1, "models": entries}, indent=1) + "\n")
    return path
