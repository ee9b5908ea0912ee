"""Train one encoder/decoder/steganalyzer triple of paper 1 (<analyzer>_<channel>) on a prepared corpus."""

import argparse

from avsec.core.cli import run
from avsec.core.config import parse_flags, settings
from avsec.stego.train import StegoTraining, train_stego
from avsec.train import set_threads


def main() -> None:
    parser = argparse.ArgumentParser(
        allow_abbrev=False, description=__doc__, epilog="Other --key value flags: λ, STFT and training settings."
    )
    parser.add_argument("--run", required=True, help="ran_nor, ran_an, hpf_nor or hpf_an")
    parser.add_argument("--data", required=True, help="prepared clips (results/prep/<dataset>)")
    parser.add_argument("--out", required=True, help="the checkpoint to write")
    parser.add_argument("--history", help="the training history CSV to write (dvc plots); none when not given")
    parser.add_argument("--threads", type=int, default=0, help="CPU threads for torch (0: its default)")
    args, rest = parser.parse_known_args()
    set_threads(args.threads)
    training = settings(StegoTraining, parse_flags(rest), "train_stego")
    train_stego(args.run, args.data, args.out, training, args.history)


if __name__ == "__main__":
    run(main)
