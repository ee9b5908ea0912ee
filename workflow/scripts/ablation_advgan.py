"""Paper 2's loss ablation (Section D): Figures 8 and 9 and a table of the variants (rule ablation_advgan).

--runs: the variants' folders (results/advgan/<victim>/ablation/<variant>/, each with generator.pt and
generator_history.csv); other --key value flags: the figures' settings (advgan.ablation.figure).
"""

import argparse

from avsec.advgan.ablation import AblationFigures, write_ablation
from avsec.core.cli import run
from avsec.core.config import parse_flags, settings
from avsec.train import set_threads


def main() -> None:
    parser = argparse.ArgumentParser(allow_abbrev=False, description=__doc__)
    parser.add_argument("--runs", nargs="+", required=True, help="the variants' folders, in the figures' order")
    parser.add_argument("--victim", required=True, help="the victim's checkpoint")
    parser.add_argument("--data", required=True, help="prepared clips (results/prep/<corpus>)")
    parser.add_argument("--out", required=True, help="the folder to write (figures, ablation.tsv, ablation.json)")
    parser.add_argument("--threads", type=int, default=0, help="CPU threads for torch (0: its default)")
    args, rest = parser.parse_known_args()
    set_threads(args.threads)
    write_ablation(
        args.out, args.runs, args.victim, args.data, settings(AblationFigures, parse_flags(rest), "ablation")
    )


if __name__ == "__main__":
    run(main)
