"""Denoising of long recordings, file to file, in bounded memory (:func:`denoise_stream`).

:func:`nmfaudio.denoise` holds the whole complex STFT, the magnitudes and the models
(~1.2 GB for 3 minutes at 44.1 kHz). Here the file is read twice, a block at a time:

1. *survey* (only when some templates are learned on the input beside a noise sample,
   region or dictionary, or a speech dictionary): the magnitudes of every frame, keeping an
   evenly spaced subsample of at most :data:`SUBSAMPLE_FRAMES` frames (fewer in a file of a
   few minutes, :func:`default_subsample`). The free templates
   are learned on that subsample as :func:`nmfaudio.denoise` learns them on all frames;
2. with every template fixed, each frame is its own problem: its activations are solved
   from the frame alone, then the masks and the overlap-add inverse STFT, and samples are
   written once final. Block boundaries are
   invisible: the result does not depend on the block size beyond float rounding.

With both models fixed (a speech dictionary and a noise dictionary, or a noise sample with
``voice_model=False``) nothing is learned on the input and the result equals
:func:`nmfaudio.denoise` up to float rounding; beside a speech dictionary and a noise sample the
voice model (the default) is fitted on the subsample of pass 1, as in the other modes.

Blind (no noise model given), the file is read once: :func:`nmfaudio.denoise` fits local models
on overlapping segments of :data:`nmfaudio._segments.SECONDS` (each its own factorisation, the
noise learned from that segment's minimum-statistics floor, the models cross-faded), and so does
the stream, one segment at a time, with the same result up to float rounding. With
``segment_seconds=inf`` blind files take the two passes above instead (the noise learned from
the floor at the subsample's frames).
"""

from __future__ import annotations

import contextlib
import importlib
import os
from pathlib import Path

import numpy as np

from ._checks import check_finite_float, check_positive_int, check_seed, valid_audio
from ._options import check_denoise_options, check_input_model_options
from . import _denoise_blocks as blocks
from . import _regions, _segments
from .exceptions import AudioFileError, ParameterError

__all__ = ["denoise_stream"]

# the module, not the function nmfaudio.denoise (its constants are read when called)
_dn = importlib.import_module(".denoise", __package__)

#: At most this many frames (all channels) are gathered, evenly spaced over the file, to learn
#: the free templates on (2048 frames = 48 s at 44.1 kHz with the default 1024-sample hop).
#: Learning costs ~3 s at this size. Tune part (18 six-second items of ~259 frames, noise
#: sample): learning on 128 of them cost 0.13 dB SDR against all, on 64 0.55 dB
#: (benchmarks/quality/tune_denoise_long.py; RESULTS.md).
SUBSAMPLE_FRAMES = 2048
#: ... but by default no more than SUBSAMPLE_SHARE of the file's frames, nor fewer than
#: SUBSAMPLE_MIN (when the file has them): learning costs in proportion to the subsample, which is
#: most of the time a few-minute file takes. 9 tune-part items of 183 s, noise sample
#: (benchmarks/quality/long_items.py; RESULTS.md): 1024 frames instead of 2048 -0.03 dB SI-SDR
#: (2 items better, 2 worse), 512 -0.06 dB.
SUBSAMPLE_SHARE = 1 / 8
SUBSAMPLE_MIN = 1024
#: Iterations of each frame's solve (plain multiplicative updates, which keep every frame's
#: result independent of the others, so that block boundaries are invisible) once the
#: templates are fixed, when some were learned; fully supervised runs take ``max_iter``, as
#: :func:`nmfaudio.denoise`. Tune part, noise sample, SDR against the offline denoise: 5 plain
#: -0.46 dB, 10 plain -0.12, 20 plain +0.09 (STOI .806 / .808 vs .808 offline) at half the
#: speed; the accelerated steps (+0.13 at 10) are not frame-local to the bit (their per-frame
#: safeguard flips on rounding that depends on the block), so they are off.
FRAME_ITER = 10
#: Whether those frame solves take the accelerated steps (see FRAME_ITER).
FRAME_ACCELERATE = False
#: Plain iterations of each frame's solve in the universal speech model (nmfaudio._usm); None:
#: FRAME_ITER. Tune part, SDR against the offline denoise with a noise sample (region): 10
#: -0.49 (-0.53) dB, 20 -0.29 (-0.32), 30 -0.19 (-0.22), 50 -0.11 (-0.12); 10 minutes at
#: 44.1 kHz ran at 69x / 63x / 54x real time with 10 / 20 / 30, so 20 keeps a margin over 50x.
VOICE_FRAME_ITER = 20
#: Iterations of the voice model's fit on the subsample (nmfaudio._usm.frame_model); None:
#: ``max_iter`` (100), as :func:`nmfaudio.denoise` fits it on all frames. The 183-s tune items:
#: 50 -0.00 dB SI-SDR (2 better, 2 worse), but it saves only ~0.1 s once emptied voice blocks
#: are pruned every 5 iterations, so it stays None.
VOICE_FIT_ITER = None
#: Audio read per block by default (memory grows with it, not with the file's duration).
BLOCK_SECONDS = 10.0


