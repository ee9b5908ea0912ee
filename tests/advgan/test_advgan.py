"""Paper 2's library end to end on tiny in-test shards: victim, generator, evaluation, baseline, bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from avsec.advgan import core as advgan
from avsec.core.errors import ConfigError, InputError
from avsec.io.shards import shard_writer

LABELS = ["low", "mid", "high"]
SMALL = dict(depth=10, widen=1, epochs=2, batch=8, lr=0.003, rate=16000)
GEN = dict(epochs=1, warmup=0, batch=4, width=0.125, discriminator_width=0.0625, checkpoint_every=0)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """Three classes of tones (250, 1000, 4000 Hz) with noise, 8/2/3 clips per class and split."""
    root = tmp_path_factory.mktemp("advgan") / "prep"
    rng = np.random.default_rng(0)
    t = np.arange(16384) / 16000
    with shard_writer(root) as writer:
        for split, n in (("train", 8), ("val", 2), ("test", 3)):
            for k, freq in enumerate((250, 1000, 4000)):
                for i in range(n):
                    x = 0.3 * np.sin(2 * np.pi * freq * t + rng.uniform(0, 6)) + 0.02 * rng.standard_normal(t.size)
                    writer.add((x * 32767).astype(np.int16), split=split, label=LABELS[k], source=f"{split}/{k}/{i}")
    return root


@pytest.fixture(scope="module")
def victim(data, tmp_path_factory):
    out = tmp_path_factory.mktemp("victim")
    advgan.train_victim("wideresnet", data, out / "victim.pt", out / "victim.json", labels=LABELS, **SMALL)
    return out


def test_victim_checkpoint_and_metrics(victim):
    result = json.loads((victim / "victim.json").read_text())
    assert result["labels"] == LABELS and result["test_clips"] == 9 and len(result["history"]) == 2
    assert 0 <= result["accuracy"] <= 1 and set(result["per_class"]) == set(LABELS)
    model, ckpt = advgan.load_victim(victim / "victim.pt")
    assert ckpt["arch"]["depth"] == 10 and not model.training
    assert not any(p.requires_grad for p in model.parameters())
    assert not (victim / "victim.pt.resume").exists(), "the resume file outlived the finished run"


def test_generator_trains_and_evaluates(data, victim, tmp_path):
    gen = tmp_path / "all_to_high" / "generator.pt"
    history = advgan.train_generator("all_to_high", victim / "victim.pt", data, gen, **GEN)
    assert len(history) == 1 and {"loss_d", "loss_g", "ce", "success"} <= set(history[0])
    result = advgan.evaluate_generator(
        gen, victim / "victim.pt", data, tmp_path / "eval.json", tmp_path / "examples", timing_clips=2, examples=1
    )
    assert set(result["per_source"]) == {"low", "mid"} and result["clips"] == 6
    assert all(v["clips"] == 3 for v in result["per_source"].values())
    assert result["seconds_per_clip_batched"] > 0 and result["seconds_per_clip_batch1"] > 0
    assert sorted(p.name for p in (tmp_path / "examples").iterdir()) == [
        "low_0_adv.wav",
        "low_0_clean.wav",
        "mid_0_adv.wav",
        "mid_0_clean.wav",
    ]
    assert json.loads((tmp_path / "eval.json").read_text())["generator"] == "all_to_high"


def test_per_pair_generator_trains_on_its_source_only(data, victim, tmp_path):
    assert advgan.check_generator("low_to_high", LABELS, "v.pt") == ["low"]
    assert advgan.check_generator("all_to_high", LABELS, "v.pt") == ["low", "mid"]
    gen = tmp_path / "generator.pt"
    advgan.train_generator("low_to_high", victim / "victim.pt", data, gen, **GEN)
    ckpt = torch.load(gen, weights_only=True)
    assert (ckpt["source"], ckpt["target"], ckpt["generator"]) == ("low", "high", "low_to_high")


def test_label_the_victim_lacks_is_one_line(data, victim, tmp_path):
    with pytest.raises(InputError, match=r"victim.pt: the victim has no label 'loud'.*low_to_loud"):
        advgan.train_generator("low_to_loud", victim / "victim.pt", data, tmp_path / "g.pt", **GEN)
    with pytest.raises(ConfigError, match="is not <source>_to_<target>"):
        advgan.parse_generator("lowhigh")
    assert not (tmp_path / "g.pt").exists()


def test_bad_checkpoints_name_the_file(data, victim, tmp_path):
    corrupt = tmp_path / "generator.pt"
    corrupt.write_bytes((victim / "victim.pt").read_bytes()[:500])
    with pytest.raises(InputError, match=r"generator.pt: corrupt or unreadable checkpoint"):
        advgan.evaluate_generator(corrupt, victim / "victim.pt", data, tmp_path / "e.json", tmp_path / "ex")
    with pytest.raises(InputError, match=r"victim.pt: is a 'victim' checkpoint, expected 'generator'"):
        advgan.evaluate_generator(
            victim / "victim.pt", victim / "victim.pt", data, tmp_path / "e.json", tmp_path / "ex"
        )
    assert not (tmp_path / "e.json").exists() and not (tmp_path / "ex").exists()


def test_baseline_writes_its_results(data, victim, tmp_path):
    result = advgan.attack_baseline(
        "genetic", victim / "victim.pt", data, tmp_path / "genetic.json", clips=2, iterations=3, device="cpu"
    )
    assert result["victim"] == "wideresnet" and len(result["clips"]) == 2
    assert all(c["source"] != c["target"] for c in result["clips"])
    assert json.loads((tmp_path / "genetic.json").read_text())["method"] == "genetic"


def test_missing_labels_in_the_data_are_one_line(data):
    with pytest.raises(InputError, match="no train rows with labels loud"):
        advgan.load_clips(data, "train", ["loud"])
