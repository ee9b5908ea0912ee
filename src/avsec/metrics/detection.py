"""Detection scores (paper 4): ROC curve and AUC, and the average F1 of the two classes at the threshold chosen
on validation data.

Scores are "more adversarial when higher"; for a synchronisation confidence (higher when benign) pass its
negative. Labels: 1 = adversarial (positive), 0 = benign.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from avsec.core.lazy import LazyModule

metrics = LazyModule("sklearn.metrics")  # imported at the first score (1.7 s: the attack jobs never score)


def _pair(scores: Any, labels: Any) -> tuple[np.ndarray, np.ndarray]:
    s, y = np.asarray(scores, dtype=np.float64).ravel(), np.asarray(labels).astype(int).ravel()
    if s.shape != y.shape:
        raise ValueError(f"{len(s)} scores but {len(y)} labels")
    return s, y


def auc(scores: Any, labels: Any) -> float:
    """ROC AUC; NaN when only one class is present."""
    s, y = _pair(scores, labels)
    if len(np.unique(y)) < 2:
        return float("nan")
    return float(metrics.roc_auc_score(y, s))


def roc(scores: Any, labels: Any) -> tuple[np.ndarray, np.ndarray]:
    """(false positive rates, true positive rates) of the ROC curve."""
    s, y = _pair(scores, labels)
    fpr, tpr, _ = metrics.roc_curve(y, s)
    return fpr, tpr


def average_f1(scores: Any, labels: Any, threshold: float) -> float:
    """Mean of the adversarial and the benign class's F1 when ``score >= threshold`` is called adversarial."""
    s, y = _pair(scores, labels)
    return float(metrics.f1_score(y, (s >= threshold).astype(int), average="macro", labels=[0, 1], zero_division=0))


def best_threshold(scores: Any, labels: Any) -> float:
    """The threshold that maximises :func:`average_f1` (the paper's choice on the validation set): every
    midpoint between consecutive distinct scores and one beyond each end are tried; ties go to the lowest."""
    s, y = _pair(scores, labels)
    values = np.unique(s)
    if not len(values):
        raise ValueError("no scores to choose a threshold from")
    candidates = np.concatenate([[values[0] - 1.0], (values[1:] + values[:-1]) / 2, [values[-1] + 1.0]])
    f1 = [average_f1(s, y, t) for t in candidates]
    return float(candidates[int(np.argmax(f1))])
