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
parts. Within a job, the landmark, crop and audio steps put their clips through ``workers`` processes
(:func:`in_workers`; the rules give their ``threads``), with the same output whatever ``workers`` is.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

import numpy as np
import torch
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
    corpus: str, root: str | Path, *, audio: str = "video", train=(), val=(), test=(), select=None, **split
) -> tuple[list[AVItem], list[tuple[str, str]]]:
    """The clips of GRID (split by speaker or by sentence: ``split`` is :func:`grid_split`'s split_by,
    sentence_fractions, split_seed) or LRW (split by folder), and the readers' rejects. ``select`` (a source →
    bool) lets LRW's reader skip the metadata of clips that are not wanted (538 000 ``.txt`` files in every
    part's job otherwise); the caller still filters: GRID's reader reads every clip, so every part splits the
    whole corpus the same way."""
    if corpus == "grid":
        items, rejects = grid_items(root, audio=audio)
        kept = grid_split(items, train=train, val=val, test=test, **split)
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
    workers: int = 1,
    split_by: str = "speakers",
    sentence_fractions=(),
    split_seed: int = 0,
) -> dict[str, int]:
    """68-point landmarks of every clip of ``part`` (of ``parts``) with the configured backend (``precomputed``:
    the files in the corpus's ``precomputed_<corpus>`` folder); clips with no face in more than ``max_missing``
    of their frames are rejected. The readers' rejects are recorded by the part their clip belongs to. GRID's
    split: :func:`~avsec.data.av.corpora.grid_split` with train, val, test, split_by, sentence_fractions and
    split_seed."""
    mine = None if parts == 1 else lambda source: in_part(source, part, parts)
    split = {"split_by": split_by, "sentence_fractions": sentence_fractions, "split_seed": split_seed}
    items, rejects = corpus_clips(corpus, root, audio=audio, train=train, val=val, test=test, select=mine, **split)
    items = [item for item in items if in_part(item.source, part, parts)]
    rejects = [(source, reason) for source, reason in rejects if in_part(source, part, parts)]
    precomputed = precomputed_grid if corpus == "grid" else precomputed_lrw
    options = backend_options(backend, cache_dir)
    work = partial(_landmarks, root=root, frames=frames, backend=backend, precomputed=precomputed, options=options)
    with shard_writer(out) as writer:
        for source, reason in rejects:
            writer.reject(source, reason)
        for item, (found, problem) in zip(items, in_workers(work, items, workers, "landmarks"), strict=True):
            if problem:
                writer.reject(item.source, problem)
                continue
            missing = int(np.isnan(found).any(axis=(1, 2)).sum())
            if missing == frames or missing > max_missing * frames:
                writer.reject(item.source, f"no face in {missing} of {frames} frames (> max_missing={max_missing})")
                continue
            writer.add(found.astype(np.float32), split=item.split, label=item.label, source=item.source)
        return writer.summary()


def backend_options(backend: str, cache_dir: str = "") -> dict:
    """The landmark backend's options from the step's settings: face_alignment's weights folder."""
    return {"cache_dir": os.path.expanduser(cache_dir)} if backend == "face_alignment" else {}


def _landmarks(item: AVItem, *, root, frames: int, backend: str, precomputed: str, options: dict):
    try:
        if backend == "precomputed":
            return _fit_rows(read_landmarks(landmark_path(root, item.source, precomputed)), frames), None
        return detect(load_clip(item, frames=frames)[0], backend=backend, **options), None
    except InputError as exc:
        return None, exc.problem


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
    workers: int = 1,
) -> dict[str, int]:
    """Greyscale mouth crops of every clip that has landmarks, with the per-frame transforms and boxes."""
    rows, clips = _clips_of(corpus, root, landmarks, audio)
    work = partial(_mouth, landmarks=str(landmarks), face=np.load(mean_face), frames=frames, size=size,
                   face_size=face_size, smooth_window=smooth_window)  # fmt: skip
    tasks = [(clips[meta["source"]], i) for i, meta in enumerate(rows.manifest)]
    transforms, boxes = [], []
    with shard_writer(out) as writer:
        for meta, (found, problem) in zip(rows.manifest, in_workers(work, tasks, workers, "mouths"), strict=True):
            if problem:
                writer.reject(meta["source"], problem)
                continue
            crops, transform, box = found
            writer.add(crops, split=meta["split"], label=meta["label"], source=meta["source"])
            transforms.append(transform)
            boxes.append(box)
        np.save(writer.root / MOUTH_ROW_ARRAYS[0], np.asarray(transforms, dtype=np.float32).reshape(-1, frames, 2, 3))
        np.save(writer.root / MOUTH_ROW_ARRAYS[1], np.asarray(boxes, dtype=np.int32).reshape(-1, frames, 4))
        return writer.summary()


def _mouth(task: tuple[AVItem, int], *, landmarks: str, face: np.ndarray, frames: int, size: int, face_size: int,
           smooth_window: int):  # fmt: skip
    item, row = task
    try:
        video, _ = load_clip(item, frames=frames)
        points = _opened(landmarks)[row]
        return mouth_roi(video, points, face, size=size, face_size=face_size, smooth_window=smooth_window,
                         max_missing=1.0), None  # fmt: skip
    except (InputError, ValueError) as exc:
        return None, getattr(exc, "problem", str(exc))


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
    workers: int = 1,
) -> dict[str, int]:
    """16 kHz waveforms (``wave``), SyncNet MFCC (``mfcc``) and log-magnitude STFT (``logspec``) of every clip
    that has landmarks."""
    rows, clips = _clips_of(corpus, root, landmarks, audio)
    settings = {
        "mfcc": {"rate": rate, "n_mfcc": n_mfcc, "n_fft": n_fft, "hop": hop, "win_length": win_length},
        "logspec": {"n_fft": n_fft, "hop": hop, "win_length": win_length},
    }
    work = partial(_audio, frames=frames, rate=rate, settings=settings)
    tasks = [clips[meta["source"]] for meta in rows.manifest]
    with atomic_path(out, directory=True) as tmp:
        writers = {kind: ShardWriter(Path(tmp) / kind) for kind in AUDIO_KINDS}
        for meta, (row, problem) in zip(rows.manifest, in_workers(work, tasks, workers, "audio"), strict=True):
            if problem:
                for writer in writers.values():
                    writer.reject(meta["source"], problem)
                continue
            for kind, writer in writers.items():
                writer.add(row[kind], split=meta["split"], label=meta["label"], source=meta["source"])
        for writer in writers.values():
            writer.close()
        return writers["wave"].summary()


