"""Paper 1's codec: the STFT front-end's round trip, and hiding and revealing audio files with a trained model."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from avsec.core.errors import ConfigError, InputError
from avsec.io.audio import write_audio
from avsec.stego.codec import hide_files, reveal_file, spectrogram


def test_spectrogram_round_trip(tiny):
    spec = spectrogram(**tiny.stft)
    x = torch.randn(2, tiny.length) * 0.1
    channels = spec(x)
    assert channels.shape == (2, 2, 256, tiny.length // 128 + 1)
    assert torch.allclose(spec.inverse(channels, tiny.length), x, atol=1e-5)
    with pytest.raises(ConfigError, match="complex"):
        spectrogram(kind="magnitude", **tiny.stft)


def test_carrier_and_secret_of_different_length_or_rate_are_one_line(model, tiny, tmp_path):
    tone = (np.sin(np.arange(tiny.length) / 5) * 8000).astype(np.int16)
    write_audio(tmp_path / "carrier.wav", tone, 16000)
    write_audio(tmp_path / "short.wav", tone[:1000], 16000)
    write_audio(tmp_path / "fast.wav", tone, 22050)
    with pytest.raises(InputError, match=r"short\.wav: 1000 samples, the carrier .* has 2048$"):
        hide_files(model[0], tmp_path / "carrier.wav", tmp_path / "short.wav", tmp_path / "out.wav")
    with pytest.raises(InputError, match=r"fast\.wav: sample rate 22050 Hz differs"):
        hide_files(model[0], tmp_path / "carrier.wav", tmp_path / "fast.wav", tmp_path / "out.wav")
    hide_files(model[0], tmp_path / "carrier.wav", tmp_path / "carrier.wav", tmp_path / "stego.wav")
    reveal_file(model[0], tmp_path / "stego.wav", tmp_path / "revealed.wav")
    assert (tmp_path / "revealed.wav").stat().st_size > 2 * tiny.length
