"""Audio quality of a perturbed clip against its clean original: SNR (SpeechAdvGan eq. 15) and wide-band PESQ."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from avsec.io.audio import resample, to_int16

PESQ_RATE = 16000  # wide-band PESQ (ITU-T P.862.2) scores 16 kHz audio only


def as_numpy(x: Any) -> np.ndarray:
    """A numpy array from a numpy array, a list or a torch tensor (detached, on the CPU; bfloat16 as float32)."""
    if hasattr(x, "detach"):  # torch.Tensor, without importing torch here
        x = x.detach().cpu()
        try:
            return x.numpy()
        except TypeError:  # numpy has no bfloat16
            return x.float().numpy()
    return np.asarray(x)


def snr_db(clean: Any, adversarial: Any) -> np.ndarray | float:
    """SNR in dB of ``adversarial`` against ``clean``: 10·log10(P_x / P_δ) with δ = adversarial − clean (eq. 15).

    P is the energy (sum of squares) of each clip, over the last axis. Accepts one clip ``(L,)`` (returns a
    float) or a batch ``(N, L)`` (returns ``(N,)``; ``(N, 1, L)`` gives ``(N, 1)``), as numpy arrays or torch
    tensors; both inputs must be on the same scale (both int16 or both float). δ = 0 gives +inf; a silent clean
    clip with a non-zero δ gives -inf.
    """
    x = as_numpy(clean).astype(np.float64)
    adv = as_numpy(adversarial).astype(np.float64)
    if x.shape != adv.shape:
        raise ValueError(f"snr_db: clean {x.shape} and adversarial {adv.shape} differ in shape")
    if x.ndim == 0:
        raise ValueError("snr_db: expected (L,) or (N, L) samples, got a scalar")
    p_x = np.sum(x**2, axis=-1)
    p_delta = np.sum((adv - x) ** 2, axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        snr = 10.0 * np.log10(p_x / p_delta)
    snr = np.where(p_delta == 0, np.inf, snr)
    return float(snr) if x.ndim == 1 else snr


def pesq_score(clean: Any, degraded: Any, rate: int, band: str = "wb") -> float:
    """PESQ of ``degraded`` against ``clean``, both mono at ``rate`` Hz: ``band`` "wb", wide-band P.862.2 (MOS-LQO,
    about 1.0-4.64), or "nb", narrow-band P.862's raw score (−0.5-4.5, the range paper 2 reports on;
    :func:`p862_raw`).

    Inputs are int16 samples or floats in [-1, 1] (converted with :func:`avsec.io.audio.to_int16`), resampled
    to 16 kHz first when ``rate`` differs (GTZAN clips are at 16384 Hz). Returns NaN, never raises, when PESQ
    cannot score the pair: silence (no utterance detected), a clip too short, non-finite samples.
    """
    from pesq import PesqError, pesq  # imported here: only the evaluation rules need it

    if band not in ("wb", "nb"):
        raise ValueError(f"pesq_score: band must be 'wb' or 'nb', not {band!r}")

    signals = []
    for x in (clean, degraded):
        x = as_numpy(x)
        if x.ndim != 1:
            raise ValueError(f"pesq_score: expected one mono clip (L,), got shape {x.shape}")
        if x.dtype != np.int16:
            if not np.isfinite(x).all():
                return float("nan")
            x = to_int16(x) if np.issubdtype(x.dtype, np.floating) else np.clip(x, -32768, 32767).astype(np.int16)
        signals.append(resample(x, int(rate), PESQ_RATE))
    ref, deg = signals
    if not ref.any() or not deg.any():  # pesq scales by the peak: all-zero input would divide by zero
        return float("nan")
    try:
        score = float(pesq(PESQ_RATE, ref, deg, band))
    except PesqError:  # NoUtterancesError, BufferTooShortError, ...
        return float("nan")
    return score if band == "wb" else p862_raw(score)


def p862_raw(mos_lqo: float) -> float:
    """The raw narrow-band P.862 score behind a P.862.1 MOS-LQO (the ``pesq`` package reports narrow band mapped by
    P.862.1, MOS-LQO = 0.999 + 4 / (1 + exp(−1.4945·raw + 4.6607)); this is its inverse)."""
    return (4.6607 - math.log(4.0 / (mos_lqo - 0.999) - 1.0)) / 1.4945


def mean_snr_db(clean: Any, other: Any) -> float:
    """Mean SNR (dB) of a batch ``(N, L)`` of torch tensors, computed on their device without a copy (a
    progress-bar figure during training; evaluations use :func:`snr_db`). The error energy is floored at 1e-12."""
    ratio = clean.float().square().sum(1) / (other.float() - clean.float()).square().sum(1).clamp_min(1e-12)
    return (10 * ratio.log10()).mean().item()
