"""Train paper 3's U-Net image enhancer on RGB images revealed by a trained hiding/reveal model."""

import argparse

from avsec.core.cli import run
from avsec.core.config import parse_flags, settings
from avsec.imgstego.train import EnhancerTraining, train_enhancer
from avsec.train import set_threads


def main() -> None:
    parser = argparse.ArgumentParser(
        allow_abbrev=False,
        description=__doc__,
        epilog="Other --key value flags: the enhancer's settings (EnhancerTraining, avsec.imgstego.train), --seed "
        "among them.",
    )
    parser.add_argument("--model", required=True, help="the hiding/reveal checkpoint")
    parser.add_argument("--timit", required=True, help="prepared carriers (results/prep/timit)")
    parser.add_argument("--voc", required=True, help="prepared images (results/prep/voc)")
    parser.add_argument("--out", required=True, help="the checkpoint to write")
    parser.add_argument("--history", help="the training history CSV to write (dvc plots); none when not given")
    parser.add_argument("--threads", type=int, default=0, help="CPU threads for torch (0: its default)")
    args, rest = parser.parse_known_args()
    set_threads(args.threads)
    training = settings(EnhancerTraining, parse_flags(rest), "train_enhancer")
    train_enhancer(args.model, args.timit, args.voc, args.out, training, args.history)


if __name__ == "__main__":
    run(main)
