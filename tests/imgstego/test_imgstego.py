"""Paper 3's library on tiny in-test shards: the STFT front-end and its inverse, carrier and image checks, training
(losses fall, resumption through the shared trainer is exact), the enhancer, evaluation and bad input."""

from __future__ import annotations

import json
import os
import signal

import numpy as np
import pytest
import torch

from avsec.core.errors import ConfigError, InputError
from avsec.imgstego import core as imgstego
from avsec.io.shards import shard_writer
from avsec.train import Interrupted, load_checkpoint

# A small front-end: 2048 samples, 64-point STFT at hop 16, the first 64 frames × 33 bins.
FRONT = dict(rate=16000, samples=2048, offset=0, n_fft=64, hop=16, win_length=64, window="hann", frames=64)
SHAPE = (64, 33)
WEIGHTS = dict(carrier=0.69, image=1.0, mse=0.995, ssim=0.005)
NET = dict(width=4, layers=1, levels=2, crop=0, batch=6, lr=0.003, checkpoint_every=0)


@pytest.fixture(scope="module")
def timit(tmp_path_factory):
    """Noisy harmonic 'speech' rows of 4096 samples; one test row declares only 1000 samples (too short)."""
    root = tmp_path_factory.mktemp("imgstego") / "timit"
    rng = np.random.default_rng(0)
    t = np.arange(4096) / 16000
    with shard_writer(root) as writer:
        for split, n in (("train", 8), ("test", 4)):
            for i in range(n):
                f0 = rng.uniform(100, 250)
                voiced = sum(0.1 / k * np.sin(2 * np.pi * k * f0 * t) for k in range(1, 6))
                x = voiced + 0.01 * rng.standard_normal(t.size)
                writer.add((x * 32767).astype(np.int16), split=split, label="S", source=f"{split}/{i}.wav")
        writer.add(np.zeros(4096, np.int16), split="test", label="S", source="test/short.wav", length=1000)
    return root


def _images(root, shape, count=6):
    rng = np.random.default_rng(1)
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    with shard_writer(root) as writer:
        for split, n in (("train", count), ("val", 3)):
            for i in range(n):
                a, b = rng.uniform(0.2, 1.0, 2)
                rgb = np.stack([128 + 100 * np.sin(a * yy / 4 + c) * np.cos(b * xx / 4) for c in range(3)], -1)
                writer.add(rgb.astype(np.uint8), split=split, label="", source=f"{split}/{i}.jpg", length=shape[0])
    return root


@pytest.fixture(scope="module")
def voc(tmp_path_factory):
    return _images(tmp_path_factory.mktemp("imgstego") / "voc", SHAPE)


@pytest.fixture(scope="module")
def trained(timit, voc, tmp_path_factory):
    out = tmp_path_factory.mktemp("model") / "model.pt"
    history = imgstego.train_model("ssim", timit, voc, out, epochs=12, **NET, **WEIGHTS, **FRONT)
    return out, history


def test_the_papers_front_end_is_512_by_513():
    front = imgstego.Spectrogram()
    assert front.shape == (512, 513)
    magnitude, spec = front.analyse(torch.zeros(1, 16000, dtype=torch.int16))
    assert magnitude.shape == (1, 1, 512, 513) and spec.shape == (1, 513, 517)  # 16000 // 31 + 1 frames
    with pytest.raises(ConfigError, match="frames 600"):
        imgstego.Spectrogram(frames=600)


@pytest.mark.parametrize("compress", [0.0, 100.0])
def test_inverse_stft_with_the_carriers_phase_restores_the_carrier(compress):
    front = imgstego.Spectrogram(**{**FRONT, "compress": compress})
    x = torch.randn(2, 2048) * 0.1
    features, spec = front.analyse(x)
    assert features.shape == (2, 1, *SHAPE)
    assert torch.allclose(front.synthesise(features, spec), x, atol=1e-4)
    louder = front.synthesise(front.to_model(2 * front.magnitude(features)), spec)  # only the 64 frames change
    assert torch.allclose(louder[:, : 64 * 16 - 64], 2 * x[:, : 64 * 16 - 64], atol=1e-3)


def test_short_carriers_are_recorded_and_all_short_fails_in_one_line(timit):
    front = imgstego.Spectrogram(**FRONT)
    audio, rejects = imgstego.load_carriers(timit, "test", front)
    assert audio.shape == (4, 2048) and audio.dtype == torch.int16
    assert rejects == [{"source": "test/short.wav", "reason": "carrier shorter than 2048 samples (1000)"}]
    with pytest.raises(InputError, match=r"no test carrier holds 5000 samples .* 5 rows too short") as err:
        imgstego.load_carriers(timit, "test", imgstego.Spectrogram(**{**FRONT, "samples": 4000, "offset": 1000}))
    assert "\n" not in str(err.value) and str(timit) in str(err.value)


