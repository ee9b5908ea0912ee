"""Precomputed 68-point face landmarks: the files the public lip-reading preprocessing reads, and ours.

One file per video, frames in order, each frame the 68 (x, y) points in the video's pixels (iBUG 68-point
convention) or nothing when no face was found. :func:`read_landmarks` returns (T, 68, 2) float32 with NaN rows for
those frames, whatever the file's flavour:

- ``.npz`` with the array under the key ``data`` (the key every public loader reads):

  - a numeric (T, 68, 2) array, NaN rows for frames without a face: what :func:`write_landmarks` writes (the
    synthetic GRID and LRW ground truth), loadable without pickle;
  - the community LRW landmarks distributed with mpc001/Lipreading_using_Temporal_Convolutional_Networks (the
    archive for its ``legacy_preprocessing/crop_mouth_from_video.py``, unzipped to ``landmarks/LRW_landmarks/``):
    an object array, per frame a list of the faces found, each a dict whose ``facial_landmarks`` is (68, 2); the
    face to take is the ``person`` index listed in ``lrw500_detected_face.csv`` (0 for almost every clip), and a
    frame whose list is shorter has no face;
  - an object array whose items are (68, 2) arrays or None;

- ``.pkl``: the landmarks of the current preprocessing (``preprocessing/dataloader.py`` of the same repository
  unpickles ``<name>.pkl``): a list of (68, 2) arrays or None per frame;
- ``.npy``: a numeric (T, 68, 2) array.

Object arrays and pickles are never loaded with ``np.load(allow_pickle=True)`` or a plain ``pickle.load``, which
run whatever code a crafted file names. :class:`_ArrayUnpickler` rebuilds only numpy arrays, dtypes and scalars
(lists, tuples, dicts and None need no lookup); a file naming anything else is rejected as corrupt. Its result is
then checked strictly: a sequence of frames, each None, an empty face list, or a finite numeric (68, 2).

Layout (:func:`landmark_path`): a landmarks folder mirrors the videos' folder. For the LRW video
``lipread_mp4/<WORD>/<split>/<WORD>_<NNNNN>.mp4`` the public loaders open
``<landmark-direc>/<WORD>/<split>/<WORD>_<NNNNN>.npz`` (``lrw500_detected_face.csv`` names videos relative to
``lipread_mp4/``; other loaders put ``LRW_landmarks`` for ``lipread_mp4`` in the video's path). So a video's key
is its path below ``lipread_mp4/`` for LRW and, for GRID, its path from the speaker folder ``s<N>/``
(``s1/video/mpg_6000/bbaf2n``), with ``.npz`` for the video's suffix (``.pkl`` where only that exists). The
synthetic corpora put theirs beside the videos, in ``<corpus root>/LRW_landmarks/`` (the community archive's
folder name) and ``<corpus root>/GRID_landmarks/`` (:data:`LANDMARK_DIRS`); the community archive can be unzipped
to the same place, or the config can point at it.
"""

from __future__ import annotations

import io
import pickle
import re
import zipfile
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

import numpy as np

from avsec.core.errors import InputError
from avsec.io.atomic import atomic_path

POINTS = 68
KEY = "data"  # the array's name in the .npz, as the public loaders read it
LANDMARK_DIRS = {"lrw": "LRW_landmarks", "grid": "GRID_landmarks"}  # beside the videos, in the corpus root
_LRW_VIDEOS = "lipread_mp4"
_GRID_SPEAKER = re.compile(r"s\d+")
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # a fixed member time: the same landmarks give the same bytes


