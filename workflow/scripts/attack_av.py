"""Attack paper 4's recogniser of a corpus on both modalities (FGSM, BIM on LRW; C&W with CTC on GRID) and
score the benign and adversarial clips by SyncNet confidence (rule attack_av)."""

import argparse

from avsec.avdetect.attacks import AttackSettings, attack_corpus
from avsec.core.cli import run
from avsec.core.config import parse_flags, settings
from avsec.train import set_threads


def main() -> None:
    parser = argparse.ArgumentParser(
        allow_abbrev=False,
        description=__doc__,
        epilog="Other --key value flags: the attack's settings (AttackSettings, avsec.avdetect.attacks), --seed among "
        "them.",
    )
    parser.add_argument("--method", required=True, help="fgsm, bim or cw")
    parser.add_argument("--mouths", required=True, help="mouth crops (results/av/<corpus>/mouths)")
    parser.add_argument("--audio", required=True, help="audio features (results/av/<corpus>/audio)")
    parser.add_argument("--recogniser", required=True, help="the recogniser checkpoint")
    parser.add_argument("--syncnet", required=True, help="the SyncNet checkpoint")
    parser.add_argument("--out", required=True, help="attack results JSON")
    parser.add_argument("--examples-dir", required=True, help="folder for adversarial example videos")
    parser.add_argument("--threads", type=int, default=0, help="CPU threads for torch (0: its default)")
    args, rest = parser.parse_known_args()
    set_threads(args.threads)
    attack_corpus(
        args.method,
        args.mouths,
        args.audio,
        args.recogniser,
        args.syncnet,
        args.out,
        args.examples_dir,
        settings(AttackSettings, parse_flags(rest), "attack_av"),
    )


if __name__ == "__main__":
    run(main)
