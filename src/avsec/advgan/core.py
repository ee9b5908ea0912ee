"""Paper 2, SpeechAdvGan: train the victims, train one generator per target (or per source → target pair),
evaluate each generator, and run the black-box baselines. Called by the workflow/scripts of rules/advgan.smk.

Data are prepared shards (results/prep/speech_commands, results/prep/gtzan): int16 rows of 16384 samples,
kept in memory as int16 and scaled to [-1, 1] by eq. (12) on the device. A generator is named
``<source>_to_<target>``: ``yes_to_no`` is trained on the "yes" clips only (the authors' code, 90 per victim);
``all_to_no`` on every clip that is not "no" (the paper's text, 10 per victim).
"""

from __future__ import annotations

import json
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from avsec.advgan.names import ALL, LOSSES, parse_generator
from avsec.advgan.nets import Discriminator, Generator
from avsec.advgan.victims import VICTIMS
from avsec.core.errors import ConfigError, InputError
from avsec.data.corpora import names
from avsec.io.atomic import atomic_path, write_text
from avsec.io.audio import denormalize, normalize, write_audio
from avsec.io.shards import ShardedArray
from avsec.metrics.audio import mean_snr_db, pesq_score, snr_db
from avsec.metrics.classification import per_class_accuracy
from avsec.train import TrainSettings, fit, load_checkpoint, load_state, resolve_device, save_checkpoint
from avsec.train.checkpoint import build_from
from avsec.train.trainer import autocast


# ---- data --------------------------------------------------------------------------------------------------------
@dataclass
class Clips:
    """Rows of one split: int16 waveforms (N, L), label indices (N,), and the label names."""

    audio: torch.Tensor
    labels: torch.Tensor
    names: list[str]

    def of(self, keep: list[str]) -> Clips:
        mask = torch.tensor([self.names[i] in keep for i in self.labels.tolist()], dtype=torch.bool)
        return Clips(self.audio[mask], self.labels[mask], self.names)


def load_clips(data: str | Path, split: str, labels: list[str]) -> Clips:
    """The rows of ``split`` whose label is one of ``labels``, read from the shards into memory."""
    shards = ShardedArray(data)
    index = {name: i for i, name in enumerate(labels)}
    rows = [r for r in shards.rows(split) if shards.manifest[r]["label"] in index]
    if not rows:
        raise InputError(data, f"no {split} rows with labels {', '.join(labels)}")
    audio = np.stack([shards[r] for r in rows])
    if audio.dtype != np.int16 or audio.ndim != 2:
        raise InputError(data, f"expected int16 waveform rows, found {audio.dtype} {audio.shape[1:]}")
    y = [index[shards.manifest[r]["label"]] for r in rows]
    return Clips(torch.from_numpy(audio), torch.tensor(y), list(labels))


# ---- victims -----------------------------------------------------------------------------------------------------
def build_victim(victim: str, classes: int, arch: dict) -> nn.Module:
    if victim not in VICTIMS:
        raise ConfigError(f"unknown victim {victim!r}; choose one of {', '.join(VICTIMS)}")
    return VICTIMS[victim](classes, **arch)


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

    def __init__(self, model: nn.Module, val: Clips, *, lr: float, weight_decay: float, epochs: int):
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
        pred = predict(self.model, self.val.audio, 256)
        return {"val_acc": (pred == self.val.labels).float().mean().item()}


