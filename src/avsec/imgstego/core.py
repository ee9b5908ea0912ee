"""Paper 3, image in speech: train the hiding/reveal model, train the image enhancer, evaluate. Called by the
workflow/scripts of rules/imgstego.smk.

Front-end (section 5.1, Table 2): a 1 s carrier at 16 kHz (``samples`` from ``offset`` in each prepared TIMIT
row), STFT with FFT length 1024, frame length 1024, frame step 31, the magnitude fed to the model. 16000
samples at step 31 give 517 centred frames, not the paper's 512: our reading is that the model sees the first
``frames`` = 512 frames × 513 bins (0.99 s; the 512×513 the paper states and the VOC images are resized to),
and the last 5 frames pass through unchanged. The embedded magnitude takes the carrier's phase and goes back to
16000 samples by the inverse STFT. Spectrograms are laid out (frames, bins) = (512, 513), the image's (height,
width).

The networks see the magnitude as it is (``compress`` 0, the paper's text) or log1p(compress·|X|).

Training: one greyscale plane (one channel of a VOC image) per row, a carrier drawn at random from the TIMIT
train rows, loss = carrier·MSE(C, Ĉ) + image·(mse·MSE(M, M̂) + ssim·(1 − SSIM(M, M̂))); the weights are our
reading of the paper's Table 1, whose header our copy lost (config.yaml, README). At smoke scale the networks
train on random ``crop``×``crop`` patches (they are fully convolutional) and are evaluated whole.
RGB (section 5.1): the three channels are hidden in three carriers whose audio is concatenated; the revealed
planes are reassembled, and a U-Net enhancer is trained afterwards on revealed RGB images.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from avsec.core.errors import ConfigError, InputError
from avsec.dsp.stft import istft, stft
from avsec.imgstego.nets import Enhancer, ImageStego
from avsec.io.atomic import atomic_path, write_text
from avsec.io.audio import INT16_SCALE, to_int16, write_audio
from avsec.io.shards import ShardedArray
from avsec.metrics.audio import snr_db
from avsec.metrics.image import image_ssim, mae, pearson, ssim
from avsec.train import TrainSettings, fit, load_checkpoint, load_state, resolve_device, save_checkpoint
from avsec.train.checkpoint import build_from
from avsec.train.trainer import autocast

CARRIER_SPLITS = ("train", "test")  # TIMIT
IMAGE_SPLITS = ("train", "val")  # Pascal VOC: ImageSets/Main/{train,val}.txt; val is our test set


# ---- front-end ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Spectrogram:
    """The carrier's STFT magnitude front-end and its inverse with the carrier's phase."""

    rate: int = 16000
    samples: int = 16000
    offset: int = 0
    n_fft: int = 1024
    hop: int = 31
    win_length: int = 1024
    window: str = "hann"
    frames: int = 512
    compress: float = 0.0

    def __post_init__(self):
        total = self.samples // self.hop + 1
        if self.frames > total:
            raise ConfigError(f"imgstego: frames {self.frames} > the {total} frames of {self.samples} samples")
        if self.compress < 0:
            raise ConfigError(f"imgstego: compress must be ≥ 0, got {self.compress}")
        if self.offset < 0 or self.samples < self.win_length:
            raise ConfigError("imgstego: offset must be ≥ 0 and samples at least one frame (win_length)")

    @property
    def shape(self) -> tuple[int, int]:
        """(frames, bins) of the model's input: 512 × 513 with the paper's settings."""
        return self.frames, self.n_fft // 2 + 1

    def _stft(self) -> dict:
        return dict(n_fft=self.n_fft, hop=self.hop, win_length=self.win_length, window=self.window)

    def analyse(self, audio: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """int16 or float waveforms (B, samples) → the model's input (B, 1, frames, bins), the magnitude (through
        :meth:`to_model`), and the complex STFT (B, bins, all frames) whose phase and remaining frames
        :meth:`synthesise` reuses."""
        x = audio.float() / INT16_SCALE if audio.dtype == torch.int16 else audio.float()
        spec = stft(x, **self._stft())
        return self.to_model(spec[..., : self.frames].abs().transpose(-1, -2).unsqueeze(1)), spec

    def to_model(self, magnitude: torch.Tensor) -> torch.Tensor:
        """The magnitude as the networks see it: as it is (``compress`` 0, the paper's text) or log1p(compress·|X|)."""
        return torch.log1p(self.compress * magnitude) if self.compress else magnitude

    def magnitude(self, features: torch.Tensor) -> torch.Tensor:
        """Inverse of :meth:`to_model`."""
        return torch.expm1(features) / self.compress if self.compress else features

    def synthesise(self, features: torch.Tensor, spec: torch.Tensor) -> torch.Tensor:
        """Float waveforms (B, samples) in [-1, 1] scale from the embedded carrier (B, 1, frames, bins) in the
        model's domain and the carrier's STFT: its phase on the embedded frames, its own values on the others.
        Negative magnitudes (the Hiding block's output is not constrained) are clipped to 0."""
        mag = self.magnitude(features.float()).squeeze(1).transpose(-1, -2).clamp_min(0)
        head = torch.polar(mag, spec[..., : self.frames].angle())
        full = torch.cat((head, spec[..., self.frames :]), dim=-1)
        return istft(full, **self._stft(), length=self.samples)


def load_carriers(data: str | Path, split: str, front: Spectrogram) -> tuple[torch.Tensor, list[dict]]:
    """The ``split`` rows of a prepared TIMIT directory cut to the carrier window, int16 (N, samples), and the
    rows left out because they hold less than ``offset + samples`` samples (``{"source", "reason"}``)."""
    rows_of = _prepared(data)
    need = front.offset + front.samples
    rows, rejects = [], []
    for r in rows_of.rows(split):
        meta = rows_of.manifest[r]
        have = min(int(meta["length"]), rows_of[r].shape[-1])
        if have < need:
            rejects.append({"source": meta["source"], "reason": f"carrier shorter than {need} samples ({have})"})
        else:
            rows.append(r)
    if not rows:
        raise InputError(
            data,
            f"no {split} carrier holds {need} samples ({front.samples} from offset {front.offset}); "
            f"{len(rejects)} rows too short",
        )
    first = rows_of[rows[0]]
    if first.dtype != np.int16 or first.ndim != 1:
        raise InputError(data, f"expected int16 waveform rows, found {first.dtype} rows of shape {first.shape}")
    audio = np.stack([rows_of[r][front.offset : need] for r in rows])
    return torch.from_numpy(audio), rejects


class Images:
    """The rows of one split of a prepared VOC directory, memory-mapped: uint8 (H, W, 3) or (H, W)."""

    def __init__(self, data: str | Path, split: str, shape: tuple[int, int]):
        self.data, self.rows_of = Path(data), _prepared(data)
        self.rows = self.rows_of.rows(split)
        if not self.rows:
            raise InputError(data, f"no {split} images")
        first = self.rows_of[self.rows[0]]
        if first.dtype != np.uint8 or first.ndim not in (2, 3) or (first.ndim == 3 and first.shape[2] != 3):
            raise InputError(data, f"expected uint8 greyscale or RGB images, found {first.dtype} {first.shape}")
        if first.shape[:2] != tuple(shape):
            raise InputError(
                data,
                f"images are {first.shape[0]}×{first.shape[1]}, the spectrogram is {shape[0]}×{shape[1]} "
                "(set prep.voc height and width to the frames and bins)",
            )
        self.channels = 1 if first.ndim == 2 else 3

    def __len__(self) -> int:
        return len(self.rows)

    def sources(self) -> list[str]:
        return [self.rows_of.manifest[r]["source"] for r in self.rows]

    def get(self, indices) -> np.ndarray:
        """Images ``indices`` of the split as (n, C, H, W) uint8."""
        out = np.stack([self.rows_of[self.rows[int(i)]] for i in indices])
        return out[:, None] if out.ndim == 3 else np.moveaxis(out, -1, 1)


def _prepared(data: str | Path) -> ShardedArray:
    if not (Path(data) / "manifest.tsv").is_file():
        raise InputError(data, "not a prepared directory (no manifest.tsv)")
    return ShardedArray(data)


def _crops(x: torch.Tensor, size: int) -> torch.Tensor:
    """A random ``size``×``size`` patch of each (C, H, W) item of ``x`` (the whole item when size is 0)."""
    if not size:
        return x
    h, w = x.shape[-2:]
    if size > min(h, w):
        raise ConfigError(f"imgstego: crop {size} is larger than the {h}×{w} spectrogram")
    tops = torch.randint(0, h - size + 1, (len(x),)).tolist()
    lefts = torch.randint(0, w - size + 1, (len(x),)).tolist()
    return torch.stack([x[i, :, t : t + size, s : s + size] for i, (t, s) in enumerate(zip(tops, lefts, strict=True))])


def image_loss(revealed: torch.Tensor, image: torch.Tensor, *, mse: float, ssim_weight: float) -> torch.Tensor:
    """mse·MSE + ssim·(1 − SSIM) of [0, 1] images (B, C, H, W)."""
    loss = mse * F.mse_loss(revealed.float(), image.float())
    if ssim_weight:
        loss = loss + ssim_weight * (1 - ssim(revealed.float(), image.float()).mean())
    return loss


# ---- hiding / reveal ---------------------------------------------------------------------------------------------
class HideTask:
    """Hiding and Reveal blocks trained together on (greyscale plane, random carrier) pairs."""

    def __init__(self, model, images: Images, carriers, front, *, carrier, image, mse, ssim, crop, lr, betas):
        self.model, self.images, self.carriers, self.front = model, images, carriers, front
        self.weights = dict(carrier=carrier, image=image, mse=mse, ssim=ssim)
        self.crop = crop
        self.modules = {"model": model}
        self.optimizers = {"model": torch.optim.Adam(model.parameters(), lr=lr, betas=tuple(betas))}
        self.schedulers = {}

    def pairs(self, planes: torch.Tensor, device) -> tuple[torch.Tensor, torch.Tensor]:
        """Carrier magnitudes and [0, 1] planes (B, 1, h, w) for plane numbers (image · channels + channel)."""
        planes = planes.cpu()
        c = self.images.channels
        pixels = self.images.get((planes // c).tolist())
        image = torch.from_numpy(pixels[np.arange(len(planes)), (planes % c).numpy()][:, None].copy())
        picks = torch.randint(0, len(self.carriers), (len(planes),))
        magnitude, _ = self.front.analyse(self.carriers[picks].to(device))
        return _crops(magnitude, self.crop), _crops(image.to(device).float() / 255, self.crop)

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


def _mae255(a: torch.Tensor, b: torch.Tensor) -> float:
    return (a.detach().float() - b.float()).abs().mean().item() * 255


def _training(seed, device, bf16, checkpoint_every, epochs, batch, **fingerprint) -> TrainSettings:
    return TrainSettings(epochs, batch, seed, device, bf16, checkpoint_every, fingerprint=fingerprint)


def train_model(
    variant: str,
    timit: str | Path,
    voc: str | Path,
    out: str | Path,
    *,
    carrier: float,
    image: float,
    mse: float,
    ssim: float,
    lr: float = 1e-3,
    betas: tuple[float, float] = (0.9, 0.999),
    width: int = 32,
    layers: int = 2,
    levels: int = 4,
    crop: int = 0,
    epochs: int = 10,
    batch: int = 8,
    seed: int = 1024,
    device: str = "auto",
    bf16: bool = True,
    checkpoint_every: int = 200,
    **front,
) -> list:
    """Train the Hiding and Reveal blocks of ``variant`` (a name: base, ssim) and write the checkpoint ``out``.

    ``front`` holds the :class:`Spectrogram` settings."""
    spectrogram = Spectrogram(**front)
    images = Images(voc, IMAGE_SPLITS[0], spectrogram.shape)
    carriers, rejects = load_carriers(timit, CARRIER_SPLITS[0], spectrogram)
    for reject in rejects:
        print(f"carrier left out: {reject['source']}: {reject['reason']}", file=sys.stderr)
    arch = dict(width=width, layers=layers, levels=levels)
    weights = dict(carrier=carrier, image=image, mse=mse, ssim=ssim)
    torch.manual_seed(seed)
    model = ImageStego(**arch)
    settings = _training(
        seed, device, bf16, checkpoint_every, epochs, batch,
        variant=variant, crop=crop, lr=lr, betas=list(map(float, betas)), front=asdict(spectrogram),
        images=len(images), carriers=len(carriers), **arch, **weights,
    )  # fmt: skip
    task = HideTask(model, images, carriers, spectrogram, crop=crop, lr=lr, betas=betas, **weights)
    planes = torch.arange(len(images) * images.channels)
    resume = Path(f"{out}.resume")
    history = fit(task, (planes,), settings, resume, desc=f"imgstego {variant}")
    save_checkpoint(
        out,
        {
            "kind": "imgstego",
            "variant": variant,
            "arch": arch,
            "front": asdict(spectrogram),
            "weights": weights,
            "carrier_rejects": rejects,
            "history": history,
            "modules": {"model": model.cpu().state_dict()},
        },
    )
    resume.unlink(missing_ok=True)
    return history


def load_model(path: str | Path) -> tuple[ImageStego, Spectrogram, dict]:
    ckpt = load_checkpoint(path, "imgstego", require=("variant", "arch", "front", "modules"))
    model = build_from(path, ImageStego, **ckpt["arch"])
    load_state(path, model, ckpt["modules"].get("model", {})).eval()
    front = build_from(path, lambda: Spectrogram(**ckpt["front"]))
    return model, front, ckpt


# ---- enhancer ----------------------------------------------------------------------------------------------------
class EnhanceTask:
    """The U-Net enhancer trained on RGB images revealed by the frozen main model (three random carriers each)."""

    def __init__(self, enhancer, model, images: Images, carriers, front, *, mse, ssim, crop, lr, betas):
        self.enhancer, self.model, self.images, self.carriers, self.front = enhancer, model, images, carriers, front
        self.mse, self.ssim, self.crop = mse, ssim, crop
        self.modules = {"enhancer": enhancer}
        self.optimizers = {"enhancer": torch.optim.Adam(enhancer.parameters(), lr=lr, betas=tuple(betas))}
        self.schedulers = {}

    def step(self, batch, epoch):
        device = batch[0].device
        pixels = torch.from_numpy(self.images.get(batch[0].cpu().tolist())).to(device).float() / 255
        original = _crops(pixels, self.crop)
        planes = original.flatten(0, 1)[:, None]  # (B·C, 1, h, w): every channel in its own carrier
        picks = torch.randint(0, len(self.carriers), (len(planes),))
        magnitude, _ = self.front.analyse(self.carriers[picks].to(device))
        carrier = _crops(magnitude, self.crop)
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
    *,
    mse: float,
    ssim: float,
    lr: float = 1e-3,
    betas: tuple[float, float] = (0.9, 0.999),
    width: int = 32,
    levels: int = 4,
    crop: int = 0,
    epochs: int = 10,
    batch: int = 4,
    seed: int = 1024,
    device: str = "auto",
    bf16: bool = True,
    checkpoint_every: int = 200,
) -> list:
    """Train the U-Net enhancer on revealed RGB training images of the main model ``model_ckpt``."""
    model, front, mckpt = load_model(model_ckpt)
    for p in model.parameters():
        p.requires_grad_(False)
    images = Images(voc, IMAGE_SPLITS[0], front.shape)
    if images.channels != 3:
        raise InputError(voc, "the enhancer is trained on RGB images; these are greyscale")
    carriers, _ = load_carriers(timit, CARRIER_SPLITS[0], front)
    arch = dict(width=width, levels=levels)
    torch.manual_seed(seed)
    enhancer = Enhancer(**arch)
    settings = _training(
        seed, device, bf16, checkpoint_every, epochs, batch,
        model=str(model_ckpt), variant=mckpt["variant"], mse=mse, ssim=ssim, crop=crop, lr=lr,
        betas=list(map(float, betas)), images=len(images), **arch,
    )  # fmt: skip
    model.to(resolve_device(device))
    task = EnhanceTask(enhancer, model, images, carriers, front, mse=mse, ssim=ssim, crop=crop, lr=lr, betas=betas)
    resume = Path(f"{out}.resume")
    history = fit(task, (torch.arange(len(images)),), settings, resume, desc="imgstego enhancer")
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


# ---- evaluation --------------------------------------------------------------------------------------------------
@dataclass
class Hidden:
    """One image hidden in and revealed from its carriers (one per channel), on the CPU."""

    original: np.ndarray  # (C, H, W) uint8
    revealed: np.ndarray  # (C, H, W) uint8: from the embedded spectrogram, the paper's setting
    through_audio: np.ndarray  # (C, H, W) uint8: from the STFT of the embedded int16 audio
    carrier: torch.Tensor  # (C, frames, bins) STFT magnitude
    embedded: torch.Tensor  # (C, frames, bins) STFT magnitude (negative values clipped, as the audio has them)
    carrier_audio: np.ndarray  # (C·samples,) int16, the carriers concatenated
    embedded_audio: np.ndarray  # (C·samples,) int16


def _to_uint8(x: torch.Tensor) -> np.ndarray:
    return (x.float().clamp(0, 1) * 255).round().to(torch.uint8).cpu().numpy()


def hide_and_reveal(model: ImageStego, front: Spectrogram, pixels: np.ndarray, audio: torch.Tensor, device) -> Hidden:
    """Hide the channels of one (C, H, W) uint8 image in C int16 carriers (C, samples), reveal them from the
    embedded spectrogram and from the embedded audio (inverse STFT with the carrier's phase, int16, STFT)."""
    planes = torch.from_numpy(pixels).to(device).float()[:, None] / 255
    magnitude, spec = front.analyse(audio.to(device))
    embedded, revealed = model(magnitude, planes)
    wave = torch.from_numpy(to_int16(front.synthesise(embedded, spec).cpu().numpy()))
    again, _ = front.analyse(wave.to(device))
    through = model.reveal(again)
    return Hidden(
        original=pixels,
        revealed=_to_uint8(revealed[:, 0]),
        through_audio=_to_uint8(through[:, 0]),
        carrier=front.magnitude(magnitude[:, 0].float()).cpu(),
        embedded=front.magnitude(embedded[:, 0].float()).clamp_min(0).cpu(),
        carrier_audio=audio.numpy().reshape(-1),
        embedded_audio=wave.numpy().reshape(-1),
    )


def evaluate(
    model_ckpt: str | Path,
    timit: str | Path,
    voc: str | Path,
    out: str | Path,
    examples_dir: str | Path,
    *,
    enhancer_ckpt: str | Path | None = None,
    images: int = 0,
    examples: int = 2,
    device: str = "auto",
    bf16: bool = False,
) -> dict:
    """Hide every test image (the first ``images``; 0: all) in test carriers (image k in carriers 3k, 3k+1, 3k+2,
    cycling), reveal it, optionally enhance it, and write the metrics JSON ``out`` and ``examples`` examples
    (images and spectrograms as .npy, carrier and embedded audio as WAV) into ``examples_dir``."""
    device = resolve_device(device)
    model, front, mckpt = load_model(model_ckpt)
    model.to(device)
    enhancer, eckpt = load_enhancer(enhancer_ckpt) if enhancer_ckpt else (None, None)
    if enhancer is not None:
        if eckpt["variant"] != mckpt["variant"]:
            raise InputError(enhancer_ckpt, f"enhancer of the {eckpt['variant']} model, not {mckpt['variant']}")
        enhancer.to(device)
    test = Images(voc, IMAGE_SPLITS[1], front.shape)
    carriers, rejects = load_carriers(timit, CARRIER_SPLITS[1], front)
    count = len(test) if images <= 0 else min(images, len(test))
    c = test.channels
    rows, kept, seconds = [], [], 0.0
    with torch.inference_mode(), autocast(device, bf16):
        for k in range(count):
            pixels = test.get([k])[0]
            audio = carriers[[(c * k + j) % len(carriers) for j in range(c)]]
            start = _now(device)
            hidden = hide_and_reveal(model, front, pixels, audio, device)
            final = hidden.revealed
            if enhancer is not None:
                rgb = torch.from_numpy(hidden.revealed).to(device).float()[None] / 255
                final = _to_uint8(enhancer(rgb)[0])
            seconds += _now(device) - start
            rows.append(_scores(hidden, final))
            if k < examples:
                kept.append((hidden, final))
    metrics = {key: float(np.mean([r[key] for r in rows])) for key in rows[0]}
    result = {
        "variant": "enhanced" if enhancer is not None else mckpt["variant"],
        "model": mckpt["variant"],
        "weights": mckpt.get("weights", {}),
        "front": asdict(front),
        "images": count,
        "sources": test.sources()[:count],
        **metrics,
        "per_image": rows,
        "carrier_rejects": len(rejects),
        "seconds_per_image": seconds / count,
        "history": {"model": mckpt.get("history", []), "enhancer": eckpt["history"] if eckpt else []},
    }
    _write_examples(examples_dir, kept, front.rate)
    write_text(out, json.dumps(result, indent=2) + "\n")
    return result


def _now(device: torch.device) -> float:
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter()


def _scores(hidden: Hidden, final: np.ndarray) -> dict[str, float]:
    """The paper's measures for one image: image MAE (0–255) and SSIM, carrier spectrogram MAE and Pearson
    correlation; and ours: the same for the image revealed through the audio, waveform MAE and SNR."""
    carrier_audio = hidden.carrier_audio.astype(np.float64) / INT16_SCALE
    embedded_audio = hidden.embedded_audio.astype(np.float64) / INT16_SCALE
    return {
        "image_mae": mae(final, hidden.original),
        "image_ssim": image_ssim(_hwc(final), _hwc(hidden.original)),
        "carrier_mae": mae(hidden.embedded, hidden.carrier),
        "carrier_pearson": pearson(hidden.embedded, hidden.carrier),
        "audio_mae": mae(embedded_audio, carrier_audio),
        "audio_snr_db": float(snr_db(carrier_audio, embedded_audio)),
        "through_audio_image_mae": mae(hidden.through_audio, hidden.original),
        "through_audio_image_ssim": image_ssim(_hwc(hidden.through_audio), _hwc(hidden.original)),
    }


def _hwc(image: np.ndarray) -> np.ndarray:
    return np.moveaxis(image, 0, -1)


def _write_examples(root: str | Path, kept: list[tuple[Hidden, np.ndarray]], rate: int) -> None:
    """original.npy, revealed.npy (the variant's output), carrier.npy and embedded.npy (the first channel's
    magnitudes, float16) and carrier_<k>.wav / embedded_<k>.wav (the concatenated carriers) per example."""
    with atomic_path(root, directory=True) as tmp:
        if kept:
            np.save(tmp / "original.npy", np.stack([h.original for h, _ in kept]))
            np.save(tmp / "revealed.npy", np.stack([f for _, f in kept]))
            np.save(tmp / "carrier.npy", np.stack([h.carrier[0].numpy() for h, _ in kept]).astype(np.float16))
            np.save(tmp / "embedded.npy", np.stack([h.embedded[0].numpy() for h, _ in kept]).astype(np.float16))
            for k, (hidden, _) in enumerate(kept):
                write_audio(tmp / f"carrier_{k}.wav", hidden.carrier_audio, rate)
                write_audio(tmp / f"embedded_{k}.wav", hidden.embedded_audio, rate)


def parameter_count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())
