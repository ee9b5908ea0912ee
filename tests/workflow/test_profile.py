"""The SLURM profile (slurm/config.yaml) gives every GPU job of the paper-scale DAG the GPU partition, and every
job that can resume the SIGUSR1 warning before its time limit; no other job gets the signal (without a handler
it would end the process). Read from a dry run through the profile, which needs no cluster."""

from __future__ import annotations

import re
import subprocess

from conftest import REPO, VENV_ENV, copy_workflow, tool

RESUMABLE = {"security_stego", "security_baseline_stego", "attack_av"}  # and every train_* rule
USR1 = "--signal=USR1@"


def profile_jobs(workdir) -> dict[str, list[dict[str, str]]]:
    """{rule: [resources of each job]} of `all` as the profile submits them (a forced dry run)."""
    cmd = [tool("snakemake"), "--profile", str(REPO / "slurm"), "-n", "--forceall", "all"]
    out = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, env=VENV_ENV)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    jobs: dict[str, list[dict[str, str]]] = {}
    for rule, resources in re.findall(r"^rule (\w+):\n(?:    .*\n)*?    resources: (.+)$", out.stdout, re.M):
        jobs.setdefault(rule, []).append(dict(item.split("=", 1) for item in resources.split(", ")))
    return jobs


def test_every_gpu_job_gets_the_gpu_partition_and_every_resumable_one_the_warning(tmp_path):
    workdir = copy_workflow(tmp_path / "wf", scale="paper", corpora_root=tmp_path / "corpora")
    jobs = profile_jobs(workdir)  # the paper preset's landmarks come from FAN on a GPU
    gpu = {rule for rule, resources in jobs.items() if any(r.get("gpu") == "1" for r in resources)}
    assert {"train_generator", "attack_av", "train_stego", "train_imgstego", "detect_landmarks"} <= gpu
    for rule in sorted(gpu):
        for resources in jobs[rule]:
            assert resources.get("slurm_partition") == "gpu", (rule, resources)
            resumable = rule.startswith("train_") or rule in RESUMABLE
            assert (USR1 in resources.get("slurm_extra", "")) == resumable, (rule, resources)
    cpu_only = set(jobs) - gpu - {"all"}
    assert cpu_only and not [rule for rule in cpu_only if USR1 in jobs[rule][0].get("slurm_extra", "")]
