"""One job of rule attack_av (paper 4): one setting of an attack's ε grid (FGSM, BIM on LRW; C&W with CTC on
GRID, one target sentence a job), or ``--setting benign``, the clean clips' scores; every clip scored by SyncNet
confidence. Resumable: SIGUSR1/SIGTERM save the progress and exit 75, a rerun continues."""

import argparse

from avsec.avdetect.attack_jobs import AttackSettings, attack_setting
from avsec.core.cli import run
from avsec.core.config import parse_flags, settings
from avsec.train import set_threads


def main() -> None:
    parser = argparse.ArgumentParser(
        allow_abbrev=False,
        description=__doc__,
        epilog="Other --key value flags: the attack's settings (AttackSettings, avsec.avdetect.attack_jobs), --seed "
        "among them.",
    )
    parser.add_argument("--method", required=True, help="fgsm, bim or cw")
    parser.add_argument("--setting", required=True, help="benign, or a setting of the grid (e.g. cw_a512_v4_bbaazp)")
    parser.add_argument("--mouths", required=True, help="mouth crops (results/av/<corpus>/mouths)")
    parser.add_argument("--audio", required=True, help="audio features (results/av/<corpus>/audio)")
    parser.add_argument("--recogniser", required=True, help="the recogniser checkpoint")
    parser.add_argument("--syncnet", required=True, help="the SyncNet checkpoint")
    parser.add_argument("--out", required=True, help="the job's folder (result.json, example videos)")
    parser.add_argument("--threads", type=int, default=0, help="CPU threads for torch (0: its default)")
    args, rest = parser.parse_known_args()
    set_threads(args.threads)
    attack_setting(
        args.method,
        args.setting,
        args.mouths,
        args.audio,
        args.recogniser,
        args.syncnet,
        args.out,
        settings(AttackSettings, parse_flags(rest), "attack_av"),
    )


if __name__ == "__main__":
    run(main)
