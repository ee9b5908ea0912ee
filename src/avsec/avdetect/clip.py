"""Paper 4 on one video file: ``avsec sync`` (SyncNet's offset and confidence) and ``avsec detect`` (adversarial or
not at the detector's threshold).

The video is prepared as the workflow prepares a GRID or LRW clip (:func:`avsec.data.av.prep.prepare_clip`: the
corpus's frame count, landmarks with config.yaml's ``av.landmarks.backend``, mouth crops aligned to the corpus's
mean face, 16 kHz audio), or, with ``crops``, taken as a video of mouth crops already (the workflow's adversarial
examples, results/avdetect/<corpus>/attacks/<method>/examples/*.mp4). It is scored as rule attack_av scores every
clip (:func:`avsec.avdetect.syncnet.sync_scores`); the detector calls it adversarial when its confidence is at or
below the threshold rule detect_av chose on the validation clips for an attack setting
(:func:`avsec.avdetect.detect.detection_measures`, results/avdetect/<corpus>/detection.json).

Model files default to the workflow's, under ``results``: ``av/<corpus>/mean_face.npy``,
``avdetect/<corpus>/syncnet.pt`` and ``avdetect/<corpus>/detection.json``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from avsec.avdetect.syncnet import VSHIFT, load_syncnet, sync_scores
from avsec.core.config import load_config
from avsec.core.errors import ConfigError, InputError
from avsec.data.av.corpora import FRAMES, AVItem, load_clip
from avsec.data.av.mouth import luma
from avsec.data.av.prep import prepare_clip
from avsec.train import resolve_device


def _config(path: str | Path) -> dict:
    if not Path(path).is_file():
        raise InputError(path, "config file not found (run from the workflow's folder, or give --config)")
    return load_config(path)


def clip_inputs(
    video: str | Path,
    corpus: str,
    *,
    results: str | Path = "results",
    config: str | Path = "config.yaml",
    mean_face: str | Path | None = None,
    backend: str | None = None,
    crops: bool = False,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Mouth crops (1, T, 96, 96) uint8 and int16 audio (1, 640·T) of ``video``, prepared with config.yaml's
    ``av`` settings (``backend`` overrides the landmark backend); with ``crops`` the video's frames are the crops."""
    if corpus not in FRAMES:
        raise ConfigError(f"unknown audiovisual corpus {corpus!r}; choose one of {', '.join(FRAMES)}")
    cfg = _config(config)
    av = cfg["av"]
    frames, rate, size = int(av[corpus]["frames"]), int(av["audio"]["rate"]), int(av["mouth"]["size"])
    if crops:
        item = AVItem(source=str(video), path=Path(video), uid=str(video), label="")
        rgb, wave = load_clip(item, frames=frames, rate=rate)
        if rgb.shape[1:3] != (size, size):
            raise InputError(video, f"frames of {rgb.shape[2]}×{rgb.shape[1]}, not {size}×{size} mouth crops")
        mouths = np.stack([luma(frame) for frame in rgb])
    else:
        # the protocol's landmark settings, the scale's backend (scales.<scale>.av.landmarks), then --backend
        landmarks = {**av["landmarks"], **cfg["scale"]["av"]["landmarks"], **({"backend": backend} if backend else {})}
        face = mean_face or Path(results) / "av" / corpus / "mean_face.npy"
        mouths, wave = prepare_clip(video, face, frames=frames, rate=rate, **landmarks, **av["mouth"])
    return torch.from_numpy(mouths)[None], torch.from_numpy(wave)[None]


def sync_clip(
    video: str | Path,
    corpus: str,
    *,
    results: str | Path = "results",
    config: str | Path = "config.yaml",
    syncnet: str | Path | None = None,
    device: str = "auto",
    **prepare,
) -> dict:
    """``avsec sync``: the SyncNet offset (frames, ±vshift) and confidence of one video (``prepare``: the options of
    :func:`clip_inputs`)."""
    vshift = int(_config(config).get("avdetect", {}).get("syncnet", {}).get("vshift", VSHIFT))
    crops, wave = clip_inputs(video, corpus, results=results, config=config, **prepare)
    model, _ = load_syncnet(syncnet or Path(results) / "avdetect" / corpus / "syncnet.pt", resolve_device(device))
    scores = sync_scores(model, crops, wave, vshift)
    return {"offset": int(scores["offset"][0]), "confidence": float(scores["confidence"][0]), "vshift": vshift}


def detector_threshold(detection: str | Path, setting: str | None = None) -> tuple[str, float]:
    """The confidence threshold rule detect_av chose for ``setting`` (an attack setting's name in ``detection``, a
    detection.json), by default the setting whose threshold had the best average F1 on validation."""
    path = Path(detection)
    if not path.is_file():
        raise InputError(path, "detection results not found (the workflow writes results/avdetect/<corpus>/)")
    try:
        rows = [r for r in json.loads(path.read_text(encoding="utf-8"))["settings"] if "threshold" in r]
    except (json.JSONDecodeError, KeyError, TypeError):
        raise InputError(path, "not a detection JSON of rule detect_av (no settings)") from None
    if not rows:
        raise InputError(path, "no attack setting with a threshold (no validation clips were attacked)")
    if setting is None:
        row = max(rows, key=lambda r: r["val_f1"])
    else:
        found = [r for r in rows if r["name"] == setting]
        if not found:
            names = ", ".join(dict.fromkeys(r["name"] for r in rows))
            raise InputError(path, f"no setting {setting!r}; it has {names}")
        row = found[0]
    return row["name"], float(row["threshold"])


def is_adversarial(confidence: float, threshold: float) -> bool:
    """The detector's verdict: adversarial when the SyncNet confidence is at or below the threshold (score
    −confidence ≥ −threshold, as :func:`avsec.metrics.detection.average_f1` calls it)."""
    return confidence <= threshold


def detect_clip(
    video: str | Path,
    corpus: str,
    *,
    results: str | Path = "results",
    detection: str | Path | None = None,
    setting: str | None = None,
    **sync,
) -> dict:
    """``avsec detect``: :func:`sync_clip`'s confidence against :func:`detector_threshold`'s threshold."""
    name, threshold = detector_threshold(detection or Path(results) / "avdetect" / corpus / "detection.json", setting)
    scores = sync_clip(video, corpus, results=results, **sync)
    return {**scores, "setting": name, "threshold": threshold,
            "adversarial": is_adversarial(scores["confidence"], threshold)}  # fmt: skip
