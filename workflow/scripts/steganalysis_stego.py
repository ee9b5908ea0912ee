"""Paper 1's security experiment for one method (gan, lsb_matching, echo_hiding): rich-model and CNN steganalyzers."""

import argparse

from avsec.core.cli import run
from avsec.core.config import parse_flags
from avsec.stego.security import Steganalysis, steganalysis
from avsec.train import set_threads


def main() -> None:
    parser = argparse.ArgumentParser(
        allow_abbrev=False,
        description=__doc__,
        epilog="Other --key value flags: STFT and steganalyzer settings; any other flag is the baseline's embedding "
        "setting.",
    )
    parser.add_argument("--method", required=True, help="gan (needs --model), lsb_matching or echo_hiding")
    parser.add_argument("--model", help="the trained stego checkpoint (method gan)")
    parser.add_argument("--data", required=True, help="prepared clips (results/prep/<dataset>)")
    parser.add_argument("--out", required=True, help="results JSON")
    parser.add_argument("--threads", type=int, default=0, help="CPU threads for torch (0: its default)")
    args, rest = parser.parse_known_args()
    set_threads(args.threads)
    what = "security_stego" if args.method == "gan" else "security_baseline_stego"
    steganalysis(args.method, args.data, args.out, Steganalysis.from_flags(parse_flags(rest), what), args.model)


if __name__ == "__main__":
    run(main)
