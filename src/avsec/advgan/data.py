"""Paper 2's clips: the rows of prepared shards (results/prep/speech_commands, results/prep/gtzan) with the victim's
labels.

Each row is an int16 waveform of 16384 samples, read from the shards as it is needed (:func:`clip_rows`): batch
by batch for training and evaluation, the drawn clips for the baselines. Rows stay int16 and are scaled to
[-1, 1] by eq. (12) (:func:`avsec.io.audio.normalize`) on the device, by whoever feeds them to a network.
"""

from __future__ import annotations

from pathlib import Path

import torch

from avsec.core.errors import InputError
from avsec.data.rows import ShardRows, waveform_rows
from avsec.io.shards import ShardedArray

CLIP = 16384  # samples per clip: the victims' and the generators' input (prep.speech_commands.length, prep.gtzan.clip)


def clip_rows(data: str | Path, split: str, labels: list[str]) -> ShardRows:
    """The rows of ``split`` whose label is one of ``labels``, read from the shards as they are needed, with their
    label indices (``.labels``): what training and evaluation stream batch by batch."""
    shards = ShardedArray(data)
    index = {name: i for i, name in enumerate(labels)}
    names = shards.manifest.column("label")
    rows = [r for r in shards.rows(split) if names[r] in index]
    if not rows:
        raise InputError(data, f"no {split} rows with labels {', '.join(labels)}")
    return waveform_rows(data, rows, labels=torch.tensor([index[str(names[r])] for r in rows]))
