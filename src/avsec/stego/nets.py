"""Encoder, decoder and steganalyzer of paper 1 (GAN audio-in-audio steganography), after the paper's Table 1.

All three read and write STFT spectrograms as real/imaginary channels (``avsec.dsp.stft.to_channels``):
(B, 2, F, T), 2 × 256 × 256 for the paper's 32640-sample clips.

- ``Convblock-n``: a 3 × 3 convolution to ``n`` channels + BatchNorm + ReLU (the paper's caption).
- ``InceptionBlock-n``: four parallel branches (1 × 1; 3 × 3; two 3 × 3, i.e. a 5 × 5 receptive field; 3 × 3
  max-pool + 1 × 1), concatenated to ``n`` channels, then BatchNorm + ReLU (the paper names the block and its
  width only; this is GoogLeNet's inception module with 3 × 3 convolutions).
- Encoder: carrier and secret spectrograms concatenated (4 channels) → Convblock-16 → InceptionBlock-32, -64,
  -128, -64, -32 → Convblock-32, -16, -16 → output layer.
- Decoder: stego spectrogram → Convblock-16, -32, -64, -128, -64, -32 → output layer.
- The output layer (the paper's "Convblock-1") is a plain 3 × 3 convolution to the 2 real/imaginary channels:
  a spectrogram has two channels and signed values, which a ReLU would clip.
- Steganalyzer: HPF / random first layer → Convblock-16, -32, -64 (each followed by 2 × 2 average pooling, so
  the fully connected layers stay finite; the paper gives no pooling) → adaptive average pooling to 5 × 5 →
  FC-1024 → FC-256 → FC-2 ("shallow but wide"), softmax in the loss. The first layer is a 5 × 5 convolution per
  input channel with the SRM kernels K3 and K5 of eqs. (1)–(2) (HPF, trainable after initialisation) or a
  random initialisation of the same shape (RAN).

``width`` scales every channel count and the FC widths (1 at paper scale; smaller only for the CPU smoke run).

The encoder and decoder multiply their input spectrograms by ``gain`` and divide their output by it (an input
normalisation the paper does not mention): 1 unless training is asked to ``normalise``, which sets it to 1 / RMS of
the training clips so the networks see unit-scale signals; it is saved with their weights (a buffer).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from avsec.train import channels_last

ENCODER_HEAD = 16
ENCODER_INCEPTION = (32, 64, 128, 64, 32)
ENCODER_TAIL = (32, 16, 16)
DECODER = (16, 32, 64, 128, 64, 32)
STEGANALYZER = (16, 32, 64)
STEGANALYZER_FC = (1024, 256)
POOLED = 5  # feature maps pooled to 5 × 5 before the FC layers: the three networks weigh ~9 MB ("10MB")
ANALYZERS = ("ran", "hpf")

# SRM high-pass kernels of eqs. (1) and (2). The paper prints K3's last row as (1 2 -1); the SRM kernel (and its
# zero sum) has (-1 2 -1).
K3 = torch.tensor([[-1.0, 2.0, -1.0], [2.0, -4.0, 2.0], [-1.0, 2.0, -1.0]]) / 4.0
K5 = (
    torch.tensor(
        [
            [-1.0, 2.0, -2.0, 2.0, -1.0],
            [2.0, -6.0, 8.0, -6.0, 2.0],
            [-2.0, 8.0, -12.0, 8.0, -2.0],
            [2.0, -6.0, 8.0, -6.0, 2.0],
            [-1.0, 2.0, -2.0, 2.0, -1.0],
        ]
    )
    / 12.0
)
SRM_KERNELS = (F.pad(K3, (1, 1, 1, 1)), K5)


def _scaled(channels: int | tuple[int, ...], width: float):
    if isinstance(channels, int):
        return max(2, round(channels * width))
    return [max(2, round(c * width)) for c in channels]


class Convblock(nn.Sequential):
    """3 × 3 convolution + BatchNorm + ReLU."""

    def __init__(self, cin: int, cout: int):
        super().__init__(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class InceptionBlock(nn.Module):
    """Four branches (1 × 1, 3 × 3, 3 × 3 → 3 × 3, max-pool → 1 × 1) concatenated to ``cout`` channels + BN + ReLU."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        quarter = cout // 4
        widths = (cout - 3 * quarter, quarter, quarter, quarter)
        self.branch1 = nn.Conv2d(cin, widths[0], 1, bias=False)
        self.branch3 = nn.Conv2d(cin, widths[1], 3, padding=1, bias=False)
        self.branch5 = nn.Sequential(
            nn.Conv2d(cin, widths[2], 3, padding=1, bias=False),
            nn.Conv2d(widths[2], widths[2], 3, padding=1, bias=False),
        )
        self.pool = nn.Sequential(nn.MaxPool2d(3, 1, 1), nn.Conv2d(cin, widths[3], 1, bias=False))
        self.norm = nn.Sequential(nn.BatchNorm2d(cout), nn.ReLU(inplace=True))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(torch.cat([self.branch1(x), self.branch3(x), self.branch5(x), self.pool(x)], dim=1))