def test_images_of_the_wrong_size_or_kind_fail_in_one_line(timit, tmp_path):
    other = _images(tmp_path / "voc", (20, 30), count=1)
    with pytest.raises(InputError, match="images are 20×30, the spectrogram is 64×33"):
        imgstego.train_model("base", timit, other, tmp_path / "m.pt", epochs=1, **NET, **WEIGHTS, **FRONT)
    assert not (tmp_path / "m.pt").exists()
    with pytest.raises(InputError, match="no manifest.tsv"):
        imgstego.Images(tmp_path, "train", SHAPE)


def test_training_learns_to_hide_and_reveal(trained):
    out, history = trained
    assert len(history) == 12 and {"loss", "carrier_mse", "image_mae"} <= set(history[0])
    first, last = np.mean([h["loss"] for h in history[:3]]), np.mean([h["loss"] for h in history[-3:]])
    assert last < 0.7 * first, (first, last)
    ckpt = load_checkpoint(out, "imgstego")
    assert ckpt["front"]["frames"] == 64 and ckpt["weights"] == WEIGHTS and ckpt["arch"]["width"] == 4
    assert not out.with_name("model.pt.resume").exists()


def test_a_signalled_run_resumes_to_the_same_weights(timit, voc, tmp_path, monkeypatch):
    settings = dict(epochs=3, **NET, **WEIGHTS, **FRONT)
    imgstego.train_model("base", timit, voc, tmp_path / "ref.pt", **settings)
    calls = {"n": 0}
    step = imgstego.HideTask.step

    def interrupting(self, batch, epoch):
        calls["n"] += 1
        if calls["n"] == 4:
            os.kill(os.getpid(), signal.SIGUSR1)
        return step(self, batch, epoch)

    monkeypatch.setattr(imgstego.HideTask, "step", interrupting)
    with pytest.raises(Interrupted):
        imgstego.train_model("base", timit, voc, tmp_path / "run.pt", **settings)
    assert (tmp_path / "run.pt.resume").exists() and not (tmp_path / "run.pt").exists()
    monkeypatch.setattr(imgstego.HideTask, "step", step)
    imgstego.train_model("base", timit, voc, tmp_path / "run.pt", **settings)
    ref, run = (load_checkpoint(tmp_path / n, "imgstego")["modules"]["model"] for n in ("ref.pt", "run.pt"))
    assert all(torch.equal(ref[k], run[k]) for k in ref)


def test_enhancer_and_evaluation(trained, timit, voc, tmp_path):
    model, _ = trained
    enhancer = tmp_path / "enhancer.pt"
    history = imgstego.train_enhancer(
        model, timit, voc, enhancer, mse=0.85, ssim=0.15, width=4, levels=2, epochs=2, batch=3, checkpoint_every=0
    )
    assert len(history) == 2 and {"loss", "revealed_mae", "mae"} <= set(history[0])
    result = imgstego.evaluate(model, timit, voc, tmp_path / "eval.json", tmp_path / "ex", images=2, examples=1)
    assert result["variant"] == "ssim" and result["images"] == 2 and result["carrier_rejects"] == 1
    assert 0 <= result["image_mae"] < 255 and -1 <= result["image_ssim"] <= 1
    assert 0 < result["carrier_pearson"] <= 1 and result["carrier_mae"] > 0 and result["seconds_per_image"] > 0
    assert json.loads((tmp_path / "eval.json").read_text())["per_image"] == result["per_image"]
    assert np.load(tmp_path / "ex" / "original.npy").shape == (1, 3, *SHAPE)
    assert np.load(tmp_path / "ex" / "carrier.npy").shape == (1, *SHAPE)
    import soundfile as sf

    assert sf.info(str(tmp_path / "ex" / "embedded_0.wav")).frames == 3 * 2048  # three carriers, concatenated
    enhanced = imgstego.evaluate(
        model, timit, voc, tmp_path / "e.json", tmp_path / "ex2", enhancer_ckpt=enhancer, images=2, examples=1
    )
    assert enhanced["variant"] == "enhanced" and enhanced["carrier_mae"] == result["carrier_mae"]
    with pytest.raises(InputError, match="is a 'imgstego' checkpoint, expected 'imgstego_enhancer'"):
        imgstego.evaluate(model, timit, voc, tmp_path / "x.json", tmp_path / "x", enhancer_ckpt=model)
    assert not (tmp_path / "x.json").exists()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA (the CPU path is tested above)")
def test_hide_and_reveal_on_the_gpu_matches_the_cpu(trained, timit, voc):
    model, front, _ = imgstego.load_model(trained[0])
    pixels = imgstego.Images(voc, "val", SHAPE).get([0])[0]
    audio, _ = imgstego.load_carriers(timit, "test", front)
    with torch.inference_mode():
        cpu = imgstego.hide_and_reveal(model, front, pixels, audio[:3], torch.device("cpu"))
        gpu = imgstego.hide_and_reveal(model.cuda(), front, pixels, audio[:3], torch.device("cuda"))
    assert torch.allclose(cpu.embedded, gpu.embedded, atol=1e-3)
    assert np.abs(cpu.revealed.astype(int) - gpu.revealed.astype(int)).max() <= 2
