"""Rich-model steganalysis of audio, after Fridrich and Kodovský's spatial rich model (SRM) for images.

Features: high-pass residuals of the int16 waveform from polynomial predictors of order 1..4 (the k-th finite
difference predicts a sample from its k neighbours), quantised by each step ``q``, rounded and truncated to
[−T, T]; the co-occurrence histogram of three consecutive residual values ((2T + 1)³ bins) per residual and step,
normalised. Classifier: Kodovský's ensemble — Fisher linear discriminants on random feature subspaces and
bootstrap samples, majority vote (scikit-learn's bagging of shrinkage LDA) — or one logistic regression.
The features are computed a batch of clips at a time (each clip's own): a job keeps them, never the clips.
"""

from __future__ import annotations

import numpy as np
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.ensemble import BaggingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from avsec.core.errors import ConfigError

CLASSIFIERS = ("ensemble", "linear")


def residual(x: np.ndarray, order: int) -> np.ndarray:
    """The ``order``-th finite difference along the last axis: the prediction error of a degree-(order−1)
    polynomial predictor (order 1: x[n] − x[n−1]; 2: x[n−1] − 2x[n] + x[n+1] up to sign; ...)."""
    if order < 1:
        raise ConfigError(f"rich model: residual order must be ≥ 1, got {order}")
    return np.diff(np.asarray(x, dtype=np.float64), n=order, axis=-1)


def cooccurrence(r: np.ndarray, q: float, truncation: int) -> np.ndarray:
    """Normalised histogram of triples of consecutive quantised, truncated residuals: (N, L) → (N, (2T+1)³)."""
    levels = 2 * truncation + 1
    v = np.clip(np.round(r / q), -truncation, truncation).astype(np.int64) + truncation
    code = (v[:, :-2] * levels + v[:, 1:-1]) * levels + v[:, 2:]
    hist = np.zeros((len(v), levels**3))
    rows = np.repeat(np.arange(len(v)), code.shape[1])
    np.add.at(hist, (rows, code.ravel()), 1.0)
    return hist / max(1, code.shape[1])


def rich_features(audio: np.ndarray, *, orders=(1, 2, 3, 4), quantization=(1, 2), truncation: int = 2) -> np.ndarray:
    """Rich-model features of int16 clips (N, L) → (N, len(orders) · len(quantization) · (2T+1)³)."""
    x = np.atleast_2d(np.asarray(audio))
    blocks = [cooccurrence(residual(x, o), q, truncation) for o in _list(orders) for q in _list(quantization)]
    return np.concatenate(blocks, axis=1)


def batched_features(audio, *, batch: int = 64, **settings) -> np.ndarray:
    """:func:`rich_features` of int16 clips read ``batch`` at a time: ``audio`` is an array (N, L) or anything
    whose slices ``audio[i : i + batch]`` read the clips as an array or a tensor (a torch ``Dataset`` such as
    avsec.stego.security.Carriers); the same numbers as on the stacked clips."""
    if batch < 1:
        raise ConfigError(f"rich model: batch must be ≥ 1, got {batch}")
    parts = [rich_features(np.asarray(audio[i : i + batch]), **settings) for i in range(0, len(audio), batch)]
    return np.concatenate(parts)


def rich_classifier(classifier: str = "ensemble", *, estimators: int = 51, subspace: float = 0.25, seed: int = 0):
    """An unfitted scikit-learn classifier for rich-model features."""
    if classifier == "ensemble":
        lda = LinearDiscriminantAnalysis(solver="lsqr", shrinkage="auto")
        return make_pipeline(
            StandardScaler(),
            BaggingClassifier(lda, n_estimators=estimators, max_features=subspace, random_state=seed),
        )
    if classifier == "linear":
        return make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, C=1.0))
    raise ConfigError(f"rich model classifier must be one of {', '.join(CLASSIFIERS)}, not {classifier!r}")


def rich_model_accuracy(
    train_audio,
    train_labels: np.ndarray,
    val_audio,
    val_labels: np.ndarray,
    *,
    orders=(1, 2, 3, 4),
    quantization=(1, 2),
    truncation: int = 2,
    classifier: str = "ensemble",
    estimators: int = 51,
    subspace: float = 0.25,
    seed: int = 0,
    batch: int = 64,
) -> float:
    """Train the rich-model steganalyzer on one half, return its accuracy on the other. The clips (int16, one
    half's and the other's) are read ``batch`` at a time (:func:`batched_features`)."""
    settings = dict(orders=orders, quantization=quantization, truncation=truncation, batch=batch)
    model = rich_classifier(classifier, estimators=estimators, subspace=subspace, seed=seed)
    model.fit(batched_features(train_audio, **settings), np.asarray(train_labels))
    pred = model.predict(batched_features(val_audio, **settings))
    return float(np.mean(pred == np.asarray(val_labels)))


def _list(value) -> list:
    return list(value) if isinstance(value, (list, tuple)) else [value]
