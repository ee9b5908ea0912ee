"""Rule gather_attack_av (paper 4): an attack's benign scores and every setting of its grid, one attack_av job's
folder each, as the method's attack.json and examples/ (what detect_av and the report read). No torch."""

import argparse

from avsec.avdetect.gather import gather_attacks
from avsec.avdetect.names import attack_grid
from avsec.core.cli import run
from avsec.core.config import parse_flags
from avsec.core.errors import ConfigError


def main() -> None:
    parser = argparse.ArgumentParser(
        allow_abbrev=False,
        description=__doc__,
        epilog="Other --key value flags: the attack's settings, of which the grid's (eps_audio, eps_video, targets) "
        "are read.",
    )
    parser.add_argument("--method", required=True, help="fgsm, bim or cw")
    parser.add_argument("--settings", required=True, help="the folder of the attack_av jobs' folders")
    parser.add_argument("--out", required=True, help="attack results JSON")
    parser.add_argument("--examples-dir", required=True, help="folder for the adversarial example videos")
    args, rest = parser.parse_known_args()
    given = parse_flags(rest)
    missing = [key for key in ("eps_audio", "eps_video") if key not in given]
    if missing:
        raise ConfigError(f"gather_attack_av: missing setting(s) {', '.join(missing)}")
    grid = attack_grid(args.method, given["eps_audio"], given["eps_video"], given.get("targets", ()))
    gather_attacks(args.method, args.settings, args.out, args.examples_dir, grid)


if __name__ == "__main__":
    run(main)
