"""Wall-clock timing for the bench scripts: CUDA work is waited for, figures are medians after a warm-up."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import torch

CPU = torch.device("cpu")


def sync(device: torch.device) -> None:
    """Wait for the device's queued work (a no-op on the CPU)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def seconds(fn: Callable[[], object], device: torch.device = CPU) -> float:
    """Wall seconds of one ``fn()``, with the device's work before and after it finished."""
    sync(device)
    start = time.perf_counter()
    fn()
    sync(device)
    return time.perf_counter() - start


def median_seconds(fn: Callable[[], object], device: torch.device = CPU, repeat: int = 3, warmup: bool = True) -> float:
    """Median of ``repeat`` timed runs of ``fn()``, after one untimed run unless ``warmup`` is false."""
    if warmup:
        fn()
    return statistics.median(seconds(fn, device) for _ in range(repeat))
