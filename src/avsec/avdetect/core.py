"""Paper 4, detecting adversarial attacks on audiovisual speech recognition (Ma, Petridis & Pantic): train the
recognisers (LRW words, GRID sentences) and a SyncNet per corpus, attack the recognisers on both modalities,
score benign and adversarial clips by synchronisation confidence, and measure detection (AUC, F1).
Called by the workflow/scripts of rules/avdetect.smk; the report is :mod:`avsec.avdetect.report`.

Data: ``results/av/<corpus>/mouths`` (uint8 96×96 crops), ``audio/wave`` (int16, 640 samples per frame) and
``audio/mfcc`` (13 × 4T), joined by source file; a clip missing from one of them is skipped with the reason
recorded in the job's JSON. Attacks: FGSM and BIM on LRW, targeted C&W with CTC on GRID
(:mod:`avsec.avdetect.attacks`); every attack runs on the validation clips (the detector's threshold is chosen there)
and the test clips (where it is measured).
"""

from __future__ import annotations

import contextlib
import functools
import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from avsec.avdetect.attacks import bim, bim_iterations, cw_ctc, distortion, fgsm
from avsec.avdetect.names import ATTACK_CORPUS, HEADS, SPLITS, config_name
from avsec.avdetect.nets import CHARACTERS, SAMPLES_PER_FRAME, AVRecogniser, encode_text, greedy_decode
from avsec.avdetect.syncnet import (
    MFCC_STEPS,
    STEPS_PER_FRAME,
    WINDOW,
    SyncNet,
    load_published,
    offset_confidence,
    sync_distances,
)
from avsec.core.errors import ConfigError, InputError
from avsec.dsp.mfcc import mfcc
from avsec.io.atomic import atomic_path, write_text
from avsec.io.shards import ShardedArray
from avsec.io.video import write_video
from avsec.metrics.detection import auc, average_f1, best_threshold, roc
from avsec.metrics.text import wer
from avsec.train import TrainSettings, fit, load_checkpoint, load_state, resolve_device, save_checkpoint
from avsec.train.checkpoint import build_from


def flushing_denormals(fn):
    """Run ``fn`` with denormal floats flushed to zero (x86 / ARM): tiny gradients and perturbations otherwise
    slow the CPU several-fold (a C&W step on GRID: 3× here). Deterministic; restored afterwards."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with contextlib.ExitStack() as stack:
            if torch.set_flush_denormal(True):
                stack.callback(torch.set_flush_denormal, False)
            return fn(*args, **kwargs)

    return wrapper


# ---- data --------------------------------------------------------------------------------------------------------
@dataclass
class AVClips:
    """The clips of one split: uint8 crops (N, T, 96, 96), int16 audio (N, 640·T), float MFCC (N, 13, 4·T)."""

    video: torch.Tensor
    audio: torch.Tensor
    mfcc: torch.Tensor
    labels: list[str]
    sources: list[str]
    skipped: list[dict] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.labels)

    def take(self, n: int) -> AVClips:
        """The first ``n`` clips (all when ``n`` is 0)."""
        if not n or n >= len(self):
            return self
        return AVClips(self.video[:n], self.audio[:n], self.mfcc[:n], self.labels[:n], self.sources[:n], self.skipped)


def load_av(mouths: str | Path, audio: str | Path, split: str) -> AVClips:
    """Rows of ``split`` present in ``mouths`` (results/av/<corpus>/mouths) and in ``audio``'s wave and mfcc
    (results/av/<corpus>/audio), joined by source; a clip missing from one of them, or of the wrong shape, is
    skipped with the reason."""
    folders = {"mouths": Path(mouths), "audio/wave": Path(audio) / "wave", "audio/mfcc": Path(audio) / "mfcc"}
    parts = {}
    for kind, folder in folders.items():
        if not (folder / "manifest.tsv").is_file():
            raise InputError(folder, "prepared audiovisual data not found (no manifest.tsv)")
        parts[kind] = ShardedArray(folder)
    index = {
        kind: {m["source"]: i for i, m in enumerate(a.manifest) if m["split"] == split} for kind, a in parts.items()
    }
    video, audio, coeffs, labels, sources, skipped = [], [], [], [], [], []
    for source, row in index["mouths"].items():
        missing = [kind for kind in ("audio/wave", "audio/mfcc") if source not in index[kind]]
        if missing:
            skipped.append({"source": source, "reason": f"no {' or '.join(missing)} row"})
            continue
        v = parts["mouths"][row]
        a = parts["audio/wave"][index["audio/wave"][source]]
        m = parts["audio/mfcc"][index["audio/mfcc"][source]]
        if len(a) != SAMPLES_PER_FRAME * len(v) or m.shape[-1] != STEPS_PER_FRAME * len(v):
            skipped.append({"source": source, "reason": f"audio of {len(a)} samples for {len(v)} frames"})
            continue
        if video and v.shape != video[0].shape:
            skipped.append({"source": source, "reason": f"crops of shape {v.shape}, expected {video[0].shape}"})
            continue
        video.append(np.asarray(v))
        audio.append(np.asarray(a))
        coeffs.append(np.asarray(m, dtype=np.float32))
        labels.append(parts["mouths"].manifest[row]["label"])
        sources.append(source)
    skipped += [{"source": s, "reason": "no mouth crops"} for s in index["audio/wave"] if s not in index["mouths"]]
    if not video:
        raise InputError(mouths, f"no usable {split} clips (mouth crops with audio and MFCC)")
    return AVClips(
        torch.from_numpy(np.stack(video)),
        torch.from_numpy(np.stack(audio)),
        torch.from_numpy(np.stack(coeffs)),
        labels,
        sources,
        skipped,
    )


# ---- recognisers -------------------------------------------------------------------------------------------------
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
    """Predicted words (word head) or greedy transcriptions (CTC head), in batches on the model's device."""
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


