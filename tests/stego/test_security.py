"""Paper 1's security experiment (Table 4) on tiny in-test shards, for a classic baseline and for the GAN."""

from __future__ import annotations

import json

import pytest

from avsec.core.errors import ConfigError
from avsec.stego.security import Steganalysis, steganalysis


def test_security_experiment_for_a_baseline_and_for_the_gan(data, model, tiny, tmp_path):
    lsb = steganalysis("lsb_matching", data, tmp_path / "lsb.json", tiny.steganalysis(bits_per_sample=1.0))
    assert lsb["carriers"] == 6 and lsb["train_clips"] == 6 and lsb["val_clips"] == 6
    assert 0 <= lsb["rich_model_accuracy"] <= 1 and 0 <= lsb["cnn_accuracy"] <= 1
    assert lsb["stego_snr_db"] > 40  # ±1 changes are far below the signal
    gan = steganalysis("gan", data, tmp_path / "gan.json", tiny.steganalysis(), model=model[0])
    assert gan["run"] == "hpf_an" and gan["payload_bits_per_sample"] == 16
    assert json.loads((tmp_path / "gan.json").read_text())["method"] == "gan"
    with pytest.raises(ConfigError, match="--model"):
        steganalysis("gan", data, tmp_path / "x.json", tiny.steganalysis())
    with pytest.raises(ConfigError, match="unknown setting"):
        steganalysis("echo_hiding", data, tmp_path / "x.json", tiny.steganalysis(segment=512, delay=3))


def test_flags_the_settings_do_not_know_are_the_embedding_settings_in_their_order():
    flags = {"n_fft": 510, "hop": 128, "segment": 1024, "delays": [48, 64], "clips": 6, "amplitude": 0.5}
    settings = Steganalysis.from_flags(flags, "security_baseline_stego")
    assert (settings.n_fft, settings.hop, settings.clips) == (510, 128, 6)
    assert list(settings.embedding.items()) == [("segment", 1024), ("delays", [48, 64]), ("amplitude", 0.5)]
    with pytest.raises(ConfigError, match="security_stego: missing setting"):
        Steganalysis.from_flags({"n_fft": 510}, "security_stego")