def predict(model: nn.Module, audio: torch.Tensor, batch: int) -> torch.Tensor:
    """Predicted label indices (on the CPU), in batches on the model's device. int16 clips are scaled by eq. (12)
    there; float waveforms (adversarial examples) are taken as they are."""
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
    *,
    labels: list[str] | str,
    rate: int,
    epochs: int,
    corpus: str = "",
    batch: int,
    lr: float,
    weight_decay: float = 0.0,
    seed: int = 1024,
    device: str = "auto",
    bf16: bool = True,
    checkpoint_every: int = 200,
    **arch,
) -> dict:
    """Train a victim on the train split, write ``out`` (checkpoint) and ``metrics`` (test accuracy JSON).

    ``arch`` holds the network's own settings (depth, widen, width, dropout, the MFCC's); ``rate`` is recorded
    with it, and is the WideResNet MFCC's sampling rate."""
    labels = list(names(labels, "labels"))
    arch = {"rate": rate, **arch}
    train, val, test = (load_clips(data, split, labels) for split in ("train", "val", "test"))
    torch.manual_seed(seed)
    model = build_victim(victim, len(labels), arch)
    settings = TrainSettings(
        epochs,
        batch,
        seed,
        device,
        bf16,
        checkpoint_every,
        fingerprint={"victim": victim, "labels": labels, "lr": lr, "wd": weight_decay, **arch},
    )
    resume = Path(f"{out}.resume")
    task = ClassifierTask(model, val, lr=lr, weight_decay=weight_decay, epochs=epochs)
    history = fit(task, (train.audio, train.labels), settings, resume, desc=victim)
    model.eval()
    pred = predict(model, test.audio, 256)
    result = {
        "victim": victim,
        "corpus": corpus or Path(data).name,
        "labels": labels,
        "rate": rate,
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
            "rate": rate,
            "modules": {"model": model.cpu().state_dict()},
        },
    )
    write_text(metrics, json.dumps(result, indent=2) + "\n")
    resume.unlink(missing_ok=True)
    return result


# ---- generators --------------------------------------------------------------------------------------------------
class GeneratorTask:
    """SpeechAdvGan's three-party game: the generator against the discriminator, with the frozen victim joining
    after ``warmup`` epochs (Algorithm 1). ``loss="paper"`` is eqs. (5)–(10): CE + α·log(1 − D(x_adv)) +
    β·hinge(‖δ‖₂ − c) + γ·‖x_adv − x‖₂ with a cross-entropy discriminator; ``loss="code"`` is the authors' code:
    LSGAN terms, CE, γ·mean|x_adv − x| and β·mean‖δ‖₂ (DESIGN.md §4)."""

    def __init__(
        self, generator, discriminator, victim, target: int, *, loss, alpha, beta, gamma, c, clamp, warmup, lr, betas
    ):
        if loss not in LOSSES:
            raise ConfigError(f"advgan loss must be one of {', '.join(LOSSES)}, not {loss!r}")
        self.g, self.d, self.victim, self.target = generator, discriminator, victim, target
        self.loss, self.alpha, self.beta, self.gamma, self.c = loss, alpha, beta, gamma, c
        self.clamp, self.warmup = clamp, warmup
        self.modules = {"generator": generator, "discriminator": discriminator}
        self.optimizers = {
            name: torch.optim.Adam(m.parameters(), lr=lr, betas=tuple(betas)) for name, m in self.modules.items()
        }
        self.schedulers = {}

    def attack(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        delta = self.g(x).clamp(-self.clamp, self.clamp)
        return (x + delta).clamp(-1, 1), delta

    def step(self, batch, epoch):
        x = normalize(batch[0])
        x_adv, delta = self.attack(x)
        # discriminator: genuine clips → 1, adversarial → 0
        real, fake = self.d(x), self.d(x_adv.detach())
        if self.loss == "code":
            loss_d = F.mse_loss(real, torch.ones_like(real)) + F.mse_loss(fake, torch.zeros_like(fake))
        else:
            loss_d = 0.5 * (
                F.binary_cross_entropy_with_logits(real, torch.ones_like(real))
                + F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake))
            )
        self.optimizers["discriminator"].zero_grad(set_to_none=True)
        loss_d.backward()
        self.optimizers["discriminator"].step()
        # generator
        fake = self.d(x_adv)
        norm = delta.float().flatten(1).norm(dim=1)
        if self.loss == "code":
            fool = F.mse_loss(fake, torch.ones_like(fake))
            quality = self.gamma * (x_adv - x).abs().mean() + self.beta * norm.mean()
        else:
            fool = -F.softplus(fake).mean()  # log(1 − sigmoid(fake)), eq. (7)
            quality = (
                self.beta * F.relu(norm - self.c).mean()
                + self.gamma * (x_adv - x).float().flatten(1).norm(dim=1).mean()
            )
        loss_g = self.alpha * fool + quality
        logits = self.victim(x_adv)
        target = torch.full((len(x),), self.target, device=x.device)
        ce = F.cross_entropy(logits.float(), target)
        if epoch >= self.warmup:
            loss_g = loss_g + ce
        self.optimizers["generator"].zero_grad(set_to_none=True)
        loss_g.backward()
        self.optimizers["generator"].step()
        hit = (logits.argmax(1) == target).float().mean()
        return {
            "loss_d": loss_d.item(),
            "loss_g": loss_g.item(),
            "ce": ce.item(),
            "success": hit.item(),
            "snr": mean_snr_db(x.detach(), x_adv.detach()),
        }

    def end_epoch(self, epoch):
        return {}


