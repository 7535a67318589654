"""``nmfaudio denoise``: remove noise from a recording."""

from __future__ import annotations

from ..denoise import DENOISE_ITER, NOISE_COMPONENTS, SPARSITY, SPEECH_COMPONENTS
from ._common import (add_output_args, like_input, nonneg_float, positive_float, positive_int,
                      positive_seconds, refuse_existing)
from ._progress import add_ux_args, output_settings

#: Inputs at least this long (seconds processed) are denoised block by block in bounded memory
#: (nmfaudio.denoise_stream) unless a dictionary asks for resampling. The environment variable
#: NMFAUDIO_DENOISE_LONG_SECONDS overrides it (for tests).
LONG_SECONDS = 120.0


def _regions(text: str):
    """``"0:1.5,42:43"`` → ``[(0.0, 1.5), (42.0, 43.0)]`` (range checks are the library's)."""
    import argparse

    out = []
    for part in text.split(","):
        try:
            a, b = part.split(":")
            out.append((float(a), float(b)))
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{part.strip()!r} is not START:END in seconds (e.g. 0:1.5,42:43)") from None
    return out


def _segment_seconds(text):
    """``--segment-seconds``: seconds > 0, or ``inf`` (the library's check, in argparse's words)."""
    import argparse

    from .._segments import check_seconds
    from ..exceptions import ParameterError

    try:
        return check_seconds(text)
    except ParameterError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds > 0 (or inf)") from None


def add_parser(sub):
    p = sub.add_parser(
        "denoise", help="remove noise from a recording",
        description="Denoise NOISY. With --noise (a noise sample) or --noise-dict the noise "
                    "model is fixed and the speech is learned; with --speech-dict the converse; "
                    "with neither, the noise is modelled from its floor (minimum statistics).",
    )
    p.add_argument("noisy", metavar="NOISY", help="noisy audio file")
    p.add_argument("-o", "--out", default=".", metavar="CLEAN",
                   help="output file (.wav, .flac, .aiff, .ogg, .opus, .mp3) or folder; default: "
                        "<NOISY name>_denoised.<format> in the current folder (never the input)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--noise", metavar="NOISE.wav", help="a sample of the noise alone")
    g.add_argument("--noise-dict", metavar="N.npz", help="a trained noise dictionary")
    g.add_argument("--noise-region", type=_regions, metavar="START:END[,START:END...]",
                   help="part(s) of NOISY holding noise alone, in seconds from the start of the audio "
                        "processed (after --start), e.g. 0:1.5,42:43: the noise sample is cut from it")
    p.add_argument("--speech-dict", metavar="S.npz", help="a trained speech dictionary")
    p.add_argument("--noise-out", metavar="NOISE", help="also write the removed noise to this file "
                                                       "(or folder: <NOISY name>_noise.<format>)")
    p.add_argument("--iterations", type=positive_int, default=DENOISE_ITER, metavar="N",
                   help=f"NMF iterations (default {DENOISE_ITER})")
    g = p.add_argument_group("model")
    g.add_argument("--noise-components", type=positive_int, default=NOISE_COMPONENTS, metavar="K",
                   help=f"noise templates learned (from --noise, from the noise floor, or free "
                        f"beside --speech-dict; default {NOISE_COMPONENTS})")
    g.add_argument("--speech-components", type=positive_int, default=SPEECH_COMPONENTS, metavar="K",
                   help=f"free speech components, without --speech-dict or in the input's own model beside it "
                        f"(with --noise, --noise-region or --noise-dict; default {SPEECH_COMPONENTS})")
    g.add_argument("--sparsity", type=nonneg_float, default=SPARSITY, metavar="L",
                   help=f"L1 penalty on the free speech activations (where --speech-components applies; "
                        f"default {SPARSITY:g})")
    g.add_argument("--mask-power", type=positive_float, default=None, metavar="P",
                   help="soft-mask exponent (default 1 without --speech-dict; with it 1.5 beside --noise, "
                        "--noise-region or --noise-dict, 2 alone or with --no-voice-model; larger is "
                        "closer to a binary mask)")
    g.add_argument("--segment-seconds", type=_segment_seconds, default=None, metavar="S",
                   help="blind only: local models, one per S-second segment (default 10; 'inf': one "
                        "model for the whole recording, much faster on long files but it does not "
                        "follow a noise that changes)")
    g.add_argument("--no-voice-model", dest="voice_model", action="store_false",
                   help="do not fit the bundled universal speech model beside the free speech components, "
                        "or beside --speech-dict with --noise / --noise-region (faster, about 1 to 1.5 dB "
                        "SDR lower on the benchmark); with --speech-dict it also leaves out the model the "
                        "input gives without the dictionary (then the dictionaries' model alone)")
    p.add_argument("--block-seconds", type=positive_seconds, default=None, metavar="S",
                   help=f"read, denoise and write S seconds at a time so that memory stays bounded "
                        f"(default: 10 s blocks for inputs of {LONG_SECONDS / 60:g} minutes or more, "
                        "else the whole input at once)")
    add_output_args(p)
    add_ux_args(p)
    p.set_defaults(func=run)
    return p


