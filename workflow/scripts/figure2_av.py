"""Rule figure2_av (paper 4): Figure 2's examples, one LRW test clip attacked by BIM at each ε_V × ε_A of the
figure with the trained recogniser, the perturbed mouth pasted back into the clip's face frames."""

import argparse

from avsec.avdetect.figure2 import Figure2Settings, figure2_examples
from avsec.core.cli import run
from avsec.core.config import parse_flags, settings
from avsec.train import set_threads


def main() -> None:
    parser = argparse.ArgumentParser(
        allow_abbrev=False,
        description=__doc__,
        epilog="Other --key value flags: the figure's settings (Figure2Settings, avsec.avdetect.figure2).",
    )
    parser.add_argument("--corpus", required=True, help="lrw (the corpus BIM attacks)")
    parser.add_argument("--root", required=True, help="the corpus directory (the clip's full video)")
    parser.add_argument("--mouths", required=True, help="crops, transforms, boxes (results/av/<corpus>/mouths)")
    parser.add_argument("--audio", required=True, help="audio features (results/av/<corpus>/audio)")
    parser.add_argument("--recogniser", required=True, help="the recogniser checkpoint")
    parser.add_argument("--out", required=True, help="the job's folder (examples.npz, examples.json)")
    parser.add_argument("--threads", type=int, default=0, help="CPU threads for torch (0: its default)")
    args, rest = parser.parse_known_args()
    set_threads(args.threads)
    figure2_examples(
        args.corpus,
        args.root,
        args.mouths,
        args.audio,
        args.recogniser,
        args.out,
        settings(Figure2Settings, parse_flags(rest), "figure2_av"),
    )


if __name__ == "__main__":
    run(main)
