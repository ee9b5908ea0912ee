"""Paper 1's codec: the STFT front-end's round trip, and hiding and revealing audio files with a trained model."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from avsec.core.errors import ConfigError, InputError
from avsec.io.audio import read_audio, write_audio
from avsec.metrics.audio import snr_db
from avsec.stego.codec import hide_files, reveal_file, spectrogram


def test_spectrogram_round_trip(tiny):
    spec = spectrogram(**tiny.stft)
    x = torch.randn(2, tiny.length) * 0.1
    channels = spec(x)
    assert channels.shape == (2, 2, 256, tiny.length // 128 + 1)
    assert torch.allclose(spec.inverse(channels, tiny.length), x, atol=1e-5)
    with pytest.raises(ConfigError, match="complex"):
        spectrogram(kind="magnitude", **tiny.stft)


def test_files_of_any_length_are_hidden_segment_by_segment(model, tiny, tmp_path):
    """A carrier of 2.5 segments comes back as stego audio of its own length; a shorter secret is padded, a longer
    one or a file at another rate is one line naming it; the revealed secret has the stego audio's length."""
    length = 32640  # the tiny model was trained on whole clips: it hides the paper's segments
    t = np.arange(5 * length // 2)
    tone = (np.sin(t / 5) * 8000).astype(np.int16)
    write_audio(tmp_path / "carrier.wav", tone, 16000)
    write_audio(tmp_path / "short.wav", tone[:1000], 16000)
    write_audio(tmp_path / "long.wav", np.concatenate([tone, tone[:10]]), 16000)
    write_audio(tmp_path / "fast.wav", tone, 22050)
    with pytest.raises(InputError, match=r"long\.wav: 81610 samples, longer than the carrier .*carrier\.wav: 81600"):
        hide_files(model[0], tmp_path / "carrier.wav", tmp_path / "long.wav", tmp_path / "out.wav")
    with pytest.raises(InputError, match=r"fast\.wav: sample rate 22050 Hz, expected 16000 Hz"):
        hide_files(model[0], tmp_path / "carrier.wav", tmp_path / "fast.wav", tmp_path / "out.wav")
    assert not (tmp_path / "out.wav").exists()
    result = hide_files(model[0], tmp_path / "carrier.wav", tmp_path / "short.wav", tmp_path / "stego.wav")
    assert (result["segments"], result["segment"]) == (3, length)
    stego, rate = read_audio(tmp_path / "stego.wav")
    assert rate == 16000 and len(stego) == len(tone) and np.isclose(result["carrier_snr_db"], snr_db(tone, stego))
    assert reveal_file(model[0], tmp_path / "stego.wav", tmp_path / "revealed.wav")["segments"] == 3
    assert len(read_audio(tmp_path / "revealed.wav")[0]) == len(tone)
