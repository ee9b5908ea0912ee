"""Paper 2's tables and figures from the victims', generators' and baselines' JSON (rule report_advgan).

``--<victim> GENERATOR ...`` flags name the scale's generators (scales.<scale>.advgan.generators); the files read
are the ones rule report_advgan declares, named from that mapping by the same function
(avsec.advgan.names.report_inputs). Snakemake and DVC run this same command line: DVC cannot put a list of files
into a command.
"""

import argparse

from avsec.advgan.names import report_inputs
from avsec.advgan.report import report_from_files
from avsec.core.cli import run
from avsec.core.config import parse_flags
from avsec.report import deviations


def main() -> None:
    parser = argparse.ArgumentParser(
        allow_abbrev=False, description=__doc__, epilog="--<victim> GENERATOR ...: the generators of each victim."
    )
    parser.add_argument("--out", required=True, help="the report directory")
    parser.add_argument("--figure7", help="rule attack_figure7's record: Figure 7's clip and its bottom row")
    parser.add_argument("--ablation", help="the loss ablation's folder (rule ablation_advgan): Figures 8 and 9")
    deviations.add_arguments(parser)
    args, generators = parser.parse_known_args()
    inputs = report_inputs(parse_flags(generators))
    report_from_files(
        args.out,
        inputs["victims"],
        inputs["evaluations"],
        inputs["baselines"],
        deviations.from_args(args, "advgan"),
        figure7=args.figure7,
        ablation=args.ablation,
    )


if __name__ == "__main__":
    run(main)
