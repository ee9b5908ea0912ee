"""Prepared data as few large ``.npy`` shards plus ``manifest.tsv`` and ``rejects.tsv``.

A prepared corpus is a directory::

    shards/shard-00000.npy   rows of equal shape (int16 audio, uint8 images, float16 features)
    manifest.tsv             one line per row: row, shard, index, split, label, source, offset, length
    rejects.tsv              one line per input not used: source, reason

A gathered directory (:func:`avsec.data.av.parts.gather_prepared`) has no ``shards/`` of its own but a
``shards.tsv`` listing its shards' paths relative to it (``shard`` in the manifest numbers that list).

Rows are read back memory-mapped by :class:`ShardedArray`. The directory is written under a temporary name
and renamed when complete.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np

from avsec.io.atomic import atomic_path

MANIFEST_FIELDS = ("row", "shard", "index", "split", "label", "source", "offset", "length")
REJECT_FIELDS = ("source", "reason")
SHARD_LIST = "shards.tsv"  # a gathered directory's shards: shard, path (relative to the directory)


@dataclass
class ShardWriter:
    """Write rows as they come into shards of at most ``rows_per_shard`` rows; memory holds one row at a time.

    Each row goes straight into the open shard file after a ``.npy`` header; closing a shard rewrites the header
    with its final row count (NumPy leaves room for it), so a shard is byte for byte what ``np.save`` of the
    stacked rows would write.
    """

    root: Path
    rows_per_shard: int = 4096
    _file: BinaryIO | None = None
    _in_shard: int = 0
    _data_start: int = 0
    _manifest: list[dict] = field(default_factory=list)
    _rejects: list[tuple[str, str]] = field(default_factory=list)
    _shard: int = 0
    _shape: tuple | None = None
    _dtype: np.dtype | None = None

    def add(
        self, row: np.ndarray, *, split: str, label: str, source: str, offset: int = 0, length: int | None = None
    ) -> None:
        """Append one row (all rows share shape and dtype) with its manifest entry.

        ``offset`` and ``length`` locate the row in its source file (samples for audio); ``length`` defaults to
        the row's first dimension, which is right for waveform rows; derived rows (features) pass their source's.
        """
        row = np.ascontiguousarray(row)
        if self._shape is None:
            self._shape, self._dtype = row.shape, row.dtype
        elif row.shape != self._shape or row.dtype != self._dtype:
            raise ValueError(f"{source}: row {row.shape} {row.dtype} differs from {self._shape} {self._dtype}")
        if self._file is None:
            (self.root / "shards").mkdir(parents=True, exist_ok=True)
            self._file = open(self.root / "shards" / f"shard-{self._shard:05d}.npy", "wb")
            self._header()
        self._manifest.append(
            dict(
                row=len(self._manifest),
                shard=self._shard,
                index=self._in_shard,
                split=split,
                label=label,
                source=source,
                offset=int(offset),
                length=int(length if length is not None else (row.shape[0] if row.ndim else 1)),
            )
        )
        self._file.write(row.tobytes())
        self._in_shard += 1
        if self._in_shard == self.rows_per_shard:
            self._end_shard()

    def reject(self, source: str, reason: str) -> None:
        """Record an input that is not used, with the reason."""
        self._rejects.append((source, " ".join(str(reason).split())))

    def _header(self) -> None:
        """Write (or rewrite, at the same length) the open shard's header for the rows written so far."""
        shape = (self._in_shard, *self._shape)
        header = {"descr": np.lib.format.dtype_to_descr(self._dtype), "fortran_order": False, "shape": shape}
        self._file.seek(0)
        np.lib.format.write_array_header_1_0(self._file, header)
        if self._in_shard and self._file.tell() != self._data_start:  # NumPy pads headers to prevent this
            raise RuntimeError(f"{self._file.name}: the .npy header changed length when its row count was set")
        self._data_start = self._file.tell()
        self._file.seek(0, os.SEEK_END)

    def _end_shard(self) -> None:
        if self._file is None:
            return
        self._header()
        self._file.close()
        self._file, self._in_shard = None, 0
        self._shard += 1

    def close(self) -> None:
        self._end_shard()
        (self.root / "shards").mkdir(parents=True, exist_ok=True)
        write_tsv(
            self.root / "manifest.tsv", MANIFEST_FIELDS, [tuple(m[f] for f in MANIFEST_FIELDS) for m in self._manifest]
        )
        write_tsv(self.root / "rejects.tsv", REJECT_FIELDS, self._rejects)

    def abandon(self) -> None:
        """Close the open shard file without finishing it (the caller discards the directory)."""
        if self._file is not None:
            self._file.close()
            self._file = None

    @property
    def rows(self) -> int:
        return len(self._manifest)

    def summary(self) -> dict[str, int]:
        """Rows per split and the number of rejects, e.g. ``{"train": 80, "test": 20, "rejects": 2}``."""
        counts: dict[str, int] = {}
        for entry in self._manifest:
            counts[entry["split"]] = counts.get(entry["split"], 0) + 1
        return {**counts, "rejects": len(self._rejects)}

    @property
    def rejects(self) -> list[tuple[str, str]]:
        return list(self._rejects)


