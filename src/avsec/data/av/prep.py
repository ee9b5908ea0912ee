"""Audiovisual preparation of GRID and LRW (paper 4), one function per workflow step.

``detect_corpus_landmarks`` → ``results/av/<corpus>/landmarks``: (T, 68, 2) float32 rows, NaN where no face;
``compute_mean_face`` → ``mean_face.npy`` from the training split's landmarks; ``crop_corpus_mouths`` →
``mouths``: (T, 96, 96) uint8 greyscale crops plus ``transforms.npy`` (N, T, 2, 3) and ``boxes.npy`` (N, T, 4)
to paste perturbed mouths back into the frames; ``extract_corpus_audio`` → ``audio/{wave,mfcc,logspec}``.
Rows of every output follow the landmarks manifest (same order, split, label, source), so they line up.
Clips that cannot be used (corrupt video, no audio track, missing .align, wrong frame count, no face in too
many frames) are recorded in the step's ``rejects.tsv`` with the reason.

Partitioned (``part`` of ``parts``, :mod:`avsec.data.av.parts`): landmarks, mouths and audio are prepared per
part into ``results/av/<corpus>/parts/{landmarks,mouths,audio}/<k>``; the mean face reads every part's
landmarks in source order, and :func:`gather_corpus` writes ``results/av/<corpus>/{landmarks,mouths,audio}`` as
manifests over the parts' shards, rows sorted by source: the same rows in the same order whatever the number of
parts.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
from tqdm import tqdm

from avsec.core.errors import ConfigError, InputError
from avsec.data.av.audio import av_features
from avsec.data.av.corpora import AVItem, grid_items, grid_speaker, grid_split, load_clip, lrw_items
from avsec.data.av.landmarks import detect
from avsec.data.av.landmarks.precomputed import landmark_path, read_landmarks
from avsec.data.av.mouth import mean_face, mouth_roi
from avsec.data.av.parts import gather_prepared, in_part, part_dirs, sorted_rows
from avsec.io.atomic import atomic_path
from avsec.io.shards import ShardedArray, ShardWriter, shard_writer

AV_CORPORA = ("grid", "lrw")
AUDIO_KINDS = ("wave", "mfcc", "logspec")
MOUTH_ROW_ARRAYS = ("transforms.npy", "boxes.npy")  # crop_mouths' per-row arrays beside its manifest


def corpus_clips(
    corpus: str, root: str | Path, *, audio: str = "video", train=(), val=(), test=(), select=None
) -> tuple[list[AVItem], list[tuple[str, str]]]:
    """The clips of GRID (split by speaker) or LRW (split by folder), and the readers' rejects. ``select`` (a
    source → bool) lets LRW's reader skip the metadata of clips that are not wanted (538 000 ``.txt`` files
    in every part's job otherwise); the caller still filters: GRID's reader reads every clip."""
    if corpus == "grid":
        items, rejects = grid_items(root, audio=audio)
        kept = grid_split(items, train=train, val=val, test=test)
        chosen = {item.source for item in kept}
        rejects += [
            (i.source, f"speaker {grid_speaker(i)} is in no split of av.grid_speakers")
            for i in items
            if i.source not in chosen
        ]
        return kept, rejects
    if corpus == "lrw":
        return lrw_items(root, select)
    raise ConfigError(f"unknown audiovisual corpus {corpus!r}; known: {', '.join(AV_CORPORA)}")


def detect_corpus_landmarks(
    corpus: str,
    root: str | Path,
    out: str | Path,
    *,
    frames: int,
    backend: str,
    max_missing: float,
    cache_dir: str = "",
    precomputed_grid: str = "GRID_landmarks",
    precomputed_lrw: str = "LRW_landmarks",
    audio: str = "video",
    train=(),
    val=(),
    test=(),
    part: int = 0,
    parts: int = 1,
) -> dict[str, int]:
    """68-point landmarks of every clip of ``part`` (of ``parts``) with the configured backend (``precomputed``:
    the files in the corpus's ``precomputed_<corpus>`` folder); clips with no face in more than ``max_missing``
    of their frames are rejected. The readers' rejects are recorded by the part their clip belongs to."""
    mine = None if parts == 1 else lambda source: in_part(source, part, parts)
    items, rejects = corpus_clips(corpus, root, audio=audio, train=train, val=val, test=test, select=mine)
    items = [item for item in items if in_part(item.source, part, parts)]
    rejects = [(source, reason) for source, reason in rejects if in_part(source, part, parts)]
    precomputed = precomputed_grid if corpus == "grid" else precomputed_lrw
    options = {"cache_dir": os.path.expanduser(cache_dir)} if backend == "face_alignment" else {}
    with shard_writer(out) as writer:
        for source, reason in rejects:
            writer.reject(source, reason)
        for item in _progress(items, "landmarks"):
            try:
                if backend == "precomputed":
                    found = _fit_rows(read_landmarks(landmark_path(root, item.source, precomputed)), frames)
                else:
                    found = detect(load_clip(item, frames=frames)[0], backend=backend, **options)
            except InputError as exc:
                writer.reject(item.source, exc.problem)
                continue
            missing = int(np.isnan(found).any(axis=(1, 2)).sum())
            if missing == frames or missing > max_missing * frames:
                writer.reject(item.source, f"no face in {missing} of {frames} frames (> max_missing={max_missing})")
                continue
            writer.add(found.astype(np.float32), split=item.split, label=item.label, source=item.source)
        return writer.summary()


def compute_mean_face(landmarks: str | Path | list, out: str | Path, *, size: int = 256) -> np.ndarray:
    """The mean face (68, 2) in a size × size frame, from the training split's landmarks: of one directory or
    of every part's (a list), read in source order so that the result does not depend on the partition."""
    dirs = landmarks if isinstance(landmarks, (list, tuple)) else [landmarks]
    arrays = [ShardedArray(d) for d in dirs]
    train = list(sorted_rows(arrays, "train"))
    if not train:
        raise InputError(dirs[0], "no training clips with landmarks to compute the mean face from")
    face = mean_face((arrays[k][i] for k, i in train), size=size).astype(np.float32)
    with atomic_path(out) as tmp:
        np.save(tmp, face)
    print(f"mean face from {len(train)} training clips", file=sys.stderr)
    return face


def gather_corpus(
    parts_dir: str | Path, parts: int, landmarks: str | Path, mouths: str | Path, audio: str | Path
) -> dict:
    """The corpus's ``landmarks``, ``mouths`` and ``audio/{wave,mfcc,logspec}`` from its ``parts`` prepared parts
    (``parts_dir/{landmarks,mouths,audio}/<k>``): manifests over the parts' shards, rows sorted by source, rejects
    gathered; no shard is copied (the mouths' ``transforms.npy`` and ``boxes.npy``, 40 bytes a frame, are written
    in the gathered order)."""
    summary = {
        "landmarks": gather_prepared(part_dirs(parts_dir, "landmarks", parts), landmarks),
        "mouths": gather_prepared(part_dirs(parts_dir, "mouths", parts), mouths, MOUTH_ROW_ARRAYS),
    }
    with atomic_path(audio, directory=True) as tmp:
        for kind in AUDIO_KINDS:
            found = [p / kind for p in part_dirs(parts_dir, "audio", parts)]
            summary[f"audio/{kind}"] = gather_prepared(found, Path(tmp) / kind)
    return summary


def crop_corpus_mouths(
    corpus: str,
    root: str | Path,
    landmarks: str | Path,
    mean_face: str | Path,
    out: str | Path,
    *,
    frames: int,
    size: int = 96,
    face_size: int = 256,
    smooth_window: int = 6,
    audio: str = "video",
) -> dict[str, int]:
    """Greyscale mouth crops of every clip that has landmarks, with the per-frame transforms and boxes."""
    rows, clips = _clips_of(corpus, root, landmarks, audio)
    face = np.load(mean_face)
    transforms, boxes = [], []
    with shard_writer(out) as writer:
        for i, meta in enumerate(_progress(rows.manifest, "mouths")):
            try:
                video, _ = load_clip(clips[meta["source"]], frames=frames)
                crops, transform, box = mouth_roi(
                    video, rows[i], face, size=size, face_size=face_size, smooth_window=smooth_window, max_missing=1.0
                )
            except (InputError, ValueError) as exc:
                writer.reject(meta["source"], getattr(exc, "problem", str(exc)))
                continue
            writer.add(crops, split=meta["split"], label=meta["label"], source=meta["source"])
            transforms.append(transform)
            boxes.append(box)
        np.save(writer.root / MOUTH_ROW_ARRAYS[0], np.asarray(transforms, dtype=np.float32).reshape(-1, frames, 2, 3))
        np.save(writer.root / MOUTH_ROW_ARRAYS[1], np.asarray(boxes, dtype=np.int32).reshape(-1, frames, 4))
        return writer.summary()


def extract_corpus_audio(
    corpus: str,
    root: str | Path,
    landmarks: str | Path,
    out: str | Path,
    *,
    frames: int,
    rate: int = 16000,
    n_mfcc: int = 13,
    n_fft: int = 512,
    hop: int = 160,
    win_length: int = 400,
    audio: str = "video",
) -> dict[str, int]:
    """16 kHz waveforms (``wave``), SyncNet MFCC (``mfcc``) and log-magnitude STFT (``logspec``) of every clip
    that has landmarks."""
    rows, clips = _clips_of(corpus, root, landmarks, audio)
    settings = {
        "mfcc": {"rate": rate, "n_mfcc": n_mfcc, "n_fft": n_fft, "hop": hop, "win_length": win_length},
        "logspec": {"n_fft": n_fft, "hop": hop, "win_length": win_length},
    }
    with atomic_path(out, directory=True) as tmp:
        writers = {kind: ShardWriter(Path(tmp) / kind) for kind in AUDIO_KINDS}
        for meta in _progress(rows.manifest, "audio"):
            try:
                _, wave = load_clip(clips[meta["source"]], frames=frames, rate=rate)
            except InputError as exc:
                for writer in writers.values():
                    writer.reject(meta["source"], exc.problem)
                continue
            row = {"wave": wave, **av_features(wave, frames, settings)}
            for kind, writer in writers.items():
                writer.add(row[kind], split=meta["split"], label=meta["label"], source=meta["source"])
        for writer in writers.values():
            writer.close()
        return writers["wave"].summary()


def _clips_of(corpus: str, root: str | Path, landmarks: str | Path, audio: str) -> tuple[ShardedArray, dict]:
    rows = ShardedArray(landmarks)
    wanted = set(rows.manifest.column("source").tolist()) if len(rows) else set()
    items, _ = (
        grid_items(root, audio=audio) if corpus == "grid" else corpus_clips(corpus, root, select=wanted.__contains__)
    )
    return rows, {item.source: item for item in items}


def _fit_rows(found: np.ndarray, frames: int) -> np.ndarray:
    """Precomputed landmarks trimmed, or padded with missing (NaN) frames, to the clip's frame count."""
    if len(found) >= frames:
        return found[:frames]
    return np.concatenate([found, np.full((frames - len(found), *found.shape[1:]), np.nan, found.dtype)])


def _progress(items, what: str):
    return tqdm(items, desc=what, unit="clip", file=sys.stderr, mininterval=1.0)
