"""STFT features of a prepared audio directory (rule extract_stft)."""

import argparse

from avsec.core.cli import run
from avsec.core.config import parse_flags
from avsec.data.features import extract_stft


def main() -> None:
    parser = argparse.ArgumentParser(
        allow_abbrev=False, description=__doc__, epilog="Other --key value flags: the STFT settings."
    )
    parser.add_argument("--data", required=True, help="a prepared audio directory (results/prep/<corpus>)")
    parser.add_argument("--out", required=True)
    args, settings = parser.parse_known_args()
    summary = extract_stft(args.data, args.out, **parse_flags(settings))
    print(f"features: {summary}")


if __name__ == "__main__":
    run(main)