def denoise_stream(path, out, *, noise=None, noise_region=None, noise_dictionary=None,
                   speech_dictionary=None, noise_out=None, n_noise_components=_dn.NOISE_COMPONENTS,
                   n_speech_components=_dn.SPEECH_COMPONENTS, sparsity=_dn.SPARSITY, mask_power=None,
                   stft_params=None, max_iter=_dn.DENOISE_ITER, frame_iter=None,
                   subsample_frames=None, block_seconds=BLOCK_SECONDS, random_state=0,
                   offset=0.0, duration=None, bit_depth=None, channel_mask=None, overwrite=False,
                   callback=None, segment_seconds=None, voice_model=True):
    """Denoise an audio file of any length into ``out``, block by block; memory stays bounded.

    Parameters
    ----------
    path : str or os.PathLike
        Noisy recording (any format libsndfile reads), at the dictionaries' rate if any.
    out : str or os.PathLike
        Output file; the extension picks the format (as :func:`nmfaudio.save`).
    noise : np.ndarray, str, os.PathLike or None
        A sample of the noise alone (samples at the file's rate, or a file read at it).
    noise_region : (start, end) or list of (start, end) or None
        Part(s) of the processed audio holding noise alone, in seconds from ``offset``.
    noise_dictionary, speech_dictionary, n_noise_components, n_speech_components, sparsity,
    mask_power, stft_params, random_state
        As in :func:`nmfaudio.denoise`.
    noise_out : str, os.PathLike or None
        Also write the removed noise here.
    max_iter : int > 0
        Iterations of the learning of the free templates (on the subsample), as ``max_iter``
        of :func:`nmfaudio.denoise`; with both models fixed, the plain iterations of each
        frame's solve (so that with ``voice_model=False`` the result equals :func:`nmfaudio.denoise`).
    frame_iter : int > 0 or None
        Plain iterations of each frame's solve once learned templates are fixed (default
        :data:`FRAME_ITER`).
    subsample_frames : int > 0 or None
        At most this many frames (over all channels), evenly spaced, to learn on; a shorter
        file is learned on all its frames. None: :data:`SUBSAMPLE_FRAMES` (2048), but no more
        than an eighth of the file's frames unless that is below :data:`SUBSAMPLE_MIN` (1024).
    block_seconds : float > 0
        Audio per block (memory grows with it, not with the duration).
    offset, duration : float
        Process ``duration`` seconds (default: to the end) from ``offset`` seconds in.
    bit_depth, channel_mask
        As for :func:`nmfaudio.save`.
    overwrite : bool
        Replace existing outputs (never the input). Outputs are written to temporary files
        renamed at the end, so a failure leaves no partial file.
    callback : callable or None
        ``callback(done, total)`` after every block, in seconds of audio: the survey (when
        templates are learned on a subsample) counts the first pass and the writing the
        second, so ``total`` is twice the duration then (else once).

    segment_seconds : float > 0 or None
        Blind only, as in :func:`nmfaudio.denoise`: the local models' segments (default 10 s),
        fitted one at a time in a single pass; ``float("inf")``: one model for the whole file,
        learned on the subsample as in the other modes (much faster on long files, but it does
        not follow a noise or a talker that changes; see ``docs/denoising.md``).
    voice_model : bool
        As in :func:`nmfaudio.denoise`. With a noise sample, region or dictionary (beside a
        speech dictionary: a sample or region) it is fitted on the subsample, then every frame is
        solved again with the voice blocks the subsample used (:data:`VOICE_FRAME_ITER` iterations).
        Beside a speech dictionary and a noise sample, region or dictionary, the input's own model
        (:func:`nmfaudio.denoise.with_input_model`) is also learned on the subsample and each frame's
        masks come from both (no second pass, unlike :func:`nmfaudio.denoise`).

    Returns
    -------
    paths : dict[str, pathlib.Path]
        ``{"clean": out}`` (and ``"noise"``).

    Notes
    -----
    With a noise sample, region or dictionary, or a speech dictionary, the free templates
    (speech, or the noise beside a speech dictionary) are learned on an evenly spaced
    subsample of at most ``subsample_frames`` frames instead of all of them; then every
    frame's activations are solved with all templates fixed (``frame_iter`` iterations, with
    the same sparsity), instead of being learned jointly with them. On the 6-second items of the
    quality benchmark (all frames learned on) this costs little; see ``docs/denoising.md``.
    The second pass :func:`nmfaudio.denoise` takes with a noise sample
    (:data:`nmfaudio.denoise.SAMPLE_SECOND_PASS`) is not taken here: the stream solves each frame
    once. With both models fixed and ``voice_model=False``, and blind with local models (segment
    by segment, as :func:`nmfaudio.denoise` fits them; ``subsample_frames`` and ``frame_iter``
    unused), the result equals :func:`nmfaudio.denoise` up to float rounding. The file is not resampled: a dictionary at another rate raises.

    Examples
    --------
    >>> import nmfaudio
    >>> nmfaudio.denoise_stream("talk.wav", "clean.wav", noise_region=(0, 1.5))  # doctest: +SKIP
    {'clean': PosixPath('clean.wav')}
    """
    import soundfile as sf

    from .io import check_output, load
    from .streaming_stft import StreamingSTFT

    _dn._check_dictionary_types(noise_dictionary, speech_dictionary)
    given = [n for n, v in (("noise", noise), ("noise_region", noise_region),
                            ("noise_dictionary", noise_dictionary)) if v is not None]
    if len(given) > 1:
        raise ParameterError(f"give only one of noise, noise_region and noise_dictionary; got {' and '.join(given)}")
    check_denoise_options(dict(noise=noise if noise_region is None else noise_region,
                                   noise_dictionary=noise_dictionary, speech_dictionary=speech_dictionary,
                                   n_noise_components=n_noise_components,
                                   n_speech_components=n_speech_components, sparsity=sparsity,
                                   segment_seconds=segment_seconds, voice_model=voice_model))
    if not isinstance(voice_model, (bool, np.bool_)):
        raise ParameterError(f"voice_model must be True or False, got {voice_model!r}")
    with_input = _dn.with_input_model(speech_dictionary, voice_model=voice_model, noise_dictionary=noise_dictionary,
                                      noise_sample=noise is not None or noise_region is not None)
    check_input_model_options(dict(noise=noise if noise_region is None else noise_region,
                                       noise_dictionary=noise_dictionary, speech_dictionary=speech_dictionary,
                                       n_speech_components=n_speech_components, sparsity=sparsity), with_input)
    Kn, Ks, sparsity, mask_power, max_iter = _dn._check_numbers(
        n_noise_components, n_speech_components, sparsity, mask_power, max_iter, speech_dictionary, with_input)
    frame_iter = check_positive_int(FRAME_ITER if frame_iter is None else frame_iter, "frame_iter")
    if subsample_frames is not None:
        subsample_frames = check_positive_int(subsample_frames, "subsample_frames")
    block_seconds = check_finite_float(block_seconds, "block_seconds", low=0.0, low_open=True)
    random_state = check_seed(random_state)
    segment_seconds = _segments.check_seconds(segment_seconds)
    if _dn.GAIN_SMOOTH:
        raise ParameterError("streaming needs frame-local gains; GAIN_SMOOTH must be 0")
    path = Path(os.fspath(path))
    targets = {"clean": Path(os.fspath(out))}
    if noise_out is not None:
        targets["noise"] = Path(os.fspath(noise_out))
        if targets["clean"].resolve() == targets["noise"].resolve():
            raise ParameterError(f"out and noise_out are the same file {str(out)!r}; give two paths")
    try:
        f = sf.SoundFile(str(path))
    except Exception as exc:
        raise AudioFileError(f"cannot read {str(path)!r}: {exc}") from None
    with f, contextlib.ExitStack() as stack:
        sr, C = f.samplerate, f.channels
        start, n = _excerpt(f, path, offset, duration)
        params = _dn.stft_settings(noise_dictionary, speech_dictionary, stft_params)
        params = params if params is not None else _dn.default_denoise_stft(sr)
        if not params.center or params.n_fft % params.hop_length:
            raise ParameterError(f"streaming needs a centred STFT whose hop divides n_fft; got {params}")
        for t in targets.values():
            check_output(t, sr=sr, bit_depth=bit_depth, source=path)
            if t.exists() and not overwrite:
                raise AudioFileError(f"{str(t)!r} already exists; pass overwrite=True (CLI: --overwrite)")
        for d in (noise_dictionary, speech_dictionary):
            if d is not None and d.sr != sr:
                raise ParameterError(f"{str(path)!r} is at {sr} Hz but dictionary {d.name!r} was trained "
                                     f"at {d.sr} Hz; resample the file first (streaming does not resample)")
        reader = blocks.Reader(f, str(path), start, n, max(1, int(round(block_seconds * sr))))
        beta, power = _dn._model_settings(noise_dictionary, speech_dictionary)
        if noise_region is not None:
            bounds = _regions.region_bounds(n, sr, noise_region, min_samples=params.n_fft + params.hop_length)
            noise = np.concatenate([reader.read(i, j) for i, j in bounds], axis=-1)
            noise = noise[0] if C == 1 else noise
        elif noise is not None and not isinstance(noise, np.ndarray):
            noise = load(noise, sr=sr)[0]
        voices = bool(voice_model) and _dn.voices_apply(noise_dictionary, speech_dictionary,
                                                        noise_sample=noise is not None)
        # with_input: (beta, noise dictionary) of the model the input gives without the speech dictionary
        partner = (_dn._model_settings(noise_dictionary, None)[0], noise_dictionary) if with_input else None
        if noise is not None:
            noise = valid_audio(noise, "noise")
            noise_dictionary = _dn.learn_noise_dictionary(noise, sr, n_components=Kn, stft_params=params,
                                                          random_state=random_state, beta=beta, power=power)
            if with_input:  # the noise-sample mode's own (KL) noise model: the same one if beta is KL
                partner = (_dn.BETA, noise_dictionary if beta == _dn.BETA else _dn.learn_noise_dictionary(
                    noise, sr, n_components=Kn, stft_params=params, random_state=random_state, beta=_dn.BETA))
        T = params.n_frames(n)
        if subsample_frames is None:
            subsample_frames = default_subsample(T * C)
        local = noise_dictionary is None and speech_dictionary is None and np.isfinite(segment_seconds)
        both_fixed = noise_dictionary is not None and speech_dictionary is not None
        # both fixed, the voice model still needs its fit on a subsample
        learned = not local and (not both_fixed or voices or partner is not None)
        total = (2 if learned else 1) * n / sr
        if local:
            model = _blind_model(T, params, sr, segment_seconds, Kn=Kn, Ks=Ks, sparsity=sparsity,
                                 max_iter=max_iter, random_state=random_state, mask_power=mask_power,
                                 want_noise="noise" in targets, voices=voices)
            done = 0.0
        elif learned:
            partner_beta = None if partner is None else partner[0]
            (W, n_s, lam, voices), partner = _learn(
                reader, params, C, T, beta, power, noise_dictionary, speech_dictionary, Kn=Kn, Ks=Ks,
                sparsity=sparsity, max_iter=max_iter, cap=subsample_frames, random_state=random_state,
                voices=voices, partner=partner, progress=(lambda s: callback(s, total)) if callback else None)
            # both dictionaries fixed: their frame solves as offline (max_iter plain iterations)
            n_iter, accelerate = (max_iter, False) if both_fixed else (frame_iter, FRAME_ACCELERATE)
            done = n / sr
        else:
            W = np.concatenate([speech_dictionary.W, noise_dictionary.W], axis=1)
            n_s, lam, n_iter, accelerate, done = speech_dictionary.W.shape[1], 0.0, max_iter, False, 0.0
            voices = None
        if not local:
            voice_iter = n_iter if VOICE_FRAME_ITER is None or not learned else VOICE_FRAME_ITER
            if partner is not None:  # learned free templates: frame solves as in the noise-sample mode
                W2, n_s2, lam2, voices2 = partner
                partner = blocks.Model(W2, n_s2, lam=lam2, beta=partner_beta, power=power, mask_power=mask_power,
                                       max_iter=frame_iter, accelerate=FRAME_ACCELERATE, want_noise=False,
                                       voices=voices2, voice_iter=voice_iter)
            model = blocks.Model(W, n_s, lam=lam, beta=beta, power=power, mask_power=mask_power,
                                 max_iter=n_iter, accelerate=accelerate, want_noise="noise" in targets,
                                 floor_db=_dn.GAIN_FLOOR_DB, voices=voices, voice_iter=voice_iter, partner=partner)
        writers = [blocks.Writer(stack, t, sr, C, bit_depth=bit_depth, channel_mask=channel_mask,
                           overwrite=overwrite) for t in targets.values()]
        an = StreamingSTFT(params, channels=C, dtype=np.float32)
        syn = blocks.Synthesis(params, T, n, (len(writers), C))
        # set once for the frame solves (they would set it block by block); not around the blind
        # segments' fits, whose products stay as in nmfaudio.denoise
        with _one_blas_thread() if not local else contextlib.nullcontext():
            blocks.pipeline(reader, an, model, syn, writers,
                            (lambda j: callback(done + j / sr, total)) if callback else None)
        for w in writers:
            w.close()
    return targets


