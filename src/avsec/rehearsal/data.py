"""Prepared data for the rehearsal, written directly in the project's shard format (numpy only, no corpus, no
ffmpeg): random rows of the real corpora's prepared shapes, each split at least one paper-size batch of the rows
its job reads. Also the writers the memory bench uses (bench/bench_memory.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from avsec.io.shards import shard_writer

AV_SAMPLES_PER_FRAME, MFCC_PER_FRAME = 640, 4  # 16 kHz audio and 100 Hz MFCC at 25 fps


def write_waves(root: Path, counts: dict[str, int], length: int, labels, seed: int = 0, first: int = 0) -> float:
    """A prepared corpus (results/prep/<corpus>) of ``counts[split]`` random int16 rows of ``length`` samples;
    the labels are taken in turn, or, with ``first``, the first label goes to the first ``first`` rows of each split
    and the others in turn to the rest. Returns one row's size (MB)."""
    rng = np.random.default_rng(seed)
    labels = list(labels)
    with shard_writer(root) as writer:
        for split, n in counts.items():
            for i in range(n):
                rest = labels[1:] if first else labels
                label = labels[0] if i < first else rest[(i - first) % len(rest)]
                row = rng.integers(-3000, 3000, length, dtype=np.int16)
                writer.add(row, split=split, label=label, source=f"{split}/{i}.wav")
    return length * 2 / 2**20


def write_images(root: Path, counts: dict[str, int], shape: tuple[int, int, int], seed: int = 0) -> float:
    """Prepared images (results/prep/voc): ``counts[split]`` random uint8 images of ``shape``; one's size (MB)."""
    rng = np.random.default_rng(seed)
    with shard_writer(root) as writer:
        for split, n in counts.items():
            for i in range(n):
                writer.add(rng.integers(0, 256, shape, dtype=np.uint8), split=split, label="image",
                           source=f"{split}/{i}.jpg")  # fmt: skip
    return float(np.prod(shape)) / 2**20


def write_av(root: Path, counts: dict[str, int], frames: int, labels, seed: int = 0, size: int = 96) -> float:
    """results/av/<corpus>/{mouths, audio/wave, audio/mfcc}: ``counts[split]`` random clips of ``frames`` frames
    (size x size crops, 16 kHz audio, 13 MFCC at 100 Hz), labels taken in turn; returns one clip's size (MB)."""
    rng = np.random.default_rng(seed)
    labels = list(labels)
    with shard_writer(root / "mouths") as mouths, shard_writer(root / "audio" / "wave") as wave:
        with shard_writer(root / "audio" / "mfcc") as coeffs:
            for split, n in counts.items():
                for i in range(n):
                    meta = {"split": split, "label": labels[i % len(labels)], "source": f"{split}/{i}"}
                    mouths.add(rng.integers(0, 256, (frames, size, size), dtype=np.uint8), **meta)
                    wave.add(rng.integers(-3000, 3000, frames * AV_SAMPLES_PER_FRAME, dtype=np.int16), **meta)
                    mfcc = rng.standard_normal((13, MFCC_PER_FRAME * frames)).astype(np.float16)
                    coeffs.add(mfcc, **meta)
    return (frames * size * size + frames * AV_SAMPLES_PER_FRAME * 2 + 13 * MFCC_PER_FRAME * frames * 2) / 2**20
