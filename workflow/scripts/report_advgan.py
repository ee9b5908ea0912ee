"""Paper 2's tables and figures from the victims', generators' and baselines' JSON (rule report_advgan).

``--<victim> GENERATOR ...`` flags name the generators of each victim (scales.<scale>.advgan.generators).
"""

import argparse

from avsec.advgan.core import write_report
from avsec.core.cli import run
from avsec.core.config import parse_flags


def main() -> None:
    parser = argparse.ArgumentParser(allow_abbrev=False, description=__doc__)
    parser.add_argument("--results", required=True, help="results/advgan")
    parser.add_argument("--out", required=True, help="the report directory")
    args, generators = parser.parse_known_args()
    write_report(args.results, args.out, parse_flags(generators))


if __name__ == "__main__":
    run(main)
