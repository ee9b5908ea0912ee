"""Paper 3, image in speech: the Hiding block, the Reveal block and the U-Net image enhancer.

Section 4.1 of the paper: the Hiding block passes the carrier magnitude spectrogram C through a stack of gated
convolutions (Dauphin et al.) and one greyscale image channel M through plain 3×3 convolutions (stride 1),
concatenates both and runs a downsampling encoder and an upsampling decoder with residual connections between
the blocks at the same scale; it outputs the embedded carrier Ĉ. The Reveal block has the same shape, ReLU
after every layer and a sigmoid on the last; it outputs the image M̂ from Ĉ. Section 4.2: a fully
convolutional U-Net (skips from encoder to decoder at each scale, ReLU) enhances revealed RGB images.

The paper gives no widths or depths; ``width`` (channels of the first scale, doubled per level), ``layers``
(convolutions before the encoder) and ``levels`` (downsamplings) are settings. All three networks are fully
convolutional: they take any height and width (padded inside to a multiple of ``2**levels``), so they can be
trained on crops and applied to the whole 512×513 spectrogram. The Hiding block predicts a change of the
carrier (Ĉ = C + H(C, M)), our choice: the paper's Ĉ must stay close to C, and a network that starts from the
identity gets there in far fewer steps.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from avsec.train import channels_last


class GatedConv2d(nn.Module):
    """A gated convolution (Dauphin et al. 2017): conv(x) · sigmoid(gate(x)), both 3×3, stride 1."""

    def __init__(self, cin: int, cout: int, kernel: int = 3):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel, padding=kernel // 2)
        self.gate = nn.Conv2d(cin, cout, kernel, padding=kernel // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x) * torch.sigmoid(self.gate(x))


def _plain(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1), nn.ReLU())


def _pad_to(x: torch.Tensor, multiple: int) -> tuple[torch.Tensor, tuple[int, int]]:
    h, w = x.shape[-2:]
    ph, pw = (-h) % multiple, (-w) % multiple
    return (F.pad(x, (0, pw, 0, ph), mode="replicate") if ph or pw else x), (h, w)


class ResidualCoder(nn.Module):
    """Downsampling encoder (3×3 stride-2 convolutions, channels doubled per level) and upsampling decoder
    (4×4 stride-2 transposed convolutions), the encoder's output at each scale added to the decoder's."""

    def __init__(self, channels: int, levels: int):
        super().__init__()
        if levels < 1:
            raise ValueError(f"levels must be at least 1, got {levels}")
        self.levels = levels
        widths = [channels * 2**i for i in range(levels + 1)]
        self.down = nn.ModuleList(
            nn.Sequential(nn.Conv2d(widths[i], widths[i + 1], 3, stride=2, padding=1), nn.ReLU()) for i in range(levels)
        )
        self.up = nn.ModuleList(
            nn.Sequential(nn.ConvTranspose2d(widths[i + 1], widths[i], 4, stride=2, padding=1), nn.ReLU())
            for i in reversed(range(levels))
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x, (h, w) = _pad_to(x, 2**self.levels)
        skips = []
        for down in self.down:
            skips.append(x)
            x = down(x)
        for up in self.up:
            x = up(x) + skips.pop()
        return x[..., :h, :w]


class HidingBlock(nn.Module):
    """H(C, M) → Ĉ: carrier (B, 1, T, F) and one image channel (B, 1, T, F) in [0, 1] to the embedded carrier."""

    def __init__(self, width: int = 32, layers: int = 2, levels: int = 4):
        super().__init__()
        self.carrier = nn.Sequential(*(GatedConv2d(1 if i == 0 else width, width) for i in range(layers)))
        self.image = nn.Sequential(*(_plain(1 if i == 0 else width, width) for i in range(layers)))
        self.coder = ResidualCoder(2 * width, levels)
        self.out = nn.Conv2d(2 * width, 1, 1)

    def forward(self, carrier: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
        features = torch.cat((self.carrier(carrier), self.image(image)), dim=1)
        return carrier + self.out(self.coder(features))


class RevealBlock(nn.Module):
    """R(Ĉ) → M̂ in [0, 1]: ReLU after every layer, sigmoid after the last."""

    def __init__(self, width: int = 32, layers: int = 2, levels: int = 4):
        super().__init__()
        self.prep = nn.Sequential(*(_plain(1 if i == 0 else width, width) for i in range(layers)))
        self.coder = ResidualCoder(width, levels)
        self.out = nn.Conv2d(width, 1, 1)

    def forward(self, embedded: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.out(self.coder(self.prep(embedded))))


class ImageStego(nn.Module):
    """The main model: the Hiding block and the Reveal block, trained together."""

    def __init__(self, width: int = 32, layers: int = 2, levels: int = 4):
        super().__init__()
        self.hide = HidingBlock(width, layers, levels)
        self.reveal = RevealBlock(width, layers, levels)
        channels_last(self)

    def forward(self, carrier: torch.Tensor, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        embedded = self.hide(carrier, image)
        return embedded, self.reveal(embedded)


def _double(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(_plain(cin, cout), _plain(cout, cout))


class Enhancer(nn.Module):
    """U-Net (Ronneberger et al.) on RGB images in [0, 1]: two 3×3 convolutions + ReLU per scale, max-pool down,
    transposed convolution up, the encoder's features concatenated at each scale; predicts a correction added
    to its input (clamp to [0, 1] when using the result as an image); the correction starts at zero."""

    def __init__(self, width: int = 32, levels: int = 4, channels: int = 3):
        super().__init__()
        self.levels = levels
        widths = [width * 2**i for i in range(levels + 1)]
        self.enc = nn.ModuleList(_double(channels if i == 0 else widths[i - 1], widths[i]) for i in range(levels))
        self.bottom = _double(widths[levels - 1], widths[levels])
        self.up = nn.ModuleList(
            nn.ConvTranspose2d(widths[i + 1], widths[i], 2, stride=2) for i in reversed(range(levels))
        )
        self.dec = nn.ModuleList(_double(2 * widths[i], widths[i]) for i in reversed(range(levels)))
        self.out = nn.Conv2d(widths[0], channels, 1)
        nn.init.zeros_(self.out.weight)  # starts as the identity: training can only start from the revealed image
        nn.init.zeros_(self.out.bias)
        channels_last(self)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        x, (h, w) = _pad_to(image, 2**self.levels)
        skips = []
        for enc in self.enc:
            x = enc(x)
            skips.append(x)
            x = F.max_pool2d(x, 2)
        x = self.bottom(x)
        for up, dec in zip(self.up, self.dec, strict=True):
            x = dec(torch.cat((up(x), skips.pop()), dim=1))
        return image + self.out(x)[..., :h, :w]


def parameter_count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())
