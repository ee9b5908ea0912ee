"""Audio features of audio-visual clips: log-magnitude STFT and SyncNet's MFCC, in torch and differentiable.

Audio is in int16 units throughout (an int16 array or tensor, or a float tensor holding int16-scale values),
because the attacks of paper 4 bound their perturbations on that scale (ε_A = 256, 512, 1024); gradients flow
from the features back to a float input.

:func:`mfcc` reproduces ``python_speech_features.mfcc(audio, 16000)`` as SyncNet (syncnet_python) calls it on
int16 samples: pre-emphasis 0.97, 25 ms rectangular frames every 10 ms, 512-point power spectrum / 512,
26 triangular mel filters on the package's FFT bins, natural log, orthonormal DCT-II, 13 cepstra, lifter 22, c0
replaced by the log of the frame energy. Our own filterbank and DCT, not torchaudio's (whose mel scale, window
and framing differ). Frame k covers samples [160 k, 160 k + 400) as in the package; the package gives
4 T − 1 frames for T video frames (T·640 samples), we zero-pad the end by 240 samples so there are exactly
4 T (= samples // hop): frames 0 .. 4 T − 2 equal the package's, and video frame t owns MFCC steps 4t .. 4t + 3.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

import numpy as np
import torch

from avsec.errors import ConfigError
from avsec.features.stft import INT16_SCALE, stft

EPS = float(np.finfo(np.float64).eps)  # what python_speech_features puts in place of a zero energy
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


def as_tensor(audio: np.ndarray | torch.Tensor) -> torch.Tensor:
    """Audio in int16 units as a float tensor: int16 (or other integer) input becomes float32, float input is
    returned as it is (so a tensor that requires grad keeps its graph)."""
    x = torch.from_numpy(np.asarray(audio)) if not isinstance(audio, torch.Tensor) else audio
    return x if x.is_floating_point() else x.to(torch.float32)


def log_spectrogram(
    audio: np.ndarray | torch.Tensor,
    *,
    n_fft: int,
    hop: int,
    win_length: int | None = None,
    window: str = "hann",
    center: bool = True,
    eps: float = 1e-6,
) -> torch.Tensor:
    """log(|STFT| + eps) of audio (..., samples) in int16 units → (..., n_fft // 2 + 1, frames).

    Samples are scaled by 1/32768 first, so the magnitudes are those of :func:`avsec.features.stft.extract_stft`;
    the STFT is :func:`avsec.features.stft.stft` (centred frames: samples // hop + 1 of them).
    """
    x = as_tensor(audio) / INT16_SCALE
    spec = stft(x, n_fft=n_fft, hop=hop, win_length=win_length, window=window, center=center)
    return torch.log(spec.abs() + eps)


def mfcc(
    audio: np.ndarray | torch.Tensor,
    *,
    rate: int = 16000,
    n_mfcc: int = 13,
    hop: int = 160,
    win_length: int = 400,
    n_fft: int = 512,
    n_mels: int = 26,
    preemphasis: float = 0.97,
    lifter: int = 22,
) -> torch.Tensor:
    """SyncNet's MFCC (python_speech_features conventions, see the module docstring) of audio (..., samples)
    in int16 units → (..., n_mfcc, samples // hop); row 0 is the log frame energy.

    With the defaults, T video frames of audio (T·640 samples at 16 kHz) give exactly (13, 4 T).
    """
    if not 0 < hop <= win_length <= n_fft:
        raise ConfigError(f"MFCC needs 0 < hop <= win_length <= n_fft, got {hop}, {win_length}, {n_fft}")
    if not 0 < n_mfcc <= n_mels:
        raise ConfigError(f"n_mfcc must be in 1..n_mels ({n_mels}), got {n_mfcc}")
    x = as_tensor(audio)
    steps = x.shape[-1] // hop
    if steps == 0:
        raise ValueError(f"audio of {x.shape[-1]} samples is shorter than one {hop}-sample MFCC step")
    if preemphasis:
        x = torch.cat([x[..., :1], x[..., 1:] - preemphasis * x[..., :-1]], dim=-1)
    need = (steps - 1) * hop + win_length
    x = torch.nn.functional.pad(x, (0, need - x.shape[-1])) if need > x.shape[-1] else x[..., :need]
    frames = x.unfold(-1, win_length, hop)  # (..., steps, win_length), rectangular window
    spec = torch.fft.rfft(frames, n=n_fft)
    power = (spec.real.square() + spec.imag.square()) / n_fft
    mel = torch.tensor(_mel_filterbank(n_mels, n_fft, rate), dtype=power.dtype, device=power.device)
    dct = torch.tensor(_dct_matrix(n_mels, n_mfcc), dtype=power.dtype, device=power.device)
    ceps = torch.log((power @ mel.T).clamp_min(EPS)) @ dct.T  # (..., steps, n_mfcc)
    if lifter > 0:
        n = torch.arange(n_mfcc, dtype=power.dtype, device=power.device)
        ceps = ceps * (1 + lifter / 2 * torch.sin(torch.pi * n / lifter))
    energy = torch.log(power.sum(-1).clamp_min(EPS))
    ceps = torch.cat([energy.unsqueeze(-1), ceps[..., 1:]], dim=-1)
    return ceps.transpose(-1, -2)


def av_features(audio_int16: np.ndarray, frames: int, settings: Mapping | None = None) -> dict[str, np.ndarray]:
    """The audio features of one clip: ``mfcc`` float16 (13, 4·frames) for SyncNet and ``logspec`` float16
    (F, T') from :func:`log_spectrogram`.

    ``audio_int16`` must be exactly ``frames * rate / 25`` samples (what :func:`avsec.data.av_corpora.load_clip`
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


@functools.lru_cache(maxsize=8)
def _mel_filterbank(n_mels: int, n_fft: int, rate: int) -> np.ndarray:
    """python_speech_features' triangular mel filters (n_mels, n_fft // 2 + 1), 0 Hz to rate / 2, on FFT bins."""
    high = 2595.0 * np.log10(1 + (rate / 2) / 700.0)
    hz = 700.0 * (10 ** (np.linspace(0.0, high, n_mels + 2) / 2595.0) - 1)
    bins = np.floor((n_fft + 1) * hz / rate)
    bank = np.zeros((n_mels, n_fft // 2 + 1))
    for j in range(n_mels):
        left, centre, right = bins[j], bins[j + 1], bins[j + 2]
        for i in range(int(left), int(centre)):
            bank[j, i] = (i - left) / (centre - left)
        for i in range(int(centre), int(right)):
            bank[j, i] = (right - i) / (right - centre)
    bank.flags.writeable = False
    return bank


@functools.lru_cache(maxsize=8)
def _dct_matrix(n: int, k: int) -> np.ndarray:
    """The first ``k`` rows of the orthonormal DCT-II matrix of size ``n`` (scipy's ``dct(norm="ortho")``)."""
    i = np.arange(n)
    m = np.sqrt(2.0 / n) * np.cos(np.pi * np.arange(k)[:, None] * (2 * i[None, :] + 1) / (2 * n))
    m[0] /= np.sqrt(2.0)
    m.flags.writeable = False
    return m