def train_generator(
    generator: str,
    victim_ckpt: str | Path,
    data: str | Path,
    out: str | Path,
    *,
    loss: str = "paper",
    alpha: float = 1.0,
    beta: float = 1.0,
    gamma: float = 100.0,
    c: float = 0.0,
    clamp: float = 0.3,
    warmup: int = 3,
    lr: float = 2e-4,
    betas: tuple[float, float] = (0.5, 0.999),
    batch: int = 64,
    epochs: int = 50,
    width: float = 1.0,
    discriminator_width: float = 1.0,
    seed: int = 1024,
    device: str = "auto",
    bf16: bool = True,
    checkpoint_every: int = 200,
) -> list:
    """Train generator ``<source>_to_<target>`` against a trained victim; write its checkpoint to ``out``."""
    victim, vckpt = load_victim(victim_ckpt)
    labels = list(vckpt["labels"])
    sources = check_generator(generator, labels, victim_ckpt)
    source, target = parse_generator(generator)
    train = load_clips(data, "train", sources)
    torch.manual_seed(seed)
    g, d = Generator(width), Discriminator(discriminator_width)
    hyper = dict(
        loss=loss,
        alpha=alpha,
        beta=beta,
        gamma=gamma,
        c=c,
        clamp=clamp,
        warmup=warmup,
        lr=lr,
        betas=list(map(float, betas)),
    )
    settings = TrainSettings(
        epochs,
        batch,
        seed,
        device,
        bf16,
        checkpoint_every,
        fingerprint={
            "generator": generator,
            "width": width,
            "dwidth": discriminator_width,
            "victim": str(victim_ckpt),
            **hyper,
        },
    )
    victim.to(resolve_device(device))
    task = GeneratorTask(g, d, victim, labels.index(target), **hyper)
    resume = Path(f"{out}.resume")
    history = fit(task, (train.audio,), settings, resume, desc=f"{vckpt['victim']} {generator}")
    save_checkpoint(
        out,
        {
            "kind": "generator",
            "victim": vckpt["victim"],
            "generator": generator,
            "source": source,
            "target": target,
            "labels": labels,
            "width": width,
            "clamp": clamp,
            "history": history,
            "modules": {"generator": g.cpu().state_dict()},
        },
    )
    resume.unlink(missing_ok=True)
    return history


def check_generator(generator: str, labels: list[str], victim_ckpt: str | Path) -> list[str]:
    """The source labels a generator trains and is evaluated on; one line if the victim lacks a label."""
    source, target = parse_generator(generator)
    for label in (target,) if source == ALL else (source, target):
        if label not in labels:
            raise InputError(
                victim_ckpt,
                f"the victim has no label {label!r} (its labels: {', '.join(labels)}); "
                f"cannot train generator {generator}",
            )
    if source == target:
        raise ConfigError(f"generator {generator}: source and target are the same label")
    return [label for label in labels if label != target] if source == ALL else [source]