class Encoder(nn.Module):
    """Carrier and secret spectrograms (B, 2, F, T) each → stego spectrogram (B, 2, F, T)."""

    def __init__(self, width: float = 1.0):
        super().__init__()
        head, inception, tail = (
            _scaled(ENCODER_HEAD, width),
            _scaled(ENCODER_INCEPTION, width),
            _scaled(ENCODER_TAIL, width),
        )
        layers: list[nn.Module] = [Convblock(4, head)]
        cin = head
        for c in inception:
            layers.append(InceptionBlock(cin, c))
            cin = c
        for c in tail:
            layers.append(Convblock(cin, c))
            cin = c
        layers.append(nn.Conv2d(cin, 2, 3, padding=1))
        self.layers = nn.Sequential(*layers)
        self.register_buffer("gain", torch.ones(()))
        channels_last(self)

    def forward(self, carrier: torch.Tensor, secret: torch.Tensor) -> torch.Tensor:
        return self.layers(torch.cat([carrier, secret], dim=1) * self.gain) / self.gain


class Decoder(nn.Module):
    """Stego spectrogram (B, 2, F, T) → revealed secret spectrogram (B, 2, F, T)."""

    def __init__(self, width: float = 1.0):
        super().__init__()
        layers: list[nn.Module] = []
        cin = 2
        for c in _scaled(DECODER, width):
            layers.append(Convblock(cin, c))
            cin = c
        layers.append(nn.Conv2d(cin, 2, 3, padding=1))
        self.layers = nn.Sequential(*layers)
        self.register_buffer("gain", torch.ones(()))
        channels_last(self)

    def forward(self, stego: torch.Tensor) -> torch.Tensor:
        return self.layers(stego * self.gain) / self.gain


class Steganalyzer(nn.Module):
    """Spectrogram (B, 2, F, T) → two logits (carrier, stego); softmax / cross-entropy in the loss (eq. 6)."""

    def __init__(self, analyzer: str = "hpf", width: float = 1.0):
        super().__init__()
        if analyzer not in ANALYZERS:
            raise ValueError(f"steganalyzer first layer must be one of {', '.join(ANALYZERS)}, not {analyzer!r}")
        self.analyzer = analyzer
        kernels = len(SRM_KERNELS)
        self.hpf = nn.Conv2d(2, 2 * kernels, 5, padding=2, groups=2, bias=False)
        if analyzer == "hpf":
            with torch.no_grad():
                self.hpf.weight.copy_(torch.stack(SRM_KERNELS * 2)[:, None])
        layers: list[nn.Module] = []
        cin = 2 * kernels
        for c in _scaled(STEGANALYZER, width):
            layers += [Convblock(cin, c), nn.AvgPool2d(2)]
            cin = c
        layers.append(nn.AdaptiveAvgPool2d(POOLED))
        self.features = nn.Sequential(*layers)
        fc = _scaled(STEGANALYZER_FC, width)
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(cin * POOLED * POOLED, fc[0]),
            nn.ReLU(inplace=True),
            nn.Linear(fc[0], fc[1]),
            nn.ReLU(inplace=True),
            nn.Linear(fc[1], 2),
        )
        channels_last(self)

    def forward(self, spec: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(self.hpf(spec)))


def parameter_count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())
