"""The torch STFT and its inverse, shared by the feature rule and the networks, and a log-magnitude spectrogram.

Paper 1 reads 32640-sample clips as 2×256×256 real/imag tensors (n_fft 510, hop 128, centred); paper 3 uses
magnitudes with n_fft 1024, window 1024, hop 31 on 16000 samples; paper 4's recognisers a log-magnitude STFT.
:func:`avsec.data.features.extract_stft` writes such features for prepared audio, and the networks call
:func:`stft`/:func:`istft` with the same settings.
"""

from __future__ import annotations

import numpy as np
import torch

from avsec.core.errors import ConfigError
from avsec.io.audio import INT16_SCALE

WINDOWS = {
    "hann": torch.hann_window,
    "hamming": torch.hamming_window,
    "blackman": torch.blackman_window,
    "rect": torch.ones,
}


def window_tensor(name: str, win_length: int, *, device=None, dtype=torch.float32) -> torch.Tensor:
    """The periodic analysis window ``name`` (hann, hamming, blackman, rect) of ``win_length`` samples."""
    if name not in WINDOWS:
        raise ConfigError(f"window must be one of {', '.join(WINDOWS)}, got {name!r}")
    if name == "rect":
        return torch.ones(win_length, device=device, dtype=dtype)
    return WINDOWS[name](win_length, periodic=True, device=device, dtype=dtype)


def stft(
    x: torch.Tensor,
    *,
    n_fft: int,
    hop: int,
    win_length: int | None = None,
    window: str = "hann",
    center: bool = True,
) -> torch.Tensor:
    """Complex STFT of real waveforms ``x`` (..., samples) → (..., n_fft // 2 + 1, frames).

    Centred frames use reflect padding; with ``center`` there are ``samples // hop + 1`` frames.
    """
    win_length = win_length or n_fft
    shape = x.shape
    flat = x.reshape(-1, shape[-1])
    spec = torch.stft(
        flat,
        n_fft=n_fft,
        hop_length=hop,
        win_length=win_length,
        window=window_tensor(window, win_length, device=x.device, dtype=x.dtype),
        center=center,
        pad_mode="reflect",
        return_complex=True,
    )
    return spec.reshape(*shape[:-1], *spec.shape[-2:])


def istft(
    spec: torch.Tensor,
    *,
    n_fft: int,
    hop: int,
    win_length: int | None = None,
    window: str = "hann",
    center: bool = True,
    length: int | None = None,
) -> torch.Tensor:
    """Inverse of :func:`stft` (same settings): complex (..., F, T) → real (..., ``length``)."""
    win_length = win_length or n_fft
    shape = spec.shape
    flat = spec.reshape(-1, *shape[-2:])
    real_dtype = flat.real.dtype
    x = torch.istft(
        flat,
        n_fft=n_fft,
        hop_length=hop,
        win_length=win_length,
        window=window_tensor(window, win_length, device=spec.device, dtype=real_dtype),
        center=center,
        length=length,
    )
    return x.reshape(*shape[:-2], x.shape[-1])


def to_channels(spec: torch.Tensor) -> torch.Tensor:
    """Complex (..., F, T) → real (..., 2, F, T) with real and imaginary parts as channels."""
    return torch.stack((spec.real, spec.imag), dim=-3)


def from_channels(channels: torch.Tensor) -> torch.Tensor:
    """Real (..., 2, F, T) → complex (..., F, T); inverse of :func:`to_channels`."""
    if channels.dtype in (torch.float16, torch.bfloat16):
        channels = channels.float()  # complex half is not supported everywhere
    return torch.complex(channels.select(-3, 0), channels.select(-3, 1))


def as_tensor(audio: np.ndarray | torch.Tensor) -> torch.Tensor:
    """Audio as a float tensor: integer input becomes float32, float input is returned as it is (so a tensor
    that requires grad keeps its graph)."""
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

    Samples are scaled by 1/32768 first, so the magnitudes are those of :func:`avsec.data.features.extract_stft`;
    the STFT is :func:`stft` (centred frames: samples // hop + 1 of them).
    """
    x = as_tensor(audio) / INT16_SCALE
    spec = stft(x, n_fft=n_fft, hop=hop, win_length=win_length, window=window, center=center)
    return torch.log(spec.abs() + eps)
