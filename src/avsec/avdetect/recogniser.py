"""Paper 4's audiovisual speech recognisers (Ma, Petridis & Pantic 2019, the paper's ref. [15]) and their training.

Video stream: a spatiotemporal (3-D) convolution front-end, a ResNet-18 applied to every frame and a 2-layer
BGRU. Audio stream: a 5-layer 1-D CNN on the raw waveform (downsampling 640×, so one feature per 25 fps video
frame) and a 2-layer BGRU. Fusion: the two streams' outputs concatenated per frame into a 2-layer BGRU.
Heads: word-level (LRW) logits averaged over time, trained with cross-entropy; sentence-level (GRID) per-frame
character log-probabilities for CTC, decoded greedily.

Inputs are in the attacks' units: video (B, T, H, W) grey pixel values in [0, 255] (float, so a perturbation
keeps its gradient; the 96×96 crops are centre-cropped to 88×88 and normalised by mean 0.421 / std 0.165
inside the model), audio (B, 640·T) samples in int16 units (scaled by 1/32768 inside the model).
``width`` < 1 narrows every convolution (smoke scale only); the paper's networks are ``width=1``.

:func:`train_recogniser` (rule train_av) trains the corpus's recogniser on its train split with AdamW and a
cosine schedule through the shared trainer (validation after every epoch) and scores its test clips: top-1
accuracy (words) or WER and sentence accuracy (sentences).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import Dataset

from avsec.avdetect.data import SAMPLES_PER_FRAME, AVClips, flushing_denormals, load_av
from avsec.avdetect.names import HEADS, SPLITS
from avsec.core.errors import ConfigError, InputError
from avsec.data.av.roi import MEAN, STD, TEST_SIZE
from avsec.io.atomic import write_text
from avsec.io.audio import INT16_SCALE
from avsec.metrics.text import wer
from avsec.train import TrainSettings, fit, load_checkpoint, load_state, save_checkpoint
from avsec.train.checkpoint import build_from

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
        if x.is_cuda and torch.is_grad_enabled() and not self.training:
            # an attack's input gradient through the frozen model: cuDNN's RNN backward refuses eval mode, so
            # this GRU alone runs without cuDNN (its convolutions keep it)
            enabled, torch.backends.cudnn.enabled = torch.backends.cudnn.enabled, False
            try:
                return self.gru(x)[0]
            finally:
                torch.backends.cudnn.enabled = enabled
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


# ---- training and scoring ----------------------------------------------------------------------------------------
@dataclass
class RecogniserTraining:
    """Settings of :func:`train_recogniser` (rule train_av's flags: config.yaml avdetect.<corpus>.recogniser and
    scales.<scale>.avdetect.<corpus>.recogniser, and --seed)."""

    head: str  # word (LRW, cross-entropy) or ctc (GRID, CTC)
    epochs: int
    batch: int
    lr: float
    weight_decay: float = 0.0
    width: float = 1.0
    hidden: int = 256
    seed: int = 1024
    device: str = "auto"
    bf16: bool = True
    checkpoint_every: int = 200
    steps: int = 0  # stop training after this many steps (0: every epoch; benches and rehearsals)


def build_recogniser(classes: int, head: str, width: float = 1.0, hidden: int = 256) -> AVRecogniser:
    return AVRecogniser(classes, head=head, width=width, hidden=hidden)


def load_recogniser(path: str | Path, device: torch.device | str = "cpu") -> tuple[AVRecogniser, dict]:
    """A trained recogniser in eval mode on ``device``, and its checkpoint's description."""
    ckpt = load_checkpoint(path, "av_recogniser", require=("classes", "arch", "modules"))
    model = build_from(path, build_recogniser, len(ckpt["classes"]), **ckpt["arch"])
    load_state(path, model, ckpt["modules"].get("model", {}))
    return model.to(device).eval(), ckpt


def _targets(labels: list[str], head: str, classes: list[str]) -> tuple[torch.Tensor, ...]:
    """Word indices (N,), or CTC character targets padded (N, L) with their lengths (N,)."""
    if head == "word":
        return (torch.tensor([classes.index(label) for label in labels]),)
    encoded = [encode_text(label) for label in labels]
    longest = max(len(e) for e in encoded)
    padded = torch.zeros(len(encoded), longest, dtype=torch.long)
    for i, e in enumerate(encoded):
        padded[i, : len(e)] = torch.tensor(e)
    return padded, torch.tensor([len(e) for e in encoded])


