"""Paper 3's evaluation: hide each test image in test carriers, reveal it (and enhance it for the enhancer's
column), score it with the paper's measures and ours, and keep a few examples.

RGB (section 5.1): the three channels are hidden in three carriers whose audio is concatenated; the revealed
planes are reassembled. The paper reveals from the embedded spectrogram; we also reveal from the embedded audio
(inverse STFT with the carrier's phase, int16, STFT again) and report both.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from avsec.core.errors import InputError
from avsec.data.prep import load_image, write_image
from avsec.imgstego.frontend import CARRIER_SPLITS, IMAGE_SPLITS, Frontend, Images, load_carriers
from avsec.imgstego.nets import Enhancer, ImageStego
from avsec.imgstego.train import load_enhancer, load_model
from avsec.io.atomic import atomic_path, write_text
from avsec.io.audio import INT16_SCALE, read_audio, to_int16, write_audio
from avsec.metrics.audio import snr_db
from avsec.metrics.image import image_ssim, mae, pearson
from avsec.train import resolve_device
from avsec.train.trainer import autocast

RGB = 3  # colour planes, each hidden in its own carrier


@dataclass(frozen=True)
class ImgstegoEvaluation:
    """One column's evaluation (rules evaluate_imgstego, evaluate_enhanced; flags of imgstego.evaluate and
    scales.<scale>.imgstego.evaluate)."""

    images: int = 0  # the first ``images`` test images; 0: all
    examples: int = 2  # examples kept (images, spectrograms, WAV)
    device: str = "auto"
    bf16: bool = False


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


def hide_and_reveal(model: ImageStego, front: Frontend, pixels: np.ndarray, audio: torch.Tensor, device) -> Hidden:
    """Hide the channels of one (C, H, W) uint8 image in C int16 carriers (C, samples), reveal them from the
    embedded spectrogram and from the embedded audio (inverse STFT with the carrier's phase, int16, STFT)."""
    planes = torch.from_numpy(pixels).to(device).float()[:, None] / 255
    magnitude, spec = front.analyse(audio.to(device))
    embedded, revealed = model(magnitude, planes)
    wave = torch.from_numpy(to_int16(front.synthesise(embedded, spec).cpu().numpy()))
    through = reveal_audio(model, front, wave, device)
    return Hidden(
        original=pixels,
        revealed=_to_uint8(revealed[:, 0]),
        through_audio=_to_uint8(through[:, 0]),
        carrier=front.magnitude(magnitude[:, 0].float()).cpu(),
        embedded=front.magnitude(embedded[:, 0].float()).clamp_min(0).cpu(),
        carrier_audio=audio.numpy().reshape(-1),
        embedded_audio=wave.numpy().reshape(-1),
    )


def reveal_audio(model: ImageStego, front: Frontend, wave: torch.Tensor, device) -> torch.Tensor:
    """The planes (C, 1, frames, bins) in [0, 1] revealed from embedded int16 audio (C, samples): its STFT
    magnitude through the Reveal block."""
    again, _ = front.analyse(wave.to(device))
    return model.reveal(again)


def enhance(enhancer: Enhancer, revealed: np.ndarray, device) -> np.ndarray:
    """A revealed (3, H, W) uint8 image through the enhancer."""
    rgb = torch.from_numpy(revealed).to(device).float()[None] / 255
    return _to_uint8(enhancer(rgb)[0])


def evaluate(
    model_ckpt: str | Path,
    timit: str | Path,
    voc: str | Path,
    out: str | Path,
    examples_dir: str | Path,
    settings: ImgstegoEvaluation,
    *,
    enhancer_ckpt: str | Path | None = None,
) -> dict:
    """Hide every test image (the first ``settings.images``; 0: all) in test carriers (image k in carriers 3k,
    3k+1, 3k+2, cycling), reveal it, optionally enhance it, and write the metrics JSON ``out`` and
    ``settings.examples`` examples (images and spectrograms as .npy, carrier and embedded audio as WAV) into
    ``examples_dir``."""
    device = resolve_device(settings.device)
    model, front, mckpt = load_model(model_ckpt)
    model.to(device)
    enhancer, eckpt = _enhancer_of(enhancer_ckpt, mckpt)
    if enhancer is not None:
        enhancer.to(device)
    test = Images(voc, IMAGE_SPLITS[1], front.shape)
    carriers, rejects = load_carriers(timit, CARRIER_SPLITS[1], front)
    count = len(test) if settings.images <= 0 else min(settings.images, len(test))
    c = test.channels
    rows, kept, seconds = [], [], 0.0
    with torch.inference_mode(), autocast(device, settings.bf16):
        for k in range(count):
            pixels = test.get([k])[0]
            audio = carriers[[(c * k + j) % len(carriers) for j in range(c)]]
            start = _now(device)
            hidden = hide_and_reveal(model, front, pixels, audio, device)
            final = hidden.revealed
            if enhancer is not None:
                final = enhance(enhancer, hidden.revealed, device)
            seconds += _now(device) - start
            rows.append(_scores(hidden, final))
            if k < settings.examples:
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


def _enhancer_of(enhancer_ckpt: str | Path | None, mckpt: dict) -> tuple[Enhancer | None, dict | None]:
    """The enhancer at ``enhancer_ckpt`` (None, None without one); one line when it was trained for another model."""
    if not enhancer_ckpt:
        return None, None
    enhancer, eckpt = load_enhancer(enhancer_ckpt)
    if eckpt["variant"] != mckpt["variant"]:
        raise InputError(enhancer_ckpt, f"enhancer of the {eckpt['variant']} model, not {mckpt['variant']}")
    return enhancer, eckpt


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


# ---- avsec hide-image / reveal-image --------------------------------------------------------------------------
def _carrier_windows(path: str | Path, front: Frontend, what: str) -> tuple[np.ndarray, torch.Tensor]:
    """A mono file at the front-end's rate and its first three windows of ``front.samples`` (3, samples) int16:
    one per colour plane; one line naming the file when it is too short."""
    samples, _ = read_audio(path, expect_rate=front.rate)
    need = RGB * front.samples
    if len(samples) < need:
        raise InputError(
            path,
            f"{len(samples)} samples; {what} needs {need} ({RGB} × {front.samples} at {front.rate} Hz)",
        )
    return samples, torch.from_numpy(samples[:need].reshape(RGB, front.samples).copy())


def hide_image_file(
    model_ckpt: str | Path, carrier: str | Path, image: str | Path, out: str | Path, *, device: str = "auto"
) -> dict:
    """``avsec hide-image``: hide an image file (PNG, JPEG, ...) in the audio file ``carrier``; write the embedded
    audio (int16 WAV, the carrier's rate and length) to ``out``.

    As the evaluation does (section 5.1), the image is read as RGB and resized bilinearly to the spectrogram's size
    (512 × 513 with the paper's front-end, as the preparation resizes VOC), and each colour plane is hidden in its
    own carrier window: the carrier's first three windows of ``samples`` (3 s at 16 kHz with the paper's front-end);
    the rest of the carrier is copied unchanged. Returns the audio's SNR against the carrier over the three windows,
    and the SSIM of the image revealed again from the int16 audio written against the resized image."""
    model, front, _ = load_model(model_ckpt)
    pixels = np.moveaxis(load_image(image, *front.shape), -1, 0).copy()  # (3, H, W)
    samples, windows = _carrier_windows(carrier, front, "an RGB image")
    dev = resolve_device(device)
    model.to(dev)
    with torch.inference_mode():
        hidden = hide_and_reveal(model, front, pixels, windows, dev)
    embedded = samples.copy()
    embedded[: hidden.embedded_audio.size] = hidden.embedded_audio
    write_audio(out, embedded, front.rate)
    return {
        "windows": RGB,
        "samples": int(hidden.embedded_audio.size),
        "audio_snr_db": float(snr_db(hidden.carrier_audio, hidden.embedded_audio)),
        "through_audio_image_ssim": image_ssim(_hwc(hidden.through_audio), _hwc(pixels)),
    }


def reveal_image_file(
    model_ckpt: str | Path,
    stego: str | Path,
    out: str | Path,
    *,
    enhancer_ckpt: str | Path | None = None,
    device: str = "auto",
) -> dict:
    """``avsec reveal-image``: the image hidden by :func:`hide_image_file` in the audio file ``stego``, revealed
    from its first three windows (and put through the enhancer when one is given), written to ``out`` (PNG, or the
    format its suffix names) at the spectrogram's size (512 × 513 with the paper's front-end)."""
    model, front, mckpt = load_model(model_ckpt)
    enhancer, _ = _enhancer_of(enhancer_ckpt, mckpt)
    _, windows = _carrier_windows(stego, front, "revealing an RGB image")
    dev = resolve_device(device)
    model.to(dev)
    with torch.inference_mode():
        revealed = _to_uint8(reveal_audio(model, front, windows, dev)[:, 0])
        if enhancer is not None:
            revealed = enhance(enhancer.to(dev), revealed, dev)
    write_image(out, _hwc(revealed))
    return {"height": int(revealed.shape[1]), "width": int(revealed.shape[2]), "enhanced": enhancer is not None}
