"""68-point landmarks with the face-alignment package's 2D-FAN, its weights read from a local cache, never downloaded.

face-alignment 1.5.0 fetches its weights on first use into torch's hub cache; that must not happen in a workflow
run. This module builds the same networks itself and loads their state dicts with ``torch.load(...,
weights_only=True)`` from ``cache_dir``, which the user fills once (:func:`fill_command` prints how;
the URLs are face_alignment's own):

- ``2DFAN4-11f355bf06.pth.tar``, the 2D-FAN-4 landmark network:
  https://www.adrianbulat.com/downloads/python-fan/2DFAN4-11f355bf06.pth.tar
- ``s3fd-619a316812.pth``, the S3FD face detector (``detector="sfd"``, the default):
  https://www.adrianbulat.com/downloads/python-fan/s3fd-619a316812.pth
- ``blazeface.pth`` and ``anchors.npy``, the BlazeFace detector (``detector="blazeface"``):
  https://github.com/hollance/BlazeFace-PyTorch/raw/master/blazeface.pth and .../anchors.npy

Files are looked up in ``cache_dir`` and in ``cache_dir/checkpoints``, so torch's hub folder of a machine where
face_alignment once ran (``~/.cache/torch/hub``) works as it is.

The face box comes from ``detector``: ``sfd`` (S3FD, face_alignment's default and what the lip-reading
preprocessing used), ``blazeface``, or ``opencv`` (OpenCV's bundled Haar cascade, no detector weights: the box is
the landmarks' bounding box as :mod:`avsec.data.av.landmarks.opencv` estimates it, about the extent of an S3FD box,
which FAN's crop centre and scale are computed from). In each frame the largest face is taken; frames without one
get NaN rows. The crops, the flipped second pass and the heatmap decoding are face_alignment's own (``crop``,
``flip``, ``get_preds_fromhm``), batched over frames; like face_alignment's, the points come out in whole pixels.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from avsec.core.errors import ConfigError, InputError

FAN_FILE = "2DFAN4-11f355bf06.pth.tar"
BASE_URL = "https://www.adrianbulat.com/downloads/python-fan/"
BLAZEFACE_URL = "https://github.com/hollance/BlazeFace-PyTorch/raw/master/"
# Weight files per detector (the FAN file is always needed), and where each comes from.
DETECTOR_FILES = {"sfd": ("s3fd-619a316812.pth",), "blazeface": ("blazeface.pth", "anchors.npy"), "opencv": ()}
URLS = {
    FAN_FILE: BASE_URL + FAN_FILE,
    "s3fd-619a316812.pth": BASE_URL + "s3fd-619a316812.pth",
    "blazeface.pth": BLAZEFACE_URL + "blazeface.pth",
    "anchors.npy": BLAZEFACE_URL + "anchors.npy",
}
DEVICES = ("auto", "cpu", "cuda")


def required_files(detector: str = "sfd") -> tuple[str, ...]:
    """The file names ``cache_dir`` must hold for ``detector``."""
    if detector not in DETECTOR_FILES:
        raise ConfigError(f"landmarks.face_alignment.detector: {detector!r} is not one of {', '.join(DETECTOR_FILES)}")
    return (FAN_FILE, *DETECTOR_FILES[detector])


def fill_command(cache_dir: str | Path, names: tuple[str, ...]) -> str:
    """The shell command that downloads ``names`` into ``cache_dir`` (run once where there is internet)."""
    folder = str(cache_dir)
    fetches = " && ".join(f"curl -fL -o {folder}/{name} {URLS[name]}" for name in names)
    return f"mkdir -p {folder} && {fetches}"


def find_weights(cache_dir: str | Path | None, detector: str = "sfd") -> dict[str, Path]:
    """The weight files for ``detector`` by name, from ``cache_dir`` or ``cache_dir/checkpoints``.

    Raises a one-line ConfigError naming the missing files and the command that fetches them.
    """
    names = required_files(detector)
    if not cache_dir:
        raise ConfigError(
            "landmarks: the face_alignment backend needs cache_dir, a folder holding "
            f"{', '.join(names)} (fill it once: {fill_command('<cache_dir>', names)})"
        )
    folder = Path(cache_dir).expanduser()
    found = {}
    for name in names:
        for candidate in (folder / name, folder / "checkpoints" / name):
            if candidate.is_file():
                found[name] = candidate
                break
    missing = tuple(name for name in names if name not in found)
    if missing:
        raise ConfigError(
            f"landmarks: face_alignment weights missing from cache_dir {folder}: {', '.join(missing)}; "
            f"fill it once on a machine with internet with `{fill_command(folder, missing)}` and copy the folder "
            "here (or set the landmarks backend to opencv)"
        )
    return found


@dataclass
class Landmarker:
    """A loaded 2D-FAN and face detector on one device."""

    net: object  # face_alignment.models.FAN
    detector: object | None  # a face_alignment FaceDetector, or None for the OpenCV box
    device: str
    reference_scale: float

    def boxes(self, frames: np.ndarray, **opencv_options) -> np.ndarray:
        """One face box (x1, y1, x2, y2) per frame, float32 (T, 4), NaN where no face was found."""
        if self.detector is None:
            from avsec.data.av.landmarks import opencv

            return opencv.landmark_boxes(frames, **opencv_options)
        boxes = np.full((len(frames), 4), np.nan, np.float32)
        for t, frame in enumerate(frames):
            found = [np.asarray(b[:4], np.float32) for b in self.detector.detect_from_image(frame.copy())]
            if found:
                boxes[t] = max(found, key=lambda b: (b[2] - b[0]) * (b[3] - b[1]))
        return boxes

    def landmarks(self, frames: np.ndarray, boxes: np.ndarray, *, flip_input: bool, batch_size: int) -> np.ndarray:
        """FAN's 68 points (T, 68, 2) float32 in the face ``boxes`` (T, 4) of ``frames``; NaN rows for NaN boxes."""
        import torch
        from face_alignment.utils import CENTER_Y_OFFSET, crop, flip, get_preds_fromhm

        points = np.full((len(frames), 68, 2), np.nan, np.float32)
        found = np.flatnonzero(~np.isnan(boxes[:, 0]))
        for start in range(0, len(found), batch_size):
            chunk = found[start : start + batch_size]
            centres, scales, crops = [], [], []
            for t in chunk:
                x1, y1, x2, y2 = (float(v) for v in boxes[t])
                centre = np.array([(x1 + x2) / 2, (y1 + y2) / 2 - (y2 - y1) * CENTER_Y_OFFSET])
                scale = (x2 - x1 + y2 - y1) / self.reference_scale
                centres.append(centre)
                scales.append(scale)
                crops.append(crop(frames[t], centre, scale).transpose(2, 0, 1).astype(np.float32) / 255.0)
            with torch.inference_mode():
                batch = torch.from_numpy(np.stack(crops)).to(self.device)
                heat = self.net(batch)[-1]
                if flip_input:
                    heat = heat + flip(self.net(flip(batch))[-1], is_label=True)
                heat = heat.float().cpu().numpy()
            for i, t in enumerate(chunk):
                _, original, _ = get_preds_fromhm(heat[i : i + 1], centres[i], scales[i])
                points[t] = original.reshape(68, 2)
        return points


