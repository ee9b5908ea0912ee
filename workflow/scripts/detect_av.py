"""Paper 4's detection measures of a corpus's attacks: AUC, and the average F1 on test at the threshold chosen
on validation (rule detect_av)."""

import argparse

from avsec.avdetect.detect import detect_attacks
from avsec.core.cli import run


def main() -> None:
    parser = argparse.ArgumentParser(allow_abbrev=False, description=__doc__)
    parser.add_argument("--corpus", required=True, help="lrw or grid")
    parser.add_argument("--attacks", required=True, nargs="+", help="attack results JSONs of the corpus")
    parser.add_argument("--out", required=True, help="detection JSON")
    parser.add_argument("--roc", help="the ROC curves as CSV (dvc plots); none when not given")
    args = parser.parse_args()
    result = detect_attacks(args.corpus, args.attacks, args.out, args.roc)
    for row in result["settings"]:
        goal = f" ({row['goal']})" if row.get("goal") else ""
        print(f"{row['name']}{goal}: AUC {row['auc']:.3f}")


if __name__ == "__main__":
    run(main)
