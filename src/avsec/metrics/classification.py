"""Classification and targeted-attack scores over predicted and true label indices (or names)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from avsec.metrics.audio import as_numpy


def accuracy(pred: Any, labels: Any) -> float:
    """Share of predictions equal to the labels (NaN for no samples)."""
    pred, labels = _pair(pred, labels)
    return float(np.mean(pred == labels)) if pred.size else float("nan")


def per_class_accuracy(pred: Any, labels: Any, names: Sequence[str]) -> dict[str, float]:
    """Accuracy over the samples of each class, keyed by class name in the order of ``names``.

    ``labels`` and ``pred`` hold class indices into ``names`` (or the names themselves). A class without test
    samples gets NaN.
    """
    pred, labels = _pair(pred, labels)
    by_name = labels.dtype.kind in "USO"
    result = {}
    for index, name in enumerate(names):
        key = name if by_name else index
        mask = labels == key
        result[name] = float(np.mean(pred[mask] == key)) if mask.any() else float("nan")
    return result


def success_rate(pred: Any, target: Any) -> float:
    """Targeted attack success rate (SpeechAdvGan eq. 14 for a targeted attack): share of predictions equal to
    the target, one target for all (scalar) or one per sample. NaN for no samples."""
    pred = as_numpy(pred).reshape(-1)
    target = as_numpy(target)
    if target.ndim:
        pred, target = _pair(pred, target)
    return float(np.mean(pred == target)) if pred.size else float("nan")


def _pair(pred: Any, labels: Any) -> tuple[np.ndarray, np.ndarray]:
    pred = as_numpy(pred).reshape(-1)
    labels = as_numpy(labels).reshape(-1)
    if pred.shape != labels.shape:
        raise ValueError(f"{pred.size} predictions for {labels.size} labels")
    return pred, labels
