"""Offline 68-point landmarks: OpenCV's bundled Haar face box, a mean face shape, and a mouth found in the image.

No network weights: the face box comes from the frontal-face Haar cascade that opencv-python 4.x ships in
``cv2.data.haarcascades``. In each frame the largest face is taken (after the first frame, the face nearest the
previous one), and the boxes are smoothed by a running median over ``±smooth`` frames, which removes most of the
cascade's size jitter. The 68 points are then a geometric estimate:

1. :data:`MEAN_SHAPE` (the iBUG 68-point mean face, normalised to its own bounding box) is placed into the face
   box by :data:`SHAPE_IN_BOX`, the position of that bounding box in Haar-box units: the least-squares fit of the
   mean shape to the hand-measured landmarks of the synthetic corpora's photo in its Haar box (eyes at about 38 %
   and the mouth at 85 % of the box height, the chin 17 % below the box). One face is little to calibrate on;
   faces of other proportions put the mouth elsewhere in the box, which step 2 corrects.
2. The mouth (points 48-67) is moved to where the image shows it (:func:`mouth_shift`): around the placed mouth,
   a black-hat filter picks out what is darker than the skin around it and smaller than a mouth (the dark
   opening of an open mouth, the line between closed lips); the darkest such band across the middle of the face
   gives the mouth's height, its mirror symmetry the mouth's centre across, and its height at the centre the lips'
   opening. The shift is bounded and smoothed over time like the boxes; the lips part by the opening.

Frames where the cascade finds no face get NaN rows (the crop stage interpolates them). This is a fallback:
the eyes, nose and jaw are only as good as a mean shape in a box, and the mouth is typically within a few
pixels but can be pulled by beards, shadows or strong head turns. Use the ``face_alignment`` backend where
the weights are available.
"""

from __future__ import annotations

import functools
from pathlib import Path

import cv2
import numpy as np

from avsec.core.errors import ConfigError

# The iBUG 300-W 68-point mean face (the mean shape of dlib's 68-point model, as published with OpenFace's
# alignment code), rescaled so that its bounding box is the unit square: (x, y), x right, y down.
# Points: 0-16 jaw, 17-26 brows, 27-35 nose, 36-47 eyes, 48-59 outer lips, 60-67 inner lips.
MEAN_SHAPE = np.array(
    [
        (0.000, 0.179), (0.004, 0.313), (0.020, 0.448), (0.048, 0.580), (0.100, 0.703), (0.180, 0.812),
        (0.276, 0.905), (0.385, 0.980), (0.507, 1.000), (0.630, 0.976), (0.739, 0.899), (0.835, 0.805),
        (0.914, 0.695), (0.964, 0.568), (0.989, 0.432), (0.999, 0.295), (1.000, 0.159), (0.095, 0.076),
        (0.155, 0.025), (0.238, 0.011), (0.323, 0.024), (0.404, 0.058), (0.569, 0.052), (0.651, 0.015),
        (0.738, 0.000), (0.823, 0.012), (0.887, 0.060), (0.489, 0.155), (0.490, 0.243), (0.491, 0.332),
        (0.492, 0.422), (0.397, 0.480), (0.444, 0.499), (0.495, 0.514), (0.546, 0.497), (0.592, 0.477),
        (0.194, 0.169), (0.246, 0.137), (0.310, 0.137), (0.364, 0.178), (0.306, 0.191), (0.244, 0.191),
        (0.619, 0.173), (0.672, 0.130), (0.736, 0.128), (0.789, 0.158), (0.741, 0.182), (0.679, 0.184),
        (0.307, 0.642), (0.376, 0.611), (0.447, 0.597), (0.497, 0.609), (0.550, 0.595), (0.623, 0.607),
        (0.695, 0.634), (0.628, 0.709), (0.557, 0.743), (0.500, 0.751), (0.445, 0.746), (0.375, 0.715),
        (0.337, 0.646), (0.447, 0.641), (0.498, 0.645), (0.551, 0.639), (0.665, 0.640), (0.553, 0.676),
        (0.499, 0.684), (0.447, 0.679),
    ],
    np.float32,
)  # fmt: skip
# The mean shape's unit box inside a Haar face box (x, y, w, h) = (0, 0, 1, 1): left, top, width, height.
SHAPE_IN_BOX = (-0.025, 0.225, 1.05, 0.935)
MOUTH = slice(48, 68)
UPPER_LIP = [49, 50, 51, 52, 53, 61, 62, 63]  # points that move up as the mouth opens
LOWER_LIP = [55, 56, 57, 58, 59, 65, 66, 67]  # and down
DARK_CUT = 0.4  # share of the strongest dark response that outlines the mouth
CASCADE = "haarcascade_frontalface_default.xml"


