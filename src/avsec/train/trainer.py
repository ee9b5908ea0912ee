"""The one training loop every experiment uses: a task supplies models, optimisers and a step; this does the rest.

What the loop owns (docs/architecture.md, "Conventions"): the device (``auto`` = CUDA when present), bf16 autocast
on CUDA, the data order (a permutation per epoch drawn from the seed and the epoch number, so a resumed run sees
the same batches), reading the batches through a ``DataLoader`` (from tensors in memory, or from a ``Dataset``
that reads each batch from the memory-mapped shards), tqdm progress into the rule's log, the history CSV that
``dvc plots`` draws (:mod:`avsec.train.history`), a resume file written
every ``checkpoint_every`` steps and when SLURM (or a user) sends SIGTERM, SIGUSR1 or SIGINT, and resumption
from that file. A resume file holds the
modules, optimisers, schedulers, random-number state, position and the epoch's running sums, and a fingerprint
of the settings: a file from other settings is set aside, never silently continued. Whoever calls :func:`fit`
writes the final artifact atomically and then removes the resume file.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import signal
import sys
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Protocol

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset
from tqdm import tqdm

from avsec.core.errors import AvsecError
from avsec.train.checkpoint import load_resume, save_checkpoint
from avsec.train.history import HistoryLog
from avsec.train.steplog import StepClock

SIGNALS = (signal.SIGTERM, signal.SIGUSR1, signal.SIGINT)


class Interrupted(AvsecError):
    """Training stopped by a signal after saving its resume file; rerunning the job resumes it."""

    exit_code = 75  # EX_TEMPFAIL: try again


@dataclass
class TrainSettings:
    epochs: int
    batch: int
    seed: int
    device: str = "auto"
    bf16: bool = True
    checkpoint_every: int = 200
    fingerprint: dict = field(default_factory=dict)  # everything else that defines the run (hyper-parameters, data)
    workers: int = -1  # DataLoader processes reading batches; -1: the job's threads on CUDA, none on a CPU
    steps: int = 0  # stop after this many steps in all (0: every epoch): short rehearsals and benches
    log_every: int = 0  # a history row every this many steps as well as at each epoch's end (0: epochs only)
    # early stop: after ``patience`` epochs over which the epoch mean ``monitor`` moved by at most ``tolerance``
    # from where it stood (0: every epoch runs)
    patience: int = 0
    monitor: str = ""
    tolerance: float = 0.0


def flat_for(history: list[dict], monitor: str, patience: int, tolerance: float) -> bool:
    """Whether ``monitor`` of the last ``patience`` epochs of ``history`` stayed within ``tolerance`` of its value
    the epoch before them (paper 2: "the success rate has not changed for 5 epochs")."""
    if patience <= 0 or len(history) <= patience:
        return False
    before = history[-patience - 1][monitor]
    return all(abs(record[monitor] - before) <= tolerance for record in history[-patience:])


class Task(Protocol):
    """What an experiment hands the trainer."""

    modules: dict[str, nn.Module]
    optimizers: dict[str, torch.optim.Optimizer]
    schedulers: dict[str, torch.optim.lr_scheduler.LRScheduler]

    def step(self, batch: tuple[torch.Tensor, ...], epoch: int) -> dict[str, float]:
        """One optimisation step on a batch already on the device; returns scalars for the progress bar."""

    def end_epoch(self, epoch: int) -> dict[str, float]:
        """Anything measured after an epoch (validation accuracy, ...); {} when nothing."""


def set_threads(threads: int) -> None:
    """Use exactly ``threads`` CPU threads (0 leaves torch's default). Float sums depend on the thread count, so
    a fixed count is what makes a CPU run repeatable wherever it runs (Snakemake, DVC, SLURM)."""
    if threads > 0:
        torch.set_num_threads(threads)


def channels_last(module: nn.Module) -> nn.Module:
    """Store a 2-D convolutional network's weights channels-last (NHWC) and return it. oneDNN's CPU convolutions
    then run without reordering at every call (PyTorch recommends the layout for cuDNN under bf16 too; not
    measured here), and the outputs follow the weights' layout: on 2 CPU cores a training step of paper 1's
    networks takes 37 % less time at the smoke width and 38 % less at the paper's, paper 3's 18 % and 13 % less
    (bench/bench_steps.py). The values are the same up to float rounding."""
    return module.to(memory_format=torch.channels_last)


@contextlib.contextmanager
def frozen(module: nn.Module) -> Iterator[nn.Module]:
    """Run ``module`` with its weights needing no gradient (their flags restored after): a loss that reaches another
    network through it (a GAN's generator through its discriminator) then computes only the gradient that passes
    through, not the weights' own, which the next update of ``module`` would discard. The graph records this when
    the forward runs, so only the forward need be inside."""
    flags = [(p, p.requires_grad) for p in module.parameters()]
    module.requires_grad_(False)
    try:
        yield module
    finally:
        for p, flag in flags:
            p.requires_grad_(flag)


def resolve_device(name: str = "auto") -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def autocast(device: torch.device, bf16: bool) -> contextlib.AbstractContextManager:
    """bf16 autocast on CUDA when asked; a no-op elsewhere (CPU runs stay float32 and bit-reproducible)."""
    if device.type == "cuda" and bf16:
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def epoch_order(n: int, seed: int, epoch: int) -> torch.Tensor:
    """The permutation of ``n`` rows for an epoch: a function of (seed, epoch) only, so resumption is exact."""
    return torch.randperm(n, generator=torch.Generator().manual_seed(seed * 100_003 + epoch))


def fingerprint(settings: TrainSettings) -> str:
    keep = {k: v for k, v in asdict(settings).items() if k not in ("device", "checkpoint_every", "workers")}
    if not keep["log_every"]:  # the rows already logged depend on it; left out at 0, older resume files still fit
        del keep["log_every"]
    if not keep["patience"]:  # likewise the early stop
        for key in ("patience", "monitor", "tolerance"):
            del keep[key]
    return hashlib.sha256(json.dumps(keep, sort_keys=True, default=str).encode()).hexdigest()[:16]


@contextlib.contextmanager
def stop_on_signal() -> Iterator[list[int]]:
    """Record SIGTERM/SIGUSR1/SIGINT instead of dying, so the loop can save and leave at a step boundary."""
    received: list[int] = []
    previous = {s: signal.signal(s, lambda signum, frame: received.append(signum)) for s in SIGNALS}
    try:
        yield received
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


class TensorRows(Dataset):
    """Rows of tensors with a common first dimension, kept in memory; a batch is ``tuple(t[rows])``."""

    def __init__(self, *tensors: torch.Tensor):
        self.tensors = tensors

    def __len__(self) -> int:
        return len(self.tensors[0])

    def __getitems__(self, rows: list[int]) -> tuple[torch.Tensor, ...]:
        index = torch.as_tensor(rows, dtype=torch.long)
        return tuple(t[index] for t in self.tensors)


def _as_batch(batch):
    """The DataLoader's collate: a dataset's ``__getitems__`` already returns the batch."""
    return batch


def batch_loader(data: Dataset, batches: list[list[int]], device: torch.device, workers: int = -1) -> DataLoader:
    """A DataLoader reading ``batches`` (lists of row numbers, in order) through ``data.__getitems__``: in
    ``workers`` processes (-1: the job's threads on CUDA, where they overlap reading with the GPU's work; none on
    a CPU, whose cores the step needs), into pinned memory on CUDA."""
    if workers < 0:
        workers = torch.get_num_threads() if device.type == "cuda" else 0
    return DataLoader(
        data,
        batch_sampler=batches,
        num_workers=workers,
        collate_fn=_as_batch,
        pin_memory=device.type == "cuda",
        generator=torch.Generator(),  # its workers' seeds: drawn from here, not from the global RNG the task uses
    )


def fit(task: Task, data: tuple[torch.Tensor, ...] | Dataset, settings: TrainSettings, resume: str | Path,
        desc: str, history_csv: str | Path | None = None) -> list:  # fmt: skip
    """Train ``task`` on the rows of ``data``: tensors with a common first dimension kept in memory, or a
    ``Dataset`` whose ``__getitems__(rows)`` reads a batch (tuple of tensors), so the data is never held whole.

    Returns the history: one dict per epoch of the mean step scalars and the task's end-of-epoch measures.
    ``history_csv``, when given, receives the rows of :class:`~avsec.train.history.HistoryLog` (every
    ``settings.log_every`` steps and at each epoch's end), rewritten atomically with each resume file and at the end.
    Raises :class:`Interrupted` after saving ``resume`` when a signal arrives.
    """
    device = resolve_device(settings.device)
    torch.manual_seed(settings.seed)
    for module in task.modules.values():
        module.to(device)
    data = TensorRows(*data) if isinstance(data, tuple) else data
    n = len(data)
    if n == 0:
        raise AvsecError(f"{desc}: no training rows")
    steps_per_epoch = max(1, -(-n // settings.batch))
    resume, key = Path(resume), fingerprint(settings)
    state = _resume_state(resume, key, task)
    # sums: the current epoch's step scalars so far, kept in the resume file so a resumed epoch's means are exact
    epoch, start, history, sums = state["epoch"], state["step"], state["history"], state["sums"]
    log = HistoryLog(history_csv, settings.log_every, state["log"])
    print(f"{desc}: {n} rows, {steps_per_epoch} steps per epoch, {settings.epochs} epochs on {device}", flush=True)
    clock = StepClock(device)  # per-step times for the rehearsal (avsec.train.steplog), when asked
    with stop_on_signal() as received:
        while epoch < settings.epochs:
            if flat_for(history, settings.monitor, settings.patience, settings.tolerance):  # also on a resume
                print(f"{desc}: {settings.monitor} within {settings.tolerance} for {settings.patience} epochs: "
                      f"stopped after epoch {epoch} of {settings.epochs}", file=sys.stderr, flush=True)  # fmt: skip
                break
            order = epoch_order(n, settings.seed, epoch)
            bar = tqdm(
                range(start, steps_per_epoch),
                desc=f"{desc} epoch {epoch + 1}/{settings.epochs}",
                file=sys.stderr,
                mininterval=5,
                dynamic_ncols=False,
                ncols=100,
            )
            rows = [order[step * settings.batch : (step + 1) * settings.batch].tolist() for step in bar.iterable]
            clock.start()
            for step, batch in zip(bar, batch_loader(data, rows, device, settings.workers), strict=True):
                batch = tuple(t.to(device, non_blocking=True) for t in batch)
                with autocast(device, settings.bf16):
                    scalars = task.step(batch, epoch)
                clock.tick()
                for name, value in scalars.items():
                    sums[name] = sums.get(name, 0.0) + float(value)
                bar.set_postfix({k: f"{v:.3g}" for k, v in scalars.items()}, refresh=False)
                done = step + 1
                log.add(scalars, epoch, epoch * steps_per_epoch + done, end=done == steps_per_epoch)
                if received or (settings.checkpoint_every and done % settings.checkpoint_every == 0):
                    _save_resume(resume, key, task, epoch, done, history, sums, log)
                if settings.steps and epoch * steps_per_epoch + done >= settings.steps:
                    log.write()
                    bar.close()
                    print(f"{desc}: stopped after {settings.steps} steps, as asked", file=sys.stderr, flush=True)
                    return history
                if received:
                    bar.close()
                    raise Interrupted(
                        f"{desc}: stopped by signal {received[0]} at epoch {epoch + 1} step {done}; "
                        f"rerun to resume from {resume}"
                    )
            bar.close()
            record = {"epoch": epoch + 1, **{k: v / steps_per_epoch for k, v in sums.items()}}
            for module in task.modules.values():
                module.eval()
            with torch.no_grad(), autocast(device, settings.bf16):
                record.update(task.end_epoch(epoch))
            for module in task.modules.values():
                module.train()
            for scheduler in getattr(task, "schedulers", {}).values():
                scheduler.step()
            history.append(record)
            log.end_epoch({k: v for k, v in record.items() if k not in sums and k != "epoch"})
            print(json.dumps(record), file=sys.stderr, flush=True)
            epoch, start, sums = epoch + 1, 0, {}
            _save_resume(resume, key, task, epoch, 0, history, sums, log)
    log.write()
    return history


def _save_resume(
    path: Path, key: str, task: Task, epoch: int, step: int, history: list, sums: dict, log: HistoryLog
) -> None:
    rng = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        rng["cuda"] = torch.cuda.get_rng_state_all()
    save_checkpoint(
        path,
        {
            "kind": "resume",
            "fingerprint": key,
            "epoch": epoch,
            "step": step,
            "history": history,
            "sums": sums,
            "log": log.state(),
            "rng": rng,
            "modules": {k: m.state_dict() for k, m in task.modules.items()},
            "optimizers": {k: o.state_dict() for k, o in task.optimizers.items()},
            "schedulers": {k: s.state_dict() for k, s in getattr(task, "schedulers", {}).items()},
        },
    )
    log.write()  # after the resume file: the CSV never holds rows a resumed run would log again


def _resume_state(path: Path, key: str, task: Task) -> dict:
    saved = load_resume(path, key)
    if saved is None:
        return {"epoch": 0, "step": 0, "history": [], "sums": {}, "log": None}
    for name, module in task.modules.items():
        module.load_state_dict(saved["modules"][name])
    for name, optimizer in task.optimizers.items():
        optimizer.load_state_dict(saved["optimizers"][name])
    for name, scheduler in getattr(task, "schedulers", {}).items():
        scheduler.load_state_dict(saved["schedulers"][name])
    torch.set_rng_state(saved["rng"]["torch"])
    if "cuda" in saved["rng"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(saved["rng"]["cuda"])
    print(f"resuming from {path}: epoch {saved['epoch'] + 1}, step {saved['step']}", file=sys.stderr, flush=True)
    return {
        "epoch": saved["epoch"],
        "step": saved["step"],
        "history": list(saved["history"]),
        "sums": dict(saved.get("sums", {})),
        "log": saved.get("log"),
    }