def load_generator(path: str | Path) -> tuple[Generator, dict]:
    required = ("victim", "generator", "source", "target", "labels", "width", "clamp", "modules")
    ckpt = load_checkpoint(path, "generator", require=required)
    model = build_from(path, Generator, ckpt["width"])
    load_state(path, model, ckpt["modules"].get("generator", {})).eval()
    return model, ckpt


# ---- evaluation --------------------------------------------------------------------------------------------------
def _timed(fn, device: torch.device) -> float:
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    fn()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start


def generate(generator: Generator, clamp: float, audio: torch.Tensor, batch: int, device, bf16: bool) -> torch.Tensor:
    """Adversarial float waveforms (on the CPU) for int16 clips."""
    out = []
    with torch.inference_mode(), autocast(device, bf16):
        for i in range(0, len(audio), batch):
            x = normalize(audio[i : i + batch].to(device))
            out.append((x + generator(x).float().clamp(-clamp, clamp)).clamp(-1, 1).float().cpu())
    return torch.cat(out)


def evaluate_generator(
    generator_ckpt: str | Path,
    victim_ckpt: str | Path,
    data: str | Path,
    out: str | Path,
    examples_dir: str | Path,
    *,
    batch: int = 64,
    timing_clips: int = 50,
    pesq_clips: int = 100,
    examples: int = 2,
    device: str = "auto",
    bf16: bool = True,
) -> dict:
    """Targeted success per held-out source, SNR (eq. 15), PESQ, generation time; WAV examples to listen to."""
    dev = resolve_device(device)
    victim, vckpt = load_victim(victim_ckpt)
    generator, gckpt = load_generator(generator_ckpt)
    if gckpt["victim"] != vckpt["victim"] or list(gckpt["labels"]) != list(vckpt["labels"]):
        raise InputError(generator_ckpt, f"was trained against {gckpt['victim']}, not the victim in {victim_ckpt}")
    labels, rate, name = list(vckpt["labels"]), int(vckpt["rate"]), gckpt["generator"]
    sources = check_generator(name, labels, victim_ckpt)
    test = load_clips(data, "test", sources)
    victim.to(dev), generator.to(dev)
    target = labels.index(gckpt["target"])
    # warm up, then time the batched generator over the whole test set and at batch 1 on a few clips
    generate(generator, gckpt["clamp"], test.audio[:2], batch, dev, bf16)
    adv: list[torch.Tensor] = []
    seconds = _timed(lambda: adv.append(generate(generator, gckpt["clamp"], test.audio, batch, dev, bf16)), dev)
    adv_audio = adv[0]
    few = test.audio[:timing_clips]
    seconds1 = _timed(
        lambda: [generate(generator, gckpt["clamp"], few[i : i + 1], 1, dev, bf16) for i in range(len(few))], dev
    )
    pred = predict(victim, adv_audio, batch)
    before = predict(victim, test.audio, batch)  # the clean clips: how often the target is predicted anyway
    clean = normalize(test.audio)
    snr = snr_db(clean.numpy(), adv_audio.numpy())
    per_source, chosen = {}, []
    for label in sources:
        idx = (test.labels == labels.index(label)).nonzero()[:, 0].tolist()
        if not idx:
            continue
        scores = [
            pesq_score(denormalize(clean[i].numpy()), denormalize(adv_audio[i].numpy()), rate) for i in idx[:pesq_clips]
        ]
        per_source[label] = {
            "clips": len(idx),
            "success": float((pred[idx] == target).float().mean()),
            "clean_rate": float((before[idx] == target).float().mean()),
            "snr_db": _mean(snr[idx]),
            "pesq": _mean(scores),
        }
        chosen += [(label, k, i) for k, i in enumerate(idx[:examples])]
    written = []
    with atomic_path(examples_dir, directory=True) as tmp:
        for label, k, i in chosen:
            entry = {
                "source": label,
                "clean": f"examples/{label}_{k}_clean.wav",
                "adversarial": f"examples/{label}_{k}_adv.wav",
                "predicted": labels[int(pred[i])],
                "rate": rate,
            }
            write_audio(Path(tmp) / Path(entry["clean"]).name, denormalize(clean[i].numpy()), rate)
            write_audio(Path(tmp) / Path(entry["adversarial"]).name, denormalize(adv_audio[i].numpy()), rate)
            written.append(entry)
    cells = list(per_source.values())
    result = {
        "victim": vckpt["victim"],
        "generator": name,
        "source": gckpt["source"],
        "target": gckpt["target"],
        "per_source": per_source,
        "success": float((pred == target).float().mean()),
        "clean_rate": float((before == target).float().mean()),
        "snr_db": _mean(snr),
        "pesq": _mean([c["pesq"] for c in cells]),
        "seconds_per_clip_batched": seconds / len(test.audio),
        "seconds_per_clip_batch1": seconds1 / max(1, len(few)),
        "batch": batch,
        "device": str(dev),
        "clips": len(test.audio),
        "examples": written,
    }
    write_text(out, json.dumps(result, indent=2, allow_nan=True) + "\n")
    print(
        f"{name}: success {result['success']:.1%}, SNR {result['snr_db']:.2f} dB, PESQ {result['pesq']:.3f}, "
        f"{1e3 * result['seconds_per_clip_batched']:.3f} ms per clip batched",
        file=sys.stderr,
    )
    return result


