"""Command-line entry points: ``avsec synth`` and the logging/error handling shared by workflow/scripts/."""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

from avsec.core.errors import AvsecError


def run(main: Callable[[], object]) -> None:
    """Run a workflow script's ``main``.

    ``--log PATH`` (taken out of ``sys.argv`` here, so every script has it) sends stdout and stderr, of this
    process and of the programs it starts, to PATH. A known problem (bad input, bad config) ends in one line
    ``error: <file or key>: <problem>`` in the log and on the terminal, exit status 1; anything else keeps its
    traceback in the log.
    """
    terminal = os.fdopen(os.dup(2), "w", errors="backslashreplace")  # a file name may not be UTF-8
    log = _pop_option(sys.argv, "--log")
    if log:
        Path(log).parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        sys.stdout.flush(), sys.stderr.flush()
        os.dup2(fd, 1), os.dup2(fd, 2)
        os.close(fd)
    print(" ".join(sys.argv), file=sys.stderr, flush=True)
    start = time.perf_counter()
    try:
        main()
    except AvsecError as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        if log:
            print(f"error: {exc} (log: {log})", file=terminal, flush=True)
        sys.exit(getattr(exc, "exit_code", 1))
    except BaseException:
        if log:
            print(f"error: {sys.argv[0]} failed, see {log}", file=terminal, flush=True)
        raise
    print(f"done in {time.perf_counter() - start:.1f} s", file=sys.stderr, flush=True)


def _pop_option(argv: list[str], name: str) -> str | None:
    if name in argv:
        i = argv.index(name)
        if i + 1 < len(argv):
            value = argv[i + 1]
            del argv[i : i + 2]
            return value
    return None


def _attack(args) -> None:
    from avsec.advgan.evaluate import attack_file

    r = attack_file(args.generator, args.input, args.output, victim_ckpt=args.victim, device=args.device)
    print(f"victim: {r['victim']}, generator: {r['generator']}")
    print(f"before: {r['before']}")
    print(f"after: {r['after']} (target: {r['target']})")
    print(f"SNR: {r['snr_db']:.2f} dB")


def _hide(args) -> None:
    from avsec.stego.codec import hide_files

    r = hide_files(args.model, args.carrier, args.secret, args.output, device=args.device)
    print(f"{args.output}: {r['segments']} segments of {r['segment']} samples")
    print(f"SNR against the carrier: {r['carrier_snr_db']:.2f} dB")


def _reveal(args) -> None:
    from avsec.stego.codec import reveal_file

    r = reveal_file(args.model, args.stego, args.output, device=args.device)
    print(f"{args.output}: {r['segments']} segments of {r['segment']} samples")


def _hide_image(args) -> None:
    from avsec.imgstego.evaluate import hide_image_file

    r = hide_image_file(args.model, args.carrier, args.image, args.output, device=args.device)
    print(f"{args.output}: the image in the first {r['samples']} samples, SNR {r['audio_snr_db']:.2f} dB")
    print(f"revealed again from {args.output}: SSIM {r['through_audio_image_ssim']:.4f}")


def _reveal_image(args) -> None:
    from avsec.imgstego.evaluate import reveal_image_file

    r = reveal_image_file(args.model, args.stego, args.output, enhancer_ckpt=args.enhancer, device=args.device)
    print(f"{args.output}: {r['width']}×{r['height']} image{' (enhanced)' if r['enhanced'] else ''}")


def _clip_options(args) -> dict:
    keys = ("results", "config", "syncnet", "mean_face", "backend", "crops", "device")
    return {key: getattr(args, key) for key in keys}


def _sync(args) -> None:
    from avsec.avdetect.clip import sync_clip

    r = sync_clip(args.video, args.corpus, **_clip_options(args))
    print(f"offset: {r['offset']} frames")
    print(f"confidence: {r['confidence']:.4f}")


def _detect(args) -> None:
    from avsec.avdetect.clip import detect_clip

    r = detect_clip(args.video, args.corpus, detection=args.detection, setting=args.setting, **_clip_options(args))
    print(f"offset: {r['offset']} frames")
    print(f"confidence: {r['confidence']:.4f}")
    print(f"threshold: {r['threshold']:.4f} (setting {r['setting']})")
    print(f"verdict: {'adversarial' if r['adversarial'] else 'benign'}")


MODELS = """Trained models are the workflow's files: results/advgan/<victim>/<generator>/generator.pt (attack),
results/stego/<dataset>/<run>/model.pt (hide, reveal), results/imgstego/<variant>/model.pt and
results/imgstego/enhancer.pt (hide-image, reveal-image), results/avdetect/<corpus>/{syncnet.pt,detection.json} and
results/av/<corpus>/mean_face.npy (sync, detect). A bad file ends in one line: error: <file>: <problem>."""


