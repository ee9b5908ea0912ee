"""Prepare corpora as shards: each ``prep_<corpus>(root, out, ...)`` writes one prepared directory.

A prepared directory (see :mod:`avsec.io.shards`) holds equal-shape rows (int16 audio, uint8 RGB images) in
source order, a manifest naming each row's split, label, source file and offset, and a rejects file with every
input that was not used and why (unreadable, empty, stereo, wrong rate, too short, undecodable). Problems that
are not about one file (missing root, bad arguments, nothing usable at all) raise, and ``out`` is then not
written. The same inputs and seed give byte-identical outputs. Each function returns a summary
``{split: rows, ..., "rejects": n}`` and shows a tqdm progress bar on stderr.
"""

from __future__ import annotations

import functools
import hashlib
import heapq
import itertools
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from avsec.core.errors import ConfigError, InputError
from avsec.data.corpora import (
    Item,
    gtzan_items,
    librispeech_items,
    names,
    speech_commands_items,
    timit_items,
    voc_items,
)
from avsec.io.atomic import atomic_path
from avsec.io.audio import read_audio, resample
from avsec.io.shards import ShardWriter, shard_writer

SHARD_BYTES = 256 * 2**20  # target shard size: few large files, none unwieldy
SPEECH_RATE = 16000


@dataclass(frozen=True, order=True)
class Piece:
    """A row's origin: ``offset`` samples into the file ``source`` (0 for whole files and images)."""

    source: str
    offset: int
    uid: str = field(compare=False)
    label: str = field(compare=False)
    split: str = field(default="", compare=False)
    path: Path | None = field(default=None, compare=False)

    @classmethod
    def of(cls, item: Item, offset: int = 0) -> Piece:
        return cls(item.source, offset, item.uid, item.label, item.split, item.path)


