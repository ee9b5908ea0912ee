"""SyncNet (Chung & Zisserman 2016, "Out of time"): audio and lip embeddings whose L2 distance is small when
the 5-frame video window and the 0.2 s of audio (13 MFCC × 20 steps at 100 Hz) are in sync; its training, and
the offset and confidence that paper 4's detector scores every clip by.

Layers and names follow the public ``syncnet_python`` model (``netcnnaud``/``netfcaud`` on the MFCC image,
``netcnnlip``/``netfclip`` on the video window), so its published ``syncnet_v2.model`` state dict loads into
``SyncNet(width=1, channels=3, size=224)`` when the user has it (:func:`load_published`; nothing downloaded).
Our own networks take 88×88 grey mouth crops (``channels=1``, ``size=88``): the last lip convolution's kernel
is the spatial size left after the stack (6 for 224, 2 for 88), so it always ends at 1×1.

:func:`sync_distances` and :func:`offset_confidence` follow the paper's §4 and ``syncnet_python``: the L2
distance of every 5-frame video window's embedding to the audio embeddings ±15 frames around it (zero features
beyond the clip, as ``syncnet_python`` pads), averaged over the windows; offset = 15 − argmin, confidence =
median − min (docs/protocols.md, paper 4).

:func:`train_syncnet` (rule train_syncnet) trains it contrastively on in-sync and shifted windows of the
corpus's training clips (:class:`SyncTask`), or takes the published weights, and measures how well its
confidence separates each test clip's own audio from the other test clips' audio (:func:`sync_separation`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from avsec.avdetect.data import STEPS_PER_FRAME, AVClips, flushing_denormals, load_av
from avsec.avdetect.names import SPLITS
from avsec.core.errors import InputError
from avsec.data.av.roi import MEAN, STD, TEST_SIZE
from avsec.dsp.mfcc import mfcc
from avsec.io.atomic import write_text
from avsec.metrics.detection import auc
from avsec.train import TrainSettings, fit, load_checkpoint, load_state, save_checkpoint
from avsec.train.checkpoint import build_from

WINDOW = 5  # video frames per window
MFCC_STEPS = 20  # MFCC steps per window (4 per frame)
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
    """Offset = vshift − argmin of the mean distances (syncnet_python's sign), confidence = their median − their
    min (the paper's §4)."""
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


# ---- training and scoring ----------------------------------------------------------------------------------------
@dataclass
class SyncNetTraining:
    """Settings of :func:`train_syncnet` (rule train_syncnet's flags: config.yaml avdetect.syncnet and
    scales.<scale>.avdetect.syncnet, and --seed)."""

    epochs: int
    batch: int
    lr: float
    margin: float  # contrastive loss: d² in sync, max(margin − d, 0)² shifted
    min_shift: int  # shifted training pairs move the audio by min_shift..vshift frames
    vshift: int = VSHIFT
    width: float = 1.0
    size: int = 88
    embed: int = 1024
    published: str = ""  # a local syncnet_v2.model to use instead of training (never downloaded)
    seed: int = 1024
    device: str = "auto"
    bf16: bool = True
    checkpoint_every: int = 200


def sync_pairs(clips: AVClips, *, min_shift: int, vshift: int, seed: int) -> tuple[torch.Tensor, ...]:
    """Training rows (clip, start, shift, in_sync): every 5-frame window once in sync (shift 0) and once with
    its audio moved by a random shift of min_shift..vshift frames (either way) that stays inside the clip."""
    rng = np.random.default_rng(seed)
    frames = clips.video.shape[1]
    windows = frames - WINDOW + 1
    rows = []
    for clip in range(len(clips)):
        for start in range(windows):
            rows.append((clip, start, 0, 1))
            shifts = [s for s in range(-vshift, vshift + 1) if abs(s) >= min_shift and 0 <= start + s < windows]
            if shifts:
                rows.append((clip, start, int(rng.choice(shifts)), 0))
    table = torch.tensor(rows, dtype=torch.long)
    return tuple(table[:, i] for i in range(4))


def window_batch(video: torch.Tensor, coeffs: torch.Tensor, clip, start, shift) -> tuple[torch.Tensor, torch.Tensor]:
    """Video windows (B, 5, H, W) at ``start`` and MFCC windows (B, 1, 13, 20) at ``start + shift``."""
    frames = start[:, None] + torch.arange(WINDOW, device=start.device)
    lips = video[clip[:, None], frames].float()
    steps = STEPS_PER_FRAME * (start + shift)[:, None] + torch.arange(MFCC_STEPS, device=start.device)
    auds = coeffs.transpose(1, 2)[clip[:, None], steps].transpose(1, 2).unsqueeze(1).float()
    return lips, auds


class SyncTask:
    """SyncNet's contrastive training: d² for in-sync pairs, max(margin − d, 0)² for shifted ones."""

    def __init__(self, model: SyncNet, train: AVClips, val_rows, val: AVClips, *, lr: float, margin: float):
        self.model, self.margin = model, margin
        self.train, self.val, self.val_rows = train, val, val_rows
        self.modules = {"model": model}
        self.optimizers = {"model": torch.optim.Adam(model.parameters(), lr=lr)}
        self.schedulers = {}

    def distances(self, clips: AVClips, clip, start, shift):
        device = next(self.model.parameters()).device
        lips, auds = window_batch(clips.video.to(device), clips.mfcc.to(device), clip, start, shift)
        lip = self.model.forward_lip(self.model.prepare_video(lips))
        aud = self.model.forward_aud(auds)
        return torch.linalg.vector_norm(lip.float() - aud.float(), dim=1)

    def step(self, batch, epoch):
        clip, start, shift, in_sync = batch
        d = self.distances(self.train, clip, start, shift)
        y = in_sync.float()
        loss = (y * d.square() + (1 - y) * F.relu(self.margin - d).square()).mean()
        self.optimizers["model"].zero_grad(set_to_none=True)
        loss.backward()
        self.optimizers["model"].step()
        return {"loss": loss.item()}

    def end_epoch(self, epoch):
        device = next(self.model.parameters()).device
        rows = [r.to(device) for r in self.val_rows]
        d = self.distances(self.val, *rows[:3]).cpu()
        return {"val_pair_auc": auc(d.numpy(), 1 - rows[3].cpu().numpy())}  # shifted pairs should be farther


def build_syncnet(width: float = 1.0, channels: int = 1, size: int = 88, embed: int = 1024) -> SyncNet:
    return SyncNet(width=width, channels=channels, size=size, embed=embed)


def load_syncnet(path: str | Path, device: torch.device | str = "cpu") -> tuple[SyncNet, dict]:
    ckpt = load_checkpoint(path, "syncnet", require=("arch", "modules"))
    model = build_from(path, build_syncnet, **ckpt["arch"])
    load_state(path, model, ckpt["modules"].get("model", {}))
    return model.to(device).eval(), ckpt


def sync_scores(model: SyncNet, video: torch.Tensor, audio: torch.Tensor, vshift: int = 15) -> dict[str, list]:
    """SyncNet offset and confidence (:func:`offset_confidence`) of every clip: crops (N, T, H, W) in [0, 255] and
    audio (N, 640·T) in int16 units; the MFCC is computed from the audio (so adversarial audio is scored as heard)."""
    device = next(model.parameters()).device
    offsets, confidences = [], []
    with torch.inference_mode():
        for v, a in zip(video, audio, strict=True):
            coeffs = mfcc(a.float().to(device))
            lip, aud = model.embed_clip(v.float().to(device), coeffs)
            offset, confidence = offset_confidence(sync_distances(lip.float(), aud.float(), vshift), vshift)
            offsets.append(offset)
            confidences.append(confidence)
    return {"offset": offsets, "confidence": confidences}


@flushing_denormals
def train_syncnet(
    corpus: str, mouths: str | Path, audio: str | Path, out: str | Path, metrics: str | Path, settings: SyncNetTraining
) -> dict:
    """Train SyncNet on the corpus's training clips (or take the published weights from the local file
    ``settings.published``), then measure on the test clips how well its confidence separates in-sync audio from
    another clip's audio (AUC) and how often the in-sync offset is found within ±1 frame."""
    train, val, test = (load_av(mouths, audio, split) for split in SPLITS)
    arch = {"width": settings.width, "channels": 1, "size": settings.size, "embed": settings.embed}
    history: list = []
    torch.manual_seed(settings.seed)
    if settings.published:
        arch = {"width": 1.0, "channels": 3, "size": 224, "embed": 1024}
        model = load_published(Path(settings.published).expanduser(), build_syncnet(**arch))
    else:
        model = build_syncnet(**arch)
        fingerprint = {"corpus": corpus, "lr": settings.lr, "margin": settings.margin,
                       "min_shift": settings.min_shift, **arch}  # fmt: skip
        training = TrainSettings(settings.epochs, settings.batch, settings.seed, settings.device, settings.bf16,
                                 settings.checkpoint_every, fingerprint=fingerprint)  # fmt: skip
        resume = Path(f"{out}.resume")
        pairs = {"min_shift": settings.min_shift, "vshift": settings.vshift}
        val_rows = sync_pairs(val, **pairs, seed=settings.seed + 1)
        task = SyncTask(model, train, val_rows, val, lr=settings.lr, margin=settings.margin)
        rows = sync_pairs(train, **pairs, seed=settings.seed)
        history = fit(task, rows, training, resume, desc=f"{corpus} syncnet")
        resume.unlink(missing_ok=True)
    model.eval()
    result = {
        "corpus": corpus,
        "published": bool(settings.published),
        **sync_separation(model, test, settings.vshift),
        "history": history,
    }
    result["parameters"] = sum(p.numel() for p in model.parameters())
    save_checkpoint(
        out, {"kind": "syncnet", "corpus": corpus, "arch": arch, "modules": {"model": model.cpu().state_dict()}}
    )
    write_text(metrics, json.dumps(result, indent=2) + "\n")
    return result


def sync_separation(model: SyncNet, clips: AVClips, vshift: int = 15) -> dict:
    """Confidence of every clip with its own audio (in sync) and with each other clip's audio (out of sync):
    the AUC of telling them apart, their means, and the share of in-sync offsets within ±1 frame."""
    own = sync_scores(model, clips.video, clips.audio, vshift)
    n = len(clips)
    others = [(i, j) for i in range(n) for j in range(n) if i != j]
    mismatched = sync_scores(
        model, clips.video[[i for i, _ in others]], clips.audio[[j for _, j in others]], vshift
    ) if others else {"offset": [], "confidence": []}  # fmt: skip
    scores = own["confidence"] + mismatched["confidence"]
    labels = [1] * n + [0] * len(others)
    return {
        "sync_auc": auc(scores, labels),
        "in_sync_confidence": float(np.mean(own["confidence"])),
        "mismatched_confidence": float(np.mean(mismatched["confidence"])) if others else None,
        "offset_within_1": float(np.mean([abs(o) <= 1 for o in own["offset"]])),
        "test_clips": n,
        "mismatched_pairs": len(others),
    }
