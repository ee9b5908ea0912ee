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
