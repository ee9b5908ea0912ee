"""SyncNet (Chung & Zisserman 2016, "Out of time"): audio and lip embeddings whose L2 distance is small when
the 5-frame video window and the 0.2 s of audio (13 MFCC × 20 steps at 100 Hz) are in sync.

Layers and names follow the public ``syncnet_python`` model (``netcnnaud``/``netfcaud`` on the MFCC image,
``netcnnlip``/``netfclip`` on the video window), so its published ``syncnet_v2.model`` state dict loads into
``SyncNet(width=1, channels=3, size=224)`` when the user has it (:func:`load_published`; nothing downloaded).
Our own networks take 88×88 grey mouth crops (``channels=1``, ``size=88``): the last lip convolution's kernel
is the spatial size left after the stack (6 for 224, 2 for 88), so it always ends at 1×1.

:func:`sync_distances` and :func:`offset_confidence` are DESIGN.md §4 exactly: the L2 distance of every 5-frame
video window's embedding to the audio embeddings ±15 frames around it (zero features beyond the clip, as
``syncnet_python`` pads), averaged over the windows; offset = 15 − argmin, confidence = median − min.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from avsec.core.errors import InputError
from avsec.data.av.mouth import MEAN, STD, TEST_SIZE

WINDOW = 5  # video frames per window
MFCC_STEPS = 20  # MFCC steps per window (4 per frame)
STEPS_PER_FRAME = 4
VSHIFT = 15  # offsets searched: ±15 frames


def _ch(channels: int, width: float) -> int:
    return max(1, round(channels * width))


def _lip_spatial(size: int) -> int:
    """Spatial size entering the last lip convolution for a size × size input."""
    x = (size - 7) // 2 + 1  # conv 7×7 stride 2
    x = (x - 3) // 2 + 1  # max-pool 3 stride 2
    x = (x + 2 - 5) // 2 + 1  # conv 5×5 stride 2 padding 1
    x = (x + 2 - 3) // 2 + 1  # max-pool 3 stride 2 padding 1
    return (x - 3) // 2 + 1  # max-pool 3 stride 2


class SyncNet(nn.Module):
    """The two SyncNet streams; ``forward_aud`` (B, 1, 13, 20) and ``forward_lip`` (B, C, 5, H, W) → (B, embed)."""

    def __init__(self, width: float = 1.0, channels: int = 1, size: int = TEST_SIZE, embed: int = 1024):
        super().__init__()
        if _lip_spatial(size) < 1:
            raise ValueError(f"SyncNet input size {size} is too small (at least 52)")
        a = [_ch(c, width) for c in (64, 192, 384, 256, 256, 512)]
        v = [_ch(c, width) for c in (96, 256, 256, 256, 256, 512)]
        fc = _ch(512, width)
        self.size, self.channels = size, channels
        bn, relu = nn.BatchNorm2d, nn.ReLU
        self.netcnnaud = nn.Sequential(
            nn.Conv2d(1, a[0], 3, 1, 1), bn(a[0]), relu(inplace=True), nn.MaxPool2d(1, 1),
            nn.Conv2d(a[0], a[1], 3, 1, 1), bn(a[1]), relu(inplace=True), nn.MaxPool2d(3, (1, 2)),
            nn.Conv2d(a[1], a[2], 3, padding=1), bn(a[2]), relu(inplace=True),
            nn.Conv2d(a[2], a[3], 3, padding=1), bn(a[3]), relu(inplace=True),
            nn.Conv2d(a[3], a[4], 3, padding=1), bn(a[4]), relu(inplace=True), nn.MaxPool2d(3, 2),
            nn.Conv2d(a[4], a[5], (5, 4), padding=0), bn(a[5]), relu(inplace=True),
        )  # fmt: skip
        self.netfcaud = nn.Sequential(nn.Linear(a[5], fc), nn.BatchNorm1d(fc), relu(), nn.Linear(fc, embed))
        bn3 = nn.BatchNorm3d
        last = _lip_spatial(size)
        self.netcnnlip = nn.Sequential(
            nn.Conv3d(channels, v[0], (5, 7, 7), (1, 2, 2), 0), bn3(v[0]), relu(inplace=True),
            nn.MaxPool3d((1, 3, 3), (1, 2, 2)),
            nn.Conv3d(v[0], v[1], (1, 5, 5), (1, 2, 2), (0, 1, 1)), bn3(v[1]), relu(inplace=True),
            nn.MaxPool3d((1, 3, 3), (1, 2, 2), (0, 1, 1)),
            nn.Conv3d(v[1], v[2], (1, 3, 3), padding=(0, 1, 1)), bn3(v[2]), relu(inplace=True),
            nn.Conv3d(v[2], v[3], (1, 3, 3), padding=(0, 1, 1)), bn3(v[3]), relu(inplace=True),
            nn.Conv3d(v[3], v[4], (1, 3, 3), padding=(0, 1, 1)), bn3(v[4]), relu(inplace=True),
            nn.MaxPool3d((1, 3, 3), (1, 2, 2)),
            nn.Conv3d(v[4], v[5], (1, last, last), padding=0), bn3(v[5]), relu(inplace=True),
        )  # fmt: skip
        self.netfclip = nn.Sequential(nn.Linear(v[5], fc), nn.BatchNorm1d(fc), relu(), nn.Linear(fc, embed))

    def forward_aud(self, mfcc_windows: torch.Tensor) -> torch.Tensor:
        return self.netfcaud(self.netcnnaud(mfcc_windows).flatten(1))

    def forward_lip(self, video_windows: torch.Tensor) -> torch.Tensor:
        return self.netfclip(self.netcnnlip(video_windows).flatten(1))

    def prepare_video(self, video: torch.Tensor) -> torch.Tensor:
        """Grey crops (B, T, H, W) in [0, 255] → (B, C, T, size, size): the 88×88 centre crop (as the
        recogniser sees), resized to ``size`` when that differs, normalised, repeated to ``channels``."""
        b, t, h, w = video.shape
        crop = min(TEST_SIZE, h, w)
        top, left = (h - crop) // 2, (w - crop) // 2
        x = video[:, :, top : top + crop, left : left + crop]
        if crop != self.size:
            x = F.interpolate(x, size=(self.size, self.size), mode="bilinear", align_corners=False)
        x = ((x / 255.0 - MEAN) / STD).unsqueeze(1)
        return x.expand(-1, self.channels, -1, -1, -1)

    def embed_clip(self, video: torch.Tensor, mfcc: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Embeddings of every 5-frame window of one clip: video (T, H, W), MFCC (13, 4·T) → two (T − 4, embed)."""
        t = video.shape[0]
        windows = t - WINDOW + 1
        x = self.prepare_video(video.unsqueeze(0))[0]  # (C, T, S, S)
        lips = torch.stack([x[:, i : i + WINDOW] for i in range(windows)])
        auds = torch.stack(
            [mfcc[:, STEPS_PER_FRAME * i : STEPS_PER_FRAME * i + MFCC_STEPS] for i in range(windows)]
        ).unsqueeze(1)
        return self.forward_lip(lips), self.forward_aud(auds)


