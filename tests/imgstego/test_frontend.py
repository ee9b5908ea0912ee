"""Paper 3's front-end on tiny in-test shards: the paper's 512×513, the inverse STFT with the carrier's phase,
short carriers, and images that are not prepared."""

from __future__ import annotations

import pytest
import torch

from avsec.core.errors import ConfigError, InputError
from avsec.imgstego.frontend import Frontend, Images, load_carriers


def test_the_papers_front_end_is_512_by_513():
    front = Frontend()
    assert front.shape == (512, 513)
    magnitude, spec = front.analyse(torch.zeros(1, 16000, dtype=torch.int16))
    assert magnitude.shape == (1, 1, 512, 513) and spec.shape == (1, 513, 517)  # 16000 // 31 + 1 frames
    with pytest.raises(ConfigError, match="frames 600"):
        Frontend(frames=600)


@pytest.mark.parametrize("compress", [0.0, 100.0])
def test_inverse_stft_with_the_carriers_phase_restores_the_carrier(compress, tiny):
    front = Frontend(**{**tiny.front, "compress": compress})
    x = torch.randn(2, 2048) * 0.1
    features, spec = front.analyse(x)
    assert features.shape == (2, 1, *tiny.shape)
    assert torch.allclose(front.synthesise(features, spec), x, atol=1e-4)
    louder = front.synthesise(front.to_model(2 * front.magnitude(features)), spec)  # only the 64 frames change
    assert torch.allclose(louder[:, : 64 * 16 - 64], 2 * x[:, : 64 * 16 - 64], atol=1e-3)


def test_short_carriers_are_recorded_and_all_short_fails_in_one_line(timit, tiny):
    front = Frontend(**tiny.front)
    audio, rejects = load_carriers(timit, "test", front)
    assert audio.shape == (4, 2048) and audio.dtype == torch.int16
    assert rejects == [{"source": "test/short.wav", "reason": "carrier shorter than 2048 samples (1000)"}]
    with pytest.raises(InputError, match=r"no test carrier holds 5000 samples .* 5 rows too short") as err:
        load_carriers(timit, "test", Frontend(**{**tiny.front, "samples": 4000, "offset": 1000}))
    assert "\n" not in str(err.value) and str(timit) in str(err.value)


def test_a_directory_that_is_not_prepared_fails_in_one_line(tmp_path, tiny):
    with pytest.raises(InputError, match="no manifest.tsv"):
        Images(tmp_path, "train", tiny.shape)
