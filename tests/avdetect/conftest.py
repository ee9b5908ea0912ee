"""Paper 4's tiny in-test audiovisual shards and settings, shared by test_data, test_recogniser, test_syncnet,
test_attacks and test_detect: tone "words" with a mouth that opens with the syllable envelope, a small recogniser
and SyncNet trained on them."""

from __future__ import annotations

import numpy as np
import pytest

from avsec.avdetect.recogniser import RecogniserTraining, train_recogniser
from avsec.avdetect.syncnet import SyncNetTraining, train_syncnet
from avsec.io.shards import shard_writer

FRAMES = 9
WORDS = ["low", "mid", "high"]
SMALL = dict(width=0.125, hidden=8, epochs=2, batch=4, lr=0.003, checkpoint_every=0)
SYNC = dict(width=0.125, size=56, embed=16, epochs=1, batch=32, lr=0.001, margin=2.0, min_shift=3, checkpoint_every=0)


class Tiny:
    """The shards' sizes and the tests' small settings (the ``tiny`` fixture)."""

    frames = FRAMES
    words = WORDS

    @staticmethod
    def recogniser(**changes) -> RecogniserTraining:
        """A narrow recogniser, 2 epochs (word head unless ``changes`` says otherwise)."""
        return RecogniserTraining(**{"head": "word", **SMALL, **changes})

    @staticmethod
    def syncnet(**changes) -> SyncNetTraining:
        """A narrow SyncNet on 56×56 crops, 1 epoch."""
        return SyncNetTraining(**{**SYNC, **changes})


def clip(rng, k: int) -> tuple[np.ndarray, np.ndarray]:
    """A tone of frequency class k under a random syllable envelope, and a mouth whose dark opening follows it."""
    t = np.arange(FRAMES * 640) / 16000
    envelope = np.repeat(rng.uniform(0.1, 1.0, FRAMES), 640)
    audio = (8000 * envelope * np.sin(2 * np.pi * (300, 900, 2700)[k] * t)).astype(np.int16)
    video = np.full((FRAMES, 96, 96), 180, np.uint8)
    for f in range(FRAMES):
        half = int(4 + 20 * envelope[f * 640])
        video[f, 48 - half : 48 + half, 28:68] = 40
    return video, audio


@pytest.fixture(scope="session")
def tiny() -> type[Tiny]:
    return Tiny


@pytest.fixture(scope="session")
def av(tmp_path_factory):
    """results/av/<corpus>-like shards of tone "words" (label = word) in three splits; one test clip has no audio."""
    from avsec.dsp.mfcc import mfcc

    root = tmp_path_factory.mktemp("av")
    rng = np.random.default_rng(0)
    rows = []
    for split, n in (("train", 4), ("val", 1), ("test", 2)):
        for k, word in enumerate(WORDS):
            for i in range(n):
                rows.append((split, k, word, f"{split}/{word}/{i}", *clip(rng, k)))
    with shard_writer(root / "mouths") as mouths, shard_writer(root / "audio" / "wave") as wave:
        with shard_writer(root / "audio" / "mfcc") as coeffs:
            for split, _, word, source, video, audio in rows:
                mouths.add(video, split=split, label=word, source=source)
                if source == "test/high/1":
                    continue  # its audio is missing: skipped with a reason
                wave.add(audio, split=split, label=word, source=source)
                m = mfcc(audio.astype(np.float32)).numpy().astype(np.float16)
                coeffs.add(m, split=split, label=word, source=source)
    return root


@pytest.fixture(scope="session")
def trained(av, tmp_path_factory):
    """The recogniser (word head) and the SyncNet trained on the shards: (folder, recogniser JSON, SyncNet JSON)."""
    out = tmp_path_factory.mktemp("models")
    rec = train_recogniser(
        "lrw", av / "mouths", av / "audio", out / "recogniser.pt", out / "recogniser.json", Tiny.recogniser()
    )
    sync = train_syncnet("lrw", av / "mouths", av / "audio", out / "syncnet.pt", out / "syncnet.json", Tiny.syncnet())
    return out, rec, sync