def _blind_model(T, params, sr, seconds, *, Kn, Ks, sparsity, max_iter, random_state, mask_power, want_noise,
                 voices=True):
    """Blind: local models fitted segment by segment as :func:`nmfaudio.denoise` fits them
    (:func:`nmfaudio._segments.fit_all`), in one pass."""
    if _dn.BLIND_NOISE != "minstat":
        raise ParameterError(f"streaming supports the minimum-statistics blind noise model, not "
                             f"BLIND_NOISE={_dn.BLIND_NOISE!r}")
    if _dn.POSTFILTER is not None:
        raise ParameterError("streaming supports the soft mask only; POSTFILTER must be None")
    beta, power = _dn._model_settings(None, None)

    def fit(V, floor):
        return _dn.fit_frames(V, floor, None, None, beta=beta, Kn=Kn, Ks=Ks, sparsity=sparsity,
                              max_iter=max_iter, random_state=random_state, params=params, sr=sr, voices=voices)

    def mask(S, est):
        return _dn._clean_gain(S, est, power=power, mask_power=mask_power, floor_db=_dn.GAIN_FLOOR_DB, smooth=0)

    return blocks.SegmentModel(T, params, sr, seconds=seconds, win=_dn.minstat_window(sr, params.hop_length),
                               percentile=_dn.MINSTAT_PERCENTILE, fit=fit, mask=mask, want_noise=want_noise)


