"""Paper 1's tiny in-test shards and settings, shared by test_train, test_evaluate, test_security and test_codec:
voiced-like clips of 2048 samples, the workflow's STFT, narrow networks, and one model trained on them."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pytest

from avsec.io.shards import shard_writer
from avsec.stego.security import Steganalysis
from avsec.stego.train import StegoTraining, train_stego


@dataclass(frozen=True)
class Tiny:
    """2048-sample clips, the workflow's STFT (n_fft 510, hop 128: 2 × 256 × 17), narrow networks, 2 epochs."""

    length: int = 2048
    stft: dict = field(default_factory=lambda: dict(n_fft=510, hop=128, win_length=510))
    train: dict = field(
        default_factory=lambda: dict(
            lambdas=[0.6, 0.8, 1.0], epochs=2, batch=4, width=0.125, lr=0.003, checkpoint_every=0
        )
    )
    security: dict = field(default_factory=lambda: dict(clips=6, epochs=1, batch=4, width=0.125, estimators=5))

    def training(self, **changes) -> StegoTraining:
        """The training settings of the tests, with ``changes``."""
        return StegoTraining(**{**self.train, **self.stft, **changes})

    def steganalysis(self, **embedding) -> Steganalysis:
        """The security experiment's settings of the tests, with a baseline's ``embedding`` settings."""
        return Steganalysis(**self.security, **self.stft, embedding=embedding)


TINY = Tiny()


@pytest.fixture(scope="session")
def tiny() -> Tiny:
    return TINY


@pytest.fixture(scope="session")
def data(tmp_path_factory):
    """Voiced-like clips (harmonic tones under an envelope, plus noise): 16 train and 6 test rows."""
    root = tmp_path_factory.mktemp("stego") / "prep"
    rng = np.random.default_rng(0)
    t = np.arange(TINY.length) / 16000
    with shard_writer(root) as writer:
        for split, n in (("train", 16), ("test", 6)):
            for i in range(n):
                f0 = rng.uniform(100, 300)
                x = sum(np.sin(2 * np.pi * k * f0 * t + rng.uniform(0, 6)) / k for k in range(1, 6))
                x = 0.2 * x * np.hanning(TINY.length) + 0.01 * rng.standard_normal(TINY.length)
                writer.add((x * 32767).astype(np.int16), split=split, label=f"S{i}", source=f"{split}/{i}.wav")
    return root


@pytest.fixture(scope="session")
def model(data, tiny, tmp_path_factory):
    """An ``hpf_an`` triple trained for 2 epochs (normalised inputs): its checkpoint and its history."""
    out = tmp_path_factory.mktemp("model") / "model.pt"
    history = train_stego("hpf_an", data, out, tiny.training(normalise=True))
    return out, history
