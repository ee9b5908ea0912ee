"""Paper 4's clips: mouth crops, waveform and MFCC joined by source; a clip missing a part is skipped with the
reason, missing prepared data is one line."""

from __future__ import annotations

import pytest
import torch

from avsec.avdetect.data import load_av
from avsec.core.errors import InputError


def test_clips_without_audio_are_skipped_with_the_reason(av, tiny):
    test = load_av(av / "mouths", av / "audio", "test")
    assert len(test) == 5 and "test/high/1" not in test.sources
    assert test.skipped == [{"source": "test/high/1", "reason": "no audio/wave or audio/mfcc row"}]
    video, audio, coeffs = test.__getitems__(range(len(test)))
    assert video.dtype == torch.uint8 and audio.shape == (5, tiny.frames * 640)
    assert coeffs.dtype == torch.float32 and coeffs.shape == (5, 13, 4 * tiny.frames)


def test_missing_prepared_data_is_one_line(tmp_path):
    with pytest.raises(InputError, match="no manifest.tsv"):
        load_av(tmp_path / "mouths", tmp_path / "audio", "train")


def test_a_split_is_read_batch_by_batch_in_order(av):
    test = load_av(av / "mouths", av / "audio", "test")
    whole = test.__getitems__(range(len(test)))
    batches = list(test.batches(2))
    assert [start for start, _ in batches] == [0, 2, 4]
    for part, full in zip(zip(*(batch for _, batch in batches), strict=True), whole, strict=True):
        assert torch.equal(torch.cat(part), full)
    last = test.subset([4, 1])
    assert last.sources == [test.sources[4], test.sources[1]]
    assert torch.equal(last.read([0], "audio/wave")[0], whole[1][4])


def test_attacked_clips_are_drawn_at_random_over_the_split_with_the_seed(av):
    """attack_av's ``clips``: a seeded draw over the whole split in manifest order, not its first rows (GRID's
    manifest is sorted by speaker); 0 or more than the split keeps every clip."""
    train = load_av(av / "mouths", av / "audio", "train")
    draws = {seed: train.sample(3, seed).sources for seed in range(20)}
    assert draws[0] == train.sample(3, 0).sources  # seeded
    for sources in draws.values():
        rows = [train.sources.index(s) for s in sources]
        assert len(set(rows)) == 3 and rows == sorted(rows)
    assert len({tuple(s) for s in draws.values()}) > 5  # the seed matters
    assert any(s != train.sources[:3] for s in draws.values())
    assert max(train.sources.index(s) for d in draws.values() for s in d) >= len(train) - 2  # the whole split
    assert train.sample(0, 1).sources == train.sample(len(train) + 1, 1).sources == train.sources