def detect(
    frames: np.ndarray,
    *,
    cache_dir: str | Path | None = None,
    detector: str = "sfd",
    device: str = "auto",
    flip_input: bool = True,
    batch_size: int = 16,
    **opencv_options,
) -> np.ndarray:
    """Landmarks (T, 68, 2) float32 in (x, y) pixels for RGB ``frames`` (T, H, W, 3) uint8; NaN rows without a face.

    ``cache_dir`` holds the weights (see the module docstring); ``detector`` is ``sfd``, ``blazeface`` or
    ``opencv``; ``device`` is ``auto`` (CUDA when present), ``cpu`` or ``cuda``; ``flip_input`` averages FAN's
    heatmaps with those of the mirrored crop (face_alignment's default); ``batch_size`` crops per FAN pass.
    With ``detector="opencv"`` the remaining options go to the Haar cascade (``min_size``, ``scale_factor``,
    ``min_neighbors``, ``smooth``).
    """
    if not (isinstance(frames, np.ndarray) and frames.dtype == np.uint8 and frames.ndim == 4 and frames.shape[3] == 3):
        raise ValueError(f"frames must be a (T, H, W, 3) uint8 RGB array, got {getattr(frames, 'shape', frames)}")
    if opencv_options and detector != "opencv":
        raise ConfigError(f"landmarks.face_alignment: unknown options {', '.join(sorted(opencv_options))}")
    if int(batch_size) < 1:
        raise ConfigError(f"landmarks.face_alignment.batch_size: must be at least 1, got {batch_size}")
    device = resolve_device(device)
    weights = find_weights(cache_dir, detector)
    model = load(tuple(sorted((name, str(path)) for name, path in weights.items())), detector, device)
    boxes = model.boxes(frames, **opencv_options)
    return model.landmarks(frames, boxes, flip_input=bool(flip_input), batch_size=int(batch_size))


