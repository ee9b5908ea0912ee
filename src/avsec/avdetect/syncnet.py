"""SyncNet (Chung & Zisserman 2016, "Out of time"): audio and lip embeddings whose L2 distance is small when
the 5-frame video window and the 0.2 s of audio (13 MFCC × 20 steps at 100 Hz) are in sync; its training, and
the offset and confidence that paper 4's detector scores every clip by.

Layers and names follow the public ``syncnet_python`` model (``netcnnaud``/``netfcaud`` on the MFCC image,
``netcnnlip``/``netfclip`` on the video window), so its published ``syncnet_v2.model`` state dict loads into
``SyncNet(width=1, channels=3, size=224)`` when the user has it (:func:`load_published`; nothing downloaded).
Our own networks take 88×88 grey mouth crops (``channels=1``, ``size=88``): the last lip convolution's kernel
is the spatial size left after the stack (6 for 224, 2 for 88), so it always ends at 1×1.

:func:`sync_distances` and :func:`offset_confidence` follow the paper's §4 and ``syncnet_python``: the L2
distance of every 5-frame video window's embedding to the audio embeddings ±vshift (25) frames around it (zero features
beyond the clip, as ``syncnet_python`` pads), averaged over the windows; offset = vshift − argmin, confidence =
median − min (docs/protocols.md, paper 4).

:func:`train_syncnet` (rule train_syncnet) trains it contrastively on in-sync and shifted windows of the
corpus's training clips (:class:`SyncTask`, windows read from the shards batch by batch by
:class:`SyncWindows`), or takes the published weights, and measures how well its confidence separates each
test clip's own audio from a seeded sample of the other test clips' audio (:func:`sync_separation`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import Dataset

from avsec.avdetect.data import SAMPLES_PER_FRAME, STEPS_PER_FRAME, AVClips, flushing_denormals, load_av
from avsec.avdetect.names import SPLITS
from avsec.core.errors import InputError
from avsec.data.av.roi import MEAN, STD, TEST_SIZE
from avsec.dsp.mfcc import mfcc
from avsec.io.atomic import write_text
from avsec.metrics.detection import auc
from avsec.train import TrainSettings, fit, load_checkpoint, load_state, save_checkpoint
from avsec.train.checkpoint import build_from
from avsec.train.history import HistoryLog

WINDOW = 5  # video frames per window
MFCC_STEPS = 20  # MFCC steps per window (4 per frame)
VSHIFT = 25  # offsets searched: ±25 frames, the paper's ±1 s at 25 fps (config.yaml avdetect.syncnet.vshift)


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

    def embed_video(self, video: torch.Tensor) -> torch.Tensor:
        """Embeddings of every 5-frame window of each clip: crops (B, T, H, W) → (B, T − 4, embed)."""
        b, t = video.shape[:2]
        x = self.prepare_video(video)  # (B, C, T, S, S)
        lips = x.unfold(2, WINDOW, 1).permute(0, 2, 1, 5, 3, 4)  # (B, T − 4, C, 5, S, S)
        return self.forward_lip(lips.reshape(-1, *lips.shape[2:])).view(b, t - WINDOW + 1, -1)

    def embed_audio(self, coeffs: torch.Tensor) -> torch.Tensor:
        """Embeddings of every 0.2 s MFCC window, one per video window: (B, 13, 4·T) → (B, T − 4, embed)."""
        auds = coeffs.unfold(2, MFCC_STEPS, STEPS_PER_FRAME).transpose(1, 2)  # (B, T − 4, 13, 20)
        return self.forward_aud(auds.reshape(-1, 1, *auds.shape[2:])).view(len(coeffs), auds.shape[1], -1)


def sync_distances(lip: torch.Tensor, aud: torch.Tensor, vshift: int = VSHIFT) -> torch.Tensor:
    """Mean over windows of the L2 distance from each video window to the audio windows at offsets −vshift ..
    +vshift (audio features beyond the clip are zeros, as syncnet_python pads them): lip and aud (..., W, embed)
    → (..., 2·vshift + 1), one offset at a time so that memory holds one (..., W, embed) difference."""
    padded = F.pad(aud, (0, 0, vshift, vshift))
    w = lip.shape[-2]
    return torch.stack(
        [torch.linalg.vector_norm(lip - padded[..., s : s + w, :], dim=-1).mean(-1) for s in range(2 * vshift + 1)],
        dim=-1,
    )


def offset_confidence(mean_dists: torch.Tensor, vshift: int = VSHIFT) -> tuple[torch.Tensor, torch.Tensor]:
    """Offset = vshift − argmin of the mean distances (syncnet_python's sign), confidence = their median − their
    min (the paper's §4): ``mean_dists`` (..., 2·vshift + 1) → offsets and confidences (...)."""
    minval, minidx = torch.min(mean_dists, -1)
    return vshift - minidx, torch.median(mean_dists, -1).values - minval


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
    steps: int = 0  # stop training after this many steps (0: every epoch; benches and rehearsals)
    mismatched_per_clip: int = 10  # test pairs of a clip's video with other clips' audio (seeded sample)


def _shifts(frames: int, min_shift: int, vshift: int) -> list[list[int]]:
    """For each window start of a clip of ``frames`` frames, the audio shifts a shifted training pair may take."""
    windows = frames - WINDOW + 1
    return [[s for s in range(-vshift, vshift + 1) if abs(s) >= min_shift and 0 <= start + s < windows]
            for start in range(windows)]  # fmt: skip


def sync_rows_per_clip(frames: int, min_shift: int, vshift: int) -> int:
    """The training rows :func:`sync_pairs` makes of one clip: each window in sync, and shifted where it can be."""
    return sum(1 + bool(shifts) for shifts in _shifts(frames, min_shift, vshift))


def sync_pairs(clips: AVClips, *, min_shift: int, vshift: int, seed: int) -> tuple[torch.Tensor, ...]:
    """Training rows (clip, start, shift, in_sync): every 5-frame window once in sync (shift 0) and once with
    its audio moved by a random shift of min_shift..vshift frames (either way) that stays inside the clip."""
    rng = np.random.default_rng(seed)
    shifts = _shifts(clips.frames, min_shift, vshift)
    windows = len(shifts)
    tables = []  # one small int32 table per clip: ~0.8 KB a clip, not a Python tuple per row
    for clip in range(len(clips)):
        rows = []
        for start in range(windows):
            rows.append((clip, start, 0, 1))
            if shifts[start]:
                rows.append((clip, start, int(rng.choice(shifts[start])), 0))
        tables.append(np.array(rows, dtype=np.int32))
    table = torch.from_numpy(np.concatenate(tables))
    return tuple(table[:, i] for i in range(4))


class SyncWindows(Dataset):
    """The rows of :func:`sync_pairs` read from the shards batch by batch: video windows (B, 5, H, W) uint8 at
    ``start``, MFCC windows (B, 1, 13, 20) at ``start + shift``, and ``in_sync`` (B,)."""

    def __init__(self, clips: AVClips, rows: tuple[torch.Tensor, ...]):
        self.clips, self.rows = clips, torch.stack(rows, 1)

    def __len__(self) -> int:
        return len(self.rows)

    def __getitems__(self, indices: list[int]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        rows = self.rows[torch.as_tensor(indices, dtype=torch.long)].tolist()
        lips = np.stack([self.clips.video_row(c)[s : s + WINDOW] for c, s, _, _ in rows])
        steps = [(c, STEPS_PER_FRAME * (s + shift)) for c, s, shift, _ in rows]
        auds = np.stack([self.clips.mfcc_row(c)[:, k : k + MFCC_STEPS] for c, k in steps])
        in_sync = torch.tensor([r[3] for r in rows], dtype=torch.float32)
        return torch.from_numpy(lips), torch.from_numpy(auds.astype(np.float32)).unsqueeze(1), in_sync


class SyncTask:
    """SyncNet's contrastive training: d² for in-sync pairs, max(margin − d, 0)² for shifted ones; the AUC of
    in-sync against shifted validation windows after each epoch, scored ``batch`` windows at a time."""

    def __init__(self, model: SyncNet, val: SyncWindows, *, lr: float, margin: float, batch: int):
        self.model, self.margin, self.val, self.batch = model, margin, val, batch
        self.modules = {"model": model}
        self.optimizers = {"model": torch.optim.Adam(model.parameters(), lr=lr)}
        self.schedulers = {}

    def distances(self, lips: torch.Tensor, auds: torch.Tensor) -> torch.Tensor:
        lip = self.model.forward_lip(self.model.prepare_video(lips.float()))
        aud = self.model.forward_aud(auds.float())
        return torch.linalg.vector_norm(lip.float() - aud.float(), dim=1)

    def step(self, batch, epoch):
        lips, auds, y = batch
        d = self.distances(lips, auds)
        loss = (y * d.square() + (1 - y) * F.relu(self.margin - d).square()).mean()
        self.optimizers["model"].zero_grad(set_to_none=True)
        loss.backward()
        self.optimizers["model"].step()
        return {"loss": loss.item()}

    def end_epoch(self, epoch):
        device = next(self.model.parameters()).device
        dists, labels = [], []
        for i in range(0, len(self.val), self.batch):
            lips, auds, y = self.val.__getitems__(range(i, min(i + self.batch, len(self.val))))
            dists.append(self.distances(lips.to(device), auds.to(device)).cpu())
            labels.append(y)
        shifted = 1 - torch.cat(labels).numpy()
        return {"val_pair_auc": auc(torch.cat(dists).numpy(), shifted)}  # shifted pairs should be farther


def build_syncnet(width: float = 1.0, channels: int = 1, size: int = 88, embed: int = 1024) -> SyncNet:
    return SyncNet(width=width, channels=channels, size=size, embed=embed)


def load_syncnet(path: str | Path, device: torch.device | str = "cpu") -> tuple[SyncNet, dict]:
    ckpt = load_checkpoint(path, "syncnet", require=("arch", "modules"))
    model = build_from(path, build_syncnet, **ckpt["arch"])
    load_state(path, model, ckpt["modules"].get("model", {}))
    return model.to(device).eval(), ckpt


WINDOWS_PER_PASS = 256  # SyncNet windows embedded per forward pass when scoring


def _embed(model: SyncNet, clips: torch.Tensor, embed, frames: int) -> torch.Tensor:
    """``embed`` of clips (video or audio) on the model's device, a few clips per pass so that a pass holds
    about ``WINDOWS_PER_PASS`` windows → (N, frames − 4, embed) float."""
    device = next(model.parameters()).device
    per = max(1, WINDOWS_PER_PASS // max(1, frames - WINDOW + 1))
    return torch.cat([embed(clips[i : i + per].to(device).float()).float() for i in range(0, len(clips), per)])


def lip_embeddings(model: SyncNet, video: torch.Tensor) -> torch.Tensor:
    """Window embeddings of crops (N, T, H, W) in [0, 255] → (N, T − 4, embed)."""
    return _embed(model, video, model.embed_video, video.shape[1])


def audio_embeddings(model: SyncNet, audio: torch.Tensor) -> torch.Tensor:
    """Window embeddings of audio (N, 640·T) in int16 units, through its MFCC (so adversarial audio is scored as
    heard) → (N, T − 4, embed)."""
    return _embed(model, audio, lambda a: model.embed_audio(mfcc(a)), audio.shape[1] // SAMPLES_PER_FRAME)


def sync_scores(model: SyncNet, video: torch.Tensor, audio: torch.Tensor, vshift: int = VSHIFT) -> dict[str, list]:
    """SyncNet offset and confidence (:func:`offset_confidence`) of every clip: crops (N, T, H, W) in [0, 255] and
    audio (N, 640·T) in int16 units."""
    with torch.inference_mode():
        dists = sync_distances(lip_embeddings(model, video), audio_embeddings(model, audio), vshift)
        offsets, confidences = offset_confidence(dists, vshift)
    return {"offset": offsets.tolist(), "confidence": confidences.tolist()}


@flushing_denormals
def train_syncnet(
    corpus: str,
    mouths: str | Path,
    audio: str | Path,
    out: str | Path,
    metrics: str | Path,
    settings: SyncNetTraining,
    history_csv: str | Path | None = None,
) -> dict:
    """Train SyncNet on the corpus's training clips, its history CSV into ``history_csv`` when given (or take the
    published weights from the local file ``settings.published``: a CSV without rows), then measure on the test
    clips how well its confidence separates in-sync audio from another clip's audio (AUC) and how often the in-sync
    offset is found within ±1 frame."""
    train, val, test = (load_av(mouths, audio, split) for split in SPLITS)
    arch = {"width": settings.width, "channels": 1, "size": settings.size, "embed": settings.embed}
    history: list = []
    torch.manual_seed(settings.seed)
    if settings.published:
        arch = {"width": 1.0, "channels": 3, "size": 224, "embed": 1024}
        model = load_published(Path(settings.published).expanduser(), build_syncnet(**arch))
        HistoryLog(history_csv, 0).write()  # trained elsewhere: the declared CSV, without rows
    else:
        model = build_syncnet(**arch)
        fingerprint = {"corpus": corpus, "lr": settings.lr, "margin": settings.margin,
                       "min_shift": settings.min_shift, **arch}  # fmt: skip
        training = TrainSettings(settings.epochs, settings.batch, settings.seed, settings.device, settings.bf16,
                                 settings.checkpoint_every, fingerprint=fingerprint, steps=settings.steps)  # fmt: skip
        resume = Path(f"{out}.resume")
        pairs = {"min_shift": settings.min_shift, "vshift": settings.vshift}
        val_windows = SyncWindows(val, sync_pairs(val, **pairs, seed=settings.seed + 1))
        task = SyncTask(model, val_windows, lr=settings.lr, margin=settings.margin, batch=settings.batch)
        rows = SyncWindows(train, sync_pairs(train, **pairs, seed=settings.seed))
        history = fit(task, rows, training, resume, desc=f"{corpus} syncnet", history_csv=history_csv)
        resume.unlink(missing_ok=True)
    model.eval()
    separation = sync_separation(model, test, settings.vshift, settings.mismatched_per_clip, settings.seed)
    result = {"corpus": corpus, "published": bool(settings.published), **separation, "history": history}
    result["parameters"] = sum(p.numel() for p in model.parameters())
    save_checkpoint(
        out, {"kind": "syncnet", "corpus": corpus, "arch": arch, "modules": {"model": model.cpu().state_dict()}}
    )
    write_text(metrics, json.dumps(result, indent=2) + "\n")
    return result


def mismatched_partners(n: int, per_clip: int, seed: int) -> Iterator[list[int]]:
    """For each clip 0..n−1, the other clips whose audio it is paired with: all others in order when there are
    at most ``per_clip`` of them (or ``per_clip`` is 0), else ``per_clip`` of them drawn without replacement by a
    generator seeded once, so the sample is a function of (n, per_clip, seed)."""
    rng = np.random.default_rng(seed)
    for i in range(n):
        if not per_clip or per_clip >= n - 1:
            yield [j for j in range(n) if j != i]
        else:
            yield [int(j) + (j >= i) for j in sorted(rng.choice(n - 1, per_clip, replace=False))]


def sync_separation(model: SyncNet, clips: AVClips, vshift: int = VSHIFT, per_clip: int = 10, seed: int = 0,
                    batch: int = 16) -> dict:  # fmt: skip
    """Confidence of every clip with its own audio (in sync) and with ``per_clip`` other clips' audio
    (:func:`mismatched_partners`; 0: every other clip): the AUC of telling them apart, their means, and the
    share of in-sync offsets within ±1 frame. Streams ``batch`` clips at a time; each clip's video is embedded
    once and paired with its partners' audio embeddings."""
    own_conf, own_offsets, mismatched = [], [], []
    partners = mismatched_partners(len(clips), per_clip, seed)
    with torch.inference_mode():
        for _, (video, audio, _) in clips.batches(batch):
            lip = lip_embeddings(model, video)
            dists = sync_distances(lip, audio_embeddings(model, audio), vshift)
            offsets, confidences = offset_confidence(dists, vshift)
            own_offsets += offsets.tolist()
            own_conf += confidences.tolist()
            for clip_lip in lip:
                others = next(partners)
                if others:
                    other_aud = audio_embeddings(model, clips.read(others, "audio/wave"))
                    mismatched += offset_confidence(sync_distances(clip_lip, other_aud, vshift), vshift)[1].tolist()
    scores = own_conf + mismatched
    labels = [1] * len(own_conf) + [0] * len(mismatched)
    return {
        "sync_auc": auc(scores, labels),
        "in_sync_confidence": float(np.mean(own_conf)),
        "mismatched_confidence": float(np.mean(mismatched)) if mismatched else None,
        "offset_within_1": float(np.mean([abs(o) <= 1 for o in own_offsets])),
        "test_clips": len(clips),
        "mismatched_pairs": len(mismatched),
        "mismatched_per_clip": per_clip,
    }
