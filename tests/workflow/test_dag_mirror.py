"""Snakemake's DAG and DVC's pipeline are the same jobs: same outputs, same command lines, at both scales."""

from __future__ import annotations

import re
import subprocess

import pytest

from conftest import copy_workflow, tool


def snakemake_jobs(workdir) -> dict[tuple[str, ...], str]:
    """{outputs: shell command} of every job of `all` and of the paper-scale rehearsal, from a forced dry run."""
    out = subprocess.run(
        [tool("snakemake"), "-n", "-p", "--forceall", "all", "rehearsal"], cwd=workdir, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stdout + out.stderr
    jobs = {}
    for block in re.split(r"\n(?=\[[^\n]*\]\nrule |rule \w+:)", out.stdout):
        output = re.search(r"^    output: (.+)$", block, re.M)
        command = re.search(r"^Shell command: (.+)$", block, re.M)
        if output and command:
            jobs[tuple(sorted(output.group(1).split(", ")))] = command.group(1)
    return jobs


def dvc_stages(workdir) -> dict[tuple[str, ...], str]:
    """{outputs: cmd} of every stage of dvc.yaml."""
    from dvc.repo import Repo

    with Repo(str(workdir)) as repo:
        return {tuple(sorted(o.def_path for o in stage.outs)): stage.cmd for stage in repo.index.stages}


@pytest.mark.parametrize("scale", ["smoke", "paper"])
def test_snakemake_and_dvc_run_the_same_jobs(tmp_path, scale):
    workdir = copy_workflow(tmp_path / "wf", scale=scale, corpora_root=tmp_path / "corpora")
    jobs, stages = snakemake_jobs(workdir), dvc_stages(workdir)
    assert jobs, "the dry run listed no jobs"
    assert sorted(jobs) == sorted(stages)
    for outputs, command in jobs.items():
        assert " ".join(stages[outputs].split()) == command, outputs
        # the scripts refuse a flag given twice: a scale preset must not repeat a protocol key (settings merge as
        # flags, `${a} ${scale.a}` in DVC); flags after --ablation (rule train_ablation) replace the earlier ones
        # and are checked on their own
        for part in command.split(" --log ")[0].split(" --ablation "):
            flags = re.findall(r"(?<=\s)--(\w+)(?=\s)", part + " ")
            assert sorted({f for f in flags if flags.count(f) > 1}) == [], (outputs, command)
    synthesised = [o for o in jobs if o[0].startswith("results/synth/")]
    assert (len(synthesised) == 7) if scale == "smoke" else not synthesised
