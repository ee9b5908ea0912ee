"""Paper 3's tiny in-test shards and settings, shared by test_frontend, test_train and test_evaluate: TIMIT-like
carriers, VOC-like RGB images, a small front-end and small networks, one model and its enhancer trained on them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from avsec.imgstego.frontend import Frontend
from avsec.imgstego.train import EnhancerTraining, ImgstegoTraining, train_enhancer, train_model
from avsec.io.shards import shard_writer


@dataclass(frozen=True)
class Tiny:
    """A small front-end: 2048 samples, 64-point STFT at hop 16, the first 64 frames × 33 bins; small networks."""

    front: dict
    shape: tuple[int, int]
    weights: dict
    net: dict

    def training(self, **changes) -> ImgstegoTraining:
        """The hiding/reveal settings of the tests (``changes``: epochs, other fields, ``front`` as a dict)."""
        front = Frontend(**{**self.front, **changes.pop("front", {})})
        return ImgstegoTraining(**{**self.net, **self.weights, **changes}, front=front)

    @staticmethod
    def write_images(root, shape, count=6):
        """``count`` train and 3 val RGB images of ``shape`` (smooth random patterns) in a prepared directory."""
        rng = np.random.default_rng(1)
        yy, xx = np.mgrid[: shape[0], : shape[1]]
        with shard_writer(root) as writer:
            for split, n in (("train", count), ("val", 3)):
                for i in range(n):
                    a, b = rng.uniform(0.2, 1.0, 2)
                    rgb = np.stack([128 + 100 * np.sin(a * yy / 4 + c) * np.cos(b * xx / 4) for c in range(3)], -1)
                    writer.add(rgb.astype(np.uint8), split=split, label="", source=f"{split}/{i}.jpg", length=shape[0])
        return root


TINY = Tiny(
    front=dict(rate=16000, samples=2048, offset=0, n_fft=64, hop=16, win_length=64, window="hann", frames=64),
    shape=(64, 33),
    weights=dict(carrier=0.69, image=1.0, mse=0.995, ssim=0.005),
    net=dict(width=4, layers=1, levels=2, crop=0, batch=6, lr=0.003, checkpoint_every=0),
)


@pytest.fixture(scope="session")
def tiny() -> Tiny:
    return TINY


@pytest.fixture(scope="session")
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


@pytest.fixture(scope="session")
def voc(tmp_path_factory):
    return TINY.write_images(tmp_path_factory.mktemp("imgstego") / "voc", TINY.shape)


@pytest.fixture(scope="session")
def trained(timit, voc, tmp_path_factory):
    """The ssim variant trained for 60 epochs (180 steps): (checkpoint, history). The loss first stalls (the
    Hiding block learns to leave the carrier alone) and falls once the Reveal block uses its change, after 12 to
    48 epochs over 21 seeds; at 60 epochs the last 3 epochs' loss was at most 0.19 of the first 3's on every seed,
    CPU kernel (ATEN_CPU_CAPABILITY default, avx2, avx512) and thread count tried (test_train asserts < 0.7)."""
    out = tmp_path_factory.mktemp("model") / "model.pt"
    history = train_model("ssim", timit, voc, out, TINY.training(epochs=60))
    return out, history


@pytest.fixture(scope="session")
def enhancer(trained, timit, voc, tmp_path_factory):
    """The enhancer of the trained model, 2 epochs: (checkpoint, history)."""
    out = tmp_path_factory.mktemp("enhancer") / "enhancer.pt"
    settings = EnhancerTraining(mse=0.85, ssim=0.15, width=4, levels=2, epochs=2, batch=3, checkpoint_every=0)
    history = train_enhancer(trained[0], timit, voc, out, settings)
    return out, history
