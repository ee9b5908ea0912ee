"""Paper 1's tables and figures from the evaluations' and security experiments' JSON (rule report_stego).

``--<dataset> RUN ...`` flags name the scale's runs (scales.<scale>.stego.runs); the files read are the ones rule
report_stego declares, named from that mapping by the same function (avsec.stego.names.report_inputs): every
run's eval.json, every dataset's security results and its prepared directory (the manifest's counts). Snakemake
and DVC run this same command line: DVC cannot put a list of files into a command.
"""

import argparse

from avsec.core.cli import run
from avsec.core.config import parse_flags
from avsec.report import deviations
from avsec.stego.names import report_inputs
from avsec.stego.report import write_report


def main() -> None:
    parser = argparse.ArgumentParser(
        allow_abbrev=False,
        description=__doc__.split("\n\n")[0],
        epilog="--<dataset> RUN ...: the runs of each dataset.",
    )
    parser.add_argument("--out", required=True, help="the report directory")
    deviations.add_arguments(parser)
    args, runs = parser.parse_known_args()
    files = report_inputs(parse_flags(runs))
    write_report(
        files["evaluations"], files["security"], args.out, deviations.from_args(args, "stego"), prep=files["prep"]
    )


if __name__ == "__main__":
    run(main)