def detect(
    frames: np.ndarray,
    *,
    min_size: int = 40,
    scale_factor: float = 1.1,
    min_neighbors: int = 5,
    smooth: int = 2,
    refine_mouth: bool = True,
    max_shift: float = 0.3,
    max_shift_x: float = 0.1,
    cascade: str = CASCADE,
) -> np.ndarray:
    """Landmarks (T, 68, 2) float32 in (x, y) pixels for RGB ``frames`` (T, H, W, 3) uint8; NaN rows without a face.

    ``min_size`` (px), ``scale_factor`` and ``min_neighbors`` are the cascade's ``detectMultiScale`` options;
    ``smooth`` is the half-width in frames of the running median over boxes and mouth shifts (0: none);
    ``refine_mouth`` moves the mouth points to the mouth found in the image, by at most ``max_shift`` mouth
    widths up or down and ``max_shift_x`` across; ``cascade`` names a file in ``cv2.data.haarcascades`` or a path.
    """
    boxes = smoothed_boxes(frames, min_size, scale_factor, min_neighbors, smooth, cascade)
    points = place_shape(boxes)
    if refine_mouth:
        shifts = np.full((len(frames), 3), np.nan, np.float32)
        for t in np.flatnonzero(~np.isnan(boxes[:, 0])):
            shifts[t] = mouth_shift(frames[t], points[t], max_shift, max_shift_x)
        points = _apply_mouth(points, _median_filter(shifts, smooth))
    return points


def landmark_boxes(
    frames: np.ndarray,
    *,
    min_size: int = 40,
    scale_factor: float = 1.1,
    min_neighbors: int = 5,
    smooth: int = 2,
    cascade: str = CASCADE,
) -> np.ndarray:
    """The estimated bounding box (x1, y1, x2, y2) of each frame's 68 landmarks, float32 (T, 4), NaN without a face:
    the smoothed Haar box mapped by :data:`SHAPE_IN_BOX` (a face box for other landmark models, e.g. FAN)."""
    boxes = smoothed_boxes(frames, min_size, scale_factor, min_neighbors, smooth, cascade)
    left, top, width, height = SHAPE_IN_BOX
    x, y, w, h = boxes.T
    x1, y1 = x + left * w, y + top * h
    return np.stack([x1, y1, x1 + width * w, y1 + height * h], axis=1).astype(np.float32)


def smoothed_boxes(
    frames: np.ndarray, min_size: int, scale_factor: float, min_neighbors: int, smooth: int, cascade: str
) -> np.ndarray:
    """The Haar face boxes (x, y, w, h) of :func:`face_boxes`, median-filtered over ±``smooth`` frames."""
    _check(frames, min_size, scale_factor, min_neighbors, smooth)
    return _median_filter(face_boxes(frames, _cascade(cascade), min_size, scale_factor, min_neighbors), smooth)


def face_boxes(
    frames: np.ndarray, classifier: cv2.CascadeClassifier, min_size: int, scale_factor: float, min_neighbors: int
) -> np.ndarray:
    """One face box (x, y, w, h) per frame, float32 (T, 4), NaN where the cascade finds none.

    The first face is the largest; after that, among the candidates, the one whose centre is nearest the last
    chosen box's centre (within half its width), else again the largest.
    """
    boxes = np.full((len(frames), 4), np.nan, np.float32)
    last = None
    for t, frame in enumerate(frames):
        grey = cv2.equalizeHist(cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY))
        found = classifier.detectMultiScale(
            grey, scaleFactor=scale_factor, minNeighbors=min_neighbors, minSize=(min_size, min_size)
        )
        if len(found) == 0:
            continue
        found = np.asarray(found, np.float32)
        pick = int(np.argmax(found[:, 2] * found[:, 3]))
        if last is not None:
            centres = found[:, :2] + found[:, 2:] / 2
            distance = np.linalg.norm(centres - (last[:2] + last[2:] / 2), axis=1)
            if distance.min() < last[2] / 2:
                pick = int(np.argmin(distance))
        boxes[t] = last = found[pick]
    return boxes


