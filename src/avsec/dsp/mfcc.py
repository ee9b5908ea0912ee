"""The one MFCC: python_speech_features' recipe in torch, differentiable, used by paper 2's WideResNet front-end and
by paper 4's SyncNet features (docs/protocols.md gives each paper's settings).

The recipe (``python_speech_features.mfcc``): pre-emphasis, rectangular frames of ``win_length`` samples every
``hop`` samples, the ``n_fft``-point power spectrum divided by ``n_fft``, ``n_mels`` triangular mel filters placed
on the package's integer FFT bins over 0 … rate/2, natural log (a zero energy floored at float64's eps, as the
package does), orthonormal DCT-II, ``n_mfcc`` cepstra, sinusoidal lifter, and c0 replaced by the log frame energy.
Our own filterbank and DCT, not torchaudio's (whose mel scale, window and framing differ).

Framing: frame k covers samples [hop·k, hop·k + win_length), and there are ``samples // hop`` frames; where the
last ones reach beyond the clip it is zero-padded (python_speech_features gives one frame fewer there). With
paper 4's 25 ms frames every 10 ms, T video frames of audio (T·640 samples at 16 kHz) give exactly 4 T steps,
frames 0 … 4 T − 2 equal to the package's; with paper 2's non-overlapping 512-sample frames a 16384-sample clip
gives 32.

The input keeps its units (paper 2: [-1, 1] floats; paper 4: int16-scale floats); an integer array or tensor
becomes float32, a float tensor is used as it is, so one that requires grad keeps its graph.
"""

from __future__ import annotations

import functools

import numpy as np
import torch
from torch import nn

from avsec.core.errors import ConfigError
from avsec.dsp.stft import as_tensor

# python_speech_features' floor for a zero energy, numpy.finfo(float).eps (representable in float32): a silent,
# zero-padded frame gets log(2.2e-16) = -36.04, as the package gives it, not float32 eps' -15.94
EPS = float(np.finfo(np.float64).eps)


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
    """MFCC of audio (..., samples) → (..., n_mfcc, samples // hop); row 0 is the log frame energy.

    The defaults are python_speech_features' (and SyncNet's): 13 cepstra of 25 ms frames every 10 ms at 16 kHz.
    Computed in float32 even under autocast (the FFT and the log need it).
    """
    if not 0 < hop <= win_length <= n_fft:
        raise ConfigError(f"MFCC needs 0 < hop <= win_length <= n_fft, got {hop}, {win_length}, {n_fft}")
    if not 0 < n_mfcc <= n_mels:
        raise ConfigError(f"n_mfcc must be in 1..n_mels ({n_mels}), got {n_mfcc}")
    x = as_tensor(audio)
    steps = x.shape[-1] // hop
    if steps == 0:
        raise ValueError(f"audio of {x.shape[-1]} samples is shorter than one {hop}-sample MFCC step")
    with torch.autocast(x.device.type, enabled=False):
        return _mfcc(x, steps, rate, n_mfcc, hop, win_length, n_fft, n_mels, preemphasis, lifter)


def _mfcc(x, steps, rate, n_mfcc, hop, win_length, n_fft, n_mels, preemphasis, lifter) -> torch.Tensor:
    if preemphasis:
        x = torch.cat([x[..., :1], x[..., 1:] - preemphasis * x[..., :-1]], dim=-1)
    need = (steps - 1) * hop + win_length
    x = torch.nn.functional.pad(x, (0, need - x.shape[-1])) if need > x.shape[-1] else x[..., :need]
    if hop == win_length:  # non-overlapping frames: a reshape of the (contiguous) samples
        frames = x.unflatten(-1, (steps, win_length))
    else:
        frames = x.unfold(-1, win_length, hop)  # (..., steps, win_length), rectangular window
    spec = torch.fft.rfft(frames, n=n_fft)
    power = (spec.real.square() + spec.imag.square()) / n_fft
    mel = torch.tensor(mel_filterbank(n_mels, n_fft, rate), dtype=power.dtype, device=power.device)
    dct = torch.tensor(dct_matrix(n_mels, n_mfcc), dtype=power.dtype, device=power.device)
    ceps = torch.log((power @ mel.T).clamp_min(EPS)) @ dct.T  # (..., steps, n_mfcc)
    if lifter > 0:
        n = torch.arange(n_mfcc, dtype=power.dtype, device=power.device)
        ceps = ceps * (1 + lifter / 2 * torch.sin(torch.pi * n / lifter))
    energy = torch.log(power.sum(-1).clamp_min(EPS))
    ceps = torch.cat([energy.unsqueeze(-1), ceps[..., 1:]], dim=-1)
    return ceps.transpose(-1, -2)


class MFCC(nn.Module):
    """:func:`mfcc` with fixed settings as a network's front-end: waveforms (B, L) → MFCC images
    (B, 1, frames, n_mfcc), frames along the height (paper 2's 32 × 32 WideResNet input)."""

    def __init__(self, **settings):
        super().__init__()
        self.settings = settings

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return mfcc(x.float(), **self.settings).transpose(-1, -2).unsqueeze(1)


@functools.lru_cache(maxsize=8)
def mel_filterbank(n_mels: int, n_fft: int, rate: int) -> np.ndarray:
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
def dct_matrix(n: int, k: int) -> np.ndarray:
    """The first ``k`` rows of the orthonormal DCT-II matrix of size ``n``: ``x @ M.T`` is scipy's
    ``dct(x, type=2, norm="ortho")[..., :k]``."""
    i = np.arange(n)
    m = np.sqrt(2.0 / n) * np.cos(np.pi * np.arange(k)[:, None] * (2 * i[None, :] + 1) / (2 * n))
    m[0] /= np.sqrt(2.0)
    m.flags.writeable = False
    return m
