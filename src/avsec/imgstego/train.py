"""Paper 3's training: the Hiding and Reveal blocks together (one model per variant), then the U-Net enhancer on
RGB images the frozen model reveals.

Hiding / reveal: one greyscale plane (one channel of a VOC image) per row, a carrier drawn at random from the
TIMIT train rows, loss = carrier·MSE(C, Ĉ) + image·(mse·MSE(M, M̂) + ssim·(1 − SSIM(M, M̂))), Adam. The weights
are our reading of the paper's Table 1, whose header our copy lost (config.yaml, docs/protocols.md, paper 3). At
smoke scale the networks train on random ``crop``×``crop`` patches (they are fully convolutional) and are
evaluated whole. Enhancer (section 5.1): each RGB training image's three channels are hidden in three random
carriers and revealed by the frozen model; the U-Net learns mse·MSE + ssim·(1 − SSIM) to the original.
"""

from __future__ import annotations

import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from avsec.core.errors import InputError
from avsec.data.rows import ShardRows
from avsec.imgstego.frontend import CARRIER_SPLITS, IMAGE_SPLITS, Frontend, Images, crops, load_carriers
from avsec.imgstego.names import epochs_to_reach
from avsec.imgstego.nets import Enhancer, ImageStego
from avsec.metrics.image import ssim
from avsec.train import TrainSettings, fit, load_checkpoint, load_state, resolve_device, save_checkpoint
from avsec.train.checkpoint import build_from


@dataclass(frozen=True)
class ImgstegoTraining:
    """One hiding/reveal model (rule train_imgstego; flags of imgstego.spectrogram, imgstego.train,
    imgstego.variants.<variant> and scales.<scale>.imgstego.train, the spectrogram's gathered in ``front``)."""

    carrier: float  # loss weights: carrier·MSE(C, Ĉ) + image·(mse·MSE(M, M̂) + ssim·(1 − SSIM(M, M̂)))
    image: float
    mse: float
    ssim: float
    lr: float = 1e-3  # Adam
    betas: tuple[float, float] = (0.9, 0.999)
    width: int = 32  # the networks (avsec.imgstego.nets)
    layers: int = 2
    levels: int = 4
    crop: int = 0  # random crop×crop training patches; 0: the whole spectrogram
    epochs: int = 10
    train_steps: int = 0  # the training length in steps (the paper's ~203 K), whatever the split's size; 0: epochs
    batch: int = 8
    seed: int = 1024
    device: str = "auto"
    bf16: bool = True
    checkpoint_every: int = 200
    steps: int = 0  # stop training after this many steps (0: every epoch; benches and rehearsals)
    log_every: int = 500  # a history CSV row every this many steps, besides each epoch's (0: epochs only)
    front: Frontend = field(default_factory=Frontend)


@dataclass(frozen=True)
class EnhancerTraining:
    """The U-Net enhancer (rule train_enhancer; flags of imgstego.enhancer and scales.<scale>.imgstego.enhancer)."""

    mse: float  # loss weights: mse·MSE + ssim·(1 − SSIM) of the enhanced and the original image
    ssim: float
    lr: float = 1e-3  # Adam
    betas: tuple[float, float] = (0.9, 0.999)
    width: int = 32
    levels: int = 4
    crop: int = 0
    epochs: int = 10
    batch: int = 4
    seed: int = 1024
    device: str = "auto"
    bf16: bool = True
    checkpoint_every: int = 200
    steps: int = 0  # stop training after this many steps (0: every epoch; benches and rehearsals)
    log_every: int = 500  # a history CSV row every this many steps, besides each epoch's (0: epochs only)


def image_loss(revealed: torch.Tensor, image: torch.Tensor, *, mse: float, ssim_weight: float) -> torch.Tensor:
    """mse·MSE + ssim·(1 − SSIM) of [0, 1] images (B, C, H, W)."""
    loss = mse * F.mse_loss(revealed.float(), image.float())
    if ssim_weight:
        loss = loss + ssim_weight * (1 - ssim(revealed.float(), image.float()).mean())
    return loss


def _mae255(a: torch.Tensor, b: torch.Tensor) -> float:
    return (a.detach().float() - b.float()).abs().mean().item() * 255


def _fit_settings(s: ImgstegoTraining | EnhancerTraining, rows: int, **fingerprint) -> TrainSettings:
    """The trainer's settings; with ``train_steps``, the epochs over ``rows`` that reach it (at most one epoch more)."""
    return TrainSettings(
        epochs_for(s, rows), s.batch, s.seed, s.device, s.bf16, s.checkpoint_every, fingerprint=fingerprint,
        steps=s.steps, log_every=s.log_every,
    )  # fmt: skip