def default_subsample(frames):
    """The default subsample size for a file of ``frames`` frames (all channels)."""
    return int(min(SUBSAMPLE_FRAMES, max(SUBSAMPLE_MIN, frames * SUBSAMPLE_SHARE)))


def _one_blas_thread():
    """The BLAS limit the frame solves take (:func:`nmfaudio.nmf`'s blocked engine: worker threads
    over frames, one BLAS thread each), for the whole second pass."""
    from ._threads import blas_threads as _blas_threads
    from .nmf import _auto_threads

    return _blas_threads(1 if _auto_threads() > 1 else None)


def _excerpt(f, path, offset, duration):
    """``(first sample, samples)`` of the part of the file to process."""
    sr, total = f.samplerate, f.frames
    offset = check_finite_float(offset, "offset", low=0.0)
    start = int(round(offset * sr))
    if start >= total:
        raise ParameterError(f"offset={offset:g} s is at or past the end of {str(path)!r} "
                             f"({total / sr:.3f} s long)" if total else f"{str(path)!r} has no samples")
    n = total - start
    if duration is not None:
        duration = check_finite_float(duration, "duration", low=0.0, low_open=True)
        n = min(n, max(1, int(round(duration * sr))))
    if n < 2:
        raise ParameterError(f"{str(path)!r} gives only {n} sample(s) per channel to process; too short")
    return start, n