def _parser() -> argparse.ArgumentParser:
    from avsec.data.synth import CORPORA

    parser = argparse.ArgumentParser(
        prog="avsec", description="avsec command-line tools", epilog=MODELS,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    sub = parser.add_subparsers(dest="command", required=True)
    synth = sub.add_parser("synth", help="generate a synthetic corpus in its real layout")
    synth.add_argument("corpus", choices=CORPORA)
    synth.add_argument("out", help="directory to create")
    synth.add_argument("--seed", type=int, default=1024)

    def command(name: str, handler, help: str, description: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, description=f"{help}. {description}")
        p.set_defaults(handler=handler)
        p.add_argument("--device", default="auto", help="torch device (auto: the GPU when there is one)")
        return p

    attack = command(
        "attack", _attack, "paper 2: a trained generator's adversarial version of a clip",
        "Prints the victim's label before and after and the SNR (dB) of the perturbation. The clip must be mono at "
        "the victim's rate (16000 Hz WideResNet, 16384 Hz SampleCNN); it is cropped or zero-padded to the victims' "
        "16384 samples as the preparation does (a note says so), and OUT holds those 16384 samples.",
    )  # fmt: skip
    attack.add_argument("generator", help="results/advgan/<victim>/<generator>/generator.pt")
    attack.add_argument("input", help="the clip (WAV, FLAC, ...)")
    attack.add_argument("output", help="the adversarial clip to write (WAV)")
    attack.add_argument("--victim", help="the victim's checkpoint (default: victim.pt beside the generator's folder)")

    hide = command(
        "hide", _hide, "paper 1: hide a secret audio file in a carrier",
        "Both mono at 16 kHz. The model hides one segment at a time (the paper's 32640 samples, or the crop a smoke "
        "model was trained on): longer audio is cut into consecutive segments, the last zero-padded and cut back. A "
        "secret shorter than the carrier is padded with silence; a longer one is an error. OUT has the carrier's "
        "length.",
    )  # fmt: skip
    hide.add_argument("model", help="results/stego/<dataset>/<run>/model.pt")
    hide.add_argument("carrier")
    hide.add_argument("secret")
    hide.add_argument("output", help="the stego audio to write (WAV)")

    reveal = command(
        "reveal", _reveal, "paper 1: reveal the secret audio in a stego file",
        "Segment by segment, as hide hid it; OUT has the stego audio's length.",
    )  # fmt: skip
    reveal.add_argument("model", help="results/stego/<dataset>/<run>/model.pt (the one that hid it)")
    reveal.add_argument("stego")
    reveal.add_argument("output", help="the revealed secret to write (WAV)")

    hide_image = command(
        "hide-image", _hide_image, "paper 3: hide an image in a carrier's audio",
        "The image is read as RGB and resized to the spectrogram's size (512×513 with the paper's front-end); each "
        "colour plane goes into one 1-s window of the carrier (mono, 16 kHz, at least 3 s: the first 3 s carry it, "
        "the rest is copied). Prints the audio's SNR and the SSIM of the image revealed again from OUT.",
    )  # fmt: skip
    hide_image.add_argument("model", help="results/imgstego/<variant>/model.pt (base or ssim)")
    hide_image.add_argument("carrier")
    hide_image.add_argument("image", help="PNG, JPEG, ...")
    hide_image.add_argument("output", help="the embedded audio to write (WAV)")

    reveal_image = command(
        "reveal-image", _reveal_image, "paper 3: reveal the image hidden in an audio file",
        "From its first three 1-s windows; OUT is written at the spectrogram's size (512×513 with the paper's "
        "front-end), in the format its suffix names.",
    )  # fmt: skip
    reveal_image.add_argument("model", help="results/imgstego/<variant>/model.pt (the one that hid it)")
    reveal_image.add_argument("stego")
    reveal_image.add_argument("output", help="the image to write (PNG)")
    reveal_image.add_argument("--enhancer", help="results/imgstego/enhancer.pt: the enhanced column's U-Net")

    for name, handler, help, more in (
        ("sync", _sync, "paper 4: SyncNet's audio-video offset and confidence of a video",
         "Prints the offset (frames) and the confidence (median - min distance)."),
        ("detect", _detect, "paper 4: is a video adversarial, at the detector's threshold",
         "Adversarial when its SyncNet confidence is at or below the threshold that rule detect_av chose on the "
         "validation clips for an attack setting (--setting; default: the setting with the best validation F1)."),
    ):  # fmt: skip
        p = command(
            name, handler, help,
            f"{more} The video is prepared as the workflow prepares a corpus clip: the corpus's frame count (GRID "
            "75, LRW 29, 25 fps; up to 5 frames off are padded or cut), landmarks with config.yaml's "
            "av.landmarks.backend, mouth crops aligned to the corpus's mean face, 16 kHz audio.",
        )  # fmt: skip
        p.add_argument("video", help="an MP4 (or MPG) with its audio track")
        p.add_argument("--corpus", default="lrw", choices=("lrw", "grid"), help="whose models and clip length (lrw)")
        p.add_argument("--results", default="results", help="the workflow's results folder (results)")
        p.add_argument("--config", default="config.yaml", help="the workflow's config.yaml (for the av settings)")
        p.add_argument("--syncnet", help="default: RESULTS/avdetect/<corpus>/syncnet.pt")
        p.add_argument("--mean-face", help="default: RESULTS/av/<corpus>/mean_face.npy")
        p.add_argument("--backend", choices=("opencv", "face_alignment"), help="landmarks (default: config.yaml's)")
        p.add_argument("--crops", action="store_true", help="the video is 96×96 mouth crops already (the attacks' "
                       "examples): no landmarks")  # fmt: skip
        if name == "detect":
            p.add_argument("--detection", help="default: RESULTS/avdetect/<corpus>/detection.json")
            p.add_argument("--setting", help="the attack setting whose threshold to use, e.g. fgsm_a1024_v16")
    return parser


def main(argv: list[str] | None = None) -> None:
    """``avsec synth CORPUS OUT [--seed N] [--key value ...]``: generate a synthetic corpus outside the workflow;
    ``avsec attack | hide | reveal | hide-image | reveal-image | sync | detect ...``: apply a trained model to files
    (``avsec <command> --help``)."""
    parser = _parser()
    args, rest = parser.parse_known_args(argv)
    if args.command == "synth":
        from avsec.core.config import parse_flags
        from avsec.data.synth import make_corpus

        run(lambda: make_corpus(args.corpus, args.out, seed=args.seed, sizes=parse_flags(rest)))
        return
    if rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    run(lambda: args.handler(args))
