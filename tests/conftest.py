"""Shared test helpers: the repository, the venv's tools, and throwaway copies of the workflow."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
WORKFLOW_FILES = ("Snakefile", "config.yaml", "dvc.yaml", "rules", "workflow", "envs", "slurm", "src", "docs")


# The environment of a user who activated .venv: `python` in the workflow's commands is the project's.
VENV_ENV = {**os.environ, "PATH": os.pathsep.join([str(BIN), os.environ.get("PATH", "")])}


def tool(name: str) -> str:
    """A command-line tool of the project's environment (snakemake, dvc)."""
    return str(BIN / name)


def copy_workflow(dest: Path, *, scale: str = "smoke", corpora_root: Path | None = None) -> Path:
    """Copy the workflow's files to ``dest`` (a fresh DVC repo without git), optionally switching the active scale
    and pointing the paper preset's corpora at empty directories under ``corpora_root``."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in WORKFLOW_FILES:
        src = REPO / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            shutil.copy2(src, dest / name)
    text = (dest / "config.yaml").read_text()
    if scale != "smoke":
        text = re.sub(r"^scale: \*smoke$", f"scale: *{scale}", text, flags=re.M)
    if corpora_root is not None:

        def repoint(match: re.Match) -> str:
            path = corpora_root / Path(match.group(2)).name
            path.mkdir(parents=True, exist_ok=True)
            return f"{match.group(1)}{path}"

        text = re.sub(r"^(\s+\w+: )(/data/corpora/\S+)$", repoint, text, flags=re.M)
    (dest / "config.yaml").write_text(text)
    subprocess.run([tool("dvc"), "init", "--no-scm", "-q"], cwd=dest, check=True)
    shutil.copy2(REPO / ".dvcignore", dest / ".dvcignore")
    return dest


@pytest.fixture
def workflow_copy(tmp_path):
    return lambda **kw: copy_workflow(tmp_path / "wf", **kw)


# the report scripts' flags for the deviations table at the smoke preset (avsec.report.deviations)
SMOKE_DEVIATION_FLAGS = ("--deviations", str(REPO / "docs/deviations.yaml"), "--config", str(REPO / "config.yaml"),
                         "--scale", "smoke")  # fmt: skip


def smoke_deviations(paper: str) -> str:
    """The deviations table the report scripts write for ``paper`` at the smoke preset (avsec.report.deviations)."""
    import argparse

    from avsec.report.deviations import from_args

    args = argparse.Namespace(deviations=REPO / "docs/deviations.yaml", config=REPO / "config.yaml", scale="smoke")
    return from_args(args, paper)


def step_keeping_own_gradients(task, player: str, *args):
    """Run ``task.step(*args)`` (one step of a two-player game) and check that afterwards ``player``'s gradients are
    exactly those of its own update (the other player's backward added none) and its weights still train; returns
    the step's result."""
    import torch

    net, own = task.modules[player], {}

    def keep(optimizer, args, kwargs):
        own.update({name: p.grad.clone() for name, p in net.named_parameters()})

    task.optimizers[player].register_step_post_hook(keep)
    result = task.step(*args)
    assert own and all(torch.equal(p.grad, own[name]) for name, p in net.named_parameters())
    assert all(p.requires_grad for p in net.parameters())
    return result
