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
    assert test.video.dtype == torch.uint8 and test.audio.shape == (5, tiny.frames * 640)


def test_missing_prepared_data_is_one_line(tmp_path):
    with pytest.raises(InputError, match="no manifest.tsv"):
        load_av(tmp_path / "mouths", tmp_path / "audio", "train")
