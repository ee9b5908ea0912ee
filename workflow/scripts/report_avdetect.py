"""Paper 4's Tables 1-4, Figures 1(d) and 2, ROC curves and adversarial example videos (rule report_avdetect)."""

import argparse

from avsec.avdetect.report import write_report
from avsec.core.cli import run
from avsec.report import deviations


def main() -> None:
    parser = argparse.ArgumentParser(allow_abbrev=False, description=__doc__)
    parser.add_argument("--recognisers", required=True, nargs="+", help="results/avdetect/<corpus>/recogniser.json")
    parser.add_argument("--syncnets", required=True, nargs="+", help="results/avdetect/<corpus>/syncnet.json")
    parser.add_argument("--detections", required=True, nargs="+", help="results/avdetect/<corpus>/detection.json")
    parser.add_argument(
        "--examples", required=True, nargs="+", help="results/avdetect/<corpus>/attacks/<method>/examples folders"
    )
    parser.add_argument(
        "--figure2", nargs="*", default=[], help="rule figure2_av's folders (results/avdetect/<corpus>/figure2)"
    )
    parser.add_argument("--out", required=True, help="the report directory")
    deviations.add_arguments(parser)
    args = parser.parse_args()
    write_report(
        args.recognisers,
        args.syncnets,
        args.detections,
        args.examples,
        args.out,
        deviations.from_args(args, "avdetect"),
        args.figure2,
    )


if __name__ == "__main__":
    run(main)
