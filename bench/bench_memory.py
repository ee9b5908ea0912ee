"""Peak memory of each job at two corpus sizes, N and 4N: does it stay flat as the corpus grows?

Each job is the rule's own script with the paper preset's settings, run in a fresh Python process as the
workflow runs it; its peak RSS comes from the kernel (``os.wait4``). Both sizes run in this one harness, the
same way, so that the difference between them is the job's growth, not run-to-run noise. For each job it prints
the peak at N and 4N, the growth per output row (MB), the projected peak at the paper's corpus size against the
rule's ``mem_mb``, and last the worst growth per row as a share of one row's prepared size (target < 0.1: what
a job keeps per row is its results, never its inputs).

Jobs measured so far: ``prepare_corpus`` for each audio and image corpus (4N is 0.25-0.5 GB of prepared data per
corpus at the defaults).

    python bench/bench_memory.py                   # all corpora, N as in JOBS
    python bench/bench_memory.py --job voc --scale 0.5
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from avsec.core.config import flags, load_config
from avsec.data.synth.voc import make_voc
from avsec.io.shards import ShardedArray

sys.path.insert(0, str(Path(__file__).parent))
from bench_prep import make_gtzan, make_librispeech, make_speech_commands, make_timit  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Job:
    """A ``prepare_corpus`` job: how to synthesise ``n`` source files and the paper's number of output rows."""

    corpus: str
    n: int  # source files at size N
    make: Callable[[Path, int], Path]  # writes n files under a directory, returns the corpus root
    paper_rows: int
    source: str  # where paper_rows comes from
    extra: dict | None = None  # flags that differ from the paper preset (the synthetic corpus's words)


def _timit(tmp: Path, n: int) -> Path:
    make_timit(tmp, n, np.random.default_rng(0))
    return tmp / "TIMIT"


def _librispeech(tmp: Path, n: int) -> Path:
    make_librispeech(tmp, n, np.random.default_rng(0))
    return tmp / "LibriSpeech"


def _gtzan(tmp: Path, n: int) -> Path:
    make_gtzan(tmp, n, np.random.default_rng(0))
    return tmp


def _speech_commands(tmp: Path, n: int) -> Path:
    make_speech_commands(tmp, n, np.random.default_rng(0))
    return tmp / "sc"


def _voc(tmp: Path, n: int) -> Path:
    make_voc(tmp, seed=0, images=n)
    return tmp


JOBS = (
    Job("timit", 1000, _timit, 10000, "config: scales.paper.prep.timit.count"),
    Job("librispeech", 1000, _librispeech, 10000, "config: scales.paper.prep.librispeech.count"),
    Job("gtzan", 96, _gtzan, 29000, "GTZAN: 1000 tracks x 29 clips"),
    Job(
        "speech_commands",
        4000,
        _speech_commands,
        38546,
        "Speech Commands v0.02: clips of the ten command words",
        {"words": ["yes", "no", "up", "down"]},
    ),
    Job("voc", 96, _voc, 11540, "config: scales.paper.prep.voc.count"),
)


def rule_mem_mb(rule: str) -> int | None:
    """The ``mem_mb`` a rule declares in rules/*.smk (None when it is not a plain number)."""
    for smk in sorted((REPO / "rules").glob("*.smk")):
        match = re.search(rf"^rule {rule}:\n(?:(?!^rule ).*\n)*?\s+mem_mb=(\d+),", smk.read_text(), re.M)
        if match:
            return int(match.group(1))
    return None


def peak_rss_mb(command: list[str], log: Path) -> float:
    """Run ``command`` in a fresh process and return its peak resident set size (MB)."""
    with open(log, "w") as out:
        env = {**os.environ, "PYTHONPATH": str(REPO / "src")}  # this checkout's library, wherever avsec is installed
        child = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, cwd=REPO, env=env)
        _, status, usage = os.wait4(child.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        tail = "".join(log.read_text(errors="replace").splitlines(keepends=True)[-20:])
        raise SystemExit(f"{' '.join(command)} failed; the end of its output:\n{tail}")
    return usage.ru_maxrss / 1024  # KB on Linux


def measure(job: Job, n: int, tmp: Path) -> tuple[int, float, float]:
    """Rows written, peak RSS (MB) and one row's size (MB) of the job on ``n`` synthetic source files."""
    root = job.make(tmp / f"src{n}", n)
    config = load_config(REPO / "config.yaml")
    paper = config["scales"]["paper"]["prep"].get(job.corpus, {})
    settings = flags({**config["prep"][job.corpus], **paper, **(job.extra or {})})
    out = tmp / f"prep{n}"
    command = [sys.executable, "workflow/scripts/prepare_corpus.py", "--corpus", job.corpus, "--root", str(root)]
    command += ["--out", str(out), "--seed", "0", *settings.split()]
    peak = peak_rss_mb(command, tmp / f"log{n}.txt")
    data = ShardedArray(out)
    return len(data), peak, data[0].nbytes / 2**20


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--job", choices=[job.corpus for job in JOBS], action="append", help="default: all")
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every N by this")
    args = parser.parse_args(argv)
    limit = rule_mem_mb("prepare_corpus")
    print(f"{'job':28s} {'rows N':>7s} {'peak N':>8s} {'rows 4N':>7s} {'peak 4N':>8s} {'MB/row':>7s} "
          f"{'row MB':>7s} {'paper rows':>10s} {'projected':>9s} {'mem_mb':>7s}", flush=True)  # fmt: skip
    shares = []
    for job in JOBS:
        if args.job and job.corpus not in args.job:
            continue
        n = max(2, round(job.n * args.scale))
        with tempfile.TemporaryDirectory(prefix=f"bench-memory-{job.corpus}-") as tmp:
            rows1, peak1, row_mb = measure(job, n, Path(tmp))
            rows4, peak4, _ = measure(job, 4 * n, Path(tmp))
        growth = max(0.0, (peak4 - peak1) / (rows4 - rows1))
        projected = peak1 + growth * max(0, job.paper_rows - rows1)
        shares.append((growth / row_mb, f"prepare_corpus {job.corpus}"))
        print(f"{'prepare_corpus ' + job.corpus:28s} {rows1:7d} {peak1:8.0f} {rows4:7d} {peak4:8.0f} {growth:7.4f} "
              f"{row_mb:7.3f} {job.paper_rows:10d} {projected:9.0f} {limit or '?':>7}", flush=True)  # fmt: skip
    print("paper rows: " + "; ".join(f"{job.corpus} {job.source}" for job in JOBS))
    worst, name = max(shares)
    print(f"worst growth per row / one row's size: {worst:.3f} ({name}; target < 0.1)")


if __name__ == "__main__":
    sys.exit(main())
