"""Rows of a prepared directory as a torch ``Dataset`` read from the memory-mapped shards as they are needed.

:class:`ShardRows` holds row numbers (and labels), never the rows: indexing it with an int, a slice, a list or
a tensor of positions reads just those rows (cut to a window of samples when asked) into a tensor, as indexing
the stacked split would have given; ``__getitems__`` hands the trainer's ``DataLoader`` a batch. So a job that
trains on, or draws from, a split of any size holds one batch of it at a time.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from avsec.core.errors import ConfigError, InputError
from avsec.io.shards import ShardedArray


class ShardRows(Dataset):
    """Rows ``rows`` of ``shards`` (int16 waveforms, uint8 images, ...), each cut to ``window`` (start, stop)
    when given; ``labels`` (one per row) come along in training batches."""

    def __init__(self, shards: ShardedArray, rows: list[int], *, window: tuple[int, int] | None = None,
                 labels: torch.Tensor | None = None):  # fmt: skip
        self.shards, self.rows, self.window, self.labels = shards, np.asarray(rows, dtype=np.int64), window, labels

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def dtype(self) -> torch.dtype:
        return self[0].dtype

    @property
    def shape(self) -> tuple[int, ...]:
        """The stacked split's shape: (rows, *one row's shape after the window)."""
        return (len(self), *self[0].shape)

    def __getitem__(self, index) -> torch.Tensor:
        if isinstance(index, (int, np.integer)):
            return self[[int(index)]][0]
        positions = self.rows[index.cpu().numpy() if isinstance(index, torch.Tensor) else index]
        start, stop = self.window or (None, None)
        out = np.stack([self.shards[int(r)][start:stop] for r in np.atleast_1d(positions)])
        return torch.from_numpy(out)

    def __getitems__(self, indices: list[int]) -> tuple[torch.Tensor, ...]:
        batch = self[list(indices)]
        return (batch,) if self.labels is None else (batch, self.labels[list(indices)])


def waveform_rows(data: str | Path, rows: list[int], *, crop: int = 0, labels: torch.Tensor | None = None) -> ShardRows:
    """int16 waveform rows of ``data`` cut to their middle ``crop`` samples (0: whole); a clear error when the
    rows are not int16 waveforms or shorter than ``crop``."""
    shards = ShardedArray(data)
    first = shards[int(rows[0])]
    if first.dtype != np.int16 or first.ndim != 1:
        raise InputError(data, f"expected int16 waveform rows, found {first.dtype} {first.shape}")
    window = None
    if crop:
        if crop > first.shape[0]:
            raise ConfigError(f"crop {crop} is longer than the clips of {data} ({first.shape[0]} samples)")
        start = (first.shape[0] - crop) // 2
        window = (start, start + crop)
    return ShardRows(shards, rows, window=window, labels=labels)
