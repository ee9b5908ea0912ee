"""Per-step wall times and peak CUDA memory of a job, for the paper-scale rehearsal (``avsec.rehearsal``).

When the environment variable ``AVSEC_STEP_LOG`` names a file, the trainer (one line per optimisation step) and
``attack_av`` (one line per attacked batch) append a JSON line ``{"seconds": ..., "cuda_peak_mb": ...}``: the wall
time since the previous line (on CUDA after a synchronise, so the GPU's queued work is inside the step that
queued it) and the peak CUDA memory allocated so far (0 on a CPU). Unset, nothing is timed or written.
"""

from __future__ import annotations

import json
import os
import time

import torch

ENV = "AVSEC_STEP_LOG"


class StepClock:
    """Times the work between :meth:`start` and each :meth:`tick` into the step log (a no-op when there is none)."""

    def __init__(self, device: torch.device):
        self.path = os.environ.get(ENV)
        self.cuda = device.type == "cuda"
        self.last = 0.0

    def _now(self) -> float:
        if self.cuda:
            torch.cuda.synchronize()
        return time.perf_counter()

    def start(self) -> None:
        if self.path:
            self.last = self._now()

    def tick(self) -> None:
        if not self.path:
            return
        now = self._now()
        peak = torch.cuda.max_memory_allocated() / 2**20 if self.cuda else 0.0
        with open(self.path, "a") as log:
            log.write(json.dumps({"seconds": now - self.last, "cuda_peak_mb": peak}) + "\n")
        self.last = now


def read_step_log(path) -> list[dict]:
    """The records of a step log, in order ([] when the job wrote none)."""
    if not os.path.exists(path):
        return []
    with open(path) as log:
        return [json.loads(line) for line in log if line.strip()]
