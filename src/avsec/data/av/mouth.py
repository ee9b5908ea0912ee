"""Mouth-region crops of face videos, as the lip-reading preprocessing of the paper-4 authors' group does them.

The protocol (docs/protocols.md, paper 4), per clip of ``T`` frames with 68-point landmarks (x, y in pixels, the
iBUG/face-alignment numbering counted from 0):

1. :func:`interpolate_missing`: frames without a face (NaN rows) get landmarks linearly interpolated in time
   between the nearest detected frames; leading/trailing gaps copy the first/last detected frame.
2. :func:`smooth`: each frame's landmarks become the mean over a ±6-frame window (truncated at the clip ends).
3. :func:`align_transforms`: per frame, the least-squares similarity (rotation, uniform scale, translation) that
   maps the frame's stable points onto the mean face's; it maps full-frame pixels to a 256×256 aligned face.
4. :func:`crop_mouths`: the frame is warped (bilinear) into the aligned face and a 96×96 patch is cut around
   the mean of the warped mouth landmarks 48–67, moved inside the 256×256 face where it would leave it;
   greyscale is ITU-R BT.601 luma.
5. At test time :func:`centre_crop` takes the central 88×88, and :func:`normalise` maps to
   ``(x / 255 - 0.421) / 0.165``.

:func:`mouth_roi` runs steps 1–4 and rejects clips with too many faceless frames. The per-frame transform and
the crop box are kept so that :func:`paste_back` can put a (perturbed) mouth crop back into the full frame.

Where this differs from the public preprocessing (mpc001/Lipreading_using_TCN, ``crop_mouth_from_video.py``):

- Stable points: our protocol's eight (nose bridge, nose tip, eye corners, mouth corners) instead of the public
  code's five ``[33, 36, 39, 42, 45]`` (nose tip and eye corners); see :data:`STABLE_POINTS`.
- Smoothing: a centred ±``window`` frame mean; the public code averages a trailing 12-frame queue (the current
  frame and the next 11) and reuses the last transform for the final 11 frames.
- Crop centre: the mean of the *smoothed* mouth landmarks; the public code cuts around the current frame's
  interpolated (unsmoothed) mouth landmarks, warped by the transform of the smoothed ones.
- Off-image crops: the box is always clamped inside the aligned face; the public ``cut_patch`` clamps too but
  raises when the centre is more than 5 pixels beyond the clamp.
- The crop is warped directly (the aligned-face warp composed with the crop offset), which samples exactly the
  same points as warping the whole 256×256 face and cutting, at a fraction of the cost.
"""

from __future__ import annotations

from collections.abc import Iterable

import cv2
import numpy as np

from avsec.data.av.roi import CROP_SIZE, FACE_SIZE, MEAN, STD, TEST_SIZE

# Our protocol (docs/protocols.md, paper 4) aligns on eight stable points: 28 (nose bridge), 33 (nose tip), 36, 39,
# 42, 45 (eye corners), 48, 54 (mouth corners). The public code uses five, [33, 36, 39, 42, 45]: no nose bridge and no
# mouth corners, so there the alignment ignores the mouth entirely; with the mouth corners, a wide-open or smiling
# mouth pulls the fit slightly. Pass ``stable=(33, 36, 39, 42, 45)`` to get the public behaviour.
STABLE_POINTS: tuple[int, ...] = (28, 33, 36, 39, 42, 45, 48, 54)
PUBLIC_STABLE_POINTS: tuple[int, ...] = (33, 36, 39, 42, 45)
MOUTH = slice(48, 68)  # landmarks 48–67: outer and inner lip contours
N_LANDMARKS = 68

SMOOTH_WINDOW = 6  # ± frames

# Placement of the mean shape in its size×size frame, chosen to resemble the public 20words_mean_face (an LRW
# average): the landmarks' bounding box (jaw to eyebrows) is FACE_WIDTH·size wide, centred horizontally, and its
# vertical middle sits at FACE_CENTRE_Y·size, which puts the mouth at about 0.68·size, so a 96×96 mouth crop
# fits in a 256×256 face with room to spare and shows the lips, their surround and part of the chin.
FACE_WIDTH = 0.55
FACE_CENTRE_Y = 0.55

BT601 = (0.299, 0.587, 0.114)  # ITU-R BT.601 luma weights (R, G, B)

Box = tuple[int, int, int, int]


