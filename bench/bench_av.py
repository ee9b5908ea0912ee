"""Audiovisual preparation speed on a synthetic LRW corpus, against ffmpeg's decode of the same videos measured
in the same run: the crop step (decode + mouth ROI) and landmark detection per backend, in frames per second,
and the speed-up of a job's whole opencv landmark step and crop step with 2 worker processes against 1 (each
step's ``workers``, what the rules give their ``threads``). Prints the crop/decode time ratio last.

    .venv/bin/python bench/bench_av.py [--words 4] [--clips 4]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from timing import seconds

from avsec.data.av import prep as av_prep
from avsec.data.av.corpora import lrw_items
from avsec.data.av.landmarks import detect
from avsec.data.synth import make_corpus
from avsec.io.video import read_clip

WORDS = ("ABOUT", "ABSOLUTELY", "ACCESS", "AGAIN", "AGAINST", "AFTER", "AFFAIRS", "ACTUALLY")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--words", type=int, default=4)
    parser.add_argument("--clips", type=int, default=4, help="training clips per word")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        root = tmp / "lrw"
        sizes = {"words": list(WORDS[: args.words]), "train": args.clips, "val": 0, "test": 0}
        make_corpus("lrw", root, seed=1, sizes=sizes)
        items, _ = lrw_items(root)
        frames = 29 * len(items)
        decode = seconds(lambda: [read_clip(item.path) for item in items])
        landmarks = tmp / "landmarks"
        precomputed = seconds(
            lambda: av_prep.detect_corpus_landmarks(
                "lrw", root, landmarks, frames=29, backend="precomputed", max_missing=0.5
            )
        )
        av_prep.compute_mean_face(landmarks, tmp / "face.npy")
        crop = seconds(
            lambda: av_prep.crop_corpus_mouths("lrw", root, landmarks, tmp / "face.npy", tmp / "m", frames=29)
        )

        def run_step(kind: str, workers: int) -> None:
            out = tmp / f"{kind}-{workers}"
            if kind == "landmarks":
                av_prep.detect_corpus_landmarks("lrw", root, out, frames=29, backend="opencv", max_missing=0.5,
                                                workers=workers)  # fmt: skip
            else:
                av_prep.crop_corpus_mouths("lrw", root, landmarks, tmp / "face.npy", out, frames=29, workers=workers)

        video = read_clip(items[0].path)[0]
        opencv = seconds(lambda: detect(video, backend="opencv")) * len(items)
        step = {
            (kind, workers): seconds(lambda kind=kind, workers=workers: run_step(kind, workers))
            for kind in ("landmarks", "mouths")
            for workers in (1, 2)
        }
    print(f"{len(items)} LRW clips, {frames} frames")
    print(f"ffmpeg decode (baseline):        {frames / decode:8.0f} frames/s")
    print(f"landmarks, precomputed files:    {frames / precomputed:8.0f} frames/s")
    print(f"landmarks, opencv (detect only): {frames / opencv:8.0f} frames/s")
    print("landmarks, face_alignment:       needs its weights in a cache dir and a GPU (not measured here)")
    print(f"crop step (decode + mouth ROI):  {frames / crop:8.0f} frames/s")
    for kind in ("landmarks", "mouths"):
        one, two = step[kind, 1], step[kind, 2]
        print(f"{kind} step (opencv), 1 worker {one:.1f} s, 2 workers {two:.1f} s: speed-up {one / two:.2f}x")
    print(f"ratio crop step / decode: {crop / decode:.2f}")


if __name__ == "__main__":
    main()
