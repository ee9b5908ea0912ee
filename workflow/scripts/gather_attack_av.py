"""Rule gather_attack_av (paper 4): an attack's benign scores and every setting of its grid, one attack_av job's
folder each, as the method's attack.json and examples/ (what detect_av and the report read)."""

import argparse

from avsec.avdetect.attack_jobs import AttackSettings, gather_attacks
from avsec.core.cli import run
from avsec.core.config import parse_flags, settings


def main() -> None:
    parser = argparse.ArgumentParser(
        allow_abbrev=False, description=__doc__, epilog="Other --key value flags: the attack's settings (its grid)."
    )
    parser.add_argument("--method", required=True, help="fgsm, bim or cw")
    parser.add_argument("--settings", required=True, help="the folder of the attack_av jobs' folders")
    parser.add_argument("--out", required=True, help="attack results JSON")
    parser.add_argument("--examples-dir", required=True, help="folder for the adversarial example videos")
    args, rest = parser.parse_known_args()
    gather_attacks(
        args.method, args.settings, args.out, args.examples_dir, settings(AttackSettings, parse_flags(rest), "gather")
    )


if __name__ == "__main__":
    run(main)
