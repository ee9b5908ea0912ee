"""What the black-box attacks share: their result, chunked victim queries, seeded noise and the ±eps box."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from avsec.io.audio import INT16_SCALE

DEFAULT_EPS = 256 / INT16_SCALE  # Alzantot et al.'s noise bound: 256 of the int16 range (the low 8 bits)
DEFAULT_MAX_BATCH = 64


@dataclass
class AttackResult:
    """One attacked clip: the adversarial waveform (L,), whether the victim predicts the target for it, the number
    of single clips the victim scored, the generations/iterations run and the wall time in seconds."""

    adversarial: torch.Tensor
    success: bool
    queries: int
    iterations: int
    seconds: float


def query_logits(model: torch.nn.Module, waves: torch.Tensor, max_batch: int) -> torch.Tensor:
    """The victim's logits (B, C) as float32 for waveforms (B, L), in forward calls of at most ``max_batch`` clips.

    Black-box use only: call it under ``torch.no_grad()``.
    """
    if max_batch < 1:
        raise ValueError(f"max_batch must be at least 1, got {max_batch}")
    chunks = [model(chunk) for chunk in waves.split(max_batch)]
    logits = torch.cat(chunks).float()
    if logits.ndim != 2 or logits.shape[0] != waves.shape[0]:
        raise ValueError(f"the victim must map (B, L) waveforms to (B, C) logits, got {tuple(logits.shape)}")
    return logits


def uniform(shape: tuple[int, ...], generator: torch.Generator, device: torch.device) -> torch.Tensor:
    """Uniform [0, 1) float32 noise drawn on the generator's device and moved to ``device``.

    Drawing on the generator's device keeps a CPU-seeded attack identical whatever device the clip is on.
    """
    return torch.rand(shape, generator=generator, device=generator.device).to(device)


def perturbation_bounds(x: torch.Tensor, eps: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-sample bounds (lo, hi) of a perturbation δ with |δ| ≤ eps and x + δ in [-1, 1]."""
    if eps <= 0:
        raise ValueError(f"eps must be positive, got {eps}")
    lo = torch.clamp(-1.0 - x, min=-eps, max=0.0)
    hi = torch.clamp(1.0 - x, min=0.0, max=eps)
    return lo, hi


def check_clip(x: torch.Tensor, target: int) -> torch.Tensor:
    """The clip as a float32 tensor (L,), detached; rejects other shapes and a negative target."""
    if x.ndim != 1:
        raise ValueError(f"expected one clip of shape (L,), got {tuple(x.shape)}")
    if target < 0:
        raise ValueError(f"target must be a class index, got {target}")
    return x.detach().to(torch.float32)