def epochs_for(s: ImgstegoTraining | EnhancerTraining, rows: int) -> int:
    """``s.epochs``, or with ``train_steps`` the whole epochs of ``rows`` in batches of ``s.batch`` that reach it."""
    return epochs_to_reach(getattr(s, "train_steps", 0), rows, s.batch, s.epochs)


# ---- hiding / reveal ---------------------------------------------------------------------------------------------
class HideTask:
    """Hiding and Reveal blocks trained together on (greyscale plane, random carrier) pairs."""

    def __init__(self, model: ImageStego, images: Images, carriers: ShardRows, settings: ImgstegoTraining):
        self.model, self.images, self.carriers, self.front = model, images, carriers, settings.front
        self.weights = dict(carrier=settings.carrier, image=settings.image, mse=settings.mse, ssim=settings.ssim)
        self.crop = settings.crop
        self.modules = {"model": model}
        self.optimizers = {"model": torch.optim.Adam(model.parameters(), lr=settings.lr, betas=tuple(settings.betas))}
        self.schedulers = {}

    def pairs(self, planes: torch.Tensor, device) -> tuple[torch.Tensor, torch.Tensor]:
        """Carrier magnitudes and [0, 1] planes (B, 1, h, w) for plane numbers (image · channels + channel)."""
        planes = planes.cpu()
        c = self.images.channels
        pixels = self.images.get((planes // c).tolist())
        image = torch.from_numpy(pixels[np.arange(len(planes)), (planes % c).numpy()][:, None].copy())
        picks = torch.randint(0, len(self.carriers), (len(planes),))
        magnitude, _ = self.front.analyse(self.carriers[picks].to(device))
        return crops(magnitude, self.crop), crops(image.to(device).float() / 255, self.crop)

    def step(self, batch, epoch):
        carrier, image = self.pairs(batch[0], batch[0].device)
        embedded, revealed = self.model(carrier, image)
        w = self.weights
        loss_c = F.mse_loss(embedded.float(), carrier)
        loss_m = image_loss(revealed, image, mse=w["mse"], ssim_weight=w["ssim"])
        loss = w["carrier"] * loss_c + w["image"] * loss_m
        self.optimizers["model"].zero_grad(set_to_none=True)
        loss.backward()
        self.optimizers["model"].step()
        return {"loss": loss.item(), "carrier_mse": loss_c.item(), "image_mae": _mae255(revealed, image)}

    def end_epoch(self, epoch):
        return {}


def train_model(
    variant: str,
    timit: str | Path,
    voc: str | Path,
    out: str | Path,
    settings: ImgstegoTraining,
    history_csv: str | Path | None = None,
) -> list:
    """Train the Hiding and Reveal blocks of ``variant`` (a name: base, ssim) and write the checkpoint ``out`` and,
    when given, the history CSV ``history_csv``."""
    s, front = settings, settings.front
    images = Images(voc, IMAGE_SPLITS[0], front.shape)
    carriers, rejects = load_carriers(timit, CARRIER_SPLITS[0], front)
    for reject in rejects:
        print(f"carrier left out: {reject['source']}: {reject['reason']}", file=sys.stderr)
    arch = dict(width=s.width, layers=s.layers, levels=s.levels)
    weights = dict(carrier=s.carrier, image=s.image, mse=s.mse, ssim=s.ssim)
    torch.manual_seed(s.seed)
    model = ImageStego(**arch)
    fit_settings = _fit_settings(
        s, len(images) * images.channels, variant=variant, crop=s.crop, lr=s.lr, betas=list(map(float, s.betas)),
        front=asdict(front), images=len(images), carriers=len(carriers), **arch, **weights,
    )  # fmt: skip
    task = HideTask(model, images, carriers, s)
    planes = torch.arange(len(images) * images.channels)
    resume = Path(f"{out}.resume")
    history = fit(task, (planes,), fit_settings, resume, desc=f"imgstego {variant}", history_csv=history_csv)
    save_checkpoint(
        out,
        {
            "kind": "imgstego",
            "variant": variant,
            "arch": arch,
            "front": asdict(front),
            "weights": weights,
            "carrier_rejects": rejects,
            "history": history,
            "modules": {"model": model.cpu().state_dict()},
        },
    )
    resume.unlink(missing_ok=True)
    return history


def load_model(path: str | Path) -> tuple[ImageStego, Frontend, dict]:
    ckpt = load_checkpoint(path, "imgstego", require=("variant", "arch", "front", "modules"))
    model = build_from(path, ImageStego, **ckpt["arch"])
    load_state(path, model, ckpt["modules"].get("model", {})).eval()
    front = build_from(path, lambda: Frontend(**ckpt["front"]))
    return model, front, ckpt


# ---- enhancer ----------------------------------------------------------------------------------------------------
class EnhanceTask:
    """The U-Net enhancer trained on RGB images revealed by the frozen main model (three random carriers each)."""

    def __init__(
        self,
        enhancer: Enhancer,
        model: ImageStego,
        images: Images,
        carriers: ShardRows,
        front: Frontend,
        settings: EnhancerTraining,
    ):
        self.enhancer, self.model, self.images, self.carriers, self.front = enhancer, model, images, carriers, front
        self.mse, self.ssim, self.crop = settings.mse, settings.ssim, settings.crop
        self.modules = {"enhancer": enhancer}
        self.optimizers = {
            "enhancer": torch.optim.Adam(enhancer.parameters(), lr=settings.lr, betas=tuple(settings.betas))
        }
        self.schedulers = {}

    def step(self, batch, epoch):
        device = batch[0].device
        pixels = torch.from_numpy(self.images.get(batch[0].cpu().tolist())).to(device).float() / 255
        original = crops(pixels, self.crop)
        planes = original.flatten(0, 1)[:, None]  # (B·C, 1, h, w): every channel in its own carrier
        picks = torch.randint(0, len(self.carriers), (len(planes),))
        magnitude, _ = self.front.analyse(self.carriers[picks].to(device))
        carrier = crops(magnitude, self.crop)
        with torch.no_grad():
            revealed = self.model(carrier, planes)[1].float().reshape(original.shape)
        enhanced = self.enhancer(revealed)
        loss = image_loss(enhanced, original, mse=self.mse, ssim_weight=self.ssim)
        self.optimizers["enhancer"].zero_grad(set_to_none=True)
        loss.backward()
        self.optimizers["enhancer"].step()
        return {"loss": loss.item(), "revealed_mae": _mae255(revealed, original), "mae": _mae255(enhanced, original)}

    def end_epoch(self, epoch):
        return {}


def train_enhancer(
    model_ckpt: str | Path,
    timit: str | Path,
    voc: str | Path,
    out: str | Path,
    settings: EnhancerTraining,
    history_csv: str | Path | None = None,
) -> list:
    """Train the U-Net enhancer on revealed RGB training images of the main model ``model_ckpt``; ``history_csv``: the
    history CSV, when given."""
    s = settings
    model, front, mckpt = load_model(model_ckpt)
    for p in model.parameters():
        p.requires_grad_(False)
    images = Images(voc, IMAGE_SPLITS[0], front.shape)
    if images.channels != 3:
        raise InputError(voc, "the enhancer is trained on RGB images; these are greyscale")
    carriers, _ = load_carriers(timit, CARRIER_SPLITS[0], front)
    arch = dict(width=s.width, levels=s.levels)
    torch.manual_seed(s.seed)
    enhancer = Enhancer(**arch)
    fit_settings = _fit_settings(
        s, len(images), model=str(model_ckpt), variant=mckpt["variant"], mse=s.mse, ssim=s.ssim, crop=s.crop, lr=s.lr,
        betas=list(map(float, s.betas)), images=len(images), **arch,
    )  # fmt: skip
    model.to(resolve_device(s.device))
    task = EnhanceTask(enhancer, model, images, carriers, front, s)
    resume = Path(f"{out}.resume")
    history = fit(task, (torch.arange(len(images)),), fit_settings, resume, "imgstego enhancer", history_csv)
    save_checkpoint(
        out,
        {
            "kind": "imgstego_enhancer",
            "variant": mckpt["variant"],
            "arch": arch,
            "history": history,
            "modules": {"enhancer": enhancer.cpu().state_dict()},
        },
    )
    resume.unlink(missing_ok=True)
    return history


def load_enhancer(path: str | Path) -> tuple[Enhancer, dict]:
    ckpt = load_checkpoint(path, "imgstego_enhancer", require=("arch", "modules"))
    enhancer = build_from(path, Enhancer, **ckpt["arch"])
    load_state(path, enhancer, ckpt["modules"].get("enhancer", {})).eval()
    return enhancer, ckpt
