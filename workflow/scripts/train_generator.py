"""Train one SpeechAdvGan generator (<source>_to_<target> or all_to_<target>) against a victim.

Flags after --ablation (rule train_ablation: a loss-ablation variant's weights and sizes) replace the generator's
settings of the same name.
"""

import argparse

from avsec.advgan.names import ablation_flags
from avsec.advgan.train import GeneratorTraining, train_generator
from avsec.core.cli import run
from avsec.core.config import settings
from avsec.train import set_threads


def main() -> None:
    parser = argparse.ArgumentParser(
        allow_abbrev=False,
        description=__doc__,
        epilog="Other --key value flags: the generator's settings; after --ablation, a variant's replacing them.",
    )
    parser.add_argument("--generator", required=True, help="e.g. yes_to_no or all_to_no")
    parser.add_argument("--victim", required=True, help="the victim's checkpoint")
    parser.add_argument("--data", required=True, help="prepared clips (results/prep/<corpus>)")
    parser.add_argument("--out", required=True, help="the checkpoint to write")
    parser.add_argument("--history", help="the training history CSV to write (dvc plots); none when not given")
    parser.add_argument("--threads", type=int, default=0, help="CPU threads for torch (0: its default)")
    args, rest = parser.parse_known_args()
    set_threads(args.threads)
    training = settings(GeneratorTraining, ablation_flags(rest), "train_generator")
    train_generator(args.generator, args.victim, args.data, args.out, training, args.history)


if __name__ == "__main__":
    run(main)
