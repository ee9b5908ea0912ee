"""Paper 4's audiovisual speech recognisers (Ma, Petridis & Pantic 2019, the paper's ref. [15]).

Video stream: a spatiotemporal (3-D) convolution front-end, a ResNet-18 applied to every frame and a 2-layer
BGRU. Audio stream: a 5-layer 1-D CNN on the raw waveform (downsampling 640×, so one feature per 25 fps video
frame) and a 2-layer BGRU. Fusion: the two streams' outputs concatenated per frame into a 2-layer BGRU.
Heads: word-level (LRW) logits averaged over time, trained with cross-entropy; sentence-level (GRID) per-frame
character log-probabilities for CTC, decoded greedily.

Inputs are in the attacks' units: video (B, T, H, W) grey pixel values in [0, 255] (float, so a perturbation
keeps its gradient; the 96×96 crops are centre-cropped to 88×88 and normalised by mean 0.421 / std 0.165
inside the model), audio (B, 640·T) samples in int16 units (scaled by 1/32768 inside the model).
``width`` < 1 narrows every convolution (smoke scale only); the paper's networks are ``width=1``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from avsec.data.av.mouth import MEAN, STD, TEST_SIZE
from avsec.io.audio import INT16_SCALE

SAMPLES_PER_FRAME = 640  # 16 kHz / 25 fps
BLANK = "_"  # the CTC blank
CHARACTERS = BLANK + " abcdefghijklmnopqrstuvwxyz"  # GRID's sentences: lower-case letters and spaces


def _ch(channels: int, width: float) -> int:
    return max(1, round(channels * width))


class BasicBlock(nn.Module):
    """ResNet's basic block: two 3×3 convolutions with BN, identity or 1×1 projection shortcut."""

    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = (
            None
            if (cin, stride) == (cout, 1)
            else nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
        )

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + (x if self.downsample is None else self.downsample(x)))


class ResNet18(nn.Module):
    """The per-frame ResNet-18 trunk (four stages of two basic blocks, 64-128-256-512 channels, global pool)."""

    def __init__(self, cin: int, width: float = 1.0):
        super().__init__()
        widths = [_ch(c, width) for c in (64, 128, 256, 512)]
        layers, prev = [], cin
        for stage, (channels, stride) in enumerate(zip(widths, (1, 2, 2, 2), strict=True)):
            layers.append(nn.Sequential(BasicBlock(prev, channels, stride), BasicBlock(channels, channels, 1)))
            setattr(self, f"layer{stage + 1}", layers[-1])
            prev = channels
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.out_features = prev

    def forward(self, x):
        for stage in range(1, 5):
            x = getattr(self, f"layer{stage}")(x)
        return self.pool(x).flatten(1)


class BGRU(nn.Module):
    """A bidirectional GRU over (B, T, F) → (B, T, 2·hidden)."""

    def __init__(self, features: int, hidden: int, layers: int = 2):
        super().__init__()
        self.gru = nn.GRU(features, hidden, num_layers=layers, batch_first=True, bidirectional=True)
        self.out_features = 2 * hidden

    def forward(self, x):
        return self.gru(x)[0]


class SpatioTemporalConv(nn.Conv3d):
    """A Conv3d with temporal stride 1, computed as a 2-D convolution over the frames stacked with their
    temporal neighbours as channels: the same weights and result, but its input gradient (what every attack
    step needs) is ~10× faster on a CPU than PyTorch's direct 3-D convolution backward."""

    def forward(self, x):
        if self.stride[0] != 1 or self.groups != 1 or self.dilation != (1, 1, 1):
            return super().forward(x)
        b, cin, t, h, w = x.shape
        kt, pt = self.kernel_size[0], self.padding[0]
        x = F.pad(x, (0, 0, 0, 0, pt, pt))
        steps = t + 2 * pt - kt + 1
        x = x.unfold(2, kt, 1)  # (B, Cin, T', H, W, kt)
        x = x.permute(0, 2, 1, 5, 3, 4).reshape(b * steps, cin * kt, h, w)
        weight = self.weight.reshape(self.out_channels, cin * kt, *self.kernel_size[1:])
        y = F.conv2d(x, weight, self.bias, self.stride[1:], self.padding[1:])
        return y.view(b, steps, *y.shape[1:]).transpose(1, 2)