def resolve_device(device: str) -> str:
    """``auto`` -> ``cuda`` when torch sees a GPU, else ``cpu``; ``cuda`` without a GPU is a ConfigError."""
    import torch

    if device not in DEVICES:
        raise ConfigError(f"landmarks.face_alignment.device: {device!r} is not one of {', '.join(DEVICES)}")
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise ConfigError("landmarks.face_alignment.device: cuda requested but torch sees no CUDA device")
    return device


@functools.lru_cache(maxsize=2)
def load(weights: tuple[tuple[str, str], ...], detector: str, device: str) -> Landmarker:
    """The networks built from the weight files ``weights`` ((name, path) pairs), kept loaded between calls."""
    from face_alignment.models import FAN
    from face_alignment.utils import REFERENCE_SCALE

    paths = dict(weights)
    net = FAN(4)  # 2D-FAN-4: four stacked hourglasses, face_alignment's NetworkSize.LARGE
    try:
        net.load_state_dict(_state_dict(Path(paths[FAN_FILE]), device))
    except RuntimeError as exc:  # keys or shapes that are not 2D-FAN-4's
        raise InputError(paths[FAN_FILE], f"not 2D-FAN-4 weights ({str(exc).splitlines()[0]})") from None
    net.to(device).eval()
    if detector == "opencv":
        return Landmarker(net, None, device, float(REFERENCE_SCALE))
    try:
        if detector == "sfd":
            from face_alignment.detection.sfd.sfd_detector import SFDDetector

            found = SFDDetector(device, path_to_detector=paths["s3fd-619a316812.pth"])
        else:
            from face_alignment.detection.blazeface.blazeface_detector import BlazeFaceDetector

            found = BlazeFaceDetector(
                device, path_to_detector=paths["blazeface.pth"], path_to_anchor=paths["anchors.npy"]
            )
    except Exception as exc:  # a corrupt or foreign file: name it
        name = DETECTOR_FILES[detector][0]
        raise InputError(paths[name], f"cannot load the {detector} face detector's weights ({exc})") from None
    return Landmarker(net, found, device, found.reference_scale)


def _state_dict(path: Path, device: str) -> dict:
    """A state dict from ``path`` (torch.load with weights_only=True), or InputError naming the file."""
    import torch

    try:
        state = torch.load(path, map_location=device, weights_only=True)
    except Exception as exc:
        raise InputError(path, f"cannot load FAN's weights ({exc})") from None
    if not isinstance(state, dict):
        raise InputError(path, f"not a state dict (found {type(state).__name__})")
    return state
