"""Paper 2 (SpeechAdvGan) speed with randomly initialised networks and synthetic speech-like int16 clips kept in
memory (no dataset): the generator against its baseline, the Alzantot et al. genetic algorithm, on the same victim,
and the generator's training throughput. Prints the ratio GA seconds per example / generator seconds per example
last (the paper's: 231.46 s / 0.009 s ≈ 25 700×).

1. Generator inference through ``avsec.advgan.evaluate.generate`` (the evaluation's path: eval mode,
   inference_mode, bf16 autocast on CUDA, int16 in, float out on the CPU): clips per second batched and ms per clip
   at batch 1.
2. The GA (``avsec.advgan.baselines.genetic.genetic_attack``, the workflow's settings) for ``--ga-iterations``
   generations per clip, towards the class the random victim finds least likely, so it does not stop early. Seconds per
   generation, the measured seconds per example at that budget, and the projection at ``--ga-budget``
   generations (the paper-scale budget, ``scales.paper.advgan.baselines.iterations``). The paper's 231 s is a
   mean over attacks that stop at success, so the projection is an upper bound on a real victim.
3. Training: ``GeneratorTask.step`` (generator + discriminator + the frozen victim, whose gradient is always on:
   ``warmup=0``) through ``avsec.train.fit`` on in-memory tensors with ``checkpoint_every=0``. The time between two
   steps inside ``fit`` is the batch gathering, the host→device copy and the loop's bookkeeping; its share says
   whether data loading starves the step. As a cross-check, the same step on a batch already on the device.

Every figure is a median over ``--repeat`` runs (training: over every step of every run) after a warm-up; the
development machine's 2 cores are shared with other jobs, so expect tens of per cent of noise there.

    .venv/bin/python bench/bench_advgan.py [--quick] [--device auto|cpu|cuda] [--victim wideresnet|samplecnn]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from timing import median_seconds, seconds, sync

from avsec.advgan.baselines.genetic import genetic_attack
from avsec.advgan.evaluate import generate
from avsec.advgan.nets import Discriminator, Generator
from avsec.advgan.train import GeneratorTask, GeneratorTraining
from avsec.advgan.victims import build_victim
from avsec.io.audio import normalize
from avsec.train import TrainSettings, fit, resolve_device
from avsec.train.trainer import autocast

LENGTH = 16384
CLASSES = 10
PAPER_GA_SECONDS, PAPER_GENERATOR_SECONDS = 231.46, 0.009  # Table 1, WideResNet on Speech Commands
# The victims at paper size and at the CPU smoke size (config.yaml: advgan.victims, scales.<scale>.advgan.victims).
VICTIMS = {
    "wideresnet": {
        "paper": {"rate": 16000, "depth": 28, "widen": 10, "dropout": 0.3},
        "smoke": {"rate": 16000, "depth": 10, "widen": 2, "dropout": 0.3},
    },
    "samplecnn": {
        "paper": {"rate": 16384, "width": 1.0, "dropout": 0.5},
        "smoke": {"rate": 16384, "width": 0.25, "dropout": 0.5},
    },
}
GENETIC = {"population": 20, "elites": 2, "temperature": 0.03}  # config.yaml: advgan.baselines.genetic
HYPER = {  # config.yaml: advgan.generator; warmup 0 so every timed step back-propagates through the victim
    "loss": "code",
    "alpha": 1.0,
    "beta": 1.0,
    "gamma": 100.0,
    "c": 0.0,
    "clamp": 0.3,
    "warmup": 0,
    "lr": 2e-4,
    "betas": (0.5, 0.999),
}
# Sizes left unset on the command line: (CUDA, CPU, --quick).
DEFAULTS = {
    "victim_size": ("paper", "paper", "smoke"),
    "width": (1.0, 1.0, 1.0),
    "train_width": (None, None, 0.25),  # None: --width
    "batch": (64, 64, 16),
    "clips": (1024, 64, 16),
    "batch1_clips": (50, 16, 4),
    "ga_iterations": (100, 20, 3),
    "ga_clips": (5, 3, 1),
    "train_batch": (64, 8, 4),
    "train_steps": (20, 3, 4),
    "repeat": (3, 3, 3),
    "threads": (None, None, 1),  # --quick: one thread, which a shared 2-core machine cannot stall (BENCHMARKS.md)
}


def speech_like(n: int, seed: int) -> torch.Tensor:
    """``n`` int16 clips (n, 16384): a voiced stretch (f0 90–260 Hz with a slow glide, harmonics shaped by three
    formants, a Hann envelope) in low background noise, peaks between 0.2 and 0.7 of full scale."""
    rng = np.random.default_rng(seed)
    t = np.arange(LENGTH) / 16000.0
    clips = np.empty((n, LENGTH), dtype=np.int16)
    for i in range(n):
        f0 = rng.uniform(90, 260) * (1 + rng.uniform(-0.15, 0.15) * t)
        phase = 2 * np.pi * np.cumsum(f0) / 16000.0
        formants = rng.uniform((300, 900, 2200), (900, 2200, 3200))
        wave = np.zeros(LENGTH)
        for k in range(1, int(4000 / f0.max()) + 1):
            gain = sum(np.exp(-(((k * f0.mean() - f) / 150.0) ** 2)) for f in formants) + 0.05
            wave += gain / k * np.sin(k * phase)
        start, span = rng.integers(0, LENGTH // 3), rng.integers(LENGTH // 3, 2 * LENGTH // 3)
        envelope = np.zeros(LENGTH)
        envelope[start : start + span] = np.hanning(span)[: LENGTH - start]
        wave = wave * envelope / max(np.abs(wave * envelope).max(), 1e-9) * rng.uniform(0.2, 0.7)
        wave += rng.normal(0, 0.003, LENGTH)
        clips[i] = np.clip(np.round(wave * 32767), -32768, 32767).astype(np.int16)
    return torch.from_numpy(clips)


def frozen_victim(name: str, size: str, device: torch.device) -> torch.nn.Module:
    """A randomly initialised victim as ``avsec.advgan.victims.load_victim`` hands it over: eval mode, frozen
    weights."""
    model = build_victim(name, CLASSES, VICTIMS[name][size]).eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model.to(device)


# ---- 1. generator inference ----------------------------------------------------------------------------------------
def bench_generator(args, device: torch.device, audio: torch.Tensor) -> tuple[float, float]:
    """Seconds per clip batched and at batch 1 (medians of ``repeat`` passes)."""
    generator = Generator(args.width).to(device).eval()
    clamp = HYPER["clamp"]
    generate(generator, clamp, audio[: args.batch], args.batch, device, True)  # warm-up (cuDNN, allocator)
    batched = median_seconds(
        lambda: generate(generator, clamp, audio, args.batch, device, True), device, args.repeat, warmup=False
    )
    few = audio[: args.batch1_clips]
    generate(generator, clamp, few[:1], 1, device, True)  # warm-up at batch 1 (oneDNN primitives per shape)
    one = median_seconds(
        lambda: [generate(generator, clamp, few[i : i + 1], 1, device, True) for i in range(len(few))],
        device,
        args.repeat,
        warmup=False,
    )
    return batched / len(audio), one / len(few)


# ---- 2. the genetic algorithm --------------------------------------------------------------------------------------
def bench_genetic(args, device: torch.device, victim: torch.nn.Module, audio: torch.Tensor) -> tuple[float, float]:
    """Median seconds per generation and mean seconds per example at ``--ga-iterations`` generations."""
    clips = normalize(audio[: args.ga_clips]).to(device)
    with torch.no_grad():
        targets = victim(clips).float().argmin(1).tolist()  # the least likely class: no early success
    genetic_attack(victim, clips[0], targets[0], iterations=2, generator=torch.Generator().manual_seed(0), **GENETIC)
    per_generation, per_example = [], []
    for i, (x, target) in enumerate(zip(clips, targets, strict=True)):
        result = genetic_attack(
            victim,
            x,
            target,
            iterations=args.ga_iterations,
            generator=torch.Generator().manual_seed(1024 + i),
            **GENETIC,
        )
        per_generation.append(result.seconds / result.iterations)
        per_example.append(result.seconds)
        if result.iterations < args.ga_iterations:
            print(f"  note: GA clip {i} succeeded after {result.iterations} generations")
    return statistics.median(per_generation), statistics.fmean(per_example)


# ---- 3. training throughput ----------------------------------------------------------------------------------------
class TimedTask:
    """A task that times each step of the one it wraps, so the gaps between steps inside ``fit`` are the loop's own
    work: gathering the batch from the in-memory tensors, the host→device copy, tqdm and the scalar sums."""

    def __init__(self, task: GeneratorTask, device: torch.device):
        self.task, self.device = task, device
        self.modules, self.optimizers, self.schedulers = task.modules, task.optimizers, task.schedulers
        self.spans: list[tuple[float, float]] = []
        self.loop_end = 0.0

    def step(self, batch, epoch):
        sync(self.device)  # the batch's non-blocking copy belongs to the data side, not to the step
        start = time.perf_counter()
        scalars = self.task.step(batch, epoch)  # ends in .item(): synchronous
        self.spans.append((start, time.perf_counter()))
        return scalars

    def end_epoch(self, epoch):
        self.loop_end = time.perf_counter()
        return self.task.end_epoch(epoch)


def make_task(args, device: torch.device, victim: torch.nn.Module) -> GeneratorTask:
    torch.manual_seed(1024)
    g = Generator(args.train_width).to(device)
    d = Discriminator(args.train_width).to(device)
    return GeneratorTask(g, d, victim, 1, GeneratorTraining(**HYPER))


def bench_training(args, device: torch.device, victim: torch.nn.Module, audio: torch.Tensor) -> dict:
    steps = args.train_steps + 1  # the first step of each fit is a warm-up, left out
    need = steps * args.train_batch
    rows = audio.repeat(-(-need // len(audio)), 1)[:need].clone()
    step_times, gap_times, after_loop = [], [], []  # pooled over repeats; each fit's first step left out
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.repeat):
            timed_task = TimedTask(make_task(args, device, victim), device)
            settings = TrainSettings(1, args.train_batch, 1024, str(device), True, checkpoint_every=0)
            resume = Path(tmp) / f"repeat{r}.resume"
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                fit(timed_task, (rows,), settings, resume, desc="bench")  # its banner, tqdm and epoch record
            done = time.perf_counter()
            spans = timed_task.spans
            step_times += [end - start for start, end in spans[1:]]
            gap_times += [b[0] - a[1] for a, b in zip(spans, spans[1:], strict=False)]
            after_loop.append(done - timed_task.loop_end)
            resume.unlink(missing_ok=True)
    # cross-check: the same steps outside fit, on one batch already on the device (a fresh task per repeat, its
    # first step left out, as in fit)
    batch = (rows[: args.train_batch].to(device),)
    preloaded = []
    for _ in range(args.repeat):
        task = make_task(args, device, victim)
        for i in range(steps):
            with autocast(device, True):
                step_seconds = seconds(lambda task=task: task.step(batch, 0), device)
            if i:
                preloaded.append(step_seconds)
    return {
        "step": statistics.median(step_times),
        "gap": statistics.median(gap_times),
        "preloaded": statistics.median(preloaded),
        "after_loop": statistics.median(after_loop),
    }


# ---- main ----------------------------------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    parser.add_argument("--victim", default="wideresnet", choices=tuple(VICTIMS))
    parser.add_argument("--quick", action="store_true", help="small sizes, under a minute on a 2-core CPU")
    parser.add_argument("--victim-size", choices=("paper", "smoke"), help="paper: WRN-28-10 / full SampleCNN")
    parser.add_argument("--width", type=float, help="generator width for inference (1 = paper)")
    parser.add_argument("--train-width", type=float, help="G and D width for training (default --width)")
    parser.add_argument("--batch", type=int, help="generation batch")
    parser.add_argument("--clips", type=int, help="clips generated per batched pass")
    parser.add_argument("--batch1-clips", type=int, help="clips generated one at a time")
    parser.add_argument("--ga-iterations", type=int, help="GA generations per clip in this run")
    parser.add_argument("--ga-clips", type=int, help="clips attacked by the GA")
    parser.add_argument("--ga-budget", type=int, default=1000, help="generations of the projection (paper scale)")
    parser.add_argument("--train-batch", type=int, help="training batch (the paper's 64 on CUDA)")
    parser.add_argument("--train-steps", type=int, help="timed training steps per repeat")
    parser.add_argument("--repeat", type=int, help="repetitions; medians are reported")
    parser.add_argument("--threads", type=int, help="CPU threads for torch (default: torch's; --quick: 1)")
    args = parser.parse_args()
    device = resolve_device(args.device)
    column = 2 if args.quick else (0 if device.type == "cuda" else 1)
    for key, values in DEFAULTS.items():
        if getattr(args, key) is None:
            setattr(args, key, values[column])
    if args.train_width is None:
        args.train_width = args.width
    if args.threads:
        torch.set_num_threads(args.threads)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True

    audio = speech_like(max(args.clips, args.batch1_clips, args.ga_clips), seed=1)
    victim = frozen_victim(args.victim, args.victim_size, device)
    arch = ", ".join(f"{k} {v}" for k, v in VICTIMS[args.victim][args.victim_size].items() if k != "rate")
    if device.type == "cuda":
        print(f"device {device} ({torch.cuda.get_device_name(device)})")
    else:
        load = os.getloadavg()[0]
        print(f"device cpu ({torch.get_num_threads()} threads; load average {load:.1f} at the start: other jobs)")
    print(f"victim {args.victim} ({args.victim_size}: {arch}), random weights; medians of {args.repeat} runs")

    per_clip, per_clip1 = bench_generator(args, device, audio[: args.clips])
    print(f"generator width {args.width}, {args.clips} clips at batch {args.batch}:")
    print(f"  batched: {1 / per_clip:9.1f} clips/s   {1e3 * per_clip:9.3f} ms per clip")
    print(f"  batch 1: {1 / per_clip1:9.1f} clips/s   {1e3 * per_clip1:9.3f} ms per clip ({args.batch1_clips} clips)")

    train = bench_training(args, device, victim, audio)
    loop = train["step"] + train["gap"]
    print(f"generator training (width {args.train_width}, batch {args.train_batch}, {args.train_steps} steps) in fit:")
    print(f"  step (G + D + victim):     {args.train_batch / train['step']:8.2f} clips/s  {train['step']:.3f} s")
    print(f"  between steps (data etc.): {1e3 * train['gap']:8.2f} ms = {train['gap'] / loop:.1%} of the loop")
    print(f"  fit loop:                  {args.train_batch / loop:8.2f} clips/s")
    print(
        f"  cross-check, same step on a preloaded batch: {args.train_batch / train['preloaded']:.2f} clips/s "
        f"(data share implied: {1 - train['preloaded'] / loop:.1%})"
    )
    print(f"  per epoch after the last step (resume file save): {train['after_loop']:.2f} s")

    ga_generation, ga_example = bench_genetic(args, device, victim, audio)
    projected = ga_generation * args.ga_budget
    print(f"genetic algorithm (population {GENETIC['population']}), clips attacked: {args.ga_clips}")
    print(f"  {ga_generation:.3f} s per generation")
    print(f"  {ga_example:.2f} s per example at {args.ga_iterations} generations (measured)")
    print(f"  {projected:.1f} s per example at {args.ga_budget} generations (projected)")
    paper = PAPER_GA_SECONDS / PAPER_GENERATOR_SECONDS
    print(f"paper: GA {PAPER_GA_SECONDS} s / generator {PAPER_GENERATOR_SECONDS} s per example = {paper:.0f}")
    print(
        f"ratio GA at this run's {args.ga_iterations} generations (measured) / generator: {ga_example / per_clip:.0f}"
    )
    print(
        f"ratio GA s per example at {args.ga_budget} generations (projected) / generator s per clip (batched): ", end=""
    )
    print(f"{projected / per_clip:.0f}")


if __name__ == "__main__":
    main()
