"""The SLURM side, for real: a one-node cluster from slurm/local_cluster.sh (root, Debian's slurm-wlm and munge),
a fake GPU that jobs see as CUDA_VISIBLE_DEVICES=0, and Snakemake submitting through
snakemake-executor-plugin-slurm with the test profile tests/slurm (the project's slurm/ profile with short
status-polling delays)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from avsec.avdetect.data import PARTS, load_av
from conftest import BIN, REPO, copy_workflow, tool

pytestmark = pytest.mark.slurm

CLUSTER = REPO / "slurm" / "local_cluster.sh"
PROFILE = REPO / "tests" / "slurm"
MARKER = "# Written by avsec slurm/local_cluster.sh"
FINISHED = {"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "OUT_OF_MEMORY", "NODE_FAIL", "BOOT_FAIL", "DEADLINE"}


def _sbin(name: str) -> str | None:
    return shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin")


def _skip_reason() -> str | None:
    if os.name != "posix" or os.geteuid() != 0:
        return "the local SLURM cluster needs root (it starts munged, slurmctld and slurmd)"
    missing = [name for name in ("slurmctld", "slurmd", "munged", "sbatch") if _sbin(name) is None]
    if missing:
        return f"{', '.join(missing)} not installed (apt-get install slurm-wlm munge, or bash setup.sh --test)"
    conf = Path("/etc/slurm/slurm.conf")
    if conf.exists() and MARKER not in conf.read_text(errors="replace"):
        return "/etc/slurm/slurm.conf belongs to another SLURM installation; not touching it"
    return None


def _cluster(command: str) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(CLUSTER), command], capture_output=True, text=True, timeout=180)


@pytest.fixture(scope="module")
def slurm_cluster():
    """A running single-node cluster; stopped and its config removed afterwards unless it was already running.

    Removing /etc/slurm/slurm.conf matters: with a config but no controller, the SLURM plugin's import (every
    `snakemake` call, local ones too) waits about 10 s on `scontrol show config`.
    """
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    was_running = _cluster("status").returncode == 0
    started = _cluster("start")
    assert started.returncode == 0, f"local_cluster.sh start failed:\n{started.stdout}\n{started.stderr}"
    yield
    if not was_running:
        stopped = _cluster("clean")
        assert stopped.returncode == 0, f"local_cluster.sh clean failed:\n{stopped.stdout}\n{stopped.stderr}"


def job_env() -> dict[str, str]:
    """The environment Snakemake runs in: the project's venv first on PATH (sbatch exports it to the jobs),
    no SLURM variables inherited from an enclosing job."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("SLURM_", "SBATCH_", "SRUN_"))}
    env["PATH"] = os.pathsep.join([str(BIN), env.get("PATH", "/usr/bin:/bin")])
    return env


def wait_for_job(job_id: str, timeout: float = 60) -> str:
    state = ""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = subprocess.run(
            ["squeue", "-h", "-j", job_id, "--states=all", "-o", "%T"], capture_output=True, text=True
        ).stdout.strip()
        if state in FINISHED:
            return state
        time.sleep(0.5)
    raise AssertionError(f"SLURM job {job_id} not finished after {timeout} s (state {state!r})")


def snakemake(workdir: Path, *targets: str, timeout: float = 300) -> str:
    cmd = [tool("snakemake"), "--profile", str(PROFILE), *targets]
    done = subprocess.run(cmd, cwd=workdir, env=job_env(), capture_output=True, text=True, timeout=timeout)
    output = done.stdout + done.stderr
    assert done.returncode == 0, f"{' '.join(cmd)} failed (exit {done.returncode}):\n{output[-6000:]}"
    return output


def slurm_logs(workdir: Path, rule: str) -> list[Path]:
    """The plugin's per-job SLURM logs of a rule (kept for successful jobs by the test profile)."""
    return sorted((workdir / ".snakemake" / "slurm_logs" / f"rule_{rule}").rglob("*.log"))


def test_gpu_job_sees_the_fake_gpu(slurm_cluster, tmp_path):
    """sbatch --gpus=1 gets GPU 0, and srun inside the job finds the configuration (/etc/slurm/slurm.conf)."""
    out = tmp_path / "job.out"
    script = 'echo "batch=$CUDA_VISIBLE_DEVICES"; srun -n1 bash -c \'echo "step=$CUDA_VISIBLE_DEVICES"\''
    submitted = subprocess.run(
        ["sbatch", "--parsable", "--gpus=1", "-t", "5", "--mem=100", "-o", str(out), "--wrap", script],
        capture_output=True,
        text=True,
        env=job_env(),
    )
    assert submitted.returncode == 0, submitted.stderr
    job_id = submitted.stdout.strip().split(";")[0]
    assert wait_for_job(job_id) == "COMPLETED", out.read_text() if out.exists() else "no job output"
    lines = out.read_text().split()
    assert "batch=0" in lines and "step=0" in lines, lines


