"""Paper 1's clips: the prepared int16 rows, the channel noise added to them, and how secrets are paired with carriers.

Data are the prepared int16 clips (results/prep/timit, results/prep/librispeech; 32640 samples), read from the
shards batch by batch for training (:func:`audio_rows`) and scaled by 1/32768 (``avsec.io.audio.INT16_SCALE``) to
[-1, 1) where they are used: int16 rows are 8 × smaller than the float16 feature shards, and the features'
float16 rounding is avoided. Why the STFT is computed on the fly rather than read from the feature shards:
avsec.stego.codec.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from avsec.core.errors import ConfigError, InputError
from avsec.data.rows import ShardRows, waveform_rows
from avsec.io.shards import ShardedArray


def audio_rows(data: str | Path, split: str, *, clips: int = 0, crop: int = 0) -> ShardRows:
    """The int16 rows of ``split``, read from the shards as they are needed (:class:`avsec.data.rows.ShardRows`):
    the first ``clips`` (0: all), cut to their middle ``crop`` samples (0: whole; the middle, not the start, which
    is often silence)."""
    rows = ShardedArray(data).rows(split)
    if clips:
        rows = rows[:clips]
    if not rows:
        raise InputError(data, f"no {split} rows")
    return waveform_rows(data, rows, crop=crop)


def load_audio(data: str | Path, split: str, *, clips: int = 0, crop: int = 0) -> torch.Tensor:
    """:func:`audio_rows` read into memory (N, L): for tests and looks at a small split (no job holds a split)."""
    return audio_rows(data, split, clips=clips, crop=crop)[:]


def add_noise(x: torch.Tensor, snr: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """``x`` (B, L) plus white Gaussian noise ``snr`` dB below each clip's power."""
    power = x.float().square().mean(dim=-1, keepdim=True)
    noise = torch.randn(x.shape, generator=generator, device=x.device, dtype=torch.float32)
    return x + noise * (power / 10 ** (snr / 10)).sqrt()


def derangement(n: int, rng: np.random.Generator) -> np.ndarray:
    """``partner[i] != i`` for every i (n ≥ 2): the secret of carrier i is clip ``partner[i]``."""
    if n < 2:
        raise ConfigError(f"need at least 2 clips to pair carriers with other clips as secrets, got {n}")
    order = rng.permutation(n)
    partner = np.empty(n, dtype=np.int64)
    partner[order] = np.roll(order, -1)
    return partner
