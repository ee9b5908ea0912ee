"""A talking face made from a real photograph, whose mouth opens and closes with the speech envelope.

The face is scikit-image's ``astronaut()`` (Eileen Collins, a public-domain NASA portrait), a real face for
face detectors and landmark models (OpenCV's Haar cascade finds it in every frame). Each synthetic speaker is a
:class:`Look` of that photo (scale and position, hence the crop; mirror image; colour grading). Each frame
lowers the jaw by that frame's mouth opening, which :func:`mouth_openings` derives from the audio level in the
frame's own 40 ms, so the picture follows the sound with no lag. The opening drops the lower lip, lower teeth
and chin and shows the dark inner mouth between the teeth; a slow, small head motion independent of the audio
keeps the frames from being static.

The renderer knows where the face is: :data:`PHOTO_LANDMARKS` are the photo's 68 facial landmarks (iBUG /
Multi-PIE convention), measured by hand on zoomed crops of the photo (eye corners, nose tip and lip corners
within about 1 px, lip contours within 1-2 px, jaw and brows within 2-3 px; the jaw's upper ends are under the
hair). :meth:`TalkingFace.landmarks` maps them through the same geometry as :meth:`TalkingFace.render` (mirror
image with left/right point indices swapped, the lowered jaw, the look's placement and the head motion), so each
frame's ground-truth landmarks are exact for the rendered picture.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from skimage import data

# Landmarks measured on astronaut() (512 x 512), in its pixel coordinates (x right, y down).
PHOTO_SIZE = 512
FACE_CENTER = (224.0, 118.0)  # between the eyes and the mouth
FACE_WIDTH = 95.0  # OpenCV's frontal-face Haar box on the photo
MOUTH_X = 224.0  # mouth centre
MOUTH_HALF_WIDTH = 22.0  # corners at x = 202 and 246
MOUTH_SPLIT_Y = 146.0  # between the upper and the lower teeth at the centre: the lips part here
SMILE_CURVE = 5.0  # the parting line rises by this much towards the corners (she smiles)
CHIN_Y = 177.0
JAW_HALF_WIDTH = 40.0
MAX_DROP = 11.0  # jaw drop at full opening, photo pixels (about half the mouth width)

# The photo's 68 landmarks (x, y), iBUG 68-point convention; "left"/"right" are the image's. 0-16 jaw from the
# image-left end (under the hair at ear height) round the chin (8) to the image-right end; 17-21 and 22-26 brows,
# image-left to image-right; 27-30 nose bridge down to the tip, 31-35 nostrils and nose base left to right; 36-41
# image-left eye (the subject's right eye; 36 outer corner, 39 inner, 37-38 upper lid, 40-41 lower lid), 42-47
# image-right eye (42 inner corner, 45 outer); 48-59 outer lip contour clockwise from the left corner (48), 54 the
# right corner, 51 top of the upper lip, 57 bottom of the lower lip; 60-67 inner lip contour (62 upper, 66 lower
# lip at the centre). As photographed the lips are parted over her teeth (she smiles): the inner contour runs
# along the edges of the teeth. Upper-lip points lie above the renderer's parting line and never move.
PHOTO_LANDMARKS = np.array(
    [
        (178.0, 104.0), (179.0, 116.0), (179.5, 128.0), (181.0, 140.0), (184.0, 151.0), (188.0, 162.0),
        (193.0, 170.0), (203.0, 174.5), (222.0, 178.0), (241.0, 176.0), (253.0, 171.0), (262.0, 163.0),
        (265.0, 152.0), (268.0, 140.0), (268.5, 128.0), (269.5, 116.0), (269.0, 104.0),
        (186.0, 93.0), (192.0, 90.0), (199.0, 88.5), (206.0, 89.0), (213.0, 91.0),
        (236.0, 92.0), (243.0, 90.5), (250.0, 90.0), (257.0, 90.0), (264.0, 92.0),
        (225.0, 102.0), (225.0, 110.0), (224.0, 118.0), (223.0, 126.0),
        (212.0, 129.0), (218.0, 132.0), (224.0, 133.0), (230.0, 132.0), (236.0, 129.5),
        (192.0, 100.0), (198.0, 97.0), (208.0, 97.0), (214.0, 101.0), (208.0, 103.5), (198.0, 104.0),
        (235.5, 102.5), (243.0, 99.5), (252.0, 99.5), (260.0, 103.0), (252.0, 106.0), (243.0, 106.0),
        (203.0, 140.5), (210.5, 138.0), (217.0, 136.5), (223.0, 136.5), (229.0, 136.5), (236.0, 138.0),
        (243.5, 141.0), (236.5, 149.5), (231.0, 153.0), (224.0, 154.5), (215.0, 152.5), (209.5, 148.5),
        (206.5, 142.5), (213.0, 142.8), (223.0, 144.3), (232.0, 143.8), (240.0, 143.2), (232.0, 147.8),
        (223.0, 149.3), (214.0, 147.8),
    ]
)  # fmt: skip
# Point i of a face becomes point MIRROR_68[i] of its mirror image (the subject's right eye becomes the left...).
MIRROR_68 = np.array(
    [*range(16, -1, -1), *range(26, 16, -1), 27, 28, 29, 30, *range(35, 30, -1),
     45, 44, 43, 42, 47, 46, 39, 38, 37, 36, 41, 40,
     *range(54, 47, -1), *range(59, 54, -1), *range(64, 59, -1), 67, 66, 65]
)  # fmt: skip

_INNER_MOUTH = np.array([38.0, 10.0, 16.0], np.float32)  # dark throat, RGB
_TONGUE = np.array([120.0, 48.0, 54.0], np.float32)
# The photo region the jaw drop changes: (x0, y0, x1, y1).
_ROI = (
    int(MOUTH_X - JAW_HALF_WIDTH) - 4,
    int(MOUTH_SPLIT_Y - SMILE_CURVE) - 5,
    int(MOUTH_X + JAW_HALF_WIDTH) + 5,
    int(CHIN_Y) + 30,
)


@dataclass(frozen=True)
class Look:
    """How one speaker's video frames show the photo: scale (output px per photo px), where the face centre
    lands in the output frame, mirror image, per-channel colour gains, gamma, and head-motion parameters."""

    scale: float
    center: tuple[float, float]
    mirror: bool
    gains: tuple[float, float, float]
    gamma: float
    motion: tuple[float, ...]  # amplitudes (px, px, degrees), frequencies (Hz) and phases of the head motion


def random_look(rng: np.random.Generator, size: tuple[int, int], face_width: tuple[float, float]) -> Look:
    """A speaker look for frames of ``size`` = (width, height) whose face is ``face_width`` px wide (a range)."""
    width, height = size
    scale = float(rng.uniform(*face_width)) / FACE_WIDTH
    center = (width / 2 + float(rng.uniform(-0.05, 0.05)) * width, height * float(rng.uniform(0.44, 0.50)))
    gains = tuple(float(g) for g in rng.uniform(0.82, 1.12, size=3))
    amplitudes = [float(rng.uniform(0.3, 0.9)), float(rng.uniform(0.3, 0.8)), float(rng.uniform(0.3, 1.0))]
    freqs = [float(f) for f in rng.uniform(0.15, 0.7, size=3)]
    phases = [float(p) for p in rng.uniform(0, 2 * np.pi, size=3)]
    gamma = float(rng.uniform(0.85, 1.15))
    return Look(scale, center, bool(rng.integers(2)), gains, gamma, (*amplitudes, *freqs, *phases))


class TalkingFace:
    """Renders frames of one speaker's face for a sequence of mouth openings."""

    def __init__(self, look: Look, size: tuple[int, int]):
        self.look = look
        self.size = size
        photo = data.astronaut().astype(np.float32) / 255.0
        photo = np.power(photo, look.gamma) * np.array(look.gains, np.float32)
        if look.mirror:
            photo = photo[:, ::-1]
        self.photo = np.clip(photo * 255.0 + 0.5, 0, 255).astype(np.uint8)
        self.mouth_x = PHOTO_SIZE - 1 - MOUTH_X if look.mirror else MOUTH_X
        self.face_x = PHOTO_SIZE - 1 - FACE_CENTER[0] if look.mirror else FACE_CENTER[0]
        self.inner = np.clip(_INNER_MOUTH * np.array(look.gains, np.float32), 0, 255)
        self.tongue = np.clip(_TONGUE * np.array(look.gains, np.float32), 0, 255)
        x0, y0, x1, y1 = _ROI
        if look.mirror:
            x0, x1 = PHOTO_SIZE - x1, PHOTO_SIZE - x0
        self.roi = (x0, y0, x1, y1)
        self.grid_x, self.grid_y = np.meshgrid(np.arange(x0, x1, dtype=np.float32), np.arange(y0, y1, dtype=np.float32))

    def render(self, openings: np.ndarray, fps: float) -> np.ndarray:
        """Frames (T, H, W, 3) uint8 for mouth ``openings`` in [0, 1], one per frame at ``fps``."""
        width, height = self.size
        frames = np.empty((len(openings), height, width, 3), np.uint8)
        canvas = self.photo.copy()
        x0, y0, x1, y1 = self.roi
        for t, opening in enumerate(openings):
            canvas[y0:y1, x0:x1] = self._mouth(float(opening))
            frames[t] = cv2.warpAffine(
                canvas, self._pose(t / fps), (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
            )
        return frames

    def landmarks(self, openings: np.ndarray, fps: float) -> np.ndarray:
        """The 68 landmarks (T, 68, 2) float64, (x, y) in output-frame pixels, of the frames that :meth:`render`
        draws for the same ``openings`` and ``fps``.

        :data:`PHOTO_LANDMARKS` go through the renderer's own geometry: the mirror image (x → 511 - x, point
        indices swapped by :data:`MIRROR_68`), the jaw lowered by each frame's opening (a point below the lips'
        parting line lands where the lowered jaw shows the photo pixel it sat on) and the frame's affine pose.
        """
        base = PHOTO_LANDMARKS.copy()
        if self.look.mirror:
            base = base[MIRROR_68]
            base[:, 0] = PHOTO_SIZE - 1 - base[:, 0]
        openings = np.asarray(openings, np.float64).reshape(-1, 1)
        x = np.broadcast_to(base[:, 0], (len(openings), len(base)))
        points = np.stack([x, self._lowered(base[:, 0], base[:, 1], openings)], axis=-1)  # (T, 68, 2)
        poses = np.stack([self._pose(t / fps) for t in range(len(openings))])  # (T, 2, 3)
        return points @ poses[:, :, :2].transpose(0, 2, 1) + poses[:, None, :, 2]

    def _lowered(self, x: np.ndarray, y: np.ndarray, openings: np.ndarray) -> np.ndarray:
        """Where photo points (x, y), shape (N,), appear once the jaw is lowered by each of ``openings`` (T, 1):
        (T, N) rows, each the rendered row whose source row (:meth:`_jaw_drop`) is y. A row moves by less than
        the drop changes along it, so the fixed-point iteration y' = y + drop(y') contracts (factor below 0.45)
        and converges to well under a thousandth of a pixel."""
        _, split, _ = self._jaw_drop(x, y, 0.0)
        moving = y >= split  # below the lips' parting line
        lowered = np.broadcast_to(y, (len(openings), len(y))).astype(np.float64)
        for _ in range(40):
            drop, _, _ = self._jaw_drop(x, lowered, openings)
            lowered = np.where(moving, y + drop, y)
        return lowered

    def _jaw_drop(self, x: np.ndarray, y: np.ndarray, opening) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """How far the picture at photo coordinates (x, y) is pushed down when the jaw drops by ``opening``:
        (drop, the lips' parting line at x, the lens-shaped lip opening at x in [0, 1])."""
        u = (x - self.mouth_x) / MOUTH_HALF_WIDTH
        lens = np.sqrt(np.clip(1.0 - u * u, 0.0, 1.0))  # shape of the lip opening
        split = MOUTH_SPLIT_Y - SMILE_CURVE * np.clip(u, -1.0, 1.0) ** 2
        jaw = 0.5 * (1.0 + np.cos(np.pi * np.clip((x - self.mouth_x) / JAW_HALF_WIDTH, -1.0, 1.0)))
        below = y - split
        blend = np.clip(below / 12.0, 0.0, 1.0)  # from the lip shape at the split to the whole jaw lower down
        fade = np.clip(1.0 - (y - CHIN_Y) / 25.0, 0.0, 1.0)  # the neck under the chin stays put
        drop = MAX_DROP * opening * fade * ((1.0 - blend) * lens + blend * jaw) * (below >= 0)
        return drop, split, lens

    def _mouth(self, opening: float) -> np.ndarray:
        """The mouth region of the photo with the jaw lowered by ``opening`` (0 = as photographed, 1 = wide)."""
        x, y = self.grid_x, self.grid_y
        drop, split, lens = self._jaw_drop(x, y, opening)
        below = y - split
        src_y = y - drop
        gap = np.clip(split - src_y, 0.0, 1.0) * (below >= 0)  # coverage of the parted lips
        src_y = np.where(below >= 0, np.maximum(src_y, split), src_y).astype(np.float32)
        warped = cv2.remap(self.photo, x, src_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        depth = np.clip(below / np.maximum(MAX_DROP * opening * lens, 1.0), 0.0, 1.0)[..., None]
        tongue = np.clip((depth - 0.55) / 0.45, 0.0, 1.0) * 0.7
        inner = self.inner * (1.0 - tongue) + self.tongue * tongue
        alpha = cv2.GaussianBlur(gap.astype(np.float32), (3, 3), 0.6)[..., None]
        out = warped.astype(np.float32) * (1.0 - alpha) + inner * alpha
        return np.clip(out + 0.5, 0, 255).astype(np.uint8)

    def _pose(self, t: float) -> np.ndarray:
        """The photo-to-frame affine map at time ``t``: the look's placement plus a slow head motion."""
        ax, ay, aa, fx, fy, fa, px, py, pa = self.look.motion
        dx = ax * np.sin(2 * np.pi * fx * t + px)
        dy = ay * np.sin(2 * np.pi * fy * t + py)
        angle = aa * np.sin(2 * np.pi * fa * t + pa)
        matrix = cv2.getRotationMatrix2D((self.face_x, FACE_CENTER[1]), angle, self.look.scale)
        matrix[0, 2] += self.look.center[0] + dx - self.face_x
        matrix[1, 2] += self.look.center[1] + dy - FACE_CENTER[1]
        return matrix


def mouth_openings(audio: np.ndarray, rate: int, fps: float, n_frames: int) -> np.ndarray:
    """Mouth opening in [0, 1] per video frame from the audio level within that frame's own interval.

    The level (dB) of each frame's samples is mapped linearly from 30 dB below the clip's loud frames (closed)
    to their level (open), expanded so that quiet consonants barely open the mouth, and smoothed by a
    symmetric 3-tap filter (no lag).
    """
    x = audio.astype(np.float64)
    edges = np.round(np.arange(n_frames + 1) * rate / fps).astype(int)
    rms = np.array(
        [np.sqrt(np.mean(x[a:b] ** 2)) if b > a else 0.0 for a, b in zip(edges[:-1], edges[1:], strict=True)]
    )
    level = 20 * np.log10(np.maximum(rms, 1.0))
    top = np.percentile(level, 95)
    opening = np.clip((level - (top - 30.0)) / 30.0, 0.0, 1.0) ** 2
    smooth = np.convolve(np.pad(opening, 1, mode="edge"), [0.25, 0.5, 0.25], mode="valid")
    return np.clip(smooth, 0.0, 1.0)
