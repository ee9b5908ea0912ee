"""Train paper 4's audiovisual recogniser of one corpus (LRW words, GRID sentences) and score its test clips
(rule train_av)."""

import argparse

from avsec.avdetect.recogniser import RecogniserTraining, train_recogniser
from avsec.core.cli import run
from avsec.core.config import parse_flags, settings
from avsec.train import set_threads


def main() -> None:
    parser = argparse.ArgumentParser(
        allow_abbrev=False,
        description=__doc__,
        epilog="Other --key value flags: the recogniser's settings (RecogniserTraining, avsec.avdetect.recogniser), "
        "--seed among them.",
    )
    parser.add_argument("--corpus", required=True, help="lrw or grid")
    parser.add_argument("--mouths", required=True, help="mouth crops (results/av/<corpus>/mouths)")
    parser.add_argument("--audio", required=True, help="audio features (results/av/<corpus>/audio)")
    parser.add_argument("--out", required=True, help="the checkpoint to write")
    parser.add_argument("--history", help="the training history CSV to write (dvc plots); none when not given")
    parser.add_argument("--metrics", required=True, help="test accuracy / WER JSON")
    parser.add_argument("--threads", type=int, default=0, help="CPU threads for torch (0: its default)")
    args, rest = parser.parse_known_args()
    set_threads(args.threads)
    training = settings(RecogniserTraining, parse_flags(rest), "train_av")
    result = train_recogniser(args.corpus, args.mouths, args.audio, args.out, args.metrics, training, args.history)
    wer = f", WER {result['wer']:.2%}" if "wer" in result else ""
    print(f"{args.corpus}: test accuracy {result['accuracy']:.2%}{wer} on {result['clips']['test']} clips")


if __name__ == "__main__":
    run(main)
