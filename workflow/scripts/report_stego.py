"""Paper 1's tables and figures from the evaluations' and security experiments' JSON (rule report_stego).

``--<dataset> RUN ...`` flags name the trained runs of each dataset (scales.<scale>.stego.runs).
"""

import argparse

from avsec.core.cli import run
from avsec.core.config import parse_flags
from avsec.stego.core import write_report


def main() -> None:
    parser = argparse.ArgumentParser(allow_abbrev=False, description=__doc__)
    parser.add_argument("--results", required=True, help="results/stego")
    parser.add_argument("--out", required=True, help="the report directory")
    args, runs = parser.parse_known_args()
    write_report(args.results, args.out, parse_flags(runs))


if __name__ == "__main__":
    run(main)