def _mean(values) -> float:
    values = [float(v) for v in np.asarray(values, dtype=np.float64).ravel() if math.isfinite(v)]
    return float(np.mean(values)) if values else float("nan")


# ---- baselines ---------------------------------------------------------------------------------------------------
def attack_baseline(
    method: str,
    victim_ckpt: str | Path,
    data: str | Path,
    out: str | Path,
    *,
    clips: int,
    seed: int = 1024,
    device: str = "auto",
    **settings,
) -> dict:
    """Run a black-box baseline on ``clips`` test clips drawn with ``seed``, each towards a random other label."""
    from avsec.advgan.baselines.run import run_baseline

    dev = resolve_device(device)
    victim, vckpt = load_victim(victim_ckpt)
    labels = list(vckpt["labels"])
    test = load_clips(data, "test", labels)
    rng = np.random.default_rng(seed)
    pick = rng.choice(len(test.audio), size=min(clips, len(test.audio)), replace=False)
    sources = [labels[int(test.labels[i])] for i in pick]
    targets = [str(rng.choice([t for t in labels if t != s])) for s in sources]
    x = normalize(test.audio[torch.from_numpy(pick)]).to(dev)
    result = run_baseline(method, victim.to(dev), x, sources, targets, labels, seed=seed, **settings)
    result = {"victim": vckpt["victim"], **result}
    write_text(out, json.dumps(result, indent=2, allow_nan=True) + "\n")
    return result


# ---- report ------------------------------------------------------------------------------------------------------
def write_report(results: str | Path, out: str | Path, generators: dict) -> None:
    """Read what the other rules wrote under ``results`` (results/advgan) for the named generators of each victim
    and write the tables and figures (avsec.advgan.report) to ``out``."""
    from avsec.advgan.baselines.run import METHODS
    from avsec.advgan.report import write_report as render

    def load(file: Path, **extra) -> dict:
        try:
            return {**json.loads(file.read_text(encoding="utf-8")), **extra}
        except (OSError, ValueError) as exc:
            raise InputError(file, f"unreadable results JSON ({exc})") from None

    root = Path(results)
    victims = [load(root / victim / "victim.json") for victim in generators]
    evaluations = [
        load(root / victim / name / "eval.json", path=str(root / victim / name))
        for victim, listed in generators.items()
        for name in names(listed, victim)
    ]
    baselines = [load(root / victim / "baselines" / f"{method}.json") for victim in generators for method in METHODS]
    render(out, victims, evaluations, baselines)
