"""Evaluate one trained triple of paper 1 on the test clips: MSE and SNR without and with channel noise."""

import argparse

from avsec.core.cli import run
from avsec.core.config import parse_flags, settings
from avsec.stego.evaluate import StegoEvaluation, evaluate_stego
from avsec.train import set_threads


def main() -> None:
    parser = argparse.ArgumentParser(
        allow_abbrev=False, description=__doc__, epilog="Other --key value flags: the evaluation settings."
    )
    parser.add_argument("--model", required=True, help="the trained checkpoint")
    parser.add_argument("--data", required=True, help="prepared clips (results/prep/<dataset>)")
    parser.add_argument("--out", required=True, help="metrics JSON")
    parser.add_argument("--examples-dir", required=True, help="directory for WAV examples")
    parser.add_argument("--threads", type=int, default=0, help="CPU threads for torch (0: its default)")
    args, rest = parser.parse_known_args()
    set_threads(args.threads)
    evaluation = settings(StegoEvaluation, parse_flags(rest), "evaluate_stego")
    evaluate_stego(args.model, args.data, args.out, args.examples_dir, evaluation)


if __name__ == "__main__":
    run(main)
