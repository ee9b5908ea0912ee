"""Evaluate one generator on the held-out test clips of its sources (rule evaluate_generator)."""

import argparse

from avsec.advgan.evaluate import GeneratorEvaluation, evaluate_generator
from avsec.core.cli import run
from avsec.core.config import parse_flags, settings
from avsec.train import set_threads


def main() -> None:
    parser = argparse.ArgumentParser(
        allow_abbrev=False, description=__doc__, epilog="Other --key value flags: the evaluation settings."
    )
    parser.add_argument("--generator", required=True, help="the generator's checkpoint")
    parser.add_argument("--victim", required=True, help="the victim's checkpoint")
    parser.add_argument("--data", required=True, help="prepared clips (results/prep/<corpus>)")
    parser.add_argument("--out", required=True, help="metrics JSON")
    parser.add_argument("--examples-dir", required=True, help="directory for WAV examples")
    parser.add_argument("--threads", type=int, default=0, help="CPU threads for torch (0: its default)")
    args, rest = parser.parse_known_args()
    set_threads(args.threads)
    evaluation = settings(GeneratorEvaluation, parse_flags(rest), "evaluate_generator")
    evaluate_generator(args.generator, args.victim, args.data, args.out, args.examples_dir, evaluation)


if __name__ == "__main__":
    run(main)