TINY_SNAKEFILE = """
rule all:
    input:
        "gpu.txt",
        "cpu.txt",


rule on_gpu:
    output:
        "gpu.txt",
    resources:
        gpu=1,
    shell:
        "echo CUDA_VISIBLE_DEVICES=$CUDA_VISIBLE_DEVICES SLURM_JOB_ID=$SLURM_JOB_ID > {output}"


rule on_cpu:
    output:
        "cpu.txt",
    shell:
        "echo CUDA_VISIBLE_DEVICES=${{CUDA_VISIBLE_DEVICES:-none}} SLURM_JOB_ID=$SLURM_JOB_ID > {output}"
"""


def test_gpu_resource_reaches_slurm(slurm_cluster, tmp_path):
    """A rule's `gpu=1` resource becomes `sbatch --gpus=1`; a rule without it gets no GPU."""
    (tmp_path / "Snakefile").write_text(TINY_SNAKEFILE)
    snakemake(tmp_path, "all", timeout=120)
    gpu = dict(item.split("=", 1) for item in (tmp_path / "gpu.txt").read_text().split())
    cpu = dict(item.split("=", 1) for item in (tmp_path / "cpu.txt").read_text().split())
    assert gpu["CUDA_VISIBLE_DEVICES"] == "0" and gpu["SLURM_JOB_ID"]
    assert cpu["CUDA_VISIBLE_DEVICES"] == "none" and cpu["SLURM_JOB_ID"]
    assert gpu["SLURM_JOB_ID"] != cpu["SLURM_JOB_ID"]
    assert slurm_logs(tmp_path, "on_gpu") and slurm_logs(tmp_path, "on_cpu")


GENERATOR = "results/advgan/wideresnet/yes_to_no/generator.pt"
TRAIN_LOG = "results/logs/advgan/wideresnet/yes_to_no/train_generator.log"


@pytest.fixture(scope="module")
def slurm_workflow(slurm_cluster, tmp_path_factory):
    """The smoke workflow with paper 2's per-pair generators (`yes_to_no` trains on ~20 clips for 30 epochs:
    about a minute, long enough to interrupt) and GPU jobs; synthesis, preparation and the victim run through
    SLURM here."""
    workdir = copy_workflow(tmp_path_factory.mktemp("slurm") / "wf")
    config = workdir / "config.yaml"
    text = config.read_text().replace("resources: {gpu: 0,", "resources: {gpu: 1,", 1)
    text = text.replace("generators: *smoke_per_target", "generators: *smoke_per_pair", 1)
    text = text.replace("generator: {epochs: 8, warmup: 1,", "generator: {epochs: 30, warmup: 1,", 1)
    config.write_text(text)
    snakemake(workdir, "results/advgan/wideresnet/victim.pt", timeout=600)
    return workdir


@pytest.mark.slow
def test_data_preparation_and_training_through_slurm(slurm_workflow):
    """Synthesis, preparation and a victim of paper 2 ran as SLURM jobs, the victim with `gpu=1` on the GPU
    partition (the fake GPU: CUDA_VISIBLE_DEVICES=0; torch finds no CUDA and trains on the CPU)."""
    for rule in ("synth_corpus", "prepare_corpus", "train_victim"):
        logs = slurm_logs(slurm_workflow, rule)
        assert logs, f"no SLURM log for rule {rule}: it did not run through SLURM"
        assert "--executor slurm-jobstep" in logs[0].read_text()
    manifest = slurm_workflow / "results" / "prep" / "speech_commands" / "manifest.tsv"
    assert [line for line in manifest.read_text().splitlines()[1:] if line.strip()], f"{manifest} has no rows"
    log = (slurm_workflow / "results/logs/advgan/wideresnet/train_victim.log").read_text()
    assert "epochs on cpu" in log and "done in" in log