def place_shape(boxes: np.ndarray) -> np.ndarray:
    """The mean shape placed into each face box (T, 4) -> (T, 68, 2) float32 (NaN boxes give NaN rows)."""
    left, top, width, height = SHAPE_IN_BOX
    x, y, w, h = (boxes[:, i, None] for i in range(4))
    points = np.empty((len(boxes), 68, 2), np.float32)
    points[..., 0] = x + w * (left + width * MEAN_SHAPE[:, 0])
    points[..., 1] = y + h * (top + height * MEAN_SHAPE[:, 1])
    return points


def mouth_shift(frame: np.ndarray, points: np.ndarray, max_shift: float = 0.3, max_shift_x: float = 0.1) -> np.ndarray:
    """(dx, dy, gap) in pixels: the shift that moves the mouth of ``points`` onto the mouth seen in ``frame``
    (at most ``max_shift_x`` mouth widths across and ``max_shift`` down or up), and the height of the dark gap
    between the lips (:func:`_gap`).

    The window spans ±0.7 mouth widths across and ±0.45 down from the placed mouth centre. A black-hat filter
    with a mouth-sized kernel keeps what is darker than the skin around it: the dark opening of an open mouth, the
    line between closed lips, nostrils and creases, but not large dark areas. Weighted by a Gaussian around the
    placed mouth, the row that is darkest on average across the middle of the window is the mouth's; the region
    around its darkest pixel that is darker than ``DARK_CUT`` of the maximum is the mouth, and its weighted mean
    row the mouth's height. Across, the mouth centre is the axis about which the dark map over those rows is most
    nearly mirror-symmetric (:func:`_symmetry_axis`). The Haar box is already centred on a frontal face, so the
    horizontal correction is kept small; the vertical one is what differs between faces. Zero shift when the
    window leaves the frame or shows nothing darker than the skin.
    """
    centre = points[MOUTH].mean(axis=0)
    width = float(points[54, 0] - points[48, 0])
    x0, x1 = int(round(centre[0] - 0.7 * width)), int(round(centre[0] + 0.7 * width)) + 1
    y0, y1 = int(round(centre[1] - 0.45 * width)), int(round(centre[1] + 0.45 * width)) + 1
    none = np.zeros(3, np.float32)
    if not width >= 8 or x0 < 0 or y0 < 0 or x1 > frame.shape[1] or y1 > frame.shape[0]:
        return none
    grey = cv2.cvtColor(frame[y0:y1, x0:x1], cv2.COLOR_RGB2GRAY).astype(np.float32)
    grey = cv2.GaussianBlur(grey, (0, 0), max(width / 40, 0.5))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (_odd(0.9 * width), _odd(0.45 * width)))
    dark = cv2.morphologyEx(grey, cv2.MORPH_BLACKHAT, kernel)
    ys, xs = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    weight = dark * np.exp(-0.5 * ((xs - centre[0]) ** 2 + (ys - centre[1]) ** 2) / (0.5 * width) ** 2)
    if weight.max() < 8.0:  # less than a few grey levels darker than the skin: nothing to go by
        return none
    middle = np.flatnonzero(np.abs(xs[0] - centre[0]) <= 0.4 * width)
    row = int(np.argmax(weight[:, middle].mean(axis=1)))
    column = middle[int(np.argmax(weight[row, middle]))]
    _, labels = cv2.connectedComponents((weight >= DARK_CUT * weight.max()).astype(np.uint8), connectivity=8)
    if labels[row, column] == 0:
        return none
    weight = np.where(labels == labels[row, column], weight, 0.0)
    my = (weight * ys).sum() / weight.sum()
    rows = slice(max(0, int(round(my - y0 - 0.2 * width))), max(0, int(round(my - y0 + 0.2 * width)) + 1))
    mx = x0 + _symmetry_axis(dark[rows], width)
    dx = np.clip(mx - centre[0], -max_shift_x * width, max_shift_x * width)
    dy = np.clip(my - centre[1], -max_shift * width, max_shift * width)
    return np.array([dx, dy, _gap(dark, mx - x0, my - y0, width)], np.float32)


