"""Paper 2's test corpus: three classes of noisy tones in the prepared layout (results/prep/<corpus>)."""

from __future__ import annotations

import numpy as np
import pytest

from avsec.io.shards import shard_writer

TONE_LABELS = ["low", "mid", "high"]


@pytest.fixture(scope="session")
def data(tmp_path_factory):
    """Three classes of tones (250, 1000, 4000 Hz: low, mid, high) with noise, 8/2/3 clips per class and split."""
    root = tmp_path_factory.mktemp("advgan") / "prep"
    rng = np.random.default_rng(0)
    t = np.arange(16384) / 16000
    with shard_writer(root) as writer:
        for split, n in (("train", 8), ("val", 2), ("test", 3)):
            for k, freq in enumerate((250, 1000, 4000)):
                for i in range(n):
                    x = 0.3 * np.sin(2 * np.pi * freq * t + rng.uniform(0, 6)) + 0.02 * rng.standard_normal(t.size)
                    label = TONE_LABELS[k]
                    writer.add((x * 32767).astype(np.int16), split=split, label=label, source=f"{split}/{k}/{i}")
    return root
