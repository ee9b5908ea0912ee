"""Paper 2's clips: the rows of prepared shards (results/prep/speech_commands, results/prep/gtzan) with the victim's
labels.

Each row is an int16 waveform of 16384 samples. The rows stay int16 in memory and are scaled to [-1, 1] by
eq. (12) (:func:`avsec.io.audio.normalize`) on the device, by whoever feeds them to a network.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from avsec.core.errors import InputError
from avsec.io.shards import ShardedArray


@dataclass
class Clips:
    """Rows of one split: int16 waveforms (N, L), label indices (N,), and the label names."""

    audio: torch.Tensor
    labels: torch.Tensor
    names: list[str]


def load_clips(data: str | Path, split: str, labels: list[str]) -> Clips:
    """The rows of ``split`` whose label is one of ``labels``, read from the shards into memory."""
    shards = ShardedArray(data)
    index = {name: i for i, name in enumerate(labels)}
    rows = [r for r in shards.rows(split) if shards.manifest[r]["label"] in index]
    if not rows:
        raise InputError(data, f"no {split} rows with labels {', '.join(labels)}")
    audio = np.stack([shards[r] for r in rows])
    if audio.dtype != np.int16 or audio.ndim != 2:
        raise InputError(data, f"expected int16 waveform rows, found {audio.dtype} {audio.shape[1:]}")
    y = [index[shards.manifest[r]["label"]] for r in rows]
    return Clips(torch.from_numpy(audio), torch.tensor(y), list(labels))
