"""Paper 4's clips: the prepared mouth crops, waveform and MFCC of one split joined by source file, and the CPU
setting every training and attack step of the paper runs under.

Data: ``results/av/<corpus>/mouths`` (uint8 96×96 crops), ``audio/wave`` (int16, 640 samples per frame) and
``audio/mfcc`` (13 × 4T), joined by source file; a clip missing from one of them is skipped with the reason,
which the steps record in their JSON.
"""

from __future__ import annotations

import contextlib
import functools
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
    """The clips of one split: uint8 crops (N, T, 96, 96), int16 audio (N, 640·T), float MFCC (N, 13, 4·T)."""

    video: torch.Tensor
    audio: torch.Tensor
    mfcc: torch.Tensor
    labels: list[str]
    sources: list[str]
    skipped: list[dict] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.labels)

    def take(self, n: int) -> AVClips:
        """The first ``n`` clips (all when ``n`` is 0)."""
        if not n or n >= len(self):
            return self
        return AVClips(self.video[:n], self.audio[:n], self.mfcc[:n], self.labels[:n], self.sources[:n], self.skipped)


def load_av(mouths: str | Path, audio: str | Path, split: str) -> AVClips:
    """Rows of ``split`` present in ``mouths`` (results/av/<corpus>/mouths) and in ``audio``'s wave and mfcc
    (results/av/<corpus>/audio), joined by source; a clip missing from one of them, or of the wrong shape, is
    skipped with the reason."""
    folders = {"mouths": Path(mouths), "audio/wave": Path(audio) / "wave", "audio/mfcc": Path(audio) / "mfcc"}
    parts = {}
    for kind, folder in folders.items():
        if not (folder / "manifest.tsv").is_file():
            raise InputError(folder, "prepared audiovisual data not found (no manifest.tsv)")
        parts[kind] = ShardedArray(folder)
    index = {
        kind: {m["source"]: i for i, m in enumerate(a.manifest) if m["split"] == split} for kind, a in parts.items()
    }
    video, audio, coeffs, labels, sources, skipped = [], [], [], [], [], []
    for source, row in index["mouths"].items():
        missing = [kind for kind in ("audio/wave", "audio/mfcc") if source not in index[kind]]
        if missing:
            skipped.append({"source": source, "reason": f"no {' or '.join(missing)} row"})
            continue
        v = parts["mouths"][row]
        a = parts["audio/wave"][index["audio/wave"][source]]
        m = parts["audio/mfcc"][index["audio/mfcc"][source]]
        if len(a) != SAMPLES_PER_FRAME * len(v) or m.shape[-1] != STEPS_PER_FRAME * len(v):
            skipped.append({"source": source, "reason": f"audio of {len(a)} samples for {len(v)} frames"})
            continue
        if video and v.shape != video[0].shape:
            skipped.append({"source": source, "reason": f"crops of shape {v.shape}, expected {video[0].shape}"})
            continue
        video.append(np.asarray(v))
        audio.append(np.asarray(a))
        coeffs.append(np.asarray(m, dtype=np.float32))
        labels.append(parts["mouths"].manifest[row]["label"])
        sources.append(source)
    skipped += [{"source": s, "reason": "no mouth crops"} for s in index["audio/wave"] if s not in index["mouths"]]
    if not video:
        raise InputError(mouths, f"no usable {split} clips (mouth crops with audio and MFCC)")
    return AVClips(
        torch.from_numpy(np.stack(video)),
        torch.from_numpy(np.stack(audio)),
        torch.from_numpy(np.stack(coeffs)),
        labels,
        sources,
        skipped,
    )
