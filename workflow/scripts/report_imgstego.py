"""Paper 3's results table (ours beside the paper's), figures and WAV examples from the evaluations
(rule report_imgstego)."""

import argparse

from avsec.core.cli import run
from avsec.imgstego.report import write_report
from avsec.report import deviations


def main() -> None:
    parser = argparse.ArgumentParser(allow_abbrev=False, description=__doc__)
    parser.add_argument("--evaluations", nargs="+", required=True, help="<column>/eval.json of base, ssim and enhanced")
    parser.add_argument("--examples", nargs="+", required=True, help="<column>/examples of the same columns")
    parser.add_argument("--out", required=True, help="the report directory")
    deviations.add_arguments(parser)
    args = parser.parse_args()
    write_report(args.evaluations, args.examples, args.out, deviations.from_args(args, "imgstego"))


if __name__ == "__main__":
    run(main)
