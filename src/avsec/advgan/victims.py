"""The two victims of paper 2: WideResNet-28-10 on a 32 × 32 MFCC image, SampleCNN on raw 16384-sample audio.

Both take float waveforms (B, 16384) in [-1, 1] (eq. 12) and return logits, so an attack's gradient flows from
the class scores back to the samples.
"""

from __future__ import annotations

from torch import nn

from avsec.dsp.mfcc import MFCC


class WideBasic(nn.Module):
    """Pre-activation wide residual block (BN-ReLU-conv3×3, dropout, BN-ReLU-conv3×3)."""

    def __init__(self, cin: int, cout: int, stride: int, dropout: float):
        super().__init__()
        self.bn1, self.conv1 = nn.BatchNorm2d(cin), nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn2, self.conv2 = nn.BatchNorm2d(cout), nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.dropout = nn.Dropout(dropout)
        self.relu = nn.ReLU()
        self.shortcut = None if (cin, stride) == (cout, 1) else nn.Conv2d(cin, cout, 1, stride, bias=False)

    def forward(self, x):
        out = self.relu(self.bn1(x))
        skip = x if self.shortcut is None else self.shortcut(out)
        out = self.conv1(out)
        out = self.conv2(self.dropout(self.relu(self.bn2(out))))
        return out + skip


class WideResNet(nn.Module):
    """WideResNet-depth-widen (Zagoruyko & Komodakis) over the MFCC front-end."""

    def __init__(
        self,
        classes: int,
        depth: int = 28,
        widen: int = 10,
        dropout: float = 0.3,
        rate: int = 16000,
        frame: int = 512,
        n_fft: int = 2048,
        n_filters: int = 32,
        n_cepstra: int = 32,
        preemphasis: float = 0.97,
        lifter: int = 22,
    ):
        super().__init__()
        if (depth - 4) % 6:
            raise ValueError(f"WideResNet depth must be 6n + 4, not {depth}")
        n = (depth - 4) // 6
        widths = [16, 16 * widen, 32 * widen, 64 * widen]
        # paper 2's MFCC: non-overlapping `frame`-sample frames, a 16384-sample clip → 32 × 32 (docs/protocols.md)
        self.mfcc = MFCC(
            rate=rate, hop=frame, win_length=frame, n_fft=n_fft, n_mels=n_filters, n_mfcc=n_cepstra,
            preemphasis=preemphasis, lifter=lifter,
        )  # fmt: skip
        layers: list[nn.Module] = [nn.Conv2d(1, widths[0], 3, 1, 1, bias=False)]
        for group, stride in zip(range(1, 4), (1, 2, 2), strict=True):
            for i in range(n):
                layers.append(
                    WideBasic(
                        widths[group - 1] if i == 0 else widths[group], widths[group], stride if i == 0 else 1, dropout
                    )
                )
        layers += [nn.BatchNorm2d(widths[3]), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten()]
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(widths[3], classes)

    def forward(self, x):
        return self.classifier(self.features(self.mfcc(x)))


def _sample_block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv1d(cin, cout, 3, 1, 1), nn.BatchNorm1d(cout), nn.ReLU(), nn.MaxPool1d(3, 2))


class SampleCNN(nn.Module):
    """SampleCNN on raw samples: conv k3 s2 (128), 9 × [conv k3 + BN + ReLU + maxpool 3/2], conv 512, FC 7680 → C.

    16384 samples → 8191 after the strided conv → 15 after nine poolings, so the last conv's 512 × 15 = 7680
    features feed the classifier (DESIGN.md §4).
    """

    CHANNELS = (128, 128, 128, 256, 256, 256, 256, 256, 256, 512)

    def __init__(self, classes: int, length: int = 16384, width: float = 1.0, dropout: float = 0.5, rate: int = 16384):
        """``rate`` is the clips' sampling rate, kept with the checkpoint; the network itself is rate-agnostic."""
        super().__init__()
        c = [max(1, round(ch * width)) for ch in self.CHANNELS]  # width < 1 only at smoke scale
        self.stem = nn.Sequential(nn.Conv1d(1, c[0], 3, 2), nn.BatchNorm1d(c[0]), nn.ReLU())
        self.blocks = nn.Sequential(*(_sample_block(c[i], c[i + 1]) for i in range(9)))
        self.head = nn.Sequential(nn.Conv1d(c[9], c[9], 3, 1, 1), nn.BatchNorm1d(c[9]), nn.ReLU(), nn.Flatten())
        steps = (length - 3) // 2 + 1
        for _ in range(9):
            steps = (steps - 3) // 2 + 1
        self.classifier = nn.Sequential(nn.Dropout(dropout), nn.Linear(c[9] * steps, classes))

    def forward(self, x):
        return self.classifier(self.head(self.blocks(self.stem(x[:, None]))))


VICTIMS = {"wideresnet": WideResNet, "samplecnn": SampleCNN}