def _check_landmarks(landmarks: np.ndarray) -> np.ndarray:
    arr = np.asarray(landmarks, dtype=np.float64)
    if arr.ndim != 3 or arr.shape[1:] != (N_LANDMARKS, 2):
        raise ValueError(f"landmarks must have shape (T, 68, 2), got {arr.shape}")
    return arr


def stack_landmarks(per_frame: Iterable[np.ndarray | None]) -> np.ndarray:
    """(T, 68, 2) float64 from per-frame landmarks as the public landmark files hold them: a (68, 2) array, or
    None (also an empty array) where no face was found, which becomes a NaN row."""
    rows = []
    for item in per_frame:
        arr = None if item is None else np.asarray(item, dtype=np.float64)
        if arr is None or arr.size == 0:
            rows.append(np.full((N_LANDMARKS, 2), np.nan))
        else:
            rows.append(arr.reshape(N_LANDMARKS, 2))
    if not rows:
        return np.zeros((0, N_LANDMARKS, 2))
    return np.stack(rows)


def missing_frames(landmarks: np.ndarray) -> np.ndarray:
    """(T,) bool: frames whose landmarks hold any NaN (no face found)."""
    arr = _check_landmarks(landmarks)
    return np.isnan(arr).any(axis=(1, 2))


def interpolate_missing(landmarks: np.ndarray) -> np.ndarray:
    """Fill frames without landmarks (rows holding NaN) by linear interpolation in time between the nearest
    detected frames before and after; frames before the first (after the last) detected frame copy it.

    Returns a new (T, 68, 2) float64 array. Raises ValueError if no frame has landmarks.
    """
    arr = _check_landmarks(landmarks).copy()
    missing = np.isnan(arr).any(axis=(1, 2))
    valid = np.flatnonzero(~missing)
    if valid.size == 0:
        raise ValueError(f"no face in any of {len(arr)} frames")
    if valid.size == len(arr):
        return arr
    t = np.flatnonzero(missing)
    after = np.searchsorted(valid, t)  # index into valid of the next detected frame
    nxt = valid[np.minimum(after, valid.size - 1)]
    prev = valid[np.maximum(after - 1, 0)]
    span = (nxt - prev).astype(np.float64)
    w = np.where(span > 0, (t - prev) / np.where(span > 0, span, 1.0), 0.0)
    w = np.clip(w, 0.0, 1.0)[:, None, None]  # edges: prev == nxt, so the weight does not matter
    arr[t] = (1.0 - w) * arr[prev] + w * arr[nxt]
    return arr


def smooth(landmarks: np.ndarray, window: int = SMOOTH_WINDOW) -> np.ndarray:
    """Mean over frames ``t - window … t + window`` for each frame ``t``, the window truncated at the clip ends
    (so an end frame averages ``window + 1`` frames). ``window=0`` returns a copy. Landmarks must be complete
    (run :func:`interpolate_missing` first)."""
    arr = _check_landmarks(landmarks)
    if window < 0:
        raise ValueError(f"window must be >= 0, got {window}")
    if np.isnan(arr).any():
        raise ValueError("landmarks hold NaN; interpolate missing frames first")
    n = len(arr)
    if window == 0 or n == 0:
        return arr.copy()
    csum = np.concatenate([np.zeros((1, *arr.shape[1:])), np.cumsum(arr, axis=0)])
    idx = np.arange(n)
    lo = np.maximum(idx - window, 0)
    hi = np.minimum(idx + window + 1, n)
    return (csum[hi] - csum[lo]) / (hi - lo)[:, None, None]


def _as_complex(shapes: np.ndarray) -> np.ndarray:
    return shapes[..., 0] + 1j * shapes[..., 1]


def _normalise_shapes(z: np.ndarray) -> np.ndarray:
    """Centre each complex shape (…, K) on its centroid and scale it to unit Frobenius norm."""
    z = z - z.mean(axis=-1, keepdims=True)
    norm = np.sqrt((np.abs(z) ** 2).sum(axis=-1, keepdims=True))
    return z / np.where(norm > 0, norm, 1.0)


