"""Prepare one corpus into .npy shards + manifest.tsv + rejects.tsv (rules prepare_<corpus>)."""

import argparse

from avsec.core.cli import run
from avsec.core.config import parse_flags
from avsec.data.prep import PREPARERS


def main() -> None:
    parser = argparse.ArgumentParser(
        allow_abbrev=False, description=__doc__, epilog="Other --key value flags: the preparation settings."
    )
    parser.add_argument("--corpus", required=True, choices=sorted(PREPARERS))
    parser.add_argument("--root", required=True, help="the corpus directory, in its real layout")
    parser.add_argument("--out", required=True)
    args, settings = parser.parse_known_args()
    summary = PREPARERS[args.corpus](args.root, args.out, **parse_flags(settings))
    print(f"{args.corpus}: {summary}")


if __name__ == "__main__":
    run(main)