def run(args) -> int:
    from pathlib import Path

    from ..dictionary import SourceDictionary
    from .._options import check_denoise_options
    from ..files import denoise_file, denoise_target, is_folder_target
    from ._progress import Progress, Summary, check_plot_target, show_progress

    knobs = {"n_noise_components": args.noise_components, "n_speech_components": args.speech_components,
             "sparsity": args.sparsity, "segment_seconds": args.segment_seconds,
             "voice_model": args.voice_model}
    check_denoise_options(dict(knobs, noise=args.noise if args.noise_region is None else args.noise_region,
                               noise_dictionary=args.noise_dict, speech_dictionary=args.speech_dict), flags=True)
    named = [o for o in (args.out, args.noise_out) if o and not is_folder_target(o)]
    like_input(args, args.noisy, out_files=named)
    targets = [denoise_target(args.noisy, args.out, format=args.format)]
    if args.noise_out:
        targets.append(denoise_target(args.noisy, args.noise_out, format=args.format, suffix="_noise"))
    refuse_existing(targets, args.overwrite)  # CLI wording
    check_plot_target(args)
    summary = Summary("denoise", args)
    noise_dict = SourceDictionary.load(args.noise_dict) if args.noise_dict else None
    speech_dict = SourceDictionary.load(args.speech_dict) if args.speech_dict else None
    block = _block_seconds(args, noise_dict or speech_dict)
    if args.noise_region is not None:
        knobs["noise_region"] = args.noise_region
    with Progress(None if block else args.iterations, desc="denoise", unit="s" if block else "it",
                  enabled=show_progress(args)) as bar:
        res = denoise_file(args.noisy, args.out, noise=args.noise, noise_dictionary=noise_dict,
                           speech_dictionary=speech_dict, noise_out=args.noise_out,
                           format=args.format, bit_depth=args.bit_depth, offset=args.start,
                           duration=args.duration, overwrite=args.overwrite, block_seconds=block,
                           max_iter=args.iterations, callback=bar.steps if block else bar.callback,
                           mask_power=args.mask_power, **{k: v for k, v in knobs.items() if v is not None})
    paths = [str(p) for p in res.paths.values()]
    if args.plot:
        from ..display import plot_separation, save_figure

        audio, sources, plot_sr = res.audio, res.sources, res.processing_sr
        if audio is None:  # block mode: nothing kept in memory; read the input and outputs back
            from ..io import load

            audio = load(args.noisy, offset=args.start, duration=args.duration)[0]
            sources = {k: load(p)[0] for k, p in res.paths.items()}
            plot_sr = res.sr
        fig = plot_separation(audio, sources, sr=plot_sr, stft_params=res.stft_params,
                              title=f"nmfaudio denoise: {Path(args.noisy).name}")
        save_figure(fig, args.plot, overwrite=args.overwrite)
    mode = ("noise sample" if args.noise else "noise region" if args.noise_region
            else "noise dictionary" if noise_dict is not None else None)
    mode = (mode or "blind") if speech_dict is None else f"{mode} + speech dictionary" if mode else "speech dictionary"
    summary.doc["inputs"] = {"noisy": args.noisy, "noise": args.noise, "noise_region": args.noise_region,
                             "noise_dict": args.noise_dict,
                             "speech_dict": args.speech_dict}
    summary.doc["outputs"] = {"clean": paths[0], "noise": paths[1] if args.noise_out else None}
    summary.doc["plot"] = args.plot
    summary.doc.update({"sample_rate": int(res.sr), "channels": res.channels,
                        "duration_seconds": round(res.duration_seconds, 6)})
    summary.doc["iterations"] = args.iterations
    summary.doc["final_loss"] = bar.loss
    summary.doc["final_loss_iteration"] = bar.iteration
    summary.doc["settings"] = {"mode": mode, "max_iter": args.iterations, "noise_components": args.noise_components,
                               "speech_components": args.speech_components, "sparsity": args.sparsity,
                               "mask_power": args.mask_power, "block_seconds": block,
                               "voice_model": _voice_model_used(args, noise_dict, speech_dict),
                               **output_settings(args)}
    summary.finish(paths)
    return 0


def _voice_model_used(args, noise_dict, speech_dict):
    """Did the universal speech model run (beside the free templates, a speech dictionary, or in
    the input's own model beside the dictionaries)?"""
    from ..denoise import USM_LAMBDA, voices_apply, with_input_model

    sample = bool(args.noise or args.noise_region)
    return bool(args.voice_model and USM_LAMBDA is not None and (
        voices_apply(noise_dict, speech_dict, noise_sample=sample)
        or with_input_model(speech_dict, noise_sample=sample, voice_model=True, noise_dictionary=noise_dict)))


def _block_seconds(args, ref):
    """Block length of the bounded-memory path, or None for the offline one: ``--block-seconds``,
    else 10 s for inputs of :data:`LONG_SECONDS` or more that need no resampling."""
    import os

    from ..denoise_stream import BLOCK_SECONDS
    from ..io import audio_info

    if args.block_seconds is not None:
        return args.block_seconds
    try:
        info = audio_info(args.noisy)
    except Exception:
        return None  # unreadable: the offline path reports it
    if ref is not None and ref.sr != info.sr:
        return None  # the dictionary's rate: resampled offline
    seconds = max(0.0, info.frames / info.sr - args.start)
    if args.duration is not None:
        seconds = min(seconds, args.duration)
    threshold = float(os.environ.get("NMFAUDIO_DENOISE_LONG_SECONDS", LONG_SECONDS))
    return BLOCK_SECONDS if seconds >= threshold else None
