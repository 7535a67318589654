"""nmfaudio — sound source separation with non-negative matrix factorisation.

Data flow (each step a public function): audio → :func:`stft` → magnitude ``V``
``(n_freq, n_frames)`` → :func:`nmf` (``V ≈ W H``, ``W (n_freq, K)``,
``H (K, n_frames)``) → per-source estimates ``W_s H_s`` → :func:`soft_masks` →
:func:`apply_masks` on the mixture STFT → :func:`istft` → one waveform per source.
:func:`separate` chains them.
"""

from .exceptions import AudioFileError, ConvergenceWarning, NmfAudioError, ParameterError
from .io import load, save
from .stft import STFTParams, istft, magnitude, stft
from .streaming_stft import StreamingISTFT, StreamingSTFT
from .nmf import NMFResult, beta_divergence, nmf
from .masking import apply_masks, binary_masks, mask_sources, reconstruct_sources, soft_masks, sources_to_audio
from .grouping import group_components
from .separate import separate, separate_spectrogram
from .separation import Separation
from .supervised import separate_supervised_spectrogram
from .dictionary import SourceDictionary, learn_dictionary
from .denoise import denoise, denoise_sources, learn_noise_dictionary
from .evaluate import evaluate, si_sdr
from .oracle import oracle_separate
from .batch import BatchReport, separate_many
from .nmfd import NMFDResult, nmfd, nmfd_reconstruct
from .drums import drum_templates, split_drums
from .stream import separate_stream
from .denoise_stream import denoise_stream
from .realtime import StreamSeparator
from .realtime_denoise import StreamDenoiser
from .models import list_models, load_model
from .files import denoise_file, separate_file, split_drums_file

__version__ = "0.1.0"


def __getattr__(name):
    # The scikit-learn estimator is imported on first use: importing scikit-learn costs
    # ~0.9 s, which every `import nmfaudio` (and every CLI call) would otherwise pay.
    if name == "NMF":
        from .estimator import NMF

        return NMF
    raise AttributeError(f"module 'nmfaudio' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | {"NMF"})

__all__ = [
    "AudioFileError", "ConvergenceWarning", "NmfAudioError", "ParameterError",
    "load", "save", "STFTParams", "stft", "istft", "magnitude", "StreamingSTFT", "StreamingISTFT",
    "NMFResult", "beta_divergence", "nmf", "NMF",
    "soft_masks", "binary_masks", "apply_masks", "mask_sources", "reconstruct_sources",
    "sources_to_audio", "group_components",
    "Separation", "separate", "separate_spectrogram", "separate_supervised_spectrogram",
    "SourceDictionary", "learn_dictionary", "denoise", "denoise_sources", "learn_noise_dictionary", "__version__",
    "evaluate", "si_sdr", "oracle_separate",
    "separate_many", "BatchReport",
    "NMFDResult", "nmfd", "nmfd_reconstruct", "drum_templates", "split_drums",
    "separate_stream", "denoise_stream", "StreamSeparator", "StreamDenoiser", "list_models", "load_model", "separate_file",
    "denoise_file", "split_drums_file",
]
