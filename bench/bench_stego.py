"""Paper 1 (GAN audio-in-audio steganography) speed with randomly initialised networks and random int16 clips of
32640 samples in memory (no dataset). Prints, last, the ratio GAN hide + reveal time per clip / LSB matching
embed + extract time per clip (the classic baseline of Table 4, measured in the same run).

1. Hide + reveal through ``avsec.stego.codec.hide`` / ``reveal`` (the evaluation's path: eval mode, inference_mode, bf16
   autocast on CUDA): clips per second, batched.
2. Training: ``StegoTask.step`` (encoder, decoder, steganalyzer; 5 STFTs and 2 ISTFTs per step) through
   ``avsec.train.fit`` on in-memory tensors, clips per second.
3. The STFT/ISTFT share of a training step: the same transforms, forward and backward, on the step's batch, alone.
4. LSB matching (``avsec.stego.classic``) embed + extract per clip, the baseline.

    .venv/bin/python bench/bench_stego.py [--quick] [--device auto|cpu|cuda] [--width 1.0] [--threads N]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import statistics
import tempfile
from pathlib import Path

import numpy as np
import torch
from timing import median_seconds, seconds

from avsec.io.audio import INT16_SCALE
from avsec.stego.classic import lsb_extract, lsb_matching, lsb_positions, message_bits
from avsec.stego.codec import hide, reveal, spectrogram
from avsec.stego.nets import Decoder, Encoder, Steganalyzer
from avsec.stego.train import StegoHyper, StegoTask
from avsec.train import TrainSettings, fit, resolve_device, set_threads

LENGTH = 32640
STFT = dict(n_fft=510, hop=128, win_length=510)  # config.yaml: features.stego_timit.stft
HYPER = StegoHyper(lambdas=[0.6, 0.8, 1.0], lr=1e-4, betas=[0.9, 0.999], distance="euclidean", channel="an",
                   noise_db=60.0, noise_at="carrier")  # fmt: skip


def clips(n: int, seed: int) -> torch.Tensor:
    rng = np.random.default_rng(seed)
    t = np.arange(LENGTH) / 16000
    x = [np.sin(2 * np.pi * rng.uniform(100, 300) * t) * np.hanning(LENGTH) * 0.3 for _ in range(n)]
    noise = rng.normal(0, 0.01, (n, LENGTH))
    return torch.from_numpy(np.round((np.stack(x) + noise) * 32767).astype(np.int16))


def main() -> None:
    parser = argparse.ArgumentParser(allow_abbrev=False, description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small width, few clips (a smoke check of the bench)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--width", type=float, default=None, help="network width (default 1.0; --quick 0.25)")
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    set_threads(args.threads)
    device = resolve_device(args.device)
    cuda = device.type == "cuda"
    width = args.width or (0.25 if args.quick else 1.0)
    n, batch, train_batch, steps = (4, 2, 2, 2) if args.quick else ((256, 32, 16, 20) if cuda else (8, 4, 2, 3))
    spec = spectrogram(**STFT)
    audio = clips(n, 0)
    carrier = audio.float() / INT16_SCALE
    secret = torch.roll(carrier, 1, 0)
    torch.manual_seed(0)
    encoder, decoder = Encoder(width).to(device).eval(), Decoder(width).to(device).eval()
    print(f"device {device}, width {width}, {n} clips of {LENGTH} samples, torch threads {torch.get_num_threads()}")

    # 1. hide + reveal
    hide(encoder, spec, carrier[:batch], secret[:batch], batch, device)
    gan = median_seconds(lambda: reveal(decoder, spec, hide(encoder, spec, carrier, secret, batch, device),
                                        batch, device), device, args.repeat, warmup=False) / n  # fmt: skip
    print(f"hide + reveal: {1 / gan:.1f} clips/s ({1e3 * gan:.1f} ms per clip, batch {batch})")

    # 2. training steps through the shared trainer
    task = StegoTask(Encoder(width), Decoder(width), Steganalyzer("hpf", width), audio, spec, HYPER)
    settings = TrainSettings(1, train_batch, 0, str(device), True, 0)
    data = (audio[: steps * train_batch],)
    with (
        tempfile.TemporaryDirectory() as tmp,
        contextlib.redirect_stderr(io.StringIO()),
        contextlib.redirect_stdout(io.StringIO()),
    ):
        fit(task, data, settings, Path(tmp) / "warm.resume", desc="warm-up")
        step_times = []
        for _ in range(args.repeat):
            step_times.append(seconds(lambda: fit(task, data, settings, Path(tmp) / "r.resume", desc="b"), device))
            (Path(tmp) / "r.resume").unlink()
    step = statistics.median(step_times) / steps
    print(f"training: {train_batch / step:.2f} clips/s ({1e3 * step:.0f} ms per step of {train_batch})")

    # 3. the transforms of one step alone (5 STFT + 2 ISTFT, forward and backward)
    x = (audio[:train_batch].float() / INT16_SCALE).to(device)

    def transforms():
        w = x.clone().requires_grad_(True)
        total = sum(spec(w).sum() for _ in range(5))
        total = total + sum(spec.inverse(spec(w).detach().requires_grad_(True), LENGTH).sum() for _ in range(2))
        total.backward()

    share = median_seconds(transforms, device, args.repeat)
    print(f"STFT/ISTFT: {1e3 * share:.1f} ms per step, {share / step:.1%} of the training step")

    # 4. the classic baseline: LSB matching embed + extract
    def lsb():
        for i in range(n):
            bits = message_bits(audio[(i + 1) % n].numpy(), LENGTH)
            stego = lsb_matching(audio[i].numpy(), bits, np.random.default_rng(i))
            lsb_extract(stego, lsb_positions(LENGTH, 1.0, np.random.default_rng(i)))

    classic = median_seconds(lsb, repeat=args.repeat, warmup=False) / n
    print(f"LSB matching embed + extract: {1e3 * classic:.2f} ms per clip")
    print(f"ratio GAN hide + reveal / LSB matching per clip: {gan / classic:.1f}x")


if __name__ == "__main__":
    main()