@contextmanager
def shard_writer(out_dir: str | Path, rows_per_shard: int = 4096) -> Iterator[ShardWriter]:
    """Write a prepared-data directory atomically: complete on success, absent on failure."""
    with atomic_path(out_dir, directory=True) as tmp:
        writer = ShardWriter(Path(tmp), rows_per_shard)
        try:
            yield writer
        except BaseException:
            writer.abandon()
            raise
        writer.close()


def write_tsv(path: Path, header: tuple[str, ...], rows) -> None:
    """Write a UTF-8 TSV; a file name that is not valid UTF-8 is written with its odd bytes escaped (``\\xe9``)."""
    with open(path, "w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh, delimiter="\t", lineterminator="\n")
        out.writerow(header)
        out.writerows([_printable(value) for value in row] for row in rows)


def _printable(value):
    if isinstance(value, str) and not valid_utf8(value):
        return os.fsencode(value).decode("utf-8", "backslashreplace")
    return value


def valid_utf8(name: str) -> bool:
    """Whether a file name as the OS gave it is valid UTF-8 (Python maps other bytes to lone surrogates)."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def read_tsv(path: str | Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh, delimiter="\t"))


class Manifest(Sequence):
    """A manifest.tsv held as one NumPy string array per column (a few hundred bytes a row, not a Python dict
    of strings per row: LRW's 538 000 rows would take about 1.3 GB that way in every job that opens them). Row
    ``i`` reads as a dict of strings, as the file has it; :meth:`column` gives a whole column."""

    def __init__(self, path: str | Path):
        with open(path, newline="", encoding="utf-8") as fh:
            reader = csv.reader(fh, delimiter="\t")
            self.fields = tuple(next(reader, ()))
            columns: list[list[str]] = [[] for _ in self.fields]
            for line in reader:
                for values, value in zip(columns, line, strict=True):
                    values.append(value)
        self._columns = {name: np.array(values, dtype=str) for name, values in zip(self.fields, columns, strict=True)}

    def __len__(self) -> int:
        return len(self._columns[self.fields[0]]) if self.fields else 0

    def __getitem__(self, row):
        if isinstance(row, slice):
            return [self[i] for i in range(*row.indices(len(self)))]
        return {name: str(values[row]) for name, values in self._columns.items()}

    def column(self, name: str) -> np.ndarray:
        return self._columns[name]


class ShardedArray:
    """All rows of a prepared directory, memory-mapped, indexable by global row number."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.manifest = Manifest(self.root / "manifest.tsv")
        paths = shard_paths(self.root)
        self._shards = [np.load(p, mmap_mode="r") for p in paths]
        self._shard = self.manifest.column("shard").astype(np.int32) if len(self.manifest) else np.zeros(0, np.int32)
        self._index = self.manifest.column("index").astype(np.int64) if len(self.manifest) else np.zeros(0, np.int64)

    def __len__(self) -> int:
        return len(self._shard)

    def __getitem__(self, row: int) -> np.ndarray:
        return self._shards[self._shard[row]][self._index[row]]

    def rows(self, split: str | None = None) -> list[int]:
        """Global row numbers, optionally of one split."""
        if split is None:
            return list(range(len(self)))
        return np.flatnonzero(self.manifest.column("split") == split).tolist()

    def labels(self) -> list[str]:
        return self.manifest.column("label").tolist()


def shard_paths(root: str | Path) -> list[Path]:
    """The shard files of a prepared directory in manifest ``shard`` order: its ``shards/``, or those that its
    ``shards.tsv`` lists (a gathered directory)."""
    root = Path(root)
    if (root / SHARD_LIST).is_file():
        return [root / entry["path"] for entry in read_tsv(root / SHARD_LIST)]
    return sorted((root / "shards").glob("shard-*.npy"))


def list_files(root: str | Path) -> list[str]:
    """Every file below ``root`` as a sorted relative POSIX path (deterministic order for all readers)."""
    root = os.fspath(root)
    out = []
    for dirpath, _, files in os.walk(root):
        rel = os.path.relpath(dirpath, root)
        prefix = "" if rel == "." else rel.replace(os.sep, "/") + "/"
        out.extend(prefix + name for name in files)  # string joins: ~10x faster than Path per file
    return sorted(out)
