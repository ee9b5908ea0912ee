"""Attack a sample of test clips with a black-box baseline, genetic or pso (rule attack_baseline)."""

import argparse

from avsec.advgan.baselines import attack_baseline, baseline_attack
from avsec.core.cli import run
from avsec.core.config import parse_flags
from avsec.train import set_threads


def main() -> None:
    parser = argparse.ArgumentParser(
        allow_abbrev=False, description=__doc__, epilog="Other --key value flags: the attack's settings."
    )
    parser.add_argument("--method", required=True, help="genetic or pso")
    parser.add_argument("--victim", required=True, help="the victim's checkpoint")
    parser.add_argument("--data", required=True, help="prepared clips (results/prep/<corpus>)")
    parser.add_argument("--out", required=True, help="results JSON")
    parser.add_argument("--examples-dir", help="folder for the first `examples` clips' WAV pairs")
    parser.add_argument("--threads", type=int, default=0, help="CPU threads for torch (0: its default)")
    args, settings = parser.parse_known_args()
    set_threads(args.threads)
    result = attack_baseline(
        args.method, args.victim, args.data, args.out, baseline_attack(parse_flags(settings)), args.examples_dir
    )
    print(f"{args.method}: success {result['success']:.1%}, {result['seconds_per_clip']:.2f} s per clip")


if __name__ == "__main__":
    run(main)
