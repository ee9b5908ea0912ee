"""The audio features of one audiovisual clip (paper 4's preparation, rule extract_av_audio): SyncNet's MFCC
(:func:`avsec.dsp.mfcc.mfcc`, 13 cepstra at 100 Hz, 4 steps per 25 fps video frame) and a log-magnitude STFT
(:func:`avsec.dsp.stft.log_spectrogram`), both on int16-scale samples, stored as float16."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch

from avsec.core.errors import ConfigError
from avsec.dsp.mfcc import mfcc
from avsec.dsp.stft import log_spectrogram

STEPS_PER_FRAME = 4  # MFCC steps per 25 fps video frame (100 Hz)
VIDEO_FPS = 25
MFCC_DEFAULTS = {
    "rate": 16000,
    "n_mfcc": 13,
    "hop": 160,
    "win_length": 400,
    "n_fft": 512,
    "n_mels": 26,
    "preemphasis": 0.97,
    "lifter": 22,
}
LOGSPEC_DEFAULTS = {"n_fft": 512, "hop": 160, "win_length": 400, "window": "hann", "center": True, "eps": 1e-6}


def av_features(audio_int16: np.ndarray, frames: int, settings: Mapping | None = None) -> dict[str, np.ndarray]:
    """The audio features of one clip: ``mfcc`` float16 (13, 4·frames) for SyncNet and ``logspec`` float16
    (F, T') from :func:`log_spectrogram`.

    ``audio_int16`` must be exactly ``frames * rate / 25`` samples (what :func:`avsec.data.av.corpora.load_clip`
    returns). ``settings`` = ``{"mfcc": {...}, "logspec": {...}}`` with keyword arguments of :func:`mfcc` and
    :func:`log_spectrogram` overriding :data:`MFCC_DEFAULTS` and :data:`LOGSPEC_DEFAULTS`; ConfigError for an
    unknown key or an MFCC hop that does not give 4 steps per video frame.
    """
    settings = dict(settings or {})
    unknown = set(settings) - {"mfcc", "logspec"}
    if unknown:
        raise ConfigError(f"unknown audio feature settings: {', '.join(sorted(unknown))} (expected mfcc, logspec)")
    mfcc_args = _merge(MFCC_DEFAULTS, settings.get("mfcc"), "mfcc")
    spec_args = _merge(LOGSPEC_DEFAULTS, settings.get("logspec"), "logspec")
    rate, hop = mfcc_args["rate"], mfcc_args["hop"]
    if hop * STEPS_PER_FRAME * VIDEO_FPS != rate:
        raise ConfigError(f"mfcc hop must be rate / 100 ({rate / 100:g}) for 4 steps per video frame, got {hop}")
    audio = np.asarray(audio_int16)
    if audio.dtype != np.int16 or audio.ndim != 1 or len(audio) != frames * rate // VIDEO_FPS:
        raise ValueError(
            f"expected {frames * rate // VIDEO_FPS} int16 samples for {frames} frames, "
            f"got {audio.dtype} of shape {audio.shape}"
        )
    x = torch.from_numpy(audio.astype(np.float32))
    with torch.no_grad():
        coefficients = mfcc(x, **mfcc_args)
        spectrogram = log_spectrogram(x, **spec_args)
    return {
        "mfcc": coefficients.numpy().astype(np.float16),
        "logspec": spectrogram.numpy().astype(np.float16),
    }


def _merge(defaults: dict, given: Mapping | None, key: str) -> dict:
    given = dict(given or {})
    unknown = set(given) - set(defaults)
    if unknown:
        raise ConfigError(f"unknown {key} settings: {', '.join(sorted(unknown))} (known: {', '.join(defaults)})")
    return {**defaults, **given}