def _audio(item: AVItem, *, frames: int, rate: int, settings: dict):
    try:
        _, wave = load_clip(item, frames=frames, rate=rate)
    except InputError as exc:
        return None, exc.problem
    return {"wave": wave, **av_features(wave, frames, settings)}, None


def _clips_of(corpus: str, root: str | Path, landmarks: str | Path, audio: str) -> tuple[ShardedArray, dict]:
    rows = ShardedArray(landmarks)
    wanted = set(rows.manifest.column("source").tolist()) if len(rows) else set()
    items, _ = (
        grid_items(root, audio=audio) if corpus == "grid" else corpus_clips(corpus, root, select=wanted.__contains__)
    )
    return rows, {item.source: item for item in items}


def prepare_clip(
    path: str | Path,
    mean_face: str | Path,
    *,
    frames: int,
    backend: str,
    max_missing: float,
    cache_dir: str = "",
    size: int = 96,
    face_size: int = 256,
    smooth_window: int = 6,
    rate: int = 16000,
    **unused,
) -> tuple[np.ndarray, np.ndarray]:
    """One video file prepared as the workflow prepares a corpus clip: decoded to ``frames`` frames (the corpus's
    rule, :func:`load_clip`), 68 landmarks per frame with ``backend``, the mouth crops (T, size, size) uint8 aligned
    to the corpus's ``mean_face`` (the same ``max_missing`` limit as the landmark step), and the int16 audio at
    ``rate`` Hz (640 samples a frame at 16 kHz). Settings are those of ``av.landmarks``, ``av.mouth`` and
    ``av.audio`` in config.yaml (others are ignored); one line naming the file when it cannot be prepared."""
    if backend == "precomputed":
        raise ConfigError(
            "av.landmarks.backend: precomputed reads a corpus's landmark files; a single video needs opencv or "
            "face_alignment (avsec: --backend)"
        )
    if not Path(mean_face).is_file():
        raise InputError(mean_face, "mean face not found (the workflow writes results/av/<corpus>/mean_face.npy)")
    item = AVItem(source=str(path), path=Path(path), uid=str(path), label="")
    work = partial(_prepared, frames=frames, rate=rate, backend=backend, options=backend_options(backend, cache_dir),
                   face=np.load(mean_face), size=size, face_size=face_size, smooth_window=smooth_window,
                   max_missing=max_missing)  # fmt: skip
    [(found, problem)] = list(in_workers(work, [item], 1, "landmarks and mouth"))
    if problem:
        raise InputError(path, problem)
    return found


def _prepared(item: AVItem, *, frames: int, rate: int, backend: str, options: dict, face: np.ndarray, **mouth):
    try:
        video, wave = load_clip(item, frames=frames, rate=rate)
        crops, _, _ = mouth_roi(video, detect(video, backend=backend, **options), face, **mouth)
        return (crops, wave), None
    except (InputError, ValueError) as exc:
        return None, getattr(exc, "problem", str(exc))


def _fit_rows(found: np.ndarray, frames: int) -> np.ndarray:
    """Precomputed landmarks trimmed, or padded with missing (NaN) frames, to the clip's frame count."""
    if len(found) >= frames:
        return found[:frames]
    return np.concatenate([found, np.full((frames - len(found), *found.shape[1:]), np.nan, found.dtype)])


def _progress(items, what: str, total: int | None = None):
    return tqdm(items, desc=what, unit="clip", file=sys.stderr, mininterval=1.0, total=total)


def in_workers(work: Callable, tasks: list, workers: int, what: str) -> Iterator:
    """``work(task)`` of every task, in the tasks' order, with a progress bar: in this process when ``workers`` ≤ 1,
    else in ``workers`` spawned processes (a job's clips through all its CPUs). Either way each clip is computed
    with one thread, so the results are the same bytes whatever ``workers`` is."""
    _OPENED.clear()
    if workers <= 1:
        before = _set_threads(1, 1)
        try:
            yield from map(work, _progress(tasks, what))
        finally:
            _set_threads(*before)
            _OPENED.clear()
        return
    with multiprocessing.get_context("spawn").Pool(workers, initializer=_set_threads, initargs=(1, 1)) as pool:
        yield from _progress(pool.imap(work, tasks, chunksize=1), what, total=len(tasks))


def _set_threads(torch_threads: int, cv_threads: int) -> tuple[int, int]:
    """Set torch's and OpenCV's thread counts; returns the previous ones."""
    import cv2

    before = torch.get_num_threads(), cv2.getNumThreads()
    torch.set_num_threads(torch_threads)
    cv2.setNumThreads(cv_threads)
    return before


_OPENED: dict[str, ShardedArray] = {}  # the shard folders open in this process (a worker's, or one in_workers')


def _opened(folder: str) -> ShardedArray:
    if folder not in _OPENED:
        _OPENED[folder] = ShardedArray(folder)
    return _OPENED[folder]
