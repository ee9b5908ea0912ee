"""Paper 3's results table (ours beside the paper's), figures and WAV examples from the evaluations
(rule report_imgstego)."""

import argparse

from avsec.core.cli import run
from avsec.imgstego.report import write_report


def main() -> None:
    parser = argparse.ArgumentParser(allow_abbrev=False, description=__doc__)
    parser.add_argument("--results", required=True, help="results/imgstego (base/, ssim/, enhanced/)")
    parser.add_argument("--out", required=True, help="the report directory")
    args = parser.parse_args()
    write_report(args.results, args.out)


if __name__ == "__main__":
    run(main)
