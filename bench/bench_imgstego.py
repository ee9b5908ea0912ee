"""Paper 3 (image in speech) speed with randomly initialised networks on synthetic 512×513 RGB images and 1 s
carriers (no dataset). Prints the ratio (hide + reveal time) / (front-end time) last.

1. Hiding and revealing whole RGB images through ``avsec.imgstego.evaluate.hide_and_reveal`` (the evaluation's path:
   STFT of three carriers, Hiding block, inverse STFT with the carrier's phase, int16, STFT again, Reveal block,
   both from the spectrogram and from the audio): images per second, at batch 1 as the evaluation runs.
2. The baseline, measured in the same run: the front-end alone on the same carriers (STFT, inverse STFT with
   the carrier's phase, STFT again), i.e. what hiding would cost with free networks.
3. Training: ``avsec.imgstego.train.HideTask.step`` (greyscale planes with random carriers, the STFT per step,
   forward, backward, Adam) through ``avsec.train.fit`` with ``checkpoint_every=0``: planes per second at the
   given crop.

Every figure is a median over ``--repeat`` runs after a warm-up; the development machine's 2 cores are shared
with other jobs, so expect tens of per cent of noise there.

    .venv/bin/python bench/bench_imgstego.py [--quick] [--device auto|cpu|cuda] [--width 32] [--levels 4]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import tempfile
from pathlib import Path

import numpy as np
import torch
from timing import median_seconds, seconds

from avsec.imgstego.evaluate import hide_and_reveal
from avsec.imgstego.frontend import Frontend, Images
from avsec.imgstego.nets import ImageStego, parameter_count
from avsec.imgstego.train import HideTask, ImgstegoTraining
from avsec.io.shards import shard_writer
from avsec.train import TrainSettings, fit, resolve_device


def synthetic(root: Path, images: int, carriers: int) -> tuple[Images, torch.Tensor]:
    """Smooth random RGB images (512×513, the prepared VOC layout) and noisy harmonic 1 s int16 carriers."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:512, :513] / 64.0
    with shard_writer(root) as writer:
        for i in range(images):
            a = rng.uniform(0.5, 2.0, 3)
            rgb = np.stack([128 + 100 * np.sin(a[c] * yy + c) * np.cos(a[c] * xx) for c in range(3)], -1)
            writer.add(rgb.astype(np.uint8), split="train", label="", source=f"{i}.jpg", length=512)
    t = np.arange(16000) / 16000
    audio = np.stack(
        [sum(0.1 / k * np.sin(2 * np.pi * k * rng.uniform(90, 250) * t) for k in range(1, 8)) for _ in range(carriers)]
    )
    audio += rng.normal(0, 0.005, audio.shape)
    return Images(root, "train", (512, 513)), torch.from_numpy((audio * 32767).astype(np.int16))


def main() -> None:
    parser = argparse.ArgumentParser(allow_abbrev=False, description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--quick", action="store_true", help="the smoke width and few repeats (CPU check)")
    parser.add_argument("--width", type=int, help="32 (paper config) or 8 (--quick)")
    parser.add_argument("--levels", type=int, help="4 (paper config) or 3 (--quick)")
    parser.add_argument("--images", type=int, default=4, help="RGB images hidden per timed run")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--crop", type=int, default=0, help="training crop (0: whole 512×513)")
    parser.add_argument("--batch", type=int, help="training batch (8 on CUDA, 2 on the CPU)")
    parser.add_argument("--steps", type=int, help="timed training steps (20 on CUDA, 3 on the CPU)")
    parser.add_argument("--threads", type=int, default=0)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    cuda = device.type == "cuda"
    width = args.width or (8 if args.quick else 32)
    levels = args.levels or (3 if args.quick else 4)
    batch = args.batch or (8 if cuda else 2)
    steps = args.steps or (20 if cuda else 3)
    front = Frontend()
    torch.manual_seed(0)
    model = ImageStego(width, 2, levels).to(device).eval()
    print(f"device {device}, width {width}, levels {levels}, {parameter_count(model):,} parameters")
    with tempfile.TemporaryDirectory() as tmp:
        images, carriers = synthetic(Path(tmp) / "voc", max(args.images, batch), 3 * args.images)
        pixels = [images.get([k])[0] for k in range(args.images)]

        def hide_all():
            with torch.inference_mode():
                for k, image in enumerate(pixels):
                    hide_and_reveal(model, front, image, carriers[3 * k : 3 * k + 3], device)

        def front_end_only():
            with torch.inference_mode():
                for k in range(args.images):
                    magnitude, spec = front.analyse(carriers[3 * k : 3 * k + 3].to(device))
                    wave = (front.synthesise(magnitude, spec) * 32768).round().clamp(-32768, 32767).short()
                    front.analyse(wave)

        hide = median_seconds(hide_all, device, args.repeat) / args.images
        base = median_seconds(front_end_only, device, args.repeat) / args.images
        print(f"hide + reveal (RGB, 3 carriers): {1 / hide:.2f} images/s ({hide * 1000:.1f} ms per image)")
        print(f"front-end only (STFT, ISTFT, STFT): {1 / base:.2f} images/s ({base * 1000:.1f} ms per image)")

        train_model = ImageStego(width, 2, levels)
        hiding = ImgstegoTraining(
            carrier=0.69, image=1.0, mse=0.995, ssim=0.005, crop=args.crop, lr=1e-3, betas=(0.9, 0.999), front=front
        )
        task = HideTask(train_model, images, carriers, hiding)
        planes = torch.arange(batch * steps)
        settings = TrainSettings(1, batch, 0, str(device), True, 0)
        with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
            fit(task, (planes[:batch],), settings, Path(tmp) / "warm.resume", desc="warm-up")
            train = seconds(lambda: fit(task, (planes,), settings, Path(tmp) / "bench.resume", desc="bench"), device)
        crop = f"{args.crop}×{args.crop} crops" if args.crop else "whole 512×513"
        print(f"training ({crop}, batch {batch}): {len(planes) / train:.2f} planes/s ({train / steps:.3f} s/step)")
    print(f"ratio hide+reveal / front-end: {hide / base:.1f}x")


if __name__ == "__main__":
    main()