def sync_distances(lip: torch.Tensor, aud: torch.Tensor, vshift: int = VSHIFT) -> torch.Tensor:
    """Mean over windows of the L2 distance from each video window to the audio windows at offsets −vshift ..
    +vshift (audio features beyond the clip are zeros, as syncnet_python pads them) → (2·vshift + 1,)."""
    padded = F.pad(aud, (0, 0, vshift, vshift))
    n = len(lip)
    dists = torch.stack([torch.linalg.vector_norm(lip[i] - padded[i : i + 2 * vshift + 1], dim=-1) for i in range(n)])
    return dists.mean(0)


def offset_confidence(mean_dists: torch.Tensor, vshift: int = VSHIFT) -> tuple[int, float]:
    """DESIGN.md §4: offset = vshift − argmin of the mean distances, confidence = their median − their min."""
    minval, minidx = torch.min(mean_dists, 0)
    return int(vshift - minidx), float(torch.median(mean_dists) - minval)


def load_published(path: str | Path, model: SyncNet) -> SyncNet:
    """Copy the published syncnet_python weights (a state dict, read with weights_only=True) into ``model``,
    which must be ``SyncNet(width=1, channels=3, size=224)``; one line naming the file on any mismatch."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "published SyncNet weights not found (syncnet.published: give a local file)")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unreadable file becomes one line
        raise InputError(path, f"unreadable SyncNet weights ({type(exc).__name__})") from None
    if not isinstance(state, dict):
        raise InputError(path, "not a state dict of SyncNet weights")
    own = model.state_dict()
    missing = [k for k in own if k not in state]
    if missing:
        raise InputError(path, f"not SyncNet weights (no {missing[0]!r})")
    try:
        model.load_state_dict({k: state[k] for k in own})
    except RuntimeError as exc:
        raise InputError(path, f"does not fit SyncNet(width=1, channels=3, size=224) ({str(exc)[:160]})") from None
    return model
