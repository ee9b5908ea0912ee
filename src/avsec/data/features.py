"""STFT features of prepared audio (rule extract_stft): every row of a prepared int16 directory as a prepared
feature directory, with the settings of ``features.<name>.stft`` in config.yaml."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from avsec.core.errors import ConfigError, InputError
from avsec.dsp.stft import stft, to_channels
from avsec.io.audio import INT16_SCALE
from avsec.io.shards import ShardedArray, shard_writer

KINDS = ("complex", "magnitude")
DTYPES = {"float16": np.float16, "float32": np.float32}
SHARD_BYTES = 256 * 2**20


def extract_stft(
    prep_dir: str | Path,
    out: str | Path,
    *,
    n_fft: int,
    hop: int,
    win_length: int | None = None,
    window: str = "hann",
    center: bool = True,
    kind: str = "complex",
    dtype: str = "float16",
    batch: int = 64,
) -> dict[str, int]:
    """STFT of every row of a prepared int16 audio directory, written as a prepared feature directory.

    Samples are scaled by 1/32768 to [-1, 1). Rows are (2, F, T) real/imag for ``kind="complex"`` or (F, T)
    magnitudes for ``kind="magnitude"``, in ``dtype``; split, label, source and offset are carried over from
    the manifest row by row. Returns ``{split: rows, ..., "rejects": 0}``.
    """
    if kind not in KINDS:
        raise ConfigError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    if dtype not in DTYPES:
        raise ConfigError(f"dtype must be one of {', '.join(DTYPES)}, got {dtype!r}")
    if win_length is not None and not 0 < win_length <= n_fft:
        raise ConfigError(f"win_length must be in 1..n_fft ({n_fft}), got {win_length}")
    source = _audio_rows(prep_dir)
    settings = dict(n_fft=n_fft, hop=hop, win_length=win_length, window=window, center=center)
    with shard_writer(out, _rows_per_shard(_row_bytes(source, settings, kind, dtype))) as writer:
        for start in tqdm(range(0, len(source), batch), desc="stft", unit="batch", file=sys.stderr, mininterval=1.0):
            rows = range(start, min(start + batch, len(source)))
            features = _features(np.stack([source[i] for i in rows]), settings, kind, DTYPES[dtype])
            for i, feature in zip(rows, features, strict=True):
                meta = source.manifest[i]
                writer.add(
                    feature,
                    split=meta["split"],
                    label=meta["label"],
                    source=meta["source"],
                    offset=int(meta["offset"]),
                    length=int(meta["length"]),
                )
        return writer.summary()


def _audio_rows(prep_dir: str | Path) -> ShardedArray:
    """The rows of a prepared audio directory; InputError unless they are non-empty int16 waveforms."""
    prep_dir = Path(prep_dir)
    if not (prep_dir / "manifest.tsv").is_file():
        raise InputError(prep_dir, "not a prepared directory (no manifest.tsv)")
    rows = ShardedArray(prep_dir)
    if len(rows) == 0:
        raise InputError(prep_dir, "prepared directory has no rows")
    first = rows[0]
    if first.dtype != np.int16 or first.ndim != 1:
        raise InputError(prep_dir, f"expected int16 waveform rows, found {first.dtype} rows of shape {first.shape}")
    return rows


def _features(batch: np.ndarray, settings: dict, kind: str, dtype: type) -> np.ndarray:
    x = torch.from_numpy(batch.astype(np.float32) / INT16_SCALE)
    spec = stft(x, **settings)
    out = to_channels(spec) if kind == "complex" else spec.abs()
    return out.numpy().astype(dtype)


def _row_bytes(rows: ShardedArray, settings: dict, kind: str, dtype: str) -> int:
    shape = _features(np.asarray(rows[0])[None], settings, kind, DTYPES[dtype]).shape
    return int(np.prod(shape)) * np.dtype(DTYPES[dtype]).itemsize


def _rows_per_shard(row_bytes: int) -> int:
    return max(1, SHARD_BYTES // max(1, row_bytes))