def mean_face(
    landmark_sets: Iterable[np.ndarray],
    size: int = FACE_SIZE,
    *,
    iterations: int = 3,
    max_frames: int = 200_000,
    seed: int = 0,
) -> np.ndarray:
    """The mean 68-point face shape of training landmarks, placed in a ``size``×``size`` frame.

    Every frame with landmarks (frames holding NaN are skipped) is a shape; each is centred and scaled to unit
    norm, then generalised Procrustes analysis aligns every shape to the current reference by the
    least-squares similarity (rotation + uniform scale), averages, renormalises, and repeats ``iterations`` times
    starting from the first shape. The mean is rotated upright (eye centres level), scaled so the landmarks'
    bounding box is :data:`FACE_WIDTH`·size wide, centred horizontally with its vertical middle at
    :data:`FACE_CENTRE_Y`·size, like the public ``20words_mean_face.npy``. More than ``max_frames`` shapes are
    subsampled uniformly (reservoir sampling with ``seed``), so a whole corpus can be streamed in.

    Returns (68, 2) float64 (x, y). Raises ValueError when no frame has landmarks.
    """
    rng = np.random.default_rng(seed)
    buf = np.empty((max_frames, N_LANDMARKS), dtype=np.complex128)
    seen = 0
    for item in landmark_sets:
        arr = np.asarray(item, dtype=np.float64)
        if arr.ndim == 2:
            arr = arr[None]
        arr = _check_landmarks(arr)
        arr = arr[~np.isnan(arr).any(axis=(1, 2))]
        if not len(arr):
            continue
        z = _normalise_shapes(_as_complex(arr))
        room = max(0, min(len(z), max_frames - seen))
        buf[seen : seen + room] = z[:room]
        if room < len(z):  # reservoir: the i-th shape (0-based) replaces a random slot with probability max/(i+1)
            rest = z[room:]
            pos = rng.integers(0, seen + room + np.arange(1, len(rest) + 1))
            keep = pos < max_frames
            buf[pos[keep]] = rest[keep]
        seen += len(z)
    if seen == 0:
        raise ValueError("no frame with landmarks to build a mean face from")
    shapes = buf[: min(seen, max_frames)]
    ref = shapes[0]
    for _ in range(max(1, iterations)):
        a = (np.conj(shapes) * ref).sum(axis=1) / (np.abs(shapes) ** 2).sum(axis=1)
        ref = _normalise_shapes((a[:, None] * shapes).mean(axis=0))
    left_eye, right_eye = ref[36:42].mean(), ref[42:48].mean()
    ref = ref * np.exp(-1j * np.angle(right_eye - left_eye))  # eye centres level, the 36–41 eye on the left
    x, y = ref.real, ref.imag
    scale = FACE_WIDTH * size / (x.max() - x.min())
    x = (x - (x.max() + x.min()) / 2) * scale + size / 2
    y = (y - (y.max() + y.min()) / 2) * scale + FACE_CENTRE_Y * size
    return np.stack([x, y], axis=1)