def draw_key(seed: int, uid: str, offset: int = 0, purpose: str = "draw") -> int:
    """A seeded pseudo-random 64-bit key for one piece (BLAKE2b of seed, purpose, corpus uid and offset).

    Random draws take the pieces with the smallest keys: the same on every machine and Python, the same in
    every copy of a corpus (keys use :attr:`Item.uid`, not paths), and adding or losing a file moves no
    other piece.
    """
    digest = hashlib.blake2b(f"{purpose}\0{seed}\0{uid}\0{offset}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


# --- TIMIT and LibriSpeech: fixed-length segments, drawn at random -----------------------------------------


def prep_timit(
    root: str | Path,
    out: str | Path,
    *,
    segment: int = 32640,
    hop: int | str | None = None,
    count: int | None,
    test_fraction: float = 0.25,
    seed: int,
) -> dict[str, int]:
    """TIMIT cut into ``segment``-sample pieces every ``hop`` samples; ``count`` of them drawn at random.

    Utterances shorter than ``segment`` samples or not at 16 kHz are rejected; longer ones give pieces at offsets
    0, hop, 2·hop, ... (offset recorded, the tail dropped). ``hop`` is ``segment`` (None, the default:
    non-overlapping pieces), a number of samples up to ``segment`` (smaller: overlapping pieces), or ``"auto"``:
    the largest hop whose pieces reach ``count`` (:func:`timit_hop`; non-overlapping when those suffice).
    ``count`` pieces are drawn (seeded) from all of them, all when fewer exist (with a note) or ``count`` is
    None, and split train/test with a test share of ``test_fraction``; pieces of one utterance that overlap
    always share a split (:func:`overlap_groups`). label = speaker id, source = path relative to ``root``.
    Two passes, so that memory holds one file at a time: the first decodes every file and keeps its length, the
    second decodes the files that hold drawn pieces again and writes those pieces.
    """
    _check_args(segment=segment, count=count, test_fraction=test_fraction)
    fixed = None if hop == "auto" else timit_hop(hop, segment, (), count)  # checked before any file is read
    items = timit_items(root)
    whole = functools.lru_cache(maxsize=1)(lambda path: _read_speech(path, segment))
    with shard_writer(out, _rows_per_shard(2 * segment)) as writer:
        usable = []  # (item, its length in samples)
        for item in _progress(items, "timit"):
            try:
                usable.append((item, len(_read_speech(item.path, segment))))
            except InputError as exc:
                writer.reject(item.source, exc.problem)
        step = fixed or timit_hop(hop, segment, [n for _, n in usable], count)
        if step != segment:
            _note(f"timit: {segment}-sample pieces every {step} samples (overlapping)")
        kept = _Smallest(count)
        for item, samples in usable:
            for offset in segment_offsets(samples, segment, step):
                kept.offer(draw_key(seed, item.uid, offset), Piece.of(item, offset))
        chosen = kept.pieces()
        return _write_train_test(
            writer,
            chosen,
            lambda piece: whole(piece.path)[piece.offset : piece.offset + segment],
            count,
            test_fraction,
            seed,
            root,
            len(items),
            "timit",
            groups=overlap_groups(chosen, segment),
        )


def segment_offsets(samples: int, segment: int, hop: int) -> range:
    """Offsets of the whole ``segment``-sample pieces, one every ``hop`` samples, of ``samples`` samples."""
    return range(0, samples - segment + 1, hop)


def timit_hop(hop: int | str | None, segment: int, lengths: Sequence[int], count: int | None) -> int:
    """The hop between pieces: ``segment`` for None; ``hop`` itself when a number (1 to ``segment``); for
    ``"auto"``, the largest hop at which ``lengths`` (samples per usable utterance) give at least ``count``
    pieces: ``segment`` (no overlap) when those suffice or ``count`` is None, and 1 when not even that reaches it."""
    if hop is None:
        return segment
    if hop == "auto":
        total = lambda h: sum(len(segment_offsets(n, segment, h)) for n in lengths)  # noqa: E731 (non-increasing in h)
        if count is None or total(segment) >= count:
            return segment
        lo, hi = 1, segment  # total(lo) >= count unless nothing reaches it; total(hi) < count
        while hi - lo > 1:
            mid = (lo + hi) // 2
            lo, hi = (mid, hi) if total(mid) >= count else (lo, mid)
        return lo
    _check_positive(hop=hop)
    if hop > segment:
        raise ConfigError(f"hop must be 'auto' or at most segment ({segment}), got {hop!r}")
    return int(hop)


def overlap_groups(pieces: Sequence[Piece], segment: int) -> list[int]:
    """A group number per piece (``pieces`` in source order, each ``segment`` samples long): pieces of one file that
    overlap, directly or through a chain of overlapping pieces, share a group; every other piece is alone."""
    groups, group = [], -1
    for i, piece in enumerate(pieces):
        before = pieces[i - 1] if i else None
        if before is None or before.source != piece.source or piece.offset >= before.offset + segment:
            group += 1
        groups.append(group)
    return groups


def prep_librispeech(
    root: str | Path,
    out: str | Path,
    *,
    subsets: Sequence[str] | str,
    segment: int = 32640,
    count: int | None,
    test_fraction: float = 0.25,
    seed: int,
) -> dict[str, int]:
    """The first ``segment`` samples of LibriSpeech utterances in ``subsets``; ``count`` drawn at random.

    Utterances shorter than ``segment`` samples or not at 16 kHz are rejected and the draw moves on to the
    next one, so only about ``count`` files are decoded (their first ``segment`` samples only). Split as in
    :func:`prep_timit`. label = speaker id.
    """
    _check_args(segment=segment, count=count, test_fraction=test_fraction)
    items = librispeech_items(root, subsets)
    load = lambda x: _read_speech(x.path, segment, frames=segment)  # noqa: E731 (called with an Item, then a Piece)
    with shard_writer(out, _rows_per_shard(2 * segment)) as writer:
        chosen = _first_usable(items, count, seed, load, writer, "librispeech")
        return _write_train_test(writer, chosen, load, count, test_fraction, seed, root, len(items), "librispeech")


def _read_speech(path: Path, segment: int, frames: int | None = None) -> np.ndarray:
    """16 kHz int16 samples of ``path`` (the first ``frames`` when given); InputError when under ``segment``."""
    x, _ = read_audio(path, expect_rate=SPEECH_RATE, frames=frames)
    if len(x) < segment:
        raise InputError(path, f"shorter than {segment} samples ({len(x)} samples)")
    return x


class _Smallest:
    """The ``limit`` pieces with the smallest keys among those offered (all when None); rows are not kept."""

    def __init__(self, limit: int | None):
        self.limit = limit
        self._heap: list[tuple[int, Piece]] = []  # max-heap on key via negation

    def offer(self, key: int, piece: Piece) -> None:
        if self.limit is None or len(self._heap) < self.limit:
            heapq.heappush(self._heap, (-key, piece))
        elif -key > self._heap[0][0]:
            heapq.heapreplace(self._heap, (-key, piece))

    def pieces(self) -> list[Piece]:
        """The kept pieces in source order."""
        return sorted(piece for _, piece in self._heap)


def _first_usable(
    items: list[Item],
    count: int | None,
    seed: int,
    load: Callable[[Item], np.ndarray],
    writer: ShardWriter,
    desc: str,
) -> list[Piece]:
    """Load items in the order of their draw keys until ``count`` have loaded (rejecting the failures), so
    the result is the ``count`` usable items with the smallest keys; in source order. Their rows are not kept:
    the caller loads them again as it writes, so that memory holds one row at a time."""
    wanted = len(items) if count is None else min(count, len(items))
    chosen = []
    with _progress(None, desc, total=wanted) as bar:
        for item in sorted(items, key=lambda it: (draw_key(seed, it.uid), it.source)):
            if len(chosen) == wanted:
                break
            try:
                load(item)
                chosen.append(Piece.of(item))
            except InputError as exc:
                writer.reject(item.source, exc.problem)
                continue
            bar.update()
    return sorted(chosen)


def _write_train_test(
    writer: ShardWriter,
    chosen: list[Piece],
    load: Callable[[Piece], np.ndarray],
    count: int | None,
    test_fraction: float,
    seed: int,
    root: str | Path,
    listed: int,
    corpus: str,
    groups: Sequence[int] | None = None,
) -> dict[str, int]:
    """Load and write the chosen pieces in source order, split by :func:`pick_test` (``groups``: a group number
    per piece, None for every piece alone)."""
    if count is not None and len(chosen) < count:
        _note(f"{corpus}: only {len(chosen)} usable pieces, fewer than count={count}; taking all")
    test = pick_test(chosen, test_fraction, seed, groups)
    for i, piece in enumerate(_progress(chosen, f"{corpus}: writing", unit="piece")):
        _add(writer, load(piece), piece, "test" if i in test else "train")
    return _summary(writer, ("train", "test"), root, listed, corpus)


def pick_test(
    chosen: Sequence[Piece], test_fraction: float, seed: int, groups: Sequence[int] | None = None
) -> set[int]:
    """The indices of the test pieces: the groups (each piece alone when ``groups`` is None) ranked by the split
    key of their first piece join the test split in turn, a group skipped when it would take the test split past
    the ``test_fraction`` share (rounded), until that share is reached. A group is never split, so overlapping
    pieces of one utterance share a split; with every piece alone, the share with the smallest keys is test."""
    members: dict[int, list[int]] = {}
    for i, group in enumerate(range(len(chosen)) if groups is None else groups):
        members.setdefault(group, []).append(i)
    first = lambda g: chosen[members[g][0]]  # noqa: E731
    ranked = sorted(members, key=lambda g: (draw_key(seed, first(g).uid, first(g).offset, "split"), members[g][0]))
    target, test = _share(len(chosen), test_fraction), set()
    for group in ranked:
        if len(test) == target:
            break
        if len(test) + len(members[group]) <= target:
            test.update(members[group])
    return test


# --- GTZAN -------------------------------------------------------------------------------------------------

SPLITS = ("train", "val", "test")


def prep_gtzan(
    root: str | Path,
    out: str | Path,
    *,
    rate: int = 16384,
    clip: int = 16384,
    clips_per_track: int = 29,
    split_by: str = "track",
    fractions: Sequence[float] = (0.8, 0.1, 0.1),
    seed: int,
) -> dict[str, int]:
    """GTZAN resampled to ``rate`` and cut into the first ``clips_per_track`` non-overlapping ``clip``-sample clips.

    A track that cannot be decoded (the corrupt ``jazz.00054`` of common copies) or is too short for all its
    clips is rejected. Splits train/val/test with ``fractions`` within each genre: by track (default, no
    track in two splits) or per clip (``split_by="clip"``, the paper's leaky split). Splits are drawn from the
    listing before decoding, so a rejected track does not move any other track. label = genre; offset =
    first sample of the clip at ``rate``.
    """
    _check_args(rate=rate, clip=clip, clips_per_track=clips_per_track)
    if split_by not in ("track", "clip"):
        raise ConfigError(f"split_by must be 'track' or 'clip', got {split_by!r}")
    items = gtzan_items(root)
    assigned = _gtzan_splits(items, clips_per_track, split_by, _check_fractions(fractions), seed)
    need = clip * clips_per_track
    with shard_writer(out, _rows_per_shard(clip * 2)) as writer:
        for item in _progress(items, "gtzan", unit="track"):
            try:
                x, rate_in = read_audio(item.path)
            except InputError as exc:
                writer.reject(item.source, exc.problem)
                continue
            y = resample(x, rate_in, rate)
            if len(y) < need:
                writer.reject(
                    item.source,
                    f"too short for {clips_per_track} clips of {clip} samples at {rate} Hz ({len(y)} samples)",
                )
                continue
            for k in range(clips_per_track):
                piece = Piece.of(item, k * clip)
                _add(writer, y[k * clip : (k + 1) * clip], piece, assigned[item.source, k])
        return _summary(writer, SPLITS, root, len(items), "gtzan")


def _gtzan_splits(
    items: list[Item], clips: int, split_by: str, fractions: tuple[float, ...], seed: int
) -> dict[tuple[str, int], str]:
    """Split of every (source, clip index): within each genre, units (tracks, or clips with
    ``split_by="clip"``) ranked by their draw keys go train, val, test in the counts of ``fractions``."""
    assigned = {}
    for _genre, tracks in itertools.groupby(sorted(items, key=lambda i: (i.label, i.uid)), lambda i: i.label):
        units = [(t, k) for t in tracks for k in (range(clips) if split_by == "clip" else [0])]
        units.sort(key=lambda u: (draw_key(seed, u[0].uid, u[1], "split"), u[0].uid, u[1]))
        names = np.repeat(SPLITS, _split_counts(len(units), fractions))
        for (track, k), name in zip(units, names, strict=True):
            for clip in range(clips) if split_by == "track" else [k]:
                assigned[track.source, clip] = str(name)
    return assigned


def _split_counts(n: int, fractions: Sequence[float]) -> list[int]:
    """Split ``n`` units by ``fractions`` (largest remainder); every split with a positive fraction gets at
    least one unit when there are enough units."""
    counts = [int(n * f) for f in fractions]
    while sum(counts) < n:
        deficits = [n * f - c for f, c in zip(fractions, counts, strict=True)]
        counts[deficits.index(max(deficits))] += 1
    if n >= sum(f > 0 for f in fractions):
        for i, f in enumerate(fractions):
            if f > 0 and counts[i] == 0:
                counts[counts.index(max(counts))] -= 1
                counts[i] = 1
    return counts


# --- Speech Commands ---------------------------------------------------------------------------------------


def prep_speech_commands(
    root: str | Path,
    out: str | Path,
    *,
    words: Sequence[str] | str,
    length: int = 16384,
    rate: int = SPEECH_RATE,
    seed: int | None = None,
) -> dict[str, int]:
    """Speech Commands clips of ``words``, cropped or zero-padded at the end (never resampled) to ``length``.

    Wrong-rate, empty or unreadable clips are rejected. Splits from the official lists (val, test, else
    train). label = word. ``seed`` is accepted for a uniform call and unused: nothing here is random.
    """
    _check_args(length=length)
    items = speech_commands_items(root, words)
    with shard_writer(out, _rows_per_shard(length * 2)) as writer:
        for item in _progress(items, "speech_commands", unit="clip"):
            try:
                x, _ = read_audio(item.path, expect_rate=rate, frames=length)
            except InputError as exc:
                writer.reject(item.source, exc.problem)
                continue
            _add(writer, fit_length(x, length), Piece.of(item), item.split)
        return _summary(writer, SPLITS, root, len(items), "speech_commands")


def fit_length(x: np.ndarray, length: int) -> np.ndarray:
    """``x`` cropped to its first ``length`` samples or zero-padded at the end to ``length``."""
    out = np.zeros(length, dtype=x.dtype)  # np.pad costs ~8x more per short clip
    n = min(len(x), length)
    out[:n] = x[:n]
    return out


# --- Pascal VOC --------------------------------------------------------------------------------------------


def prep_voc(
    root: str | Path,
    out: str | Path,
    *,
    height: int,
    width: int,
    count: int | None,
    seed: int,
    image_sets: Sequence[str] | str = ("train", "val"),
) -> dict[str, int]:
    """VOC 2012 images from the ``image_sets`` lists as uint8 RGB rows (height, width, 3), bilinear resize.

    ``count`` images of the whole set are drawn at random (seeded) when more exist (all when None); each keeps
    the split of its list. An undecodable or missing image is rejected and replaced by the next draw.
    """
    _check_args(height=height, width=width, count=count)
    items = voc_items(root, image_sets)
    load = lambda x: load_image(x.path, height, width)  # noqa: E731 (called with an Item, then a Piece)
    with shard_writer(out, _rows_per_shard(height * width * 3)) as writer:
        chosen = _first_usable(items, count, seed, load, writer, "voc")
        if count is not None and len(chosen) < count:
            _note(f"voc: only {len(chosen)} usable images, fewer than count={count}; taking all")
        for piece in _progress(chosen, "voc: writing", unit="image"):
            _add(writer, load(piece), piece, piece.split)
        return _summary(writer, names(image_sets), root, len(items), "voc")


def load_image(path: str | Path, height: int, width: int) -> np.ndarray:
    """Decode an image to uint8 RGB (height, width, 3), resized bilinearly; InputError when it cannot be."""
    if not Path(path).is_file():
        raise InputError(path, "image file not found")
    try:
        with Image.open(path) as img:
            rgb = img.convert("RGB")
            if rgb.size != (width, height):
                rgb = rgb.resize((width, height), Image.Resampling.BILINEAR)
            return np.asarray(rgb, dtype=np.uint8)
    except Exception as exc:  # Pillow raises UnidentifiedImageError, OSError, SyntaxError, ... for bad files
        message = str(exc).strip().splitlines()[-1][:200] if str(exc).strip() else type(exc).__name__
        raise InputError(path, f"undecodable image ({message})") from None


def write_image(path: str | Path, pixels: np.ndarray) -> None:
    """Write uint8 (H, W, 3) RGB or (H, W) greyscale pixels atomically, in the format the suffix names."""
    with atomic_path(path) as tmp:
        try:
            Image.fromarray(np.ascontiguousarray(pixels, dtype=np.uint8)).save(tmp)
        except (ValueError, OSError) as exc:  # an unknown suffix, a format that cannot hold the pixels
            raise InputError(path, f"cannot write the image ({exc})") from None


# --- shared helpers ----------------------------------------------------------------------------------------


def _add(writer: ShardWriter, row: np.ndarray, piece: Piece, split: str) -> None:
    writer.add(row, split=split, label=piece.label, source=piece.source, offset=piece.offset)


def _summary(writer: ShardWriter, splits: Sequence[str], root: str | Path, listed: int, corpus: str) -> dict[str, int]:
    """Rows per split plus the number of rejects; raises when no row at all could be made."""
    if not writer.rows:
        first = "; ".join(f"{s}: {r}" for s, r in writer.rejects[:3])
        raise InputError(root, f"no usable {corpus} data: all {listed} listed files rejected ({first})")
    rows = writer.summary()
    return {**{s: rows.get(s, 0) for s in splits}, "rejects": rows["rejects"]}


def _share(n: int, fraction: float) -> int:
    """round(n * fraction), halves rounded up, without banker's rounding."""
    return int(np.floor(n * fraction + 0.5))


def _rows_per_shard(row_bytes: int) -> int:
    return max(1, SHARD_BYTES // max(1, row_bytes))


def _progress(iterable, desc: str, *, total: int | None = None, unit: str = "file") -> tqdm:
    return tqdm(iterable, desc=desc, total=total, unit=unit, file=sys.stderr, mininterval=1.0, dynamic_ncols=True)


def _note(message: str) -> None:
    print(f"note: {message}", file=sys.stderr)


def _check_args(*, count: int | None = None, test_fraction: float = 0.0, **positive: int) -> None:
    """ConfigError naming the argument unless ``count`` is None or positive, ``test_fraction`` in [0, 1] and
    every other value a positive integer."""
    if count is not None:
        positive["count"] = count
    _check_positive(**positive)
    if not 0.0 <= float(test_fraction) <= 1.0:
        raise ConfigError(f"test_fraction must be between 0 and 1, got {test_fraction!r}")


def _check_positive(**values: int) -> None:
    for key, value in values.items():
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
            raise ConfigError(f"{key} must be a positive integer, got {value!r}")


def _check_fractions(fractions: Sequence[float]) -> tuple[float, ...]:
    fractions = tuple(float(f) for f in fractions)
    if len(fractions) != 3 or min(fractions) < 0 or abs(sum(fractions) - 1.0) > 1e-6:
        raise ConfigError(
            f"fractions must be three non-negative numbers (train, val, test) summing to 1, got {fractions}"
        )
    return fractions


PREPARERS: dict[str, Callable[..., dict[str, int]]] = {
    "timit": prep_timit,
    "librispeech": prep_librispeech,
    "gtzan": prep_gtzan,
    "speech_commands": prep_speech_commands,
    "voc": prep_voc,
}