class VideoStream(nn.Module):
    """Conv3d(1→64, 5×7×7, stride 1×2×2) + BN + ReLU + max-pool 1×3×3, ResNet-18 per frame, 2-layer BGRU."""

    def __init__(self, width: float = 1.0, hidden: int = 256, crop: int = TEST_SIZE):
        super().__init__()
        c = _ch(64, width)
        self.crop = crop
        self.frontend = nn.Sequential(
            SpatioTemporalConv(1, c, (5, 7, 7), (1, 2, 2), (2, 3, 3), bias=False),
            nn.BatchNorm3d(c),
            nn.ReLU(inplace=True),
            nn.MaxPool3d((1, 3, 3), (1, 2, 2), (0, 1, 1)),
        )
        self.resnet = ResNet18(c, width)
        self.bgru = BGRU(self.resnet.out_features, hidden)
        self.out_features = self.bgru.out_features

    def forward(self, video):
        b, t, h, w = video.shape
        top, left = (h - self.crop) // 2, (w - self.crop) // 2
        x = video[:, :, top : top + self.crop, left : left + self.crop]
        x = (x / 255.0 - MEAN) / STD
        x = self.frontend(x.unsqueeze(1))  # (B, C, T, H', W')
        x = x.transpose(1, 2).flatten(0, 1)  # (B·T, C, H', W')
        x = self.resnet(x).view(b, t, -1)
        return self.bgru(x)


class AudioStream(nn.Module):
    """Five Conv1d + BN + ReLU layers on the raw waveform, strides 4·4·4·2·5 = 640 (one step per video frame),
    kernels twice the stride; then a 2-layer BGRU."""

    CHANNELS = (64, 128, 256, 256, 512)
    STRIDES = (4, 4, 4, 2, 5)

    def __init__(self, width: float = 1.0, hidden: int = 256):
        super().__init__()
        layers, prev = [], 1
        for channels, stride in zip(self.CHANNELS, self.STRIDES, strict=True):
            c = _ch(channels, width)
            layers += [nn.Conv1d(prev, c, 2 * stride, stride, -(-stride // 2), bias=False), nn.BatchNorm1d(c)]
            layers.append(nn.ReLU(inplace=True))
            prev = c
        self.frontend = nn.Sequential(*layers)
        self.bgru = BGRU(prev, hidden)
        self.out_features = self.bgru.out_features

    def forward(self, audio):
        x = self.frontend((audio / INT16_SCALE).unsqueeze(1))  # (B, C, T)
        return self.bgru(x.transpose(1, 2))


class AVRecogniser(nn.Module):
    """Video and audio streams, concatenated per frame, a fusion 2-layer BGRU and a linear head.

    ``head="word"``: (B, classes) logits, the per-frame outputs averaged over time (cross-entropy).
    ``head="ctc"``: (B, T, classes) per-frame log-probabilities, class 0 the blank (CTC).
    """

    HEADS = ("word", "ctc")

    def __init__(self, classes: int, head: str = "word", width: float = 1.0, hidden: int = 256):
        super().__init__()
        if head not in self.HEADS:
            raise ValueError(f"head must be one of {', '.join(self.HEADS)}, not {head!r}")
        self.head = head
        self.video = VideoStream(width, hidden)
        self.audio = AudioStream(width, hidden)
        self.fusion = BGRU(self.video.out_features + self.audio.out_features, hidden)
        self.classifier = nn.Linear(self.fusion.out_features, classes)

    def forward(self, video, audio):
        if audio.shape[-1] != SAMPLES_PER_FRAME * video.shape[1]:
            raise ValueError(
                f"audio of {audio.shape[-1]} samples does not match {video.shape[1]} video frames "
                f"({SAMPLES_PER_FRAME} samples per frame)"
            )
        fused = self.fusion(torch.cat([self.video(video), self.audio(audio)], dim=-1))
        out = self.classifier(fused)
        return out.mean(1) if self.head == "word" else out.log_softmax(-1)


def encode_text(text: str) -> list[int]:
    """A GRID sentence as character indices (1..27); other characters are dropped."""
    return [CHARACTERS.index(c) for c in text.lower() if c in CHARACTERS[1:]]


def greedy_decode(log_probs: torch.Tensor) -> list[str]:
    """Best path of (B, T, C) CTC outputs: argmax per frame, repeats merged, blanks removed, spaces squeezed."""
    out = []
    for path in log_probs.argmax(-1).tolist():
        chars = [CHARACTERS[c] for i, c in enumerate(path) if c != 0 and (i == 0 or c != path[i - 1])]
        out.append(" ".join("".join(chars).split()))
    return out
