"""Run one rehearsed job: the networks it needs for 1 step (untimed), then the job itself for ``steps`` steps in a
fresh process, timed step by step (``AVSEC_STEP_LOG``, avsec.train.steplog), its peak host RSS from the kernel
(``os.wait4``); the record goes to ``results/rehearsal/<job>.json``. A job that fails (out of memory, a CUDA
error) gives a record with its error, which the cost table flags: the rehearsal goes on."""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import avsec
from avsec.core.errors import ConfigError
from avsec.io.atomic import write_text
from avsec.rehearsal.jobs import JOBS, Context, Job
from avsec.train.steplog import ENV, read_step_log


def device_name() -> str:
    import torch

    if torch.cuda.is_available():
        return f"cuda: {torch.cuda.get_device_name()}"
    return f"cpu: {os.cpu_count()} cores"


def _run(command: list[str], repo: Path, step_log: Path | None = None) -> tuple[int, float, float, str]:
    """Run a script of ``repo`` with this Python: (exit status, peak RSS in MB, seconds, the end of its output)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(Path(avsec.__file__).parents[1]), env.get("PYTHONPATH", "")])
    env.pop(ENV, None)
    if step_log:
        env[ENV] = str(step_log)
    start = time.perf_counter()
    child = subprocess.Popen([sys.executable, *command], cwd=repo, env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True, errors="replace")  # fmt: skip
    tail: list[str] = []
    for line in child.stdout:  # the job's output, passed on to this job's log, its end kept for the record
        sys.stdout.write(line)
        tail = (tail + [line.rstrip()])[-15:]
    _, status, usage = os.wait4(child.pid, 0)
    return os.waitstatus_to_exitcode(status), usage.ru_maxrss / 1024, time.perf_counter() - start, "\n".join(tail)


def _last_error(tail: str) -> str:
    """The line of a failed job's output that says why: its ``error:`` line, else its last line."""
    lines = [line for line in tail.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error:") or "Error" in line.split(":")[0]]
    return (errors or lines or ["no output"])[-1]


def rehearse(name: str, config: dict, data: Path, out: Path, steps: int, threads: int, repo: Path) -> dict:
    """Rehearse job ``name`` on the prepared data under ``data``; write its record to ``out`` and return it."""
    if name not in JOBS:
        raise ConfigError(f"unknown rehearsal job {name!r}; choose one of {', '.join(JOBS)}")
    if steps < 2:
        raise ConfigError("rehearsal.steps must be at least 2: the first step is the warm-up, not timed")
    if not (repo / "workflow" / "scripts").is_dir():
        raise ConfigError(f"{repo}: not the repository root (no workflow/scripts); pass --repo")
    job: Job = JOBS[name]
    work = out.parent / "work" / name
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    context = Context(config, data, work, steps, threads)
    record: dict = {"job": name, "rule": job.rule, "paper": job.paper, "device": device_name(), "steps": steps}
    try:
        for need in job.needs:  # the networks this job loads, trained for 1 step into the same folder
            print(f"== {name}: first {need}, 1 step (untimed)", flush=True)
            code, _, _, tail = _run(JOBS[need].command(context, 1), repo)
            if code != 0:
                why = f"{need} (1 step, the network {name} needs) exited {code}: {_last_error(tail)}"
                raise RuntimeError(f"{why}\n{tail}")
        print(f"== {name}: {steps} steps, timed", flush=True)
        step_log = work / "steps.jsonl"
        code, peak_rss, seconds, tail = _run(job.command(context, steps), repo, step_log)
        record.update(peak_rss_mb=round(peak_rss, 1), wall_seconds=round(seconds, 2))
        if code != 0:
            raise RuntimeError(f"exited {code}: {_last_error(tail)}\n{tail}")
        log = read_step_log(step_log)
        if len(log) < 2:
            raise RuntimeError(f"wrote {len(log)} step times; a warm-up and one timed step at least are needed")
        timed = [entry["seconds"] for entry in log[1:]]
        factor = job.per_step(context)
        full = job.full(context)
        record.update(
            status="ok",
            warmup_seconds=round(log[0]["seconds"], 4),
            step_seconds=[round(t, 4) for t in timed],
            measured_seconds_per_step=round(statistics.median(timed), 4),
            per_step_factor=round(factor, 4),
            seconds_per_step=round(statistics.median(timed) * factor, 4),
            peak_cuda_mb=round(max(entry["cuda_peak_mb"] for entry in log), 1),
            full_steps=full.steps,
            full_rows=full.rows,
            full_how=full.how,
            jobs=job.count(context),
        )
    except RuntimeError as exc:
        record.update(status="failed", error=str(exc))
        print(f"== {name}: FAILED {str(exc).splitlines()[0]}", flush=True)
    write_text(out, json.dumps(record, indent=1) + "\n")
    shutil.rmtree(work, ignore_errors=True)  # checkpoints of a few steps: nothing to keep
    return record