def _learn(reader, params, C, T, beta, power, noise_dictionary, speech_dictionary, *, Kn, Ks,
           sparsity, max_iter, cap, random_state, progress, voices=True, partner=None):
    """First pass: the subsample (and blind, its noise floor); the free templates learned on it.
    Returns ``(W, n_speech, sparsity per component, voices)`` (:func:`_fit_subsample`) and, for
    ``partner`` ``(beta, noise dictionary)``, the same of that noise-dictionary mode (else None)."""
    picks = np.unique(np.linspace(0, T - 1, max(1, min(T, cap // C))).round().astype(np.int64))
    blind = noise_dictionary is None and speech_dictionary is None
    if blind and _dn.BLIND_NOISE != "minstat":
        raise ParameterError(f"streaming supports the minimum-statistics blind noise model, not "
                             f"BLIND_NOISE={_dn.BLIND_NOISE!r}")
    floor = None
    if blind:
        win = _dn.minstat_window(reader.sr, params.hop_length)
        floor = blocks.FloorAt(picks, T, win, _dn.MINSTAT_PERCENTILE)
    if floor is None and 4 * len(picks) <= T:
        # the chosen frames only, read where they are (the others are not needed)
        Vs, Fs = blocks.frames_at(reader, picks, params, C, power, progress), None
    else:
        Vs, Fs = _subsample_pass(reader, params, C, power, picks, floor, progress)
    kw = dict(Kn=Kn, Ks=Ks, sparsity=sparsity, max_iter=max_iter, random_state=random_state)
    if noise_dictionary is not None and speech_dictionary is not None and not voices:
        # both fixed, nothing to learn on the subsample (only the partner, if any)
        W0, n_s, _, lam = _dn._initial_templates(Vs, noise_dictionary, speech_dictionary, Kn=Kn, Ks=Ks,
                                                 sparsity=sparsity, random_state=random_state, params=params,
                                                 sr=reader.sr)
        fit = (W0, n_s, lam, None)
    else:
        fit = _fit_subsample(Vs, Fs, reader.sr, params, beta, noise_dictionary, speech_dictionary, voices=voices, **kw)
    if partner is not None:
        partner = _fit_subsample(Vs, None, reader.sr, params, partner[0], partner[1], None, voices=True, **kw)
    return fit, partner


def _subsample_pass(reader, params, C, power, picks, floor, progress):
    """One pass over the file: the frames ``picks`` and (blind) the noise floor there, channels
    side by side as :func:`nmfaudio.denoise` stacks them: ``(Vs, Fs)`` (Fs None without a floor)."""
    from .dictionary import powered
    from .streaming_stft import StreamingSTFT

    an = StreamingSTFT(params, channels=C, dtype=np.float32)
    chosen, t0, k = [], 0, 0

    def take(S):
        nonlocal t0, k
        V = np.abs(S)
        if power != 1.0:
            V = powered(V, power)
        nt = V.shape[-1]
        k1 = np.searchsorted(picks, t0 + nt)
        if k1 > k:
            chosen.append(V[:, :, picks[k:k1] - t0])
            k = k1
        if floor is not None:
            floor.push(V)
        t0 += nt

    for j, x in reader.blocks():
        take(an.push(x))
        if progress is not None:
            progress(j / reader.sr)
    take(an.finish())
    Vs = np.ascontiguousarray(np.concatenate(list(np.concatenate(chosen, axis=-1)), axis=-1))
    Fs = None if floor is None else np.ascontiguousarray(np.concatenate(list(floor.result()), axis=-1))
    return Vs, Fs


def _fit_subsample(Vs, Fs, sr, params, beta, noise_dictionary, speech_dictionary, *, Kn, Ks, sparsity,
                   max_iter, random_state, voices=True):  # voices: fit the voice model
    """The free templates learned on the subsample ``Vs`` (blind: noise from its floor ``Fs``)
    as :func:`nmfaudio.denoise` learns them on all frames: ``(W, n_speech, sparsity, voices)``.

    ``voices`` (None unless asked, with :data:`nmfaudio.denoise.USM_LAMBDA`):
    ``(W, n_speech, sparsity)`` of the universal speech model fitted on the subsample, reduced to
    the voice blocks it uses (:func:`nmfaudio._usm.active`) with their final penalty weights as
    fixed L1 weights, so that the frames can be solved one by one."""
    from .nmf import nmf
    from .supervised import frame_init

    W0, n_s, update_W, lam = _dn._initial_templates(Vs, noise_dictionary, speech_dictionary, Kn=Kn, Ks=Ks,
                                                    sparsity=sparsity, random_state=random_state,
                                                    params=params, sr=sr, floor=Fs)
    res = nmf(Vs, W=W0, H=frame_init(Vs, W0.shape[1]).astype(Vs.dtype), beta=beta, update_W=update_W,
              max_iter=max_iter, tol=0, sparsity=lam, random_state=random_state, loss_every=None)
    fit_voices, voices = voices, None
    if fit_voices and _dn.USM_LAMBDA is not None and Vs.shape[0] == params.n_freq:  # (voices_apply's)
        from . import _usm

        speech = float(res.W[:, :n_s].sum(axis=0) @ res.H[:n_s].sum(axis=1))
        voices = _usm.frame_model(Vs, res.W[:, n_s:], lam=_dn.USM_LAMBDA, params=params, sr=sr,
                                  max_iter=max_iter if VOICE_FIT_ITER is None else VOICE_FIT_ITER,
                                  speech=speech if _dn.USM_UNIT == "speech" else None)
    return res.W, n_s, lam, voices