def landmark_path(corpus_root: str | Path, video_source: str | Path, landmarks_dir: str | Path) -> Path:
    """The landmark file of the video ``video_source`` (relative to ``corpus_root``, as corpus readers name it,
    or absolute inside it) in ``landmarks_dir`` (relative to ``corpus_root``, or absolute).

    LRW videos are keyed by their path below ``lipread_mp4/`` and GRID videos by their path from the speaker
    folder ``s<N>/`` (so the corpus root may sit above the layout); anything else by its whole relative path.
    The ``.npz`` path is returned unless only a ``.pkl`` (the current public preprocessing's files) exists.
    """
    root = Path(corpus_root)
    source = Path(video_source)
    if source.is_absolute():
        try:
            source = source.relative_to(root)
        except ValueError:
            raise ValueError(f"video {source} is not inside the corpus root {root}") from None
    parts = PurePosixPath(source.as_posix()).parts
    if _LRW_VIDEOS in parts[:-1]:
        parts = parts[len(parts) - 1 - parts[::-1].index(_LRW_VIDEOS) + 1 :]
    else:
        speakers = [i for i, part in enumerate(parts[:-1]) if _GRID_SPEAKER.fullmatch(part)]
        if speakers:
            parts = parts[speakers[-1] :]
    if not parts or parts[-1] in ("", ".", ".."):
        raise ValueError(f"not a video path: {video_source!r}")
    base = Path(landmarks_dir) if Path(landmarks_dir).is_absolute() else root / landmarks_dir
    path = base.joinpath(*parts).with_suffix(".npz")
    pkl = path.with_suffix(".pkl")
    return pkl if not path.exists() and pkl.exists() else path


def write_landmarks(path: str | Path, landmarks: np.ndarray | Sequence[np.ndarray | None]) -> None:
    """Write one video's landmarks atomically as ``.npz`` with key ``data``: (T, 68, 2) float32, NaN rows for
    frames without a face. ``landmarks`` is such an array or a sequence of (68, 2) arrays / None. The bytes
    depend only on the values (fixed member time), so the same landmarks give the same file."""
    path = Path(path)
    arr = _frames(landmarks, path)
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, arr, allow_pickle=False)
    member = zipfile.ZipInfo(f"{KEY}.npy", date_time=_ZIP_TIME)
    member.compress_type = zipfile.ZIP_DEFLATED
    member.external_attr = 0o644 << 16
    with atomic_path(path) as tmp, zipfile.ZipFile(tmp, "w") as archive:
        archive.writestr(member, buffer.getvalue(), compresslevel=6)