def start(workdir: Path, *args: str) -> subprocess.Popen:
    cmd = [tool("snakemake"), "--profile", str(PROFILE), *args]
    return subprocess.Popen(
        cmd, cwd=workdir, env=job_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def running_job(rule: str, timeout: float = 120) -> str:
    """The SLURM id of the running job of ``rule`` (the plugin puts rule_<rule> in the job's comment)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in subprocess.run(
            ["squeue", "-h", "-t", "R", "-o", "%i %k"], capture_output=True, text=True
        ).stdout.splitlines():
            job, _, comment = line.partition(" ")
            if comment.startswith(f"rule_{rule}"):
                return job
        time.sleep(0.5)
    raise AssertionError(f"no running SLURM job of rule {rule} after {timeout} s")


def wait_for_text(path: Path, text: str, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and text in path.read_text(errors="replace"):
            return
        time.sleep(0.5)
    raise AssertionError(f"{text!r} not in {path} after {timeout} s")


def finish(process: subprocess.Popen, timeout: float = 600) -> tuple[int, str]:
    out, _ = process.communicate(timeout=timeout)
    return process.returncode, out


def states(path: Path) -> dict:
    import torch

    return torch.load(path, weights_only=True)["modules"]["generator"]


@pytest.mark.slow
def test_signalled_training_job_resumes_and_ends_as_an_uninterrupted_one(slurm_workflow):
    """`scancel --signal=USR1` (what SLURM sends before a time limit) mid-run: the trainer saves its resume file
    and exits, Snakemake resubmits the job, the new job resumes, and the final generator equals that of an
    uninterrupted run (CPU, deterministic)."""
    import torch

    wf = slurm_workflow
    process = start(wf, GENERATOR, "--retries", "1")
    job = running_job("train_generator")
    wait_for_text(wf / TRAIN_LOG, "epoch 4/30")
    subprocess.run(["scancel", "--signal=USR1", job], check=True)
    code, out = finish(process)
    assert code == 0, out[-4000:]
    log = (wf / TRAIN_LOG).read_text()
    assert "resuming from" in log and "done in" in log, log[-2000:]
    assert len(slurm_logs(wf, "train_generator")) == 2, "the signalled job was not resubmitted"
    assert not (wf / f"{GENERATOR}.resume").exists()
    resumed = states(wf / GENERATOR)

    # the same job, uninterrupted, outside SLURM
    local = subprocess.run(
        [tool("snakemake"), "--cores", "1", GENERATOR, "--forcerun", "train_generator"],
        cwd=wf,
        env=job_env(),
        capture_output=True,
        text=True,
    )
    assert local.returncode == 0, local.stdout[-3000:] + local.stderr[-3000:]
    assert "resuming from" not in (wf / TRAIN_LOG).read_text()
    uninterrupted = states(wf / GENERATOR)
    assert resumed.keys() == uninterrupted.keys()
    assert all(torch.equal(resumed[k], uninterrupted[k]) for k in resumed), "the resumed run ended elsewhere"


@pytest.mark.slow
def test_hard_killed_job_leaves_nothing_that_looks_complete(slurm_workflow):
    """SIGKILL (no chance to clean up): no generator.pt; Snakemake and DVC both still see the job as to do."""
    wf = slurm_workflow
    target = "results/advgan/wideresnet/no_to_yes/generator.pt"
    process = start(wf, target)
    job = running_job("train_generator")
    wait_for_text(wf / "results/logs/advgan/wideresnet/no_to_yes/train_generator.log", "epoch 2/30")
    subprocess.run(["scancel", "--signal=KILL", job], check=True)
    code, out = finish(process)
    assert code != 0, out[-3000:]
    assert not (wf / target).exists()
    dry = subprocess.run([tool("snakemake"), "-n", target], cwd=wf, env=job_env(), capture_output=True, text=True)
    assert "train_generator" in dry.stdout, dry.stdout[-2000:]
    status = subprocess.run(
        [tool("dvc"), "status", "train_generator_wideresnet@no_to_yes"],
        cwd=wf,
        env=job_env(),
        capture_output=True,
        text=True,
    )
    assert "deleted" in status.stdout and target in status.stdout, status.stdout + status.stderr


@pytest.mark.slow
def test_job_on_a_node_drained_mid_run_completes(slurm_workflow):
    """Draining the node lets its running job finish (no new ones start there); the output is complete."""
    wf = slurm_workflow
    target = "results/advgan/wideresnet/no_to_yes/generator.pt"
    node = subprocess.run(["sinfo", "-h", "-o", "%n"], capture_output=True, text=True).stdout.split()[0]
    process = start(wf, target)
    running_job("train_generator")
    try:
        subprocess.run(["scontrol", "update", f"nodename={node}", "state=drain", "reason=avsec-test"], check=True)
        code, out = finish(process)
        drained = subprocess.run(["sinfo", "-h", "-n", node, "-o", "%T"], capture_output=True, text=True).stdout
    finally:
        subprocess.run(["scontrol", "update", f"nodename={node}", "state=resume"], check=True)
    assert code == 0, out[-3000:]
    assert "drain" in drained, drained
    assert (wf / target).exists() and not (wf / f"{target}.resume").exists()


AV_CORPORA = ("grid",)  # LRW too would double the test's minutes for the same code path
AV_TARGETS = [f"results/av/{c}/{kind}" for c in AV_CORPORA for kind in ("landmarks", "mouths", "audio")]


def edit_smoke_config(workdir, parts: int) -> None:
    """scales.smoke.partitions (and its partition_ids) = ``parts`` for both corpora, and the precomputed landmark
    backend (the synthetic corpora ship their landmarks; opencv would add minutes and test nothing more here)."""
    config = workdir / "config.yaml"
    ids = ", ".join(map(str, range(parts)))
    edits = [
        (r"^    partitions: \{grid: \d+, lrw: \d+\}", f"    partitions: {{grid: {parts}, lrw: {parts}}}"),
        (
            r"^    partition_ids: \{grid: \[[\d, ]+\], lrw: \[[\d, ]+\]\}",
            f"    partition_ids: {{grid: [{ids}], lrw: [{ids}]}}",
        ),
        (r"^      landmarks: \{backend: \w+\}", "      landmarks: {backend: precomputed}"),
    ]
    text = config.read_text()
    for pattern, replacement in edits:
        text, count = re.subn(pattern, replacement, text, count=1, flags=re.M)
        assert count == 1, f"config.yaml: {pattern} not found"
    config.write_text(text)


@pytest.mark.slow
def test_partitioned_av_preparation_equals_one_part(slurm_cluster, tmp_path):
    """Paper 4's smoke GRID prepared through SLURM in 2 parts, and in 1 part without the cluster (what is compared
    is the data, not the executor): the same data, byte for byte, for everything downstream (the rows, labels
    and arrays load_av reads per split, the rejects, the mean face)."""
    workdir = copy_workflow(tmp_path / "wf")
    edit_smoke_config(workdir, 2)
    out = snakemake(workdir, *AV_TARGETS, timeout=600)
    assert "gather_av" in out
    for rule in ("detect_landmarks", "mean_face", "crop_mouths", "extract_av_audio", "gather_av"):
        logs = slurm_logs(workdir, rule)
        assert len(logs) == {"mean_face": 1, "gather_av": 1}.get(rule, 2), (rule, logs)  # one job per part
    two = tmp_path / "av_2"
    shutil.move(workdir / "results/av", two)  # the gathered manifests point at the parts by relative paths

    edit_smoke_config(workdir, 1)
    local = subprocess.run([tool("snakemake"), "--cores", "2", *AV_TARGETS], cwd=workdir, env=job_env(),
                           capture_output=True, text=True, timeout=600)  # fmt: skip
    assert local.returncode == 0, local.stdout[-3000:] + local.stderr[-3000:]
    one = workdir / "results/av"
    assert sorted(p.name for p in (one / "grid/parts/landmarks").iterdir()) == ["0"]

    for corpus in AV_CORPORA:
        a, b = one / corpus, two / corpus
        assert (a / "mean_face.npy").read_bytes() == (b / "mean_face.npy").read_bytes()
        for name in ("transforms.npy", "boxes.npy"):
            assert (a / "mouths" / name).read_bytes() == (b / "mouths" / name).read_bytes(), (corpus, name)
        for kind in ("landmarks", "mouths", "audio/wave", "audio/mfcc", "audio/logspec"):
            assert (a / kind / "rejects.tsv").read_bytes() == (b / kind / "rejects.tsv").read_bytes(), kind
            # the manifests differ only in where each row's shard is
            drop = [re.sub(r"^(\d+)\t\d+\t\d+\t", r"\1\t", line) for line in (a / kind / "manifest.tsv").open()]
            keep = [re.sub(r"^(\d+)\t\d+\t\d+\t", r"\1\t", line) for line in (b / kind / "manifest.tsv").open()]
            assert drop == keep, (corpus, kind)
        rejected = sum((b / k / "rejects.tsv").read_text().count("\n") - 1 for k in ("landmarks", "mouths"))
        assert rejected > 0, f"{corpus}: the planted defects should be rejects"
        for split in ("train", "val", "test"):
            x, y = load_av(a / "mouths", a / "audio", split), load_av(b / "mouths", b / "audio", split)
            assert len(x) > 0 and (x.sources, x.labels, x.skipped) == (y.sources, y.labels, y.skipped)
            for kind in PARTS:
                got, want = x.read(range(len(x)), kind).numpy(), y.read(range(len(y)), kind).numpy()
                assert got.dtype == want.dtype and np.array_equal(got, want) and got.tobytes() == want.tobytes()