def _gap(dark: np.ndarray, x: float, y: float, width: float) -> float:
    """The height of the dark band through (``x``, ``y``) in the middle of the mouth: over the columns within
    0.15 ``width`` of ``x``, the run of rows around ``y`` darker than half the band's darkest row."""
    half = max(1, int(round(0.15 * width)))
    column = int(round(x))
    profile = dark[:, max(0, column - half) : column + half + 1].mean(axis=1)
    row = int(np.clip(round(y), 0, len(profile) - 1))
    near = profile[max(0, row - 3) : row + 4]
    dark_rows = profile >= 0.5 * near.max()
    top = bottom = row
    if not dark_rows[row]:
        return 0.0
    while top > 0 and dark_rows[top - 1]:
        top -= 1
    while bottom < len(profile) - 1 and dark_rows[bottom + 1]:
        bottom += 1
    return float(bottom - top + 1)


def _symmetry_axis(band: np.ndarray, width: float) -> float:
    """The column of ``band`` (rows across the mouth) about which it is most nearly mirror-symmetric.

    Candidate axes lie in the middle of the band, each compared over ±0.45 ``width`` with its mirror image (mean
    absolute difference); the best is refined to a fraction of a pixel by a parabola through its neighbours.
    """
    half = int(round(0.45 * width))
    axes = np.arange(half, band.shape[1] - half)
    if len(band) == 0 or len(axes) < 3:
        return (band.shape[1] - 1) / 2
    cost = np.array([np.abs(band[:, a - half : a] - band[:, a + half : a : -1]).mean() for a in axes])
    i = int(np.argmin(cost))
    offset = 0.0
    if 0 < i < len(cost) - 1:
        curve = cost[i - 1] - 2 * cost[i] + cost[i + 1]
        offset = 0.5 * (cost[i - 1] - cost[i + 1]) / curve if curve > 0 else 0.0
    return float(axes[i] + offset)


def _apply_mouth(points: np.ndarray, shifts: np.ndarray) -> np.ndarray:
    """Move each frame's mouth points by its (dx, dy) and part the lips until the inner lips (62, 66) are the
    dark gap's height apart (never closer than the mean shape has them)."""
    points = points.copy()
    ok = np.flatnonzero(~np.isnan(shifts[:, 0]))
    points[ok, MOUTH] += shifts[ok, None, :2]
    widths = points[ok, 54, 0] - points[ok, 48, 0]
    opening = np.clip(shifts[ok, 2] - (points[ok, 66, 1] - points[ok, 62, 1]), 0.0, 0.6 * widths)
    points[ok[:, None], UPPER_LIP, 1] -= opening[:, None] / 2
    points[ok[:, None], LOWER_LIP, 1] += opening[:, None] / 2
    return points


def _median_filter(values: np.ndarray, half: int) -> np.ndarray:
    """Running median over ±``half`` rows of (T, K) ``values``, ignoring NaN rows (which stay NaN)."""
    if half <= 0:
        return values
    out = values.copy()
    valid = ~np.isnan(values[:, 0])
    for t in np.flatnonzero(valid):
        window = values[max(0, t - half) : t + half + 1]
        out[t] = np.median(window[~np.isnan(window[:, 0])], axis=0)
    return out


@functools.lru_cache(maxsize=4)
def _cascade(name: str) -> cv2.CascadeClassifier:
    """The Haar cascade ``name`` (a file in ``cv2.data.haarcascades`` or a path), loaded once."""
    path = Path(name) if Path(name).is_file() else Path(cv2.data.haarcascades) / name
    classifier = cv2.CascadeClassifier(str(path))
    if classifier.empty():
        raise ConfigError(f"landmarks.opencv.cascade: cannot load the Haar cascade {name!r} (looked at {path})")
    return classifier


def _check(frames: np.ndarray, min_size: int, scale_factor: float, min_neighbors: int, smooth: int) -> None:
    if not (isinstance(frames, np.ndarray) and frames.dtype == np.uint8 and frames.ndim == 4 and frames.shape[3] == 3):
        raise ValueError(f"frames must be a (T, H, W, 3) uint8 RGB array, got {getattr(frames, 'shape', frames)}")
    if int(min_size) < 1:
        raise ConfigError(f"landmarks.opencv.min_size: must be at least 1 pixel, got {min_size}")
    if not float(scale_factor) > 1.0:
        raise ConfigError(f"landmarks.opencv.scale_factor: must be above 1, got {scale_factor}")
    if int(min_neighbors) < 0 or int(smooth) < 0:
        raise ConfigError(f"landmarks.opencv: min_neighbors and smooth must be >= 0, got {min_neighbors}, {smooth}")


def _odd(value: float) -> int:
    return max(3, int(round(value)) // 2 * 2 + 1)
