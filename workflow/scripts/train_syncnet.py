"""Train paper 4's synchronisation network (SyncNet) on one corpus's training clips, or take the published
weights from a local file, and measure how its confidence separates in-sync from mismatched audio (rule
train_syncnet)."""

import argparse

from avsec.avdetect.syncnet import SyncNetTraining, train_syncnet
from avsec.core.cli import run
from avsec.core.config import parse_flags, settings
from avsec.train import set_threads


def main() -> None:
    parser = argparse.ArgumentParser(
        allow_abbrev=False,
        description=__doc__,
        epilog="Other --key value flags: SyncNet's settings (SyncNetTraining, avsec.avdetect.syncnet), --seed among "
        "them.",
    )
    parser.add_argument("--corpus", required=True, help="lrw or grid")
    parser.add_argument("--mouths", required=True, help="mouth crops (results/av/<corpus>/mouths)")
    parser.add_argument("--audio", required=True, help="audio features (results/av/<corpus>/audio)")
    parser.add_argument("--out", required=True, help="the checkpoint to write")
    parser.add_argument("--history", help="the training history CSV to write (dvc plots); none when not given")
    parser.add_argument("--metrics", required=True, help="synchronisation JSON (AUC in-sync vs mismatched)")
    parser.add_argument("--threads", type=int, default=0, help="CPU threads for torch (0: its default)")
    args, rest = parser.parse_known_args()
    set_threads(args.threads)
    training = settings(SyncNetTraining, parse_flags(rest), "train_syncnet")
    result = train_syncnet(args.corpus, args.mouths, args.audio, args.out, args.metrics, training, args.history)
    print(f"{args.corpus}: in-sync vs mismatched AUC {result['sync_auc']:.3f} on {result['test_clips']} clips")


if __name__ == "__main__":
    run(main)
