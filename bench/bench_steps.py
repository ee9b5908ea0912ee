"""Two choices in the training steps that cost nothing in results, each timed against its absence in the same run:

1. Channels-last weights (``avsec.train.channels_last``) against the default contiguous layout, for the 2-D
   convolutional networks built that way: paper 1's encoder, decoder and steganalyzer and paper 3's hiding/reveal
   model. One training step (forward, backward, Adam) of randomly initialised networks on random inputs of the
   smoke and the paper sizes, as built and with the weights turned back to contiguous.
2. The discriminator frozen during paper 2's generator step (``avsec.train.frozen`` in ``GeneratorTask.step``:
   the generator's loss then computes no gradient for D's weights), against the same step with ``frozen`` made a
   no-op: ``GeneratorTask.step`` at the smoke widths against a SampleCNN victim (config.yaml
   scales.smoke.advgan), and at the paper's widths with --full.

Prints each case's median step time both ways and, last, the ratio of the summed step times with / without the
choices (below 1: they save time).

    .venv/bin/python bench/bench_steps.py [--quick] [--full] [--threads 2] [--repeat 3]
"""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Callable

import torch
from timing import median_seconds

import avsec.advgan.train as advgan_train
from avsec.advgan.nets import Discriminator, Generator
from avsec.advgan.train import GeneratorTask, GeneratorTraining
from avsec.advgan.victims import build_victim
from avsec.imgstego.nets import ImageStego
from avsec.stego.codec import spectrogram
from avsec.stego.nets import Decoder, Encoder, Steganalyzer
from avsec.stego.train import StegoHyper, StegoTask
from avsec.train import set_threads

STFT = dict(n_fft=510, hop=128, win_length=510)  # config.yaml: features.stego_timit.stft
HYPER = StegoHyper(lambdas=[0.6, 0.8, 1.0], lr=1e-4, betas=[0.9, 0.999], distance="euclidean", channel="nor",
                   noise_db=60.0, noise_at="carrier")  # fmt: skip


def stego_case(width: float, batch: int, samples: int) -> tuple[list[torch.nn.Module], Callable[[], None]]:
    """``StegoTask.step`` (paper 1's game, the adversary in the encoder's loss) on ``batch`` clips of ``samples``."""
    spec = spectrogram(STFT["n_fft"], STFT["hop"], STFT["win_length"], "hann", "complex")
    clips = ((torch.rand(batch, samples) - 0.5) * 6000).to(torch.int16)
    task = StegoTask(Encoder(width), Decoder(width), Steganalyzer("hpf", width), clips, spec, HYPER)
    return list(task.modules.values()), lambda: task.step((clips,), 0)


def imgstego_case(width: int, levels: int, batch: int, height: int, frames: int):
    """One step of paper 3's hiding/reveal model on ``batch`` spectrogram crops of ``height`` × ``frames``."""
    model = ImageStego(width, 2, levels)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    carrier, image = torch.rand(batch, 1, height, frames), torch.rand(batch, 1, height, frames)

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        embedded, revealed = model(carrier, image)
        (((embedded - carrier) ** 2).mean() + ((revealed - image) ** 2).mean()).backward()
        optimizer.step()

    return [model], step


def layout(build: Callable, arguments: tuple, repeat: int) -> tuple[float, float]:
    """Median step seconds with the networks as built (channels-last) and with their weights contiguous."""
    torch.manual_seed(0)
    nets, step = build(*arguments)
    last = median_seconds(step, repeat=repeat)
    for net in nets:
        net.to(memory_format=torch.contiguous_format)
    return last, median_seconds(step, repeat=repeat)


def frozen_discriminator(width: float, d_width: float, victim_width: float, batch: int, repeat: int):
    """Median seconds of ``GeneratorTask.step`` with D frozen in the generator's step, and with ``frozen`` a no-op."""
    torch.manual_seed(0)
    victim = build_victim("samplecnn", 10, {"width": victim_width}).eval().requires_grad_(False)
    settings = GeneratorTraining(warmup=0)
    task = GeneratorTask(Generator(width), Discriminator(d_width, init="default"), victim, 3, settings)
    clips = ((torch.rand(batch, 16384) - 0.5) * 20000).to(torch.int16)
    with_frozen = median_seconds(lambda: task.step((clips,), 1), repeat=repeat)
    real = advgan_train.frozen
    advgan_train.frozen = contextlib.nullcontext
    try:
        return with_frozen, median_seconds(lambda: task.step((clips,), 1), repeat=repeat)
    finally:
        advgan_train.frozen = real


def main() -> None:
    parser = argparse.ArgumentParser(allow_abbrev=False, description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="the smoke sizes only (a check of the bench)")
    parser.add_argument("--full", action="store_true", help="also paper 2's generator step at the paper's widths")
    parser.add_argument("--threads", type=int, default=2, help="CPU threads (the smoke preset's 2)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    set_threads(args.threads)
    cases = {  # name: (measure, arguments); smoke sizes: config.yaml scales.smoke.{stego,imgstego,advgan}
        "stego, smoke (width 0.5, 8 crops of 1024)": (layout, (stego_case, (0.5, 8, 1024))),
        "imgstego, smoke (width 8, 17 crops of 32x32)": (layout, (imgstego_case, (8, 3, 17, 32, 32))),
        "advgan D frozen, smoke (0.25 / 0.125, batch 16)": (frozen_discriminator, (0.25, 0.125, 0.25, 16)),
    }
    if not args.quick:
        cases["stego, paper width (1.0, 2 clips of 32640)"] = (layout, (stego_case, (1.0, 2, 32640)))
        cases["imgstego, paper size (width 32, 2 of 512x513)"] = (layout, (imgstego_case, (32, 4, 2, 512, 513)))
    if args.full:
        cases["advgan D frozen, paper widths (batch 4)"] = (frozen_discriminator, (1.0, 1.0, 1.0, 4))
    totals = {"with": 0.0, "without": 0.0}
    for name, (measure, arguments) in cases.items():
        with_it, without = measure(*arguments, repeat=args.repeat)
        totals["with"] += with_it
        totals["without"] += without
        print(f"{name:50s} with {with_it * 1000:8.1f} ms   without {without * 1000:8.1f} ms", flush=True)
    ratio = totals["with"] / totals["without"]
    print(f"ratio step time with / without the choices: {ratio:.2f} ({len(cases)} cases, {args.threads} threads)")


if __name__ == "__main__":
    main()
