"""Figure 7's bottom row: the genetic baseline on the clip Figure 7 shows, towards its target (rule attack_figure7).

``--<victim> GENERATOR ...`` flags name the scale's generators (scales.<scale>.advgan.generators), as for
report_advgan; avsec.advgan.names.figure7_clip picks the clip from them. Other --key value flags: the attack's
settings (advgan.baselines.genetic and the scale's budget ``iterations``), ``seed`` and ``device``.
"""

import argparse

from avsec.advgan.baselines import attack_figure7, baseline_attack
from avsec.advgan.victims import VICTIMS
from avsec.core.cli import run
from avsec.core.config import parse_flags
from avsec.train import set_threads


def main() -> None:
    parser = argparse.ArgumentParser(
        allow_abbrev=False,
        description=__doc__,
        epilog="--<victim> GENERATOR ...: the generators of each victim; other --key value flags: the attack's.",
    )
    parser.add_argument("--out", required=True, help="the attack's record (JSON)")
    parser.add_argument("--wav", required=True, help="the adversarial clip (WAV)")
    parser.add_argument("--threads", type=int, default=0, help="CPU threads for torch (0: its default)")
    args, rest = parser.parse_known_args()
    set_threads(args.threads)
    given = parse_flags(rest)
    generators = {victim: given.pop(victim) for victim in list(given) if victim in VICTIMS}
    result = attack_figure7(generators, args.out, args.wav, baseline_attack({"clips": 1, **given}))
    print(
        f"Figure 7, genetic: {result['source']} → {result['target']} on {result['victim']}: "
        f"{'success' if result['success'] else 'failure'}, SNR {result['snr_db']:.2f} dB, {result['queries']} queries"
    )


if __name__ == "__main__":
    run(main)
