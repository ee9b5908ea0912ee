"""Time and peak RSS of rule gather_av's work at LRW's paper size, on synthetic parts: 538 766 manifest rows
(the real columns, LRW-like sources) split over 64 parts by ``avsec.data.av.parts.part_of``, empty shard files,
and zero ``transforms.npy`` / ``boxes.npy`` of the real shapes. Gathers one directory without row arrays, then
one with them (the mouths), each in a fresh process so that the peaks are separate.

    .venv/bin/python bench/bench_gather_av.py [--rows 538766] [--parts 64] [--dir /tmp/bench_gather_av]
"""

from __future__ import annotations

import argparse
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from avsec.data.av.parts import gather_prepared, part_dirs, part_of
from avsec.io.shards import MANIFEST_FIELDS, REJECT_FIELDS, write_tsv

FRAMES = 29  # LRW


def make_parts(root: Path, rows: int, parts: int) -> None:
    sources: list[list[str]] = [[] for _ in range(parts)]
    for i in range(rows):
        word = f"W{i % 500:03d}"
        source = f"lipread_mp4/{word}/train/{word}_{i:05d}.mp4"
        sources[part_of(source, parts)].append(source)
    for part, chosen in zip(part_dirs(root, "mouths", parts), sources, strict=True):
        (part / "shards").mkdir(parents=True)
        for shard in range((len(chosen) + 4095) // 4096):
            (part / "shards" / f"shard-{shard:05d}.npy").touch()
        entries = [(r, r // 4096, r % 4096, "train", s.split("/")[1], s, 0, FRAMES) for r, s in enumerate(chosen)]
        write_tsv(part / "manifest.tsv", MANIFEST_FIELDS, entries)
        write_tsv(part / "rejects.tsv", REJECT_FIELDS, [])
        np.save(part / "transforms.npy", np.zeros((len(chosen), FRAMES, 2, 3), np.float32))
        np.save(part / "boxes.npy", np.zeros((len(chosen), FRAMES, 4), np.int32))


def gather(root: Path, parts: int, row_arrays: bool) -> None:
    out = root / "gathered"
    shutil.rmtree(out, ignore_errors=True)
    start = time.perf_counter()
    arrays = ("transforms.npy", "boxes.npy") if row_arrays else ()
    gather_prepared(part_dirs(root, "mouths", parts), out, arrays)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"gather, row arrays {row_arrays}: {time.perf_counter() - start:.1f} s, peak RSS {peak:.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=538766)
    parser.add_argument("--parts", type=int, default=64)
    parser.add_argument("--dir", type=Path, default=Path("/tmp/bench_gather_av"))
    parser.add_argument("--only", choices=("plain", "rows"))
    args = parser.parse_args()
    if args.only:
        gather(args.dir, args.parts, args.only == "rows")
        return
    shutil.rmtree(args.dir, ignore_errors=True)
    make_parts(args.dir, args.rows, args.parts)
    for only in ("plain", "rows"):
        common = ["--rows", str(args.rows), "--parts", str(args.parts), "--dir", str(args.dir)]
        subprocess.run([sys.executable, __file__, *common, "--only", only], check=True)
    shutil.rmtree(args.dir)


if __name__ == "__main__":
    main()
