"""Paper 4's clips: the prepared mouth crops, waveform and MFCC of one split joined by source file, and the CPU
setting every training and attack step of the paper runs under.

Data: ``results/av/<corpus>/mouths`` (uint8 96×96 crops), ``audio/wave`` (int16, 640 samples per frame) and
``audio/mfcc`` (13 × 4T), joined by source file; a clip missing from one of them is skipped with the reason,
which the steps record in their JSON. A split is read from the memory-mapped shards batch by batch, never held
whole (:class:`AVClips`).
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from avsec.core.errors import InputError
from avsec.io.shards import ShardedArray

SAMPLES_PER_FRAME = 640  # 16 kHz / 25 fps
STEPS_PER_FRAME = 4  # MFCC steps (100 Hz) per video frame


def flushing_denormals(fn):
    """Run ``fn`` with denormal floats flushed to zero (x86 / ARM): tiny gradients and perturbations otherwise
    slow the CPU several-fold (a C&W step on GRID: 3× here). Deterministic; restored afterwards."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with contextlib.ExitStack() as stack:
            if torch.set_flush_denormal(True):
                stack.callback(torch.set_flush_denormal, False)
            return fn(*args, **kwargs)

    return wrapper


@dataclass
class AVClips:
    """The clips of one split, read from the memory-mapped shards only when asked: a batch is uint8 crops
    (B, T, 96, 96), int16 audio (B, 640·T) and float MFCC (B, 13, 4·T). Memory holds the row numbers, labels and
    sources (a few bytes per clip), never the split; it is a torch ``Dataset`` whose ``__getitems__`` reads a
    batch, so a ``DataLoader`` streams it."""

    parts: dict[str, ShardedArray]
    rows: list[tuple[int, int, int]]  # (mouths row, wave row, mfcc row) of each clip
    labels: list[str]
    sources: list[str]
    skipped: list[dict] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def frames(self) -> int:
        return self.parts["mouths"][self.rows[0][0]].shape[0]

    def subset(self, indices) -> AVClips:
        """The clips at ``indices``, in that order."""
        indices = [int(i) for i in indices]
        return AVClips(
            self.parts,
            [self.rows[i] for i in indices],
            [self.labels[i] for i in indices],
            [self.sources[i] for i in indices],
            self.skipped,
        )

    def sample(self, n: int, seed: int) -> AVClips:
        """``n`` clips drawn at random (seeded) over the whole split, kept in manifest order (all when ``n`` is 0 or
        at least the split): a manifest sorted by speaker or word gives every speaker or word its chance."""
        if not n or n >= len(self):
            return self
        return self.subset(np.sort(np.random.default_rng(seed).choice(len(self), n, replace=False)))

    def video_row(self, i: int) -> np.ndarray:
        """Clip ``i``'s crops, memory-mapped (T, 96, 96) uint8: slicing it reads only the frames asked for."""
        return self.parts["mouths"][self.rows[i][0]]

    def mfcc_row(self, i: int) -> np.ndarray:
        return self.parts["audio/mfcc"][self.rows[i][2]]

    def read(self, indices, kind: str) -> torch.Tensor:
        """One part (``mouths``, ``audio/wave`` or ``audio/mfcc``) of the clips at ``indices``, read into memory."""
        k, dtype = list(PARTS).index(kind), PARTS[kind]
        rows = [self.parts[kind][self.rows[int(i)][k]] for i in indices]
        return torch.from_numpy(np.stack(rows).astype(dtype, copy=False))

    def __getitems__(self, indices) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Clips at ``indices`` read into memory: (video, audio, mfcc) tensors."""
        return tuple(self.read(indices, kind) for kind in PARTS)

    def batches(self, batch: int) -> Iterator[tuple[int, tuple[torch.Tensor, torch.Tensor, torch.Tensor]]]:
        """(first clip, (video, audio, mfcc)) of consecutive batches of ``batch`` clips, in order."""
        for i in range(0, len(self), batch):
            yield i, self.__getitems__(range(i, min(i + batch, len(self))))


PARTS = {"mouths": np.uint8, "audio/wave": np.int16, "audio/mfcc": np.float32}  # what a batch holds, in order


def load_av(mouths: str | Path, audio: str | Path, split: str) -> AVClips:
    """Rows of ``split`` present in ``mouths`` (results/av/<corpus>/mouths) and in ``audio``'s wave and mfcc
    (results/av/<corpus>/audio), joined by source; a clip missing from one of them, or of the wrong shape, is
    skipped with the reason. Only the manifests and the shards' headers are read."""
    folders = {"mouths": Path(mouths), "audio/wave": Path(audio) / "wave", "audio/mfcc": Path(audio) / "mfcc"}
    parts = {}
    for kind, folder in folders.items():
        if not (folder / "manifest.tsv").is_file():
            raise InputError(folder, "prepared audiovisual data not found (no manifest.tsv)")
        parts[kind] = ShardedArray(folder)
    index = {}  # source → row of the split, per part
    for kind, a in parts.items():
        rows = a.rows(split)
        index[kind] = dict(zip(a.manifest.column("source")[rows].tolist(), rows, strict=True)) if rows else {}
    rows, labels, sources, skipped, shape = [], [], [], [], None
    for source, row in index["mouths"].items():
        missing = [kind for kind in ("audio/wave", "audio/mfcc") if source not in index[kind]]
        if missing:
            skipped.append({"source": source, "reason": f"no {' or '.join(missing)} row"})
            continue
        wave, coeffs = index["audio/wave"][source], index["audio/mfcc"][source]
        v, a, m = parts["mouths"][row].shape, parts["audio/wave"][wave].shape, parts["audio/mfcc"][coeffs].shape
        if a[0] != SAMPLES_PER_FRAME * v[0] or m[-1] != STEPS_PER_FRAME * v[0]:
            skipped.append({"source": source, "reason": f"audio of {a[0]} samples for {v[0]} frames"})
            continue
        if shape and v != shape:
            skipped.append({"source": source, "reason": f"crops of shape {v}, expected {shape}"})
            continue
        shape = v
        rows.append((row, wave, coeffs))
        labels.append(str(parts["mouths"].manifest.column("label")[row]))
        sources.append(source)
    skipped += [{"source": s, "reason": "no mouth crops"} for s in index["audio/wave"] if s not in index["mouths"]]
    if not rows:
        raise InputError(mouths, f"no usable {split} clips (mouth crops with audio and MFCC)")
    return AVClips(parts, rows, labels, sources, skipped)