def read_landmarks(path: str | Path, *, person: int = 0) -> np.ndarray:
    """One video's landmarks as (T, 68, 2) float32, NaN rows for frames without a face, from any of the formats
    in the module docstring. ``person`` picks the face in the community LRW files' per-frame face lists.

    Raises :class:`~avsec.core.errors.InputError` naming the file when it is missing, unreadable, holds no ``data``
    array, or its frames are not 68 finite (x, y) points each (or None).
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "no such landmark file")
    try:
        if path.suffix == ".npz":
            with zipfile.ZipFile(path) as archive:
                names = archive.namelist()
                if f"{KEY}.npy" not in names:
                    found = ", ".join(n.removesuffix(".npy") for n in names) or "none"
                    raise InputError(path, f"no '{KEY}' array in the landmark file (arrays: {found})")
                with archive.open(f"{KEY}.npy") as stream:
                    data = _read_npy(stream)
        elif path.suffix == ".npy":
            with open(path, "rb") as stream:
                data = _read_npy(stream)
        elif path.suffix == ".pkl":
            with open(path, "rb") as stream:
                data = _ArrayUnpickler(stream).load()
        else:
            raise InputError(path, f"unknown landmark file type {path.suffix!r} (expected .npz, .pkl or .npy)")
    except InputError:
        raise
    except Exception as exc:  # whatever a damaged zip, header or pickle raises: the file is unusable
        raise InputError(path, f"corrupt landmark file ({type(exc).__name__}: {exc})") from None
    return _frames(data, path, person=person)


def _read_npy(stream) -> object:
    """The array in an .npy stream; object arrays through :class:`_ArrayUnpickler`."""
    version = np.lib.format.read_magic(stream)
    if version == (1, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_1_0(stream)
    elif version == (2, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_2_0(stream)
    else:
        raise ValueError(f"unsupported .npy format version {version}")
    if dtype.hasobject:
        return _ArrayUnpickler(stream).load()
    if dtype.kind not in "fiu":
        raise ValueError(f"landmarks of dtype {dtype} (expected numbers)")
    count = int(np.prod(shape))
    data = stream.read(count * dtype.itemsize)
    if len(data) != count * dtype.itemsize:
        raise ValueError(f"truncated array: {len(data)} of {count * dtype.itemsize} bytes")
    return np.frombuffer(data, dtype).reshape(shape, order="F" if fortran else "C")


class _ArrayUnpickler(pickle.Unpickler):
    """Unpickles numpy arrays, dtypes and scalars inside plain containers, and nothing else."""

    ALLOWED = {
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "scalar"),
        ("numpy._core.numeric", "_frombuffer"),
        ("_codecs", "encode"),  # bytes in protocol 0-2 pickles
    }

    def find_class(self, module: str, name: str):
        # NumPy 1.x pickles name numpy.core, an alias of numpy 2's numpy._core
        canonical = re.sub(r"^numpy\.core\.", "numpy._core.", module)
        if (canonical, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a landmark file")
        return super().find_class(canonical, name)


def _frames(data: object, path: Path, *, person: int = 0) -> np.ndarray:
    """(T, 68, 2) float32 with NaN rows from a numeric array or a sequence of per-frame entries, or InputError."""
    if isinstance(data, np.ndarray) and data.dtype != object:
        if data.dtype.kind not in "fiu":
            raise InputError(path, f"landmarks of dtype {data.dtype} (expected numbers)")
        if data.ndim != 3 or data.shape[1:] != (POINTS, 2) or len(data) == 0:
            raise InputError(path, f"landmarks of shape {data.shape} (expected (frames, {POINTS}, 2))")
        frames = data.astype(np.float32)
    else:
        if isinstance(data, np.ndarray):  # an object array: one entry per frame, or (frames, faces)
            if data.ndim not in (1, 2):
                raise InputError(path, f"per-frame landmarks of shape {data.shape} (expected one entry per frame)")
            data = [list(row) for row in data] if data.ndim == 2 else list(data)
        if not isinstance(data, (list, tuple)) or not data:
            raise InputError(path, f"landmarks hold {type(data).__name__}, not a non-empty list of frames")
        frames = np.full((len(data), POINTS, 2), np.nan, np.float32)
        for t, entry in enumerate(data):
            points = _frame(entry, person)
            if isinstance(points, str):
                raise InputError(path, f"frame {t}: {points}")
            if points is not None:
                frames[t] = points
    missing = np.isnan(frames).all(axis=(1, 2))
    bad = ~missing & ~np.isfinite(frames).all(axis=(1, 2))
    if bad.any():
        raise InputError(path, f"frame {int(np.argmax(bad))}: non-finite coordinates in a detected face")
    return frames


def _frame(entry: object, person: int) -> np.ndarray | None | str:
    """One frame's (68, 2) points, None for no face, or a string saying what is wrong."""
    if isinstance(entry, (list, tuple)) and all(isinstance(face, (dict, np.ndarray)) for face in entry):
        if person >= len(entry):  # a list of the faces found (the community files), shorter without the person
            return None
        entry = entry[person]
    if isinstance(entry, dict):
        if "facial_landmarks" not in entry:
            return f"a face entry without 'facial_landmarks' (keys: {', '.join(map(str, entry))})"
        entry = entry["facial_landmarks"]
    if entry is None:
        return None
    try:
        points = np.asarray(entry)
        if points.dtype == object:
            points = points.astype(np.float64)
    except (ValueError, TypeError):
        return f"landmarks of type {type(entry).__name__}, not numbers"
    if points.dtype.kind not in "fiu" or points.shape != (POINTS, 2):
        return f"landmarks of shape {points.shape} and dtype {points.dtype} (expected ({POINTS}, 2) numbers)"
    return points.astype(np.float32)
