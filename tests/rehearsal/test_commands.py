"""The rehearsal runs the paper preset exactly: each rehearsed job's settings are those of the same job in the
paper-scale DAG (Snakemake's dry run), but for the paths, --steps and what the rehearsal must change (no example
videos, C&W's iterations)."""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path

import pytest

from avsec.advgan.names import ablation_flags
from avsec.core.config import load_config
from avsec.rehearsal.jobs import JOBS, Context
from conftest import copy_workflow, tool

PATHS = {"data", "out", "history", "metrics", "model", "timit", "voc", "mouths", "audio", "recogniser", "syncnet",
         "log", "examples-dir"}  # fmt: skip
REHEARSAL_ONLY = {"steps", "threads", "examples", "iterations"}


def settings(argv: list[str]) -> dict:
    flags = ablation_flags(argv[1:])  # argv[0]: the script; after --ablation, a variant's flags replace
    return {
        "ablation": "--ablation" in argv,
        **{k: v for k, v in flags.items() if k not in PATHS | REHEARSAL_ONLY and not str(v).endswith(".pt")},
    }


@pytest.fixture(scope="module")
def paper_commands(tmp_path_factory) -> list[list[str]]:
    root = tmp_path_factory.mktemp("paper")
    workdir = copy_workflow(root / "wf", scale="paper", corpora_root=root / "corpora")
    out = subprocess.run([tool("snakemake"), "-n", "-p", "--forceall", "all"], cwd=workdir, capture_output=True,
                         text=True)  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    return [shlex.split(line)[1:] for line in re.findall(r"^Shell command: (python .+)$", out.stdout, re.M)]


@pytest.mark.parametrize("name", sorted(JOBS))
def test_a_rehearsed_job_has_the_paper_jobs_settings(paper_commands, name, tmp_path):
    job = JOBS[name]
    config = load_config(Path(__file__).parents[2] / "config.yaml")
    ours = job.command(Context(config, tmp_path / "data", tmp_path / "work", 3, 2), 3)
    script = ours[0]
    mine = settings(ours)
    # the same script and the same naming flags (victim, generator, run, variant, corpus, method, setting)
    # (Section D's loss ablation runs train_generator.py too: its variant's flags after --ablation replace the
    # generator's, so an ablation job matches only an ablation job)
    theirs = [settings(argv) for argv in paper_commands if argv[0] == script]
    assert theirs, f"no {script} job in the paper-scale DAG"
    assert mine in theirs, (mine, theirs[:2])