def score_transcripts(head: str, labels: list[str], predicted: list[str]) -> dict:
    """Top-1 accuracy (word head) or mean WER and sentence accuracy (CTC head)."""
    if head == "word":
        return {"accuracy": float(np.mean([p == y for p, y in zip(predicted, labels, strict=True)]))}
    errors = [wer(y, p) for y, p in zip(labels, predicted, strict=True)]
    return {"wer": float(np.mean(errors)), "accuracy": float(np.mean([e == 0 for e in errors]))}


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
        predicted = recognise(self.model, self.val.video, self.val.audio, self.classes)
        return {f"val_{k}": v for k, v in score_transcripts(self.model.head, self.val.labels, predicted).items()}


@flushing_denormals
def train_recogniser(
    corpus: str,
    mouths: str | Path,
    audio: str | Path,
    out: str | Path,
    metrics: str | Path,
    *,
    head: str,
    epochs: int,
    batch: int,
    lr: float,
    weight_decay: float = 0.0,
    width: float = 1.0,
    hidden: int = 256,
    seed: int = 1024,
    device: str = "auto",
    bf16: bool = True,
    checkpoint_every: int = 200,
) -> dict:
    """Train the corpus's recogniser on its train split; write the checkpoint and the test metrics JSON."""
    if head != HEADS.get(corpus, head):
        raise ConfigError(f"avdetect: {corpus} needs the {HEADS[corpus]!r} head, not {head!r}")
    train, val, test = (load_av(mouths, audio, split) for split in SPLITS)
    classes = sorted(set(train.labels)) if head == "word" else list(CHARACTERS)
    if head == "word":
        unknown = sorted({label for label in val.labels + test.labels if label not in classes})
        if unknown:
            raise InputError(mouths, f"val/test words without training clips: {', '.join(unknown)}")
    arch = {"head": head, "width": width, "hidden": hidden}
    torch.manual_seed(seed)
    model = build_recogniser(len(classes), **arch)
    settings = TrainSettings(
        epochs, batch, seed, device, bf16, checkpoint_every, fingerprint={"corpus": corpus, "lr": lr, **arch}
    )
    resume = Path(f"{out}.resume")
    task = RecogniserTask(model, val, classes, lr=lr, weight_decay=weight_decay, epochs=epochs)
    data = (train.video, train.audio, *_targets(train.labels, head, classes))
    history = fit(task, data, settings, resume, desc=f"{corpus} recogniser")
    model.eval()
    predicted = recognise(model, test.video, test.audio, classes)
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


