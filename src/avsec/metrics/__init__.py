"""The project's one metrics package: audio quality (SNR, PESQ) and classification/attack scores.

Later papers add their metrics here (SSIM, AUC, WER) so that every report computes a number the same way.
"""

from avsec.metrics.audio import pesq_score, snr_db
from avsec.metrics.classification import accuracy, per_class_accuracy, success_rate

__all__ = ["accuracy", "per_class_accuracy", "pesq_score", "snr_db", "success_rate"]
