"""Generate one synthetic corpus in the real corpus's layout and formats (rule synth_corpus)."""

import argparse

from avsec.core.cli import run
from avsec.core.config import parse_flags
from avsec.data.synth import CORPORA, make_corpus


def main() -> None:
    parser = argparse.ArgumentParser(
        allow_abbrev=False, description=__doc__, epilog="Other --key value flags: the generator's sizes."
    )
    parser.add_argument("--corpus", required=True, choices=CORPORA)
    parser.add_argument("--seed", required=True, type=int)
    parser.add_argument("--out", required=True)
    args, sizes = parser.parse_known_args()
    make_corpus(args.corpus, args.out, seed=args.seed, sizes=parse_flags(sizes))


if __name__ == "__main__":
    run(main)
