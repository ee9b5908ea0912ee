"""The workflow and the code stay lint-clean: snakemake --lint, snakefmt --check, ruff."""

from __future__ import annotations

import subprocess

import pytest

from conftest import REPO, VENV_ENV, tool


@pytest.mark.parametrize(
    "cmd",
    [
        ["snakemake", "--lint"],
        ["snakefmt", "--check", "Snakefile", "rules"],
        ["ruff", "check", "src", "tests", "bench", "workflow"],
        ["ruff", "format", "--check", "src", "tests", "bench", "workflow"],
    ],
    ids=lambda cmd: " ".join(cmd[:2]),
)
def test_clean(cmd):
    done = subprocess.run([tool(cmd[0]), *cmd[1:]], cwd=REPO, capture_output=True, text=True, env=VENV_ENV)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    if cmd[1] == "--lint":
        assert "Congratulations" in done.stdout + done.stderr
