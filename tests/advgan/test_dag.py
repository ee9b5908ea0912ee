"""Paper 2's DAG from dry runs: job counts per protocol at paper scale, and the rerun of one generator."""

from __future__ import annotations

import re
import subprocess

import pytest

from conftest import VENV_ENV, copy_workflow, tool


def job_counts(workdir, *args) -> dict[str, int]:
    """{rule: jobs} of a Snakemake dry run."""
    out = subprocess.run([tool("snakemake"), "-n", *args], cwd=workdir, capture_output=True, text=True, env=VENV_ENV)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    table = out.stdout[out.stdout.index("Job stats:") :]
    return {m[1]: int(m[2]) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.M) if m[1] != "total"}


def use_generators(workdir, anchor: str) -> None:
    config = workdir / "config.yaml"
    text, n = re.subn(r"(generators: )\*paper_per_\w+", rf"\1*{anchor}", config.read_text())
    assert n == 1
    config.write_text(text)


@pytest.mark.parametrize(("anchor", "per_victim"), [("paper_per_pair", 90), ("paper_per_target", 10)])
def test_paper_scale_plans_one_job_per_generator(tmp_path, anchor, per_victim):
    workdir = copy_workflow(tmp_path / "wf", scale="paper", corpora_root=tmp_path / "corpora")
    use_generators(workdir, anchor)
    counts = job_counts(workdir, "all")
    assert counts["train_generator"] == counts["evaluate_generator"] == 2 * per_victim
    assert counts["train_victim"] == 2 and counts["attack_baseline"] == 4 and counts["report_advgan"] == 1

    from dvc.repo import Repo

    with Repo(str(workdir)) as repo:
        names = [stage.name for stage in repo.index.stages]
    assert sum(n.startswith("train_generator_") for n in names) == 2 * per_victim
    assert sum(n.startswith("evaluate_generator_") for n in names) == 2 * per_victim
    example = "train_generator_wideresnet@yes_to_no" if per_victim == 90 else "train_generator_wideresnet@all_to_no"
    assert example in names


def test_generator_for_a_label_the_victim_lacks_is_one_line(tmp_path):
    workdir = copy_workflow(tmp_path / "wf")
    config = workdir / "config.yaml"
    config.write_text(config.read_text().replace("[all_to_yes, all_to_no]", "[all_to_yes, all_to_maybe]", 1))
    out = subprocess.run([tool("snakemake"), "-n", "all"], cwd=workdir, capture_output=True, text=True, env=VENV_ENV)
    assert out.returncode != 0
    assert (
        "error: config.yaml: scales.smoke.advgan.generators.wideresnet: 'all_to_maybe': wideresnet has no label "
        "'maybe'" in out.stderr + out.stdout
    )
