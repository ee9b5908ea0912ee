"""Paper 3's data side: the carrier's STFT magnitude front-end and its inverse, the TIMIT carriers, the VOC images.

Front-end (section 5.1, Table 2): a 1 s carrier at 16 kHz (``samples`` from ``offset`` in each prepared TIMIT
row), STFT with FFT length 1024, frame length 1024, frame step 31, the magnitude fed to the model. 16000
samples at step 31 give 517 centred frames, not the paper's 512: our reading is that the model sees the first
``frames`` = 512 frames × 513 bins (0.99 s; the 512×513 the paper states and the VOC images are resized to),
and the last 5 frames pass through unchanged. The embedded magnitude takes the carrier's phase and goes back to
16000 samples by the inverse STFT. Spectrograms are laid out (frames, bins) = (512, 513), the image's (height,
width). The networks see the magnitude as it is (``compress`` 0, the paper's text) or log1p(compress·|X|).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from avsec.core.errors import ConfigError, InputError
from avsec.data.rows import ShardRows
from avsec.dsp.stft import istft, stft
from avsec.io.audio import INT16_SCALE
from avsec.io.shards import ShardedArray

CARRIER_SPLITS = ("train", "test")  # TIMIT
IMAGE_SPLITS = ("train", "val")  # Pascal VOC: ImageSets/Main/{train,val}.txt; val is our test set


@dataclass(frozen=True)
class Frontend:
    """The carrier's STFT magnitude front-end and its inverse with the carrier's phase (flags of
    ``imgstego.spectrogram``; checkpoints keep it as ``asdict``)."""

    rate: int = 16000
    samples: int = 16000
    offset: int = 0
    n_fft: int = 1024
    hop: int = 31
    win_length: int = 1024
    window: str = "hann"
    frames: int = 512
    compress: float = 0.0

    def __post_init__(self):
        total = self.samples // self.hop + 1
        if self.frames > total:
            raise ConfigError(f"imgstego: frames {self.frames} > the {total} frames of {self.samples} samples")
        if self.compress < 0:
            raise ConfigError(f"imgstego: compress must be ≥ 0, got {self.compress}")
        if self.offset < 0 or self.samples < self.win_length:
            raise ConfigError("imgstego: offset must be ≥ 0 and samples at least one frame (win_length)")

    @property
    def shape(self) -> tuple[int, int]:
        """(frames, bins) of the model's input: 512 × 513 with the paper's settings."""
        return self.frames, self.n_fft // 2 + 1

    def _stft(self) -> dict:
        return dict(n_fft=self.n_fft, hop=self.hop, win_length=self.win_length, window=self.window)

    def analyse(self, audio: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """int16 or float waveforms (B, samples) → the model's input (B, 1, frames, bins), the magnitude (through
        :meth:`to_model`), and the complex STFT (B, bins, all frames) whose phase and remaining frames
        :meth:`synthesise` reuses."""
        x = audio.float() / INT16_SCALE if audio.dtype == torch.int16 else audio.float()
        spec = stft(x, **self._stft())
        return self.to_model(spec[..., : self.frames].abs().transpose(-1, -2).unsqueeze(1)), spec

    def to_model(self, magnitude: torch.Tensor) -> torch.Tensor:
        """The magnitude as the networks see it: as it is (``compress`` 0, the paper's text) or log1p(compress·|X|)."""
        return torch.log1p(self.compress * magnitude) if self.compress else magnitude

    def magnitude(self, features: torch.Tensor) -> torch.Tensor:
        """Inverse of :meth:`to_model`."""
        return torch.expm1(features) / self.compress if self.compress else features

    def synthesise(self, features: torch.Tensor, spec: torch.Tensor) -> torch.Tensor:
        """Float waveforms (B, samples) in [-1, 1] scale from the embedded carrier (B, 1, frames, bins) in the
        model's domain and the carrier's STFT: its phase on the embedded frames, its own values on the others.
        Negative magnitudes (the Hiding block's output is not constrained) are clipped to 0."""
        mag = self.magnitude(features.float()).squeeze(1).transpose(-1, -2).clamp_min(0)
        head = torch.polar(mag, spec[..., : self.frames].angle())
        full = torch.cat((head, spec[..., self.frames :]), dim=-1)
        return istft(full, **self._stft(), length=self.samples)


def load_carriers(data: str | Path, split: str, front: Frontend) -> tuple[ShardRows, list[dict]]:
    """The ``split`` rows of a prepared TIMIT directory cut to the carrier window, as int16 rows (N, samples) read
    from the shards when indexed, and the rows left out because they hold less than ``offset + samples`` samples
    (``{"source", "reason"}``). Only the manifest and the shards' headers are read here."""
    rows_of = _prepared(data)
    need = front.offset + front.samples
    lengths, sources = rows_of.manifest.column("length"), rows_of.manifest.column("source")
    rows, rejects = [], []
    for r in rows_of.rows(split):
        have = min(int(lengths[r]), rows_of[r].shape[-1])
        if have < need:
            rejects.append({"source": str(sources[r]), "reason": f"carrier shorter than {need} samples ({have})"})
        else:
            rows.append(r)
    if not rows:
        raise InputError(
            data,
            f"no {split} carrier holds {need} samples ({front.samples} from offset {front.offset}); "
            f"{len(rejects)} rows too short",
        )
    first = rows_of[rows[0]]
    if first.dtype != np.int16 or first.ndim != 1:
        raise InputError(data, f"expected int16 waveform rows, found {first.dtype} rows of shape {first.shape}")
    return ShardRows(rows_of, rows, window=(front.offset, need)), rejects


class Images:
    """The rows of one split of a prepared VOC directory, memory-mapped: uint8 (H, W, 3) or (H, W)."""

    def __init__(self, data: str | Path, split: str, shape: tuple[int, int]):
        self.data, self.rows_of = Path(data), _prepared(data)
        self.rows = self.rows_of.rows(split)
        if not self.rows:
            raise InputError(data, f"no {split} images")
        first = self.rows_of[self.rows[0]]
        if first.dtype != np.uint8 or first.ndim not in (2, 3) or (first.ndim == 3 and first.shape[2] != 3):
            raise InputError(data, f"expected uint8 greyscale or RGB images, found {first.dtype} {first.shape}")
        if first.shape[:2] != tuple(shape):
            raise InputError(
                data,
                f"images are {first.shape[0]}×{first.shape[1]}, the spectrogram is {shape[0]}×{shape[1]} "
                "(set prep.voc height and width to the frames and bins)",
            )
        self.channels = 1 if first.ndim == 2 else 3

    def __len__(self) -> int:
        return len(self.rows)

    def sources(self) -> list[str]:
        return [self.rows_of.manifest[r]["source"] for r in self.rows]

    def get(self, indices) -> np.ndarray:
        """Images ``indices`` of the split as (n, C, H, W) uint8."""
        out = np.stack([self.rows_of[self.rows[int(i)]] for i in indices])
        return out[:, None] if out.ndim == 3 else np.moveaxis(out, -1, 1)


def _prepared(data: str | Path) -> ShardedArray:
    if not (Path(data) / "manifest.tsv").is_file():
        raise InputError(data, "not a prepared directory (no manifest.tsv)")
    return ShardedArray(data)


def crops(x: torch.Tensor, size: int) -> torch.Tensor:
    """A random ``size``×``size`` patch of each (C, H, W) item of ``x`` (the whole item when size is 0)."""
    if not size:
        return x
    h, w = x.shape[-2:]
    if size > min(h, w):
        raise ConfigError(f"imgstego: crop {size} is larger than the {h}×{w} spectrogram")
    tops = torch.randint(0, h - size + 1, (len(x),)).tolist()
    lefts = torch.randint(0, w - size + 1, (len(x),)).tolist()
    return torch.stack([x[i, :, t : t + size, s : s + size] for i, (t, s) in enumerate(zip(tops, lefts, strict=True))])
