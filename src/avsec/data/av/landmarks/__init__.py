"""68-point face landmarks (iBUG convention) per video frame, from one of three backends.

- ``face_alignment`` (:mod:`.fan`): the face-alignment package's 2D-FAN, on the GPU when there is one, with its
  weights read from a cache directory the user fills once; nothing is downloaded at run time.
- ``precomputed`` (:mod:`.precomputed`): landmark files supplied with the corpus; read them with
  :func:`avsec.data.av.landmarks.precomputed.read_landmarks` (there is nothing to detect).
- ``opencv`` (:mod:`.opencv`): offline, no weights: OpenCV's bundled Haar face box, a mean face shape and a mouth
  found in the image. Less accurate than ``face_alignment`` (the mouth centre is typically within a few pixels;
  eyes, nose and jaw are a mean shape in a box).

:func:`detect` returns (T, 68, 2) float32 (x, y) pixel coordinates with NaN rows for frames without a face.
"""

from __future__ import annotations

import numpy as np

from avsec.core.errors import ConfigError

BACKENDS = ("face_alignment", "precomputed", "opencv")


def detect(frames: np.ndarray, *, backend: str, **options) -> np.ndarray:
    """Landmarks (T, 68, 2) float32 of RGB ``frames`` (T, H, W, 3) uint8 with ``backend``; NaN rows without a face.

    ``options`` go to the backend: :func:`.opencv.detect` (``min_size``, ``scale_factor``, ``min_neighbors``, ...)
    or :func:`.fan.detect` (``cache_dir``, ``detector``, ``device``, ...).
    """
    if backend == "opencv":
        from avsec.data.av.landmarks import opencv

        return opencv.detect(frames, **options)
    if backend == "face_alignment":
        from avsec.data.av.landmarks import fan

        return fan.detect(frames, **options)
    if backend == "precomputed":
        raise ConfigError(
            "landmarks: the precomputed backend reads the corpus's landmark files, it detects nothing; "
            "use avsec.data.av.landmarks.precomputed.read_landmarks(landmark_path(...))"
        )
    raise ConfigError(f"landmarks.backend: {backend!r} is not one of {', '.join(BACKENDS)}")


def __getattr__(name: str):
    """``read_landmarks``, ``write_landmarks`` and ``landmark_path`` from :mod:`.precomputed`, imported on use."""
    if name in ("read_landmarks", "write_landmarks", "landmark_path"):
        from avsec.data.av.landmarks import precomputed

        return getattr(precomputed, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
