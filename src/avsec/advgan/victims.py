"""The two victims of paper 2 and their training: WideResNet-28-10 on a 32 × 32 MFCC image, SampleCNN on raw
16384-sample audio (rule train_victim), and loading a trained one for the attacks.

Both take float waveforms (B, 16384) in [-1, 1] (eq. 12) and return logits, so an attack's gradient flows from
the class scores back to the samples.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from avsec.advgan.data import clip_rows
from avsec.core.config import settings as from_flags
from avsec.core.errors import ConfigError
from avsec.data.corpora import names
from avsec.data.rows import ShardRows
from avsec.dsp.mfcc import MFCC
from avsec.io.atomic import write_text
from avsec.io.audio import normalize
from avsec.metrics.classification import per_class_accuracy
from avsec.train import TrainSettings, fit, load_checkpoint, load_state, save_checkpoint
from avsec.train.checkpoint import build_from


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
    features feed the classifier (docs/protocols.md, paper 2).
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


# ---- training ----------------------------------------------------------------------------------------------------
@dataclass
class VictimTraining:
    """The settings of rule train_victim (its --key value flags). ``arch`` holds the network's own settings (depth,
    widen, width, dropout, the MFCC's), in the order given; ``rate`` is recorded with them, and is the WideResNet
    MFCC's sampling rate. :func:`victim_training` builds it from the flags."""

    labels: list[str] | str
    rate: int
    epochs: int
    batch: int
    lr: float
    corpus: str = ""
    weight_decay: float = 0.0
    seed: int = 1024
    device: str = "auto"
    bf16: bool = True
    checkpoint_every: int = 200
    steps: int = 0  # stop training after this many steps (0: every epoch; benches and rehearsals)
    arch: dict = field(default_factory=dict)


def victim_training(victim: str, given: Mapping) -> VictimTraining:
    """:class:`VictimTraining` from parsed flags: those the victim's network takes (but ``rate``) go to ``arch``, in
    the order given, the others to the fields; an unknown or missing one is one line."""
    network = [name for name in inspect.signature(_victim_class(victim)).parameters if name not in ("classes", "rate")]
    own = [f.name for f in fields(VictimTraining) if f.name != "arch"]
    unknown = sorted(set(given) - set(own) - set(network))
    if unknown:
        raise ConfigError(
            f"train_victim: unknown setting(s) {', '.join(unknown)} (known: {', '.join(own)}; {victim}: "
            f"{', '.join(network)})"
        )
    arch = {key: value for key, value in given.items() if key in network}
    return from_flags(
        VictimTraining, {**{k: v for k, v in given.items() if k not in arch}, "arch": arch}, "train_victim"
    )


def _victim_class(victim: str) -> type[nn.Module]:
    if victim not in VICTIMS:
        raise ConfigError(f"unknown victim {victim!r}; choose one of {', '.join(VICTIMS)}")
    return VICTIMS[victim]


def build_victim(victim: str, classes: int, arch: dict) -> nn.Module:
    return _victim_class(victim)(classes, **arch)


def load_victim(path: str | Path) -> tuple[nn.Module, dict]:
    """A trained victim in eval mode with frozen weights, and its checkpoint's description."""
    ckpt = load_checkpoint(path, "victim", require=("victim", "labels", "arch", "rate", "modules"))
    model = build_from(path, build_victim, ckpt["victim"], len(ckpt["labels"]), ckpt["arch"])
    load_state(path, model, ckpt["modules"].get("model", {})).eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model, ckpt


class ClassifierTask:
    """Cross-entropy training of a victim; validation accuracy after each epoch."""

    def __init__(self, model: nn.Module, val: ShardRows, *, lr: float, weight_decay: float, epochs: int):
        self.model, self.val = model, val
        self.modules = {"model": model}
        self.optimizers = {"model": torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)}
        self.schedulers = {"model": torch.optim.lr_scheduler.CosineAnnealingLR(self.optimizers["model"], epochs)}

    def step(self, batch, epoch):
        x, y = batch
        logits = self.model(normalize(x))
        loss = F.cross_entropy(logits, y)
        self.optimizers["model"].zero_grad(set_to_none=True)
        loss.backward()
        self.optimizers["model"].step()
        return {"loss": loss.item(), "acc": (logits.argmax(1) == y).float().mean().item()}

    def end_epoch(self, epoch):
        pred = predict(self.model, self.val, 256)
        return {"val_acc": (pred == self.val.labels).float().mean().item()}


def predict(model: nn.Module, audio: torch.Tensor | ShardRows, batch: int) -> torch.Tensor:
    """Predicted label indices (on the CPU), in batches on the model's device (clips in memory, or read from the
    shards batch by batch). int16 clips are scaled by eq. (12) there; float waveforms (adversarial examples) are
    taken as they are."""
    device = next(model.parameters()).device
    scale = normalize if audio.dtype == torch.int16 else (lambda x: x)
    out = []
    with torch.inference_mode():
        for i in range(0, len(audio), batch):
            out.append(model(scale(audio[i : i + batch].to(device))).argmax(1).cpu())
    return torch.cat(out) if out else torch.zeros(0, dtype=torch.long)


def train_victim(
    victim: str,
    data: str | Path,
    out: str | Path,
    metrics: str | Path,
    settings: VictimTraining,
    history_csv: str | Path | None = None,
) -> dict:
    """Train a victim on the train split, write ``out`` (checkpoint), ``metrics`` (test accuracy JSON) and, when
    given, ``history_csv`` (the training history CSV, avsec.train.history)."""
    s = settings
    labels = list(names(s.labels, "labels"))
    arch = {"rate": s.rate, **s.arch}
    train, val, test = (clip_rows(data, split, labels) for split in ("train", "val", "test"))
    torch.manual_seed(s.seed)
    model = build_victim(victim, len(labels), arch)
    train_settings = TrainSettings(
        s.epochs,
        s.batch,
        s.seed,
        s.device,
        s.bf16,
        s.checkpoint_every,
        steps=s.steps,
        fingerprint={"victim": victim, "labels": labels, "lr": s.lr, "wd": s.weight_decay, **arch},
    )
    resume = Path(f"{out}.resume")
    task = ClassifierTask(model, val, lr=s.lr, weight_decay=s.weight_decay, epochs=s.epochs)
    history = fit(task, train, train_settings, resume, desc=victim, history_csv=history_csv)
    model.eval()
    pred = predict(model, test, 256)
    result = {
        "victim": victim,
        "corpus": s.corpus or Path(data).name,
        "labels": labels,
        "rate": s.rate,
        "accuracy": float((pred == test.labels).float().mean()),
        "per_class": per_class_accuracy(pred.numpy(), test.labels.numpy(), labels),
        "test_clips": len(test.labels),
        "train_clips": len(train.labels),
        "history": history,
    }
    save_checkpoint(
        out,
        {
            "kind": "victim",
            "victim": victim,
            "arch": arch,
            "labels": labels,
            "rate": s.rate,
            "modules": {"model": model.cpu().state_dict()},
        },
    )
    write_text(metrics, json.dumps(result, indent=2) + "\n")
    resume.unlink(missing_ok=True)
    return result