def similarity(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares similarity transforms (rotation, uniform scale, translation; no reflection) mapping points
    ``src`` (…, K, 2) onto ``dst`` (…, K, 2) or (K, 2): the closed form of Umeyama's estimate, which is what
    ``skimage.transform.SimilarityTransform`` fits. Returns (…, 2, 3) float64 affine matrices ``[A | t]`` with
    ``dst ≈ A @ src + t``. Raises ValueError when the source points coincide."""
    p = _as_complex(np.asarray(src, dtype=np.float64))
    q = _as_complex(np.asarray(dst, dtype=np.float64))
    pm, qm = p.mean(axis=-1, keepdims=True), q.mean(axis=-1, keepdims=True)
    pc, qc = p - pm, q - qm
    den = (np.abs(pc) ** 2).sum(axis=-1)
    if np.any(den <= 1e-12):
        raise ValueError("degenerate landmarks: the stable points coincide")
    a = (np.conj(pc) * qc).sum(axis=-1) / den  # s·e^{iθ}
    t = qm[..., 0] - a * pm[..., 0]
    out = np.empty((*a.shape, 2, 3))
    out[..., 0, 0], out[..., 0, 1], out[..., 0, 2] = a.real, -a.imag, t.real
    out[..., 1, 0], out[..., 1, 1], out[..., 1, 2] = a.imag, a.real, t.imag
    return out


def align_transforms(
    landmarks: np.ndarray, mean_face: np.ndarray, stable: tuple[int, ...] = STABLE_POINTS
) -> np.ndarray:
    """Per-frame similarity from the frame's ``stable`` landmarks to the mean face's, fitted by least squares
    (as the public code's ``skimage.transform.estimate_transform('similarity', …)``). Each (2, 3) matrix maps
    full-frame pixel coordinates (x, y) to aligned-face coordinates (the mean face's frame, 256×256 by default);
    it is ``M`` of ``cv2.warpAffine(frame, M, (256, 256))``.

    Returns (T, 2, 3) float32. Raises ValueError on NaN landmarks or coinciding stable points.
    """
    arr = _check_landmarks(landmarks)
    if np.isnan(arr).any():
        raise ValueError("landmarks hold NaN; interpolate missing frames first")
    mf = np.asarray(mean_face, dtype=np.float64)
    if mf.shape != (N_LANDMARKS, 2):
        raise ValueError(f"mean_face must have shape (68, 2), got {mf.shape}")
    idx = list(stable)
    return similarity(arr[:, idx], mf[idx]).astype(np.float32)


def apply_transform(transform: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Apply (…, 2, 3) affine matrices to points (…, K, 2); returns (…, K, 2) float64."""
    m = np.asarray(transform, dtype=np.float64)
    pts = np.asarray(points, dtype=np.float64)
    return pts @ np.swapaxes(m[..., :, :2], -1, -2) + m[..., None, :, 2]


def mouth_boxes(centres: np.ndarray, size: int = CROP_SIZE, face_size: int = FACE_SIZE) -> np.ndarray:
    """Crop boxes (T, 4) int64 ``(x0, y0, x1, y1)`` (x1 = x0 + size, exclusive) around centres (T, 2) in
    aligned-face coordinates: the public ``cut_patch`` rounding (``round(c) - size // 2``), then moved inside the
    ``face_size``×``face_size`` face where the box would leave it."""
    if size > face_size:
        raise ValueError(f"crop size {size} exceeds the aligned face {face_size}")
    c = np.asarray(centres, dtype=np.float64)
    half = size // 2
    lo = np.clip(np.round(c).astype(np.int64) - half, 0, face_size - size)
    return np.concatenate([lo, lo + size], axis=1)


def luma(image: np.ndarray) -> np.ndarray:
    """ITU-R BT.601 luma of RGB uint8 images (…, H, W, 3) as uint8 (…, H, W), rounded (OpenCV's RGB2GRAY)."""
    img = np.asarray(image)
    if img.dtype == np.uint8 and img.ndim == 3:
        return cv2.cvtColor(np.ascontiguousarray(img), cv2.COLOR_RGB2GRAY)
    y = img.astype(np.float32) @ np.asarray(BT601, dtype=np.float32)
    return np.clip(np.rint(y), 0, 255).astype(np.uint8)


def _check_frames(frames: np.ndarray) -> np.ndarray:
    arr = np.asarray(frames)
    if arr.dtype != np.uint8 or arr.ndim not in (3, 4) or (arr.ndim == 4 and arr.shape[3] != 3):
        raise ValueError(f"frames must be uint8 (T, H, W, 3) RGB or (T, H, W) grey, got {arr.dtype} {arr.shape}")
    return arr


def crop_mouths(
    frames: np.ndarray,
    landmarks: np.ndarray,
    mean_face: np.ndarray,
    *,
    size: int = CROP_SIZE,
    face_size: int = FACE_SIZE,
    grey: bool = True,
    stable: tuple[int, ...] = STABLE_POINTS,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mouth crops of ``frames`` (T, H, W, 3) uint8 RGB or (T, H, W) grey, given complete (interpolated and
    smoothed) ``landmarks`` (T, 68, 2) and the ``mean_face`` (68, 2) in a ``face_size`` frame.

    Each frame is warped (bilinear, black outside the frame) by its :func:`align_transforms` matrix into the
    aligned face; the mouth landmarks 48–67 are mapped the same way and a ``size``×``size`` box is cut around
    their mean (:func:`mouth_boxes`: kept inside the aligned face). Colour frames give BT.601 luma crops when
    ``grey`` (RGB crops otherwise).

    Returns ``(crops, transforms, boxes)``: crops (T, size, size) uint8 (or (T, size, size, 3) for colour with
    ``grey=False``); transforms (T, 2, 3) float32 full frame → aligned face; boxes (T, 4) int64
    ``(x0, y0, x1, y1)`` in aligned-face pixels.
    """
    frm = _check_frames(frames)
    lm = _check_landmarks(landmarks)
    if len(frm) != len(lm):
        raise ValueError(f"{len(frm)} frames but {len(lm)} landmark frames")
    transforms = align_transforms(lm, mean_face, stable)
    centres = apply_transform(transforms, lm[:, MOUTH]).mean(axis=1)
    boxes = mouth_boxes(centres, size, face_size)
    colour_out = frm.ndim == 4 and not grey
    crops = np.empty((len(frm), size, size, 3) if colour_out else (len(frm), size, size), dtype=np.uint8)
    for i in range(len(frm)):
        m = transforms[i].astype(np.float64)  # the float32 matrix that is returned, so paste_back inverts it
        m[:, 2] -= boxes[i, :2]  # compose with the crop offset: warp straight into the box
        patch = cv2.warpAffine(
            frm[i], m, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0
        )
        crops[i] = luma(patch) if (frm.ndim == 4 and grey) else patch
    return crops, transforms, boxes


def mouth_roi(
    frames: np.ndarray,
    landmarks_with_nan: np.ndarray,
    mean_face: np.ndarray,
    *,
    size: int = CROP_SIZE,
    face_size: int = FACE_SIZE,
    smooth_window: int = SMOOTH_WINDOW,
    max_missing: float = 0.5,
    grey: bool = True,
    stable: tuple[int, ...] = STABLE_POINTS,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The whole protocol for one clip: reject, interpolate, smooth, align, crop (see :func:`crop_mouths` for
    the outputs). ``landmarks_with_nan`` (T, 68, 2) has NaN rows where no face was found.

    Raises ValueError ``"no face in N of T frames (> max_missing=…)"`` when more than ``max_missing`` (a share
    of the frames) lack landmarks, or none has any; the caller records it as a reject.
    """
    lm = _check_landmarks(landmarks_with_nan)
    n = len(lm)
    if n == 0:
        raise ValueError("no frames")
    missing = int(missing_frames(lm).sum())
    if missing > max_missing * n or missing == n:
        raise ValueError(f"no face in {missing} of {n} frames (> max_missing={max_missing:g})")
    lm = smooth(interpolate_missing(lm), smooth_window)
    return crop_mouths(frames, lm, mean_face, size=size, face_size=face_size, grey=grey, stable=stable)


def _crop_map(transform: np.ndarray, box: Box | np.ndarray) -> np.ndarray:
    m = np.asarray(transform, dtype=np.float64).copy()
    m[:, 2] -= np.asarray(box[:2], dtype=np.float64)
    return m


def _footprint_rect(
    frame_shape: tuple[int, ...], transform: np.ndarray, box: Box | np.ndarray
) -> tuple[tuple[int, int, int, int], np.ndarray]:
    """The frame rectangle ``(cx0, cy0, cx1, cy1)`` bounding the crop box's footprint, and the footprint within it."""
    h, w = frame_shape[:2]
    x0, y0, x1, y1 = (int(v) for v in box)
    m = _crop_map(transform, box)
    inv = cv2.invertAffineTransform(m)
    corners = np.array([[0, 0], [x1 - x0 - 1, 0], [0, y1 - y0 - 1], [x1 - x0 - 1, y1 - y0 - 1]], dtype=np.float64)
    pts = apply_transform(inv, corners)
    cx0, cy0 = (int(v) for v in np.maximum(np.floor(pts.min(axis=0)).astype(int) - 1, 0))
    cx1, cy1 = (int(v) for v in np.minimum(np.ceil(pts.max(axis=0)).astype(int) + 2, (w, h)))
    if cx1 <= cx0 or cy1 <= cy0:
        return (0, 0, 0, 0), np.zeros((0, 0), dtype=bool)
    yy, xx = np.mgrid[cy0:cy1, cx0:cx1]
    u = m[0, 0] * xx + m[0, 1] * yy + m[0, 2]
    v = m[1, 0] * xx + m[1, 1] * yy + m[1, 2]
    eps = 1e-6
    inside = (u >= -eps) & (u <= x1 - x0 - 1 + eps) & (v >= -eps) & (v <= y1 - y0 - 1 + eps)
    return (cx0, cy0, cx1, cy1), inside


def footprint(frame_shape: tuple[int, ...], transform: np.ndarray, box: Box | np.ndarray) -> np.ndarray:
    """(H, W) bool: the frame pixels whose aligned-face position lies in the crop ``box`` (the pixel grid's
    extent, ``[x0, x1 - 1] × [y0, y1 - 1]``), i.e. the pixels :func:`paste_back` may change."""
    (cx0, cy0, cx1, cy1), inside = _footprint_rect(frame_shape, transform, box)
    mask = np.zeros(frame_shape[:2], dtype=bool)
    mask[cy0:cy1, cx0:cx1] = inside
    return mask


def paste_back(
    frame: np.ndarray,
    crop: np.ndarray,
    transform: np.ndarray,
    box: Box | np.ndarray,
    *,
    reference: np.ndarray | None = None,
) -> np.ndarray:
    """Put a (possibly perturbed) mouth ``crop`` back into the full ``frame`` (H, W, 3) RGB or (H, W) grey uint8,
    through the inverse of the crop's ``transform`` (2, 3) and ``box`` from :func:`crop_mouths`.

    The crop is warped back into frame coordinates (bilinear) and only the pixels of its :func:`footprint` are
    replaced; every other pixel is returned unchanged. A greyscale crop in a colour frame sets the luma only: the
    difference between the pasted grey value and the frame's own BT.601 luma is added to R, G and B alike, which
    changes the luma by exactly that difference and leaves the chroma (B − Y, R − Y) as it was (up to clipping
    to [0, 255]). A colour crop into a grey frame is pasted as its luma.

    With ``reference`` (the unperturbed crop), only the difference ``crop - reference`` is warped back and added,
    so an unchanged crop leaves the frame exactly unchanged and a perturbation arrives without the resampling
    blur of the round trip. Returns a new uint8 array shaped like ``frame``.
    """
    frm = np.asarray(frame)
    if frm.dtype != np.uint8 or frm.ndim not in (2, 3) or (frm.ndim == 3 and frm.shape[2] != 3):
        raise ValueError(f"frame must be uint8 (H, W, 3) or (H, W), got {frm.dtype} {frm.shape}")
    x0, y0, x1, y1 = (int(v) for v in box)
    crp = np.asarray(crop)
    if crp.shape[:2] != (y1 - y0, x1 - x0):
        raise ValueError(f"crop {crp.shape} does not match box {(x0, y0, x1, y1)}")
    if reference is not None and np.shape(reference) != crp.shape:
        raise ValueError(f"reference {np.shape(reference)} does not match crop {crp.shape}")
    if frm.ndim == 2 and crp.ndim == 3:
        crp = luma(crp)
        reference = None if reference is None else luma(reference)
    (cx0, cy0, cx1, cy1), inside = _footprint_rect(frm.shape, transform, box)
    out = frm.copy()
    if not inside.any():
        return out
    m = _crop_map(transform, box)
    m[:, 2] += m[:, :2] @ np.array([cx0, cy0], dtype=np.float64)  # work in the footprint's bounding rectangle
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP  # m maps frame → crop, i.e. destination → source

    def back(img: np.ndarray) -> np.ndarray:
        return cv2.warpAffine(img, m, (cx1 - cx0, cy1 - cy0), flags=flags, borderMode=cv2.BORDER_REPLICATE)

    base = frm[cy0:cy1, cx0:cx1].astype(np.float32)
    if reference is not None:
        delta = back(crp.astype(np.float32) - np.asarray(reference, dtype=np.float32))
        if frm.ndim == 3 and delta.ndim == 2:
            delta = delta[..., None]
        new = base + delta
    else:
        warped = back(np.ascontiguousarray(crp).astype(np.float32))
        if frm.ndim == 3 and warped.ndim == 2:  # grey crop, colour frame: move the luma only
            y_frame = cv2.cvtColor(base, cv2.COLOR_RGB2GRAY)  # float32 in: the exact BT.601 weighted sum
            new = base + (warped - y_frame)[..., None]
        else:
            new = warped
    new_u8 = np.clip(np.rint(new), 0, 255).astype(np.uint8)
    np.copyto(out[cy0:cy1, cx0:cx1], new_u8, where=inside[..., None] if new_u8.ndim == 3 else inside)
    return out


def centre_crop(crops: np.ndarray, size: int = TEST_SIZE) -> np.ndarray:
    """The central ``size``×``size`` of crops (…, H, W) (96 → 88 at test time: offset (H - size) // 2)."""
    arr = np.asarray(crops)
    h, w = arr.shape[-2:]
    if size > h or size > w:
        raise ValueError(f"centre crop {size} larger than {h}×{w}")
    top, left = (h - size) // 2, (w - size) // 2
    return arr[..., top : top + size, left : left + size]


def normalise(crops: np.ndarray) -> np.ndarray:
    """uint8 grey crops → float32 ``(x / 255 - 0.421) / 0.165``."""
    x = np.asarray(crops, dtype=np.float32) / np.float32(255.0)
    return ((x - np.float32(MEAN)) / np.float32(STD)).astype(np.float32)
