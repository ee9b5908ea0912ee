"""Paper 1's clips: the channel noise's level, and secrets paired with other clips."""

from __future__ import annotations

import numpy as np
import torch

from avsec.stego.clips import add_noise, derangement


def test_noise_level(tiny):
    x = torch.randn(2, tiny.length) * 0.1
    noisy = add_noise(x, 60.0, torch.Generator().manual_seed(0))
    snr = 10 * torch.log10(x.square().sum(1) / (noisy - x).square().sum(1))
    assert torch.allclose(snr, torch.full((2,), 60.0), atol=0.5)


def test_secrets_are_never_their_own_carrier():
    for n in (2, 3, 10):
        partner = derangement(n, np.random.default_rng(n))
        assert sorted(partner) == list(range(n)) and all(partner != np.arange(n))
