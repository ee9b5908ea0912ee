"""Rows read from the shards as they are needed (avsec.data.rows): every way of indexing gives what indexing the
stacked split would, a crop is the rows' middle, and rows that are not int16 waveforms fail in one line."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from avsec.core.errors import ConfigError, InputError
from avsec.data.rows import ShardRows, waveform_rows
from avsec.io.shards import ShardedArray, shard_writer


@pytest.fixture
def waves(tmp_path):
    rng = np.random.default_rng(0)
    stacked = rng.integers(-9000, 9000, (7, 40), dtype=np.int16)
    with shard_writer(tmp_path / "w", rows_per_shard=3) as writer:
        for k, row in enumerate(stacked):
            writer.add(row, split="train" if k != 2 else "test", label=str(k), source=f"{k}.wav")
    return tmp_path / "w", stacked


def test_indexing_reads_what_the_stacked_split_would_give(waves):
    root, stacked = waves
    rows = ShardedArray(root).rows("train")  # 6 of the 7 rows, across three shards
    split = torch.from_numpy(stacked[rows])
    data = waveform_rows(root, rows, labels=torch.arange(6) * 10)
    assert len(data) == 6 and data.shape == (6, 40) and data.dtype == torch.int16
    assert torch.equal(data[4], split[4]) and torch.equal(data[1:5], split[1:5]) and torch.equal(data[:], split)
    assert torch.equal(data[[5, 0, 5]], split[[5, 0, 5]])
    assert torch.equal(data[torch.tensor([3, 1])], split[torch.tensor([3, 1])])
    audio, labels = data.__getitems__([2, 4])
    assert torch.equal(audio, split[[2, 4]]) and labels.tolist() == [20, 40]
    assert len(ShardRows(ShardedArray(root), rows).__getitems__([0])) == 1  # no labels: the rows alone


def test_a_crop_is_the_middle_of_each_row_and_errors_name_the_data(waves, tmp_path):
    root, stacked = waves
    cropped = waveform_rows(root, [0, 1], crop=10)
    assert torch.equal(cropped[:], torch.from_numpy(stacked[:2, 15:25]))
    with pytest.raises(ConfigError, match="crop 41 is longer than the clips"):
        waveform_rows(root, [0], crop=41)
    with shard_writer(tmp_path / "img") as writer:
        writer.add(np.zeros((4, 4), np.uint8), split="train", label="x", source="a.png")
    with pytest.raises(InputError, match="img.*expected int16 waveform rows"):
        waveform_rows(tmp_path / "img", [0])