def ctc_loss(log_probs: torch.Tensor, targets: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    frames = torch.full((len(log_probs),), log_probs.shape[1], dtype=torch.long)
    return F.ctc_loss(log_probs.float().transpose(0, 1), targets, frames, lengths, zero_infinity=True)


def recognise(model: AVRecogniser, video: torch.Tensor, audio: torch.Tensor, classes: list[str], batch: int = 16):
    """Predicted words (word head) or greedy transcriptions (CTC head) of clips in memory, in batches on the
    model's device."""
    device = next(model.parameters()).device
    out: list[str] = []
    with torch.inference_mode():
        for i in range(0, len(video), batch):
            scores = model(video[i : i + batch].to(device).float(), audio[i : i + batch].to(device).float())
            if model.head == "word":
                out += [classes[k] for k in scores.argmax(1).tolist()]
            else:
                out += greedy_decode(scores.cpu())
    return out


def recognise_clips(model: AVRecogniser, clips: AVClips, classes: list[str], batch: int = 16) -> list[str]:
    """:func:`recognise` of a split's clips, read from the shards batch by batch."""
    out: list[str] = []
    for _, (video, audio, _) in clips.batches(batch):
        out += recognise(model, video, audio, classes, batch)
    return out


def score_transcripts(head: str, labels: list[str], predicted: list[str]) -> dict:
    """Top-1 accuracy (word head) or mean WER and sentence accuracy (CTC head)."""
    if head == "word":
        return {"accuracy": float(np.mean([p == y for p, y in zip(predicted, labels, strict=True)]))}
    errors = [wer(y, p) for y, p in zip(labels, predicted, strict=True)]
    return {"wer": float(np.mean(errors)), "accuracy": float(np.mean([e == 0 for e in errors]))}


class LabelledClips(Dataset):
    """A split's clips as training rows: (video, audio, word index) or (video, audio, CTC targets padded to the
    batch's longest, their lengths), read batch by batch."""

    def __init__(self, clips: AVClips, head: str, classes: list[str]):
        self.clips, self.head, self.classes = clips, head, classes

    def __len__(self) -> int:
        return len(self.clips)

    def __getitems__(self, rows: list[int]) -> tuple[torch.Tensor, ...]:
        video, audio, _ = self.clips.__getitems__(rows)
        return video, audio, *_targets([self.clips.labels[i] for i in rows], self.head, self.classes)


class RecogniserTask:
    """Cross-entropy (words) or CTC (sentences) training of an audiovisual recogniser; validation after epochs."""

    def __init__(self, model: AVRecogniser, val: AVClips, classes: list[str], *, lr: float, weight_decay: float,
                 epochs: int):  # fmt: skip
        self.model, self.val, self.classes = model, val, classes
        self.modules = {"model": model}
        self.optimizers = {"model": torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)}
        self.schedulers = {"model": torch.optim.lr_scheduler.CosineAnnealingLR(self.optimizers["model"], epochs)}

    def step(self, batch, epoch):
        video, audio, *y = batch
        out = self.model(video.float(), audio.float())
        if self.model.head == "word":
            loss = F.cross_entropy(out.float(), y[0])
            scalars = {"acc": (out.argmax(1) == y[0]).float().mean().item()}
        else:
            loss = ctc_loss(out, *y)
            scalars = {}
        self.optimizers["model"].zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), 5.0)
        self.optimizers["model"].step()
        return {"loss": loss.item(), **scalars}

    def end_epoch(self, epoch):
        predicted = recognise_clips(self.model, self.val, self.classes)
        return {f"val_{k}": v for k, v in score_transcripts(self.model.head, self.val.labels, predicted).items()}


@flushing_denormals
def train_recogniser(
    corpus: str,
    mouths: str | Path,
    audio: str | Path,
    out: str | Path,
    metrics: str | Path,
    settings: RecogniserTraining,
    history_csv: str | Path | None = None,
) -> dict:
    """Train the corpus's recogniser on its train split; write the checkpoint, the test metrics JSON and, when
    given, the history CSV ``history_csv``."""
    head = settings.head
    if head != HEADS.get(corpus, head):
        raise ConfigError(f"avdetect: {corpus} needs the {HEADS[corpus]!r} head, not {head!r}")
    train, val, test = (load_av(mouths, audio, split) for split in SPLITS)
    classes = sorted(set(train.labels)) if head == "word" else list(CHARACTERS)
    if head == "word":
        unknown = sorted({label for label in val.labels + test.labels if label not in classes})
        if unknown:
            raise InputError(mouths, f"val/test words without training clips: {', '.join(unknown)}")
    arch = {"head": head, "width": settings.width, "hidden": settings.hidden}
    torch.manual_seed(settings.seed)
    model = build_recogniser(len(classes), **arch)
    training = TrainSettings(
        settings.epochs, settings.batch, settings.seed, settings.device, settings.bf16, settings.checkpoint_every,
        fingerprint={"corpus": corpus, "lr": settings.lr, **arch}, steps=settings.steps,
    )  # fmt: skip
    resume = Path(f"{out}.resume")
    task = RecogniserTask(
        model, val, classes, lr=settings.lr, weight_decay=settings.weight_decay, epochs=settings.epochs
    )
    history = fit(task, LabelledClips(train, head, classes), training, resume, f"{corpus} recogniser", history_csv)
    model.eval()
    predicted = recognise_clips(model, test, classes)
    result = {
        "corpus": corpus,
        "head": head,
        **score_transcripts(head, test.labels, predicted),
        "parameters": sum(p.numel() for p in model.parameters()),
        "clips": {"train": len(train), "val": len(val), "test": len(test)},
        "skipped": train.skipped + val.skipped + test.skipped,
        "test": [
            {"source": s, "label": y, "predicted": p}
            for s, y, p in zip(test.sources, test.labels, predicted, strict=True)
        ],
        "history": history,
    }
    save_checkpoint(
        out,
        {"kind": "av_recogniser", "corpus": corpus, "arch": arch, "classes": classes,
         "modules": {"model": model.cpu().state_dict()}},
    )  # fmt: skip
    write_text(metrics, json.dumps(result, indent=2) + "\n")
    resume.unlink(missing_ok=True)
    return result
