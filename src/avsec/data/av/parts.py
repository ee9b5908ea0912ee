"""Partitioned audiovisual preparation: which part a clip goes to, and the corpus-wide view of the parts.

A clip goes to part ``stable_hash(source) % parts`` (its path relative to the corpus root), so the split
depends on nothing but the clip's name: the same in every run and on every machine, and adding clips to a
corpus moves only those clips. Each part is prepared on its own (``results/av/<corpus>/parts/<kind>/<k>``);
:func:`gather_prepared` then writes the corpus's directory as a manifest pointing at the parts' shards
(``shards.tsv``, relative paths, no data copied) with the rows sorted by source, which is the order a
one-part run writes them in, so everything read from it is the same whatever the number of parts.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np

from avsec.core.errors import InputError
from avsec.io.atomic import atomic_path
from avsec.io.shards import (
    MANIFEST_FIELDS,
    REJECT_FIELDS,
    SHARD_LIST,
    Manifest,
    ShardedArray,
    read_tsv,
    shard_paths,
    write_tsv,
)


def stable_hash(key: str) -> int:
    """A hash of ``key`` that is the same in every process and on every machine (unlike Python's ``hash``):
    the first 8 bytes of its SHA-1, big-endian. File names that are not valid UTF-8 hash by their bytes."""
    data = os.fsencode(key) if isinstance(key, str) else bytes(key)
    return int.from_bytes(hashlib.sha1(data).digest()[:8], "big")


def part_of(key: str, parts: int) -> int:
    """The part (0 .. parts - 1) that the clip named ``key`` belongs to."""
    if parts < 1:
        raise ValueError(f"parts must be at least 1, not {parts}")
    return stable_hash(key) % parts


def in_part(key: str, part: int, parts: int) -> bool:
    """Whether the clip named ``key`` belongs to ``part`` of ``parts``."""
    if not 0 <= part < parts:
        raise ValueError(f"part {part} is not in 0 .. {parts - 1}")
    return part_of(key, parts) == part


def part_dirs(parts_dir: str | Path, kind: str, parts: int) -> list[Path]:
    """The ``kind`` (landmarks, mouths, audio) directories of parts 0 .. parts - 1 under ``parts_dir``:
    ``results/av/<corpus>/parts/<kind>/<k>``."""
    if parts < 1:
        raise ValueError(f"parts must be at least 1, not {parts}")
    return [Path(parts_dir) / kind / str(k) for k in range(parts)]


def sorted_rows(arrays: Sequence[ShardedArray], split: str | None = None) -> Iterator[tuple[int, int]]:
    """(array, row) of the rows of ``split`` (all when None) of several prepared directories, sorted by source:
    the order one directory holding them all would have."""
    keys, where = [], []
    for k, array in enumerate(arrays):
        rows = array.rows(split)
        if rows:
            keys.append(array.manifest.column("source")[rows])
            where.extend((k, r) for r in rows)
    if not where:
        return iter(())
    order = np.argsort(np.concatenate(keys), kind="stable")
    return (where[i] for i in order)


def gather_prepared(parts: Iterable[str | Path], out: str | Path, row_arrays: Sequence[str] = ()) -> dict[str, int]:
    """Write ``out`` as the union of the prepared directories ``parts``: ``manifest.tsv`` (rows sorted by source,
    renumbered), ``shards.tsv`` (each shard's path relative to ``out``) and ``rejects.tsv`` (sorted). The
    shards stay where they are. ``row_arrays`` names ``.npy`` files beside each part's manifest with one entry per
    row (crop_mouths' ``transforms.npy``, ``boxes.npy``): they are small, so they are written to ``out`` in the
    gathered order, a row at a time. Returns rows per split and the number of rejects."""
    out = Path(out)
    parts = [Path(p) for p in parts]
    manifests = [Manifest(p / "manifest.tsv") for p in parts]
    shard_lists = [shard_paths(p) for p in parts]
    first_shard = np.cumsum([0] + [len(s) for s in shard_lists])
    fields = ("split", "label", "source", "offset", "length")
    columns = {f: [m.column(f) for m in manifests if len(m)] for f in (*fields, "shard", "index")}
    owner = np.concatenate([np.full(len(m), k) for k, m in enumerate(manifests) if len(m)] or [np.zeros(0, int)])
    rows, order = [], np.zeros(0, np.int64)
    if len(owner):
        merged = {f: np.concatenate(v) for f, v in columns.items()}
        shard = merged["shard"].astype(np.int64) + first_shard[owner]
        order = np.argsort(merged["source"], kind="stable")
        for new, i in enumerate(order):
            rows.append((new, int(shard[i]), str(merged["index"][i]), *(str(merged[f][i]) for f in fields)))
    starts = np.cumsum([0] + [len(m) for m in manifests])
    rejects = sorted(tuple(r[f] for f in REJECT_FIELDS) for p in parts for r in read_tsv(p / "rejects.tsv"))
    with atomic_path(out, directory=True) as tmp:
        tmp = Path(tmp)
        listed = [os.path.relpath(path, out) for paths in shard_lists for path in paths]
        write_tsv(tmp / SHARD_LIST, ("shard", "path"), [(i, Path(p).as_posix()) for i, p in enumerate(listed)])
        write_tsv(tmp / "manifest.tsv", MANIFEST_FIELDS, rows)
        write_tsv(tmp / "rejects.tsv", REJECT_FIELDS, rejects)
        for name in row_arrays:
            _gather_rows([np.load(p / name, mmap_mode="r") for p in parts], starts, order, tmp / name)
    counts: dict[str, int] = {}
    for row in rows:
        counts[row[3]] = counts.get(row[3], 0) + 1
    return {**counts, "rejects": len(rejects)}


def _gather_rows(arrays: list[np.ndarray], starts: np.ndarray, order: np.ndarray, out: Path) -> None:
    """Rows of the parts' row-aligned arrays (memory-mapped) in the gathered ``order`` (indices into the parts'
    rows laid end to end, ``starts`` where each part begins), written a row at a time."""
    if any(len(a) != starts[k + 1] - starts[k] for k, a in enumerate(arrays)):
        raise InputError(out.name, "a part's row array does not have one entry per manifest row")
    shape = next((a.shape[1:] for a in arrays if len(a)), arrays[0].shape[1:])
    if any(len(a) and a.shape[1:] != shape for a in arrays):
        raise InputError(out.name, "the parts' row arrays differ in shape")
    gathered = np.lib.format.open_memmap(out, mode="w+", dtype=arrays[0].dtype, shape=(len(order), *shape))
    part = np.searchsorted(starts, order, side="right") - 1
    for new, (k, i) in enumerate(zip(part, order, strict=True)):
        gathered[new] = arrays[k][i - starts[k]]
    gathered.flush()
    del gathered
