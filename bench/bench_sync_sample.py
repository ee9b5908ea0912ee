"""Paper 4's in-sync vs mismatched AUC (``avsec.avdetect.syncnet.sync_separation``) from a seeded sample of
mismatched pairs per test clip against every pair, on a finished run's SyncNets and test clips (the smoke DAG's
``results/`` by default). Prints, per corpus and per sample size, the AUC, the pairs scored and the seconds;
last, the largest AUC change at the configured sample size (config.yaml avdetect.syncnet.mismatched_per_clip)
against all pairs (the baseline, same run).

    .venv/bin/python bench/bench_sync_sample.py [--results results] [--per-clip 1 2 3 5 10] [--seeds 3]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
import yaml

from avsec.avdetect.data import load_av
from avsec.avdetect.syncnet import load_syncnet, sync_separation

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(allow_abbrev=False, description=__doc__.split("\n\n")[0])
    parser.add_argument("--results", default="results", help="a finished run's results/ (smoke or paper)")
    parser.add_argument("--per-clip", type=int, nargs="+", default=[1, 2, 3, 5, 10])
    parser.add_argument("--seeds", type=int, default=3, help="samples drawn per size (seeds 0..)")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    config = yaml.safe_load((REPO / "config.yaml").read_text())["avdetect"]["syncnet"]
    vshift, configured = config["vshift"], config["mismatched_per_clip"]
    results = Path(args.results)
    worst = 0.0
    print("corpus  per_clip  seed  pairs     AUC  seconds")
    for corpus in ("lrw", "grid"):
        test = load_av(results / "av" / corpus / "mouths", results / "av" / corpus / "audio", "test")
        model, _ = load_syncnet(results / "avdetect" / corpus / "syncnet.pt")
        start = time.perf_counter()
        every = sync_separation(model, test, vshift, per_clip=0)
        seconds = time.perf_counter() - start
        pairs, value = every["mismatched_pairs"], every["sync_auc"]
        print(f"{corpus:6}  {'all':>8}  {'-':>4}  {pairs:5}  {value:.4f}  {seconds:7.2f}")
        for per_clip in args.per_clip:
            for seed in range(args.seeds):
                start = time.perf_counter()
                sample = sync_separation(model, test, vshift, per_clip=per_clip, seed=seed)
                seconds = time.perf_counter() - start
                change = abs(sample["sync_auc"] - every["sync_auc"])
                if per_clip == min(configured, len(test) - 1):
                    worst = max(worst, change)
                print(
                    f"{corpus:6}  {per_clip:8}  {seed:4}  {sample['mismatched_pairs']:5}  {sample['sync_auc']:.4f}"
                    f"  {seconds:7.2f}"
                )
    print(f"largest AUC change at mismatched_per_clip={configured} against all pairs: {worst:.4f}")


if __name__ == "__main__":
    main()