# ---- SyncNet -----------------------------------------------------------------------------------------------------
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
    """SyncNet offset and confidence (DESIGN.md §4) of every clip: crops (N, T, H, W) in [0, 255] and audio
    (N, 640·T) in int16 units; the MFCC is computed from the audio (so adversarial audio is scored as heard)."""
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
    corpus: str,
    mouths: str | Path,
    audio: str | Path,
    out: str | Path,
    metrics: str | Path,
    *,
    epochs: int,
    batch: int,
    lr: float,
    margin: float,
    min_shift: int,
    vshift: int = 15,
    width: float = 1.0,
    size: int = 88,
    embed: int = 1024,
    published: str = "",
    seed: int = 1024,
    device: str = "auto",
    bf16: bool = True,
    checkpoint_every: int = 200,
) -> dict:
    """Train SyncNet on the corpus's training clips (or take the published weights from the local file
    ``published``), then measure on the test clips how well its confidence separates in-sync audio from
    another clip's audio (AUC) and how often the in-sync offset is found within ±1 frame."""
    train, val, test = (load_av(mouths, audio, split) for split in SPLITS)
    arch = {"width": width, "channels": 1, "size": size, "embed": embed}
    history: list = []
    torch.manual_seed(seed)
    if published:
        arch = {"width": 1.0, "channels": 3, "size": 224, "embed": 1024}
        model = load_published(Path(published).expanduser(), build_syncnet(**arch))
    else:
        model = build_syncnet(**arch)
        settings = TrainSettings(
            epochs, batch, seed, device, bf16, checkpoint_every,
            fingerprint={"corpus": corpus, "lr": lr, "margin": margin, "min_shift": min_shift, **arch},
        )  # fmt: skip
        resume = Path(f"{out}.resume")
        val_rows = sync_pairs(val, min_shift=min_shift, vshift=vshift, seed=seed + 1)
        task = SyncTask(model, train, val_rows, val, lr=lr, margin=margin)
        rows = sync_pairs(train, min_shift=min_shift, vshift=vshift, seed=seed)
        history = fit(task, rows, settings, resume, desc=f"{corpus} syncnet")
        resume.unlink(missing_ok=True)
    model.eval()
    result = {
        "corpus": corpus,
        "published": bool(published),
        **sync_separation(model, test, vshift),
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


# ---- attacks -----------------------------------------------------------------------------------------------------


def _as_list(value) -> list:
    return list(value) if isinstance(value, (list, tuple)) else [value]


@flushing_denormals
def attack_corpus(
    method: str,
    mouths: str | Path,
    audio: str | Path,
    recogniser: str | Path,
    syncnet: str | Path,
    out: str | Path,
    examples_dir: str | Path,
    *,
    eps_audio,
    eps_video,
    splits=("val", "test"),
    clips: int = 0,
    batch: int = 16,
    examples: int = 1,
    vshift: int = 15,
    alpha_audio: float = 64.0,
    alpha_video: float = 1.0,
    iterations: int = 800,
    targets=(),
    num_targets: int = 0,
    lr_audio: float = 10.0,
    lr_video: float = 0.5,
    c: float = 1.0,
    shrink: float = 0.8,
    check_every: int = 10,
    partial_wer: float = 0.5,
    seed: int = 1024,
    device: str = "auto",
) -> dict:
    """Run ``method`` (fgsm, bim: LRW; cw: GRID) for every ε_A × ε_V (× target sentence for cw) on the first
    ``clips`` clips (0: all) of each split; record predictions, distortions and the SyncNet offset/confidence of
    the benign and adversarial clips; write ``examples`` adversarial test videos (with audio) per setting."""
    if method not in ATTACK_CORPUS:
        raise ConfigError(f"unknown attack {method!r}; choose one of {', '.join(ATTACK_CORPUS)}")
    dev = resolve_device(device)
    model, ckpt = load_recogniser(recogniser, dev)
    expected = HEADS[ATTACK_CORPUS[method]]
    if model.head != expected:
        raise InputError(recogniser, f"{method} attacks a {expected!r} recogniser, this one has a {model.head!r} head")
    sync, _ = load_syncnet(syncnet, dev)
    classes = ckpt["classes"]
    targets = [str(t) for t in _as_list(targets)]
    if method == "cw":
        if not targets:
            raise ConfigError("avdetect.cw.targets: no target sentences")
        targets = targets[: num_targets or len(targets)]
    grid = [(int(a), int(v)) for v in _as_list(eps_video) for a in _as_list(eps_audio)]
    grid.sort(key=lambda av_: (-av_[1], -av_[0]))  # the paper's row order: ε_V, then ε_A, descending
    torch.manual_seed(seed)
    data, benign = {}, {}
    for split in _as_list(splits):
        data[split] = load_av(mouths, audio, split).take(clips)
        d = data[split]
        predicted = recognise(model, d.video, d.audio, classes, batch)
        benign[split] = {
            "sources": d.sources,
            "labels": d.labels,
            "predicted": predicted,
            **score_transcripts(model.head, d.labels, predicted),
            **sync_scores(sync, d.video, d.audio, vshift),
        }
    settings = []
    examples_dir = Path(examples_dir)
    with atomic_path(examples_dir, directory=True) as tmp_examples:
        for eps_a, eps_v in grid:
            for target in targets or [""]:
                name = config_name(method, eps_a, eps_v, target)
                entry = {"name": name, "eps_audio": eps_a, "eps_video": eps_v, "splits": {}}
                if method == "bim":
                    entry["iterations"] = bim_iterations(eps_v)
                if target:
                    entry.update(target=target, iterations=iterations)
                start = time.perf_counter()
                for split, d in data.items():
                    labels = torch.tensor([classes.index(y) for y in d.labels]) if model.head == "word" else None
                    parts = []
                    for i in range(0, len(d), batch):
                        v, a = d.video[i : i + batch].to(dev), d.audio[i : i + batch].to(dev)
                        if method == "cw":
                            parts.append(_cw_part(model, sync, v, a, target, eps_a, eps_v, vshift, iterations,
                                                  lr_video, lr_audio, c, shrink, check_every, partial_wer))  # fmt: skip
                            continue
                        y = labels[i : i + batch].to(dev)
                        if method == "fgsm":
                            adv_v, adv_a = fgsm(model, v, a, y, eps_video=eps_v, eps_audio=eps_a)
                        else:
                            adv_v, adv_a = bim(model, v, a, y, eps_video=eps_v, eps_audio=eps_a,
                                               alpha_video=alpha_video, alpha_audio=alpha_audio)  # fmt: skip
                        predicted = recognise(model, adv_v, adv_a, classes, batch)
                        parts.append({
                            "predicted": predicted,
                            **distortion(v, adv_v, a, adv_a),
                            **sync_scores(sync, adv_v, adv_a, vshift),
                            "_examples": (adv_v.cpu(), adv_a.cpu()),
                        })  # fmt: skip
                    entry["splits"][split] = _merge_parts(parts)
                    if split == "test":
                        _write_examples(Path(tmp_examples), name, entry["splits"][split].pop("_examples"), examples)
                    entry["splits"][split].pop("_examples", None)
                    if method != "cw":
                        entry["splits"][split].update(
                            score_transcripts(model.head, d.labels, entry["splits"][split]["predicted"])
                        )
                entry["attack_seconds"] = time.perf_counter() - start
                settings.append(entry)
                print(f"{name}: {_summary(entry)}", flush=True)
    result = {
        "method": method,
        "corpus": ATTACK_CORPUS[method],
        "head": model.head,
        "targets": targets,
        "benign": benign,
        "skipped": [s for d in data.values() for s in d.skipped],
        "settings": settings,
    }
    write_text(out, json.dumps(result, indent=1) + "\n")
    return result


def _cw_part(model, sync, v, a, target, eps_a, eps_v, vshift, iterations, lr_video, lr_audio, c, shrink,
             check_every, partial_wer) -> dict:  # fmt: skip
    res = cw_ctc(model, v, a, target, eps_video=eps_v, eps_audio=eps_a, iterations=iterations, lr_video=lr_video,
                 lr_audio=lr_audio, c=c, shrink=shrink, check_every=check_every, partial_wer=partial_wer)  # fmt: skip
    part = {}
    for goal in ("partial", "full"):
        adv_v, adv_a = getattr(res, f"{goal}_video"), getattr(res, f"{goal}_audio")
        part[goal] = {
            "wer": getattr(res, f"{goal}_wer"),
            "text": getattr(res, f"{goal}_text"),
            **distortion(v, adv_v, a, adv_a),
            **sync_scores(sync, adv_v, adv_a, vshift),
        }
    part["_examples"] = (res.partial_video.cpu(), res.partial_audio.cpu())
    return part


def _merge_parts(parts: list[dict]) -> dict:
    merged: dict = {}
    for key in parts[0]:
        if key == "_examples":
            merged[key] = tuple(torch.cat([p[key][i] for p in parts]) for i in range(2))
        elif isinstance(parts[0][key], dict):
            merged[key] = _merge_parts([p[key] for p in parts])
        else:
            merged[key] = [x for p in parts for x in p[key]]
    return merged


def _summary(entry: dict) -> str:
    test = entry["splits"].get("test", {})
    if "partial" in test:
        ok = [w <= 0.5 for w in test["partial"]["wer"]]
        return f"partial success {np.mean(ok):.0%} on {len(ok)} test clips"
    return f"test accuracy {test.get('accuracy', float('nan')):.2%}"


def _write_examples(folder: Path, name: str, adversarial: tuple[torch.Tensor, torch.Tensor], count: int) -> None:
    """The first ``count`` adversarial test clips as MP4 (grey mouth crops with the adversarial audio)."""
    video, audio = adversarial
    for i in range(min(count, len(video))):
        frames = video[i].round().clamp(0, 255).to(torch.uint8).numpy()
        sound = audio[i].round().clamp(-32768, 32767).to(torch.int16).numpy()
        write_video(folder / f"{name}_{i}.mp4", np.repeat(frames[..., None], 3, axis=-1), 25, sound, 16000)


# ---- detection ---------------------------------------------------------------------------------------------------
def detection_measures(benign: dict, adversarial: dict) -> dict:
    """The paper's measures for one attack setting: AUC on test of −confidence (adversarial = positive), the
    threshold maximising the average F1 on validation, and the average F1 it gives on test."""
    out: dict = {}
    if "val" in benign and "val" in adversarial:
        s = [-c for c in benign["val"]["confidence"] + adversarial["val"]["confidence"]]
        y = [0] * len(benign["val"]["confidence"]) + [1] * len(adversarial["val"]["confidence"])
        out["threshold"] = -best_threshold(s, y)  # on the confidence: below it is called adversarial
        out["val_f1"] = average_f1(s, y, -out["threshold"])
    s = [-c for c in benign["test"]["confidence"] + adversarial["test"]["confidence"]]
    y = [0] * len(benign["test"]["confidence"]) + [1] * len(adversarial["test"]["confidence"])
    out["auc"] = auc(s, y)
    out["f1"] = average_f1(s, y, -out["threshold"]) if "threshold" in out else None
    fpr, tpr = roc(s, y)
    out["roc"] = {"fpr": fpr.tolist(), "tpr": tpr.tolist()}
    out["benign_confidence"] = benign["test"]["confidence"]
    out["adversarial_confidence"] = adversarial["test"]["confidence"]
    return out


def _mean(values) -> float | None:
    values = [v for v in values if v is not None and math.isfinite(v)]
    return float(np.mean(values)) if values else None


def detect(corpus: str, attacks: list[str | Path], out: str | Path) -> dict:
    """Detection measures of every attack setting of a corpus from the attack JSONs; one row per setting (and
    per goal, partial / full, for C&W) with the attack's success and distortion beside them."""
    rows = []
    for path in attacks:
        path = Path(path)
        if not path.is_file():
            raise InputError(path, "attack results not found")
        try:
            result = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise InputError(path, f"not valid JSON ({exc.msg})") from None
        if result.get("corpus") != corpus:
            raise InputError(path, f"attack results of {result.get('corpus')!r}, expected {corpus!r}")
        benign = result["benign"]
        for entry in result["settings"]:
            base = {k: entry[k] for k in ("name", "eps_audio", "eps_video", "target", "iterations") if k in entry}
            base.update(method=result["method"], attack_seconds=entry["attack_seconds"])
            goals = ("partial", "full") if result["method"] == "cw" else (None,)
            for goal in goals:
                adv = {s: (v[goal] if goal else v) for s, v in entry["splits"].items()}
                test = adv["test"]
                row = {**base, "goal": goal} if goal else dict(base)
                if goal:
                    limit = 0.0 if goal == "full" else 0.5
                    row["success"] = float(np.mean([w <= limit for w in test["wer"]]))
                    row["wer"] = float(np.mean(test["wer"]))
                else:
                    row["accuracy"] = test["accuracy"]
                for key in ("l2_video", "linf_video", "linf_video_pixels", "linf_audio_db"):
                    row[key] = _mean(test[key])
                row.update(detection_measures(benign, adv))
                rows.append(row)
    benign_acc = None
    if rows:
        first = json.loads(Path(attacks[0]).read_text(encoding="utf-8"))["benign"]["test"]
        benign_acc = {k: first[k] for k in ("accuracy", "wer") if k in first}
    result = {"corpus": corpus, "benign": benign_acc, "settings": rows}
    write_text(out, json.dumps(result, indent=1) + "\n")
    return result
