"""Training one SpeechAdvGan generator against a trained, frozen victim (rule train_generator), and loading it.

A generator is named ``<source>_to_<target>``: ``yes_to_no`` is trained on the "yes" clips only (the authors'
code, 90 per victim); ``all_to_no`` on every clip that is not "no" (the paper's text, 10 per victim).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from avsec.advgan.data import clip_rows
from avsec.advgan.names import ALL, LOSSES, parse_generator
from avsec.advgan.nets import Discriminator, Generator
from avsec.advgan.victims import load_victim
from avsec.core.errors import ConfigError, InputError
from avsec.io.audio import normalize
from avsec.metrics.audio import mean_snr_db
from avsec.train import TrainSettings, fit, frozen, load_checkpoint, load_state, resolve_device, save_checkpoint
from avsec.train.checkpoint import build_from


@dataclass
class GeneratorTraining:
    """The settings of rule train_generator (its --key value flags; config.yaml: advgan.generator and the scale's).

    ``loss`` "paper" or "code" (see :class:`GeneratorTask`), the weights ``alpha``, ``beta``, ``gamma`` of eq. (5),
    the hinge bound ``c`` of eq. (8), the perturbation bound ``clamp``, the victim's ``warmup`` epochs, Adam's
    ``lr`` and ``betas``; ``width`` and ``discriminator_width`` scale the networks' channels."""

    loss: str = "paper"
    alpha: float = 1.0
    beta: float = 1.0
    gamma: float = 100.0
    c: float = 0.0
    clamp: float = 0.3
    warmup: int = 3
    lr: float = 2e-4
    betas: tuple[float, float] | list[float] = (0.5, 0.999)
    batch: int = 64
    epochs: int = 50
    width: float = 1.0
    discriminator_width: float = 1.0
    discriminator_init: str = "xavier"  # Algorithm 1's Xavier, or "default" (PyTorch's; smoke scale)
    seed: int = 1024
    device: str = "auto"
    bf16: bool = True
    checkpoint_every: int = 200
    steps: int = 0  # stop training after this many steps (0: every epoch; benches and rehearsals)
    patience: int = 0  # stop once the epoch's training success moved by at most tolerance for this many epochs
    tolerance: float = 0.01
    log_every: int = 10  # a history CSV row every this many steps, besides each epoch's (0: epochs only)


class GeneratorTask:
    """SpeechAdvGan's three-party game: the generator against the discriminator, with the frozen victim joining
    after ``warmup`` epochs (Algorithm 1). ``loss="paper"`` is eqs. (5)–(10): CE + α·log(1 − D(x_adv)) +
    β·hinge(‖δ‖₂ − c) + γ·‖x_adv − x‖₂ with a cross-entropy discriminator; ``loss="code"`` is the authors' code:
    LSGAN terms, CE, γ·mean|x_adv − x| and β·mean‖δ‖₂ (docs/protocols.md, paper 2). Of ``settings`` it reads the
    loss, its weights, ``clamp``, ``warmup`` and the optimiser's ``lr`` and ``betas``."""

    def __init__(self, generator, discriminator, victim, target: int, settings: GeneratorTraining):
        s = settings
        if s.loss not in LOSSES:
            raise ConfigError(f"advgan loss must be one of {', '.join(LOSSES)}, not {s.loss!r}")
        self.g, self.d, self.victim, self.target = generator, discriminator, victim, target
        self.loss, self.alpha, self.beta, self.gamma, self.c = s.loss, s.alpha, s.beta, s.gamma, s.c
        self.clamp, self.warmup = s.clamp, s.warmup
        self.modules = {"generator": generator, "discriminator": discriminator}
        self.optimizers = {
            name: torch.optim.Adam(m.parameters(), lr=s.lr, betas=tuple(map(float, s.betas)))
            for name, m in self.modules.items()
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
        # generator (its loss needs D's gradient with respect to x_adv, not D's weights')
        with frozen(self.d):
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
    settings: GeneratorTraining,
    history_csv: str | Path | None = None,
) -> list:
    """Train generator ``<source>_to_<target>`` against a trained victim; write its checkpoint to ``out`` and,
    when given, its history CSV to ``history_csv`` (a row every ``log_every`` steps and per epoch)."""
    s = settings
    victim, vckpt = load_victim(victim_ckpt)
    labels = list(vckpt["labels"])
    sources = check_generator(generator, labels, victim_ckpt)
    source, target = parse_generator(generator)
    train = clip_rows(data, "train", sources)
    torch.manual_seed(s.seed)
    g, d = Generator(s.width), Discriminator(s.discriminator_width, init=s.discriminator_init)
    hyper = dict(
        loss=s.loss,
        alpha=s.alpha,
        beta=s.beta,
        gamma=s.gamma,
        c=s.c,
        clamp=s.clamp,
        warmup=s.warmup,
        lr=s.lr,
        betas=list(map(float, s.betas)),
    )
    train_settings = TrainSettings(
        s.epochs,
        s.batch,
        s.seed,
        s.device,
        s.bf16,
        s.checkpoint_every,
        steps=s.steps,
        log_every=s.log_every,
        patience=s.patience,
        monitor="success",
        tolerance=s.tolerance,
        fingerprint={
            "generator": generator,
            "width": s.width,
            "dwidth": s.discriminator_width,
            "dinit": s.discriminator_init,
            "victim": str(victim_ckpt),
            **hyper,
        },
    )
    victim.to(resolve_device(s.device))
    task = GeneratorTask(g, d, victim, labels.index(target), s)
    resume = Path(f"{out}.resume")
    history = fit(task, train, train_settings, resume, desc=f"{vckpt['victim']} {generator}", history_csv=history_csv)
    save_checkpoint(
        out,
        {
            "kind": "generator",
            "victim": vckpt["victim"],
            "generator": generator,
            "source": source,
            "target": target,
            "labels": labels,
            "width": s.width,
            "clamp": s.clamp,
            "settings": hyper,  # the loss and its weights (the loss ablation's table reads them)
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
    """A trained generator in eval mode and its checkpoint's description."""
    required = ("victim", "generator", "source", "target", "labels", "width", "clamp", "modules")
    ckpt = load_checkpoint(path, "generator", require=required)
    model = build_from(path, Generator, ckpt["width"])
    load_state(path, model, ckpt["modules"].get("generator", {})).eval()
    return model, ckpt


def load_attack(
    generator_ckpt: str | Path, victim_ckpt: str | Path | None = None
) -> tuple[Generator, dict, torch.nn.Module, dict]:
    """A trained generator and the victim it was trained against (each with its checkpoint's description); one line
    naming the generator when the victim is another (another network or other labels). Without ``victim_ckpt``, the
    victim is ``victim.pt`` beside the generator's folder (results/advgan/<victim>/<generator>/generator.pt)."""
    generator, gckpt = load_generator(generator_ckpt)
    if victim_ckpt is None:
        victim_ckpt = Path(generator_ckpt).absolute().parent.parent / "victim.pt"
        if not victim_ckpt.is_file():
            raise InputError(victim_ckpt, "no victim checkpoint beside the generator's folder (give --victim)")
    victim, vckpt = load_victim(victim_ckpt)
    if gckpt["victim"] != vckpt["victim"] or list(gckpt["labels"]) != list(vckpt["labels"]):
        raise InputError(generator_ckpt, f"was trained against {gckpt['victim']}, not the victim in {victim_ckpt}")
    return generator, gckpt, victim, vckpt
