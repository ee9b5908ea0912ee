"""A talking face made from a real photograph, whose mouth opens and closes with the speech envelope.

The face is scikit-image's ``astronaut()`` (Eileen Collins, a public-domain NASA portrait), a real face for
face detectors and landmark models (OpenCV's Haar cascade finds it in every frame). Each synthetic speaker is a
:class:`Look` of that photo (scale and position, hence the crop; mirror image; colour grading). Each frame
lowers the jaw by that frame's mouth opening, which :func:`mouth_openings` derives from the audio level in the
frame's own 40 ms, so the picture follows the sound with no lag. The opening drops the lower lip, lower teeth
and chin and shows the dark inner mouth between the teeth; a slow, small head motion independent of the audio
keeps the frames from being static.
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

    def _mouth(self, opening: float) -> np.ndarray:
        """The mouth region of the photo with the jaw lowered by ``opening`` (0 = as photographed, 1 = wide)."""
        x, y = self.grid_x, self.grid_y
        u = (x - self.mouth_x) / MOUTH_HALF_WIDTH
        lens = np.sqrt(np.clip(1.0 - u * u, 0.0, 1.0))  # shape of the lip opening
        split = MOUTH_SPLIT_Y - SMILE_CURVE * np.clip(u, -1.0, 1.0) ** 2
        jaw = 0.5 * (1.0 + np.cos(np.pi * np.clip((x - self.mouth_x) / JAW_HALF_WIDTH, -1.0, 1.0)))
        below = y - split
        blend = np.clip(below / 12.0, 0.0, 1.0)  # from the lip shape at the split to the whole jaw lower down
        fade = np.clip(1.0 - (y - CHIN_Y) / 25.0, 0.0, 1.0)  # the neck under the chin stays put
        drop = MAX_DROP * opening * fade * ((1.0 - blend) * lens + blend * jaw) * (below >= 0)
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
