"""Generator and discriminator of paper 2 (SpeechAdvGan), as we read them from the authors' code
(docs/protocols.md, paper 2).

Generator: a 1-D U-Net. Encoder 8 × Conv1d(k32, s2, p15) with 16, 32, 32, 64, 64, 128, 128, 256 channels and
PReLU; decoder 7 × ConvTranspose1d(k32, s2, p15) to 128, 128, 64, 64, 32, 32, 16 channels, each followed by
PReLU and concatenated with the encoder output of the same length; a last ConvTranspose1d to one channel and
tanh gives the perturbation. Discriminator: 11 × Conv1d(k31, s2, p15) with 32 … 2048 channels, BN and
LeakyReLU(0.03), dropout 0.5 after the 3rd, 6th and 9th; a 1 × 1 conv to one channel; Linear(8, 1). Both
networks start from Xavier-normal weights and zero biases (Algorithm 1, line 1); the discriminator can keep
PyTorch's default (``init="default"``, the smoke scale's choice: docs/protocols.md). ``width`` scales every channel
count (1 at paper scale, smaller only for the CPU smoke run).
"""

from __future__ import annotations

import torch
from torch import nn

ENCODER = (16, 32, 32, 64, 64, 128, 128, 256)
DECODER = (128, 128, 64, 64, 32, 32, 16)
DISCRIMINATOR = (32, 64, 64, 128, 128, 256, 256, 512, 512, 1024, 2048)
INITS = ("xavier", "default")  # the discriminator's: Algorithm 1's Xavier, or PyTorch's default (the smoke scale)


def _scaled(channels: tuple[int, ...], width: float) -> list[int]:
    return [max(1, round(c * width)) for c in channels]


def _xavier(net: nn.Module) -> None:
    """Algorithm 1, line 1: Xavier-normal weights and zero biases for every convolution and linear layer."""
    for m in net.modules():
        if isinstance(m, (nn.Conv1d, nn.ConvTranspose1d, nn.Linear)):
            nn.init.xavier_normal_(m.weight)
            nn.init.zeros_(m.bias)


class Generator(nn.Module):
    """Clean waveform (B, L) in [-1, 1] → perturbation (B, L) in (-1, 1); L a multiple of 256."""

    def __init__(self, width: float = 1.0):
        super().__init__()
        enc, dec = _scaled(ENCODER, width), _scaled(DECODER, width)
        self.encoder = nn.ModuleList()
        cin = 1
        for c in enc:
            self.encoder.append(nn.Sequential(nn.Conv1d(cin, c, 32, 2, 15), nn.PReLU(c)))
            cin = c
        self.decoder = nn.ModuleList()
        for c, skip in zip(dec, reversed(enc[:-1]), strict=True):
            self.decoder.append(nn.Sequential(nn.ConvTranspose1d(cin, c, 32, 2, 15), nn.PReLU(c)))
            cin = c + skip
        self.out = nn.ConvTranspose1d(cin, 1, 32, 2, 15)
        _xavier(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, skips = x[:, None], []
        for layer in self.encoder:
            h = layer(h)
            skips.append(h)
        for layer, skip in zip(self.decoder, reversed(skips[:-1]), strict=True):
            h = torch.cat([layer(h), skip], dim=1)
        return torch.tanh(self.out(h))[:, 0]


class Discriminator(nn.Module):
    """Waveform (B, 16384) → one realness score per clip (B,): a logit, read by the LSGAN or BCE loss."""

    def __init__(self, width: float = 1.0, length: int = 16384, init: str = "xavier"):
        super().__init__()
        if init not in INITS:
            raise ValueError(f"discriminator init must be one of {', '.join(INITS)}, not {init!r}")
        layers: list[nn.Module] = []
        cin = 1
        for i, c in enumerate(_scaled(DISCRIMINATOR, width), start=1):
            layers += [nn.Conv1d(cin, c, 31, 2, 15), nn.BatchNorm1d(c), nn.LeakyReLU(0.03)]
            if i in (3, 6, 9):
                layers.append(nn.Dropout(0.5))
            cin = c
        layers += [nn.Conv1d(cin, 1, 1), nn.Flatten()]
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(length >> len(DISCRIMINATOR), 1)
        if init == "xavier":
            _xavier(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x[:, None]))[:, 0]
