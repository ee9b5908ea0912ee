"""Train a victim classifier of paper 2 and measure its test accuracy (rule train_victim)."""

import argparse

from avsec.advgan.victims import train_victim, victim_training
from avsec.core.cli import run
from avsec.core.config import parse_flags
from avsec.train import set_threads


def main() -> None:
    parser = argparse.ArgumentParser(
        allow_abbrev=False, description=__doc__, epilog="Other --key value flags: the victim's settings."
    )
    parser.add_argument("--victim", required=True, help="wideresnet or samplecnn")
    parser.add_argument("--data", required=True, help="prepared clips (results/prep/<corpus>)")
    parser.add_argument("--out", required=True, help="the checkpoint to write")
    parser.add_argument("--history", help="the training history CSV to write (dvc plots); none when not given")
    parser.add_argument("--metrics", required=True, help="test accuracy JSON")
    parser.add_argument("--threads", type=int, default=0, help="CPU threads for torch (0: its default)")
    args, settings = parser.parse_known_args()
    set_threads(args.threads)
    training = victim_training(args.victim, parse_flags(settings))
    result = train_victim(args.victim, args.data, args.out, args.metrics, training, args.history)
    print(f"{args.victim}: test accuracy {result['accuracy']:.2%} on {result['test_clips']} clips")


if __name__ == "__main__":
    run(main)
