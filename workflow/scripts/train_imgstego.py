"""Train paper 3's Hiding and Reveal blocks (one variant: base or ssim) on TIMIT carriers and VOC images."""

import argparse
from dataclasses import fields

from avsec.core.cli import run
from avsec.core.config import parse_flags, settings
from avsec.imgstego.frontend import Frontend
from avsec.imgstego.train import ImgstegoTraining, train_model
from avsec.train import set_threads


def main() -> None:
    parser = argparse.ArgumentParser(
        allow_abbrev=False,
        description=__doc__,
        epilog="Other --key value flags: the spectrogram's (Frontend), the loss weights, the network's and the "
        "training's (ImgstegoTraining, avsec.imgstego.train), --seed among them.",
    )
    parser.add_argument("--variant", required=True, help="the variant's name (base, ssim)")
    parser.add_argument("--timit", required=True, help="prepared carriers (results/prep/timit)")
    parser.add_argument("--voc", required=True, help="prepared images (results/prep/voc)")
    parser.add_argument("--out", required=True, help="the checkpoint to write")
    parser.add_argument("--history", help="the training history CSV to write (dvc plots); none when not given")
    parser.add_argument("--threads", type=int, default=0, help="CPU threads for torch (0: its default)")
    args, rest = parser.parse_known_args()
    set_threads(args.threads)
    given = parse_flags(rest)
    spectrogram = {f.name: given.pop(f.name) for f in fields(Frontend) if f.name in given}
    front = settings(Frontend, spectrogram, "train_imgstego")
    train_model(
        args.variant,
        args.timit,
        args.voc,
        args.out,
        settings(ImgstegoTraining, {**given, "front": front}, "train_imgstego"),
        args.history,
    )


if __name__ == "__main__":
    run(main)
