"""A differentiable MFCC front-end (python_speech_features' recipe), so an attack's gradient reaches the waveform.

DESIGN.md §4, paper 2: non-overlapping 512-sample frames (rectangular window), 2048-point FFT power spectrum
divided by the FFT size, 32 triangular mel filters on FFT bins over 0 … rate/2, log, DCT-II (orthonormal),
32 cepstra, sinusoidal lifter 22, and c0 replaced by the log frame energy. A 16384-sample clip becomes 32 × 32.
"""

from __future__ import annotations

import math

import torch
from torch import nn

# python_speech_features' floor for a zero energy, numpy.finfo(float).eps (representable in float32): a silent,
# zero-padded frame gets its log(2.2e-16) = -36.04, as the library gives it, not float32 eps' -15.94
EPS = 2.220446049250313e-16


def hz_to_mel(hz: float) -> float:
    return 2595.0 * math.log10(1.0 + hz / 700.0)


def mel_to_hz(mel: float) -> float:
    return 700.0 * (10.0 ** (mel / 2595.0) - 1.0)


def mel_filterbank(n_filters: int, n_fft: int, rate: int, low: float = 0.0, high: float | None = None) -> torch.Tensor:
    """Triangular filters on integer FFT bins, shape (n_filters, n_fft // 2 + 1)."""
    high = rate / 2 if high is None else high
    lo, hi = hz_to_mel(low), hz_to_mel(high)
    points = [lo + (hi - lo) * i / (n_filters + 1) for i in range(n_filters + 2)]
    bins = [math.floor((n_fft + 1) * mel_to_hz(m) / rate) for m in points]
    bank = torch.zeros(n_filters, n_fft // 2 + 1)
    for j in range(n_filters):
        left, centre, right = bins[j], bins[j + 1], bins[j + 2]
        for i in range(left, centre):
            bank[j, i] = (i - left) / (centre - left)
        for i in range(centre, right):
            bank[j, i] = (right - i) / (right - centre)
    return bank


def dct_matrix(n: int, n_out: int) -> torch.Tensor:
    """Orthonormal DCT-II as a matrix (n_out, n): ``y = x @ M.T`` is scipy's ``dct(x, type=2, norm='ortho')``."""
    k = torch.arange(n_out, dtype=torch.float64)[:, None]
    i = torch.arange(n, dtype=torch.float64)[None, :]
    m = torch.cos(math.pi * k * (2 * i + 1) / (2 * n)) * math.sqrt(2.0 / n)
    m[0] /= math.sqrt(2.0)
    return m.float()


class MFCC(nn.Module):
    """Waveform (B, L) in [-1, 1] → MFCC image (B, 1, frames, n_cepstra)."""

    def __init__(
        self,
        rate: int = 16000,
        frame: int = 512,
        n_fft: int = 2048,
        n_filters: int = 32,
        n_cepstra: int = 32,
        preemphasis: float = 0.97,
        lifter: int = 22,
    ):
        super().__init__()
        self.frame, self.n_fft, self.preemphasis = frame, n_fft, preemphasis
        self.register_buffer("filters", mel_filterbank(n_filters, n_fft, rate), persistent=False)
        self.register_buffer("dct", dct_matrix(n_filters, n_cepstra), persistent=False)
        n = torch.arange(n_cepstra, dtype=torch.float32)
        lift = 1 + (lifter / 2) * torch.sin(math.pi * n / lifter) if lifter > 0 else torch.ones(n_cepstra)
        self.register_buffer("lift", lift, persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with torch.autocast(x.device.type, enabled=False):  # FFT and log in float32 even under bf16 autocast
            return self._mfcc(x.float())

    def _mfcc(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.cat([x[:, :1], x[:, 1:] - self.preemphasis * x[:, :-1]], dim=1)
        frames = x[:, : x.shape[1] // self.frame * self.frame].unflatten(1, (-1, self.frame))
        power = torch.view_as_real(torch.fft.rfft(frames, n=self.n_fft)).square().sum(-1) / self.n_fft
        energy = power.sum(-1).clamp_min(EPS)
        feat = (power @ self.filters.T).clamp_min(EPS).log() @ self.dct.T
        feat = feat * self.lift
        feat = torch.cat([energy.log()[..., None], feat[..., 1:]], dim=-1)
        return feat[:, None]
