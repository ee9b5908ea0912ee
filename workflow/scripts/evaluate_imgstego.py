"""Evaluate paper 3's model (and optionally its enhancer) on the test images and carriers: metrics JSON and
examples (images, spectrograms, WAV)."""

import argparse

from avsec.core.cli import run
from avsec.core.config import parse_flags, settings
from avsec.imgstego.evaluate import ImgstegoEvaluation, evaluate
from avsec.train import set_threads


def main() -> None:
    parser = argparse.ArgumentParser(
        allow_abbrev=False,
        description=__doc__,
        epilog="Other --key value flags: the evaluation's settings (ImgstegoEvaluation, avsec.imgstego.evaluate).",
    )
    parser.add_argument("--model", required=True, help="the hiding/reveal checkpoint")
    parser.add_argument("--enhancer", help="the enhancer checkpoint (the 'with enhancer' column)")
    parser.add_argument("--timit", required=True, help="prepared carriers (results/prep/timit)")
    parser.add_argument("--voc", required=True, help="prepared images (results/prep/voc)")
    parser.add_argument("--out", required=True, help="the metrics JSON to write")
    parser.add_argument("--examples-dir", required=True, help="the examples directory to write")
    parser.add_argument("--threads", type=int, default=0, help="CPU threads for torch (0: its default)")
    args, rest = parser.parse_known_args()
    set_threads(args.threads)
    # the rule's name: evaluate_enhanced runs this script with --enhancer
    what = "evaluate_enhanced" if args.enhancer else "evaluate_imgstego"
    evaluate(
        args.model,
        args.timit,
        args.voc,
        args.out,
        args.examples_dir,
        settings(ImgstegoEvaluation, parse_flags(rest), what),
        enhancer_ckpt=args.enhancer,
    )


if __name__ == "__main__":
    run(main)
