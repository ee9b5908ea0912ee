"""Paper 4's part of the DAG (dry runs): its jobs at both scales, rerunning one attack, and config errors in one
line (attack settings outside the paper's ranges, a target that is not a GRID sentence)."""

from __future__ import annotations

import re
import subprocess

import pytest

from conftest import VENV_ENV, copy_workflow, tool

# attack_av: per attack (FGSM, BIM, C&W) one job for the benign scores and one per setting of its grid (smoke: 4, 2
# and 1 x 2 targets; paper: 3 x 3, 3 x 3 and 3 x 2 x 10 targets)
JOBS = {
    "smoke": {"train_av": 2, "train_syncnet": 2, "attack_av": 3 + 4 + 2 + 2, "gather_attack_av": 3, "detect_av": 2,
              "report_avdetect": 1},
    "paper": {"train_av": 2, "train_syncnet": 2, "attack_av": 3 + 9 + 9 + 60, "gather_attack_av": 3, "detect_av": 2,
              "report_avdetect": 1},
}  # fmt: skip


def dry_run(workdir, *targets) -> subprocess.CompletedProcess:
    cmd = [tool("snakemake"), "-n", *targets]
    return subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, env=VENV_ENV)


def job_counts(out: subprocess.CompletedProcess) -> dict[str, int]:
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    table = out.stdout[out.stdout.index("Job stats:") :]
    return {m[1]: int(m[2]) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.M) if m[1] != "total"}


@pytest.mark.parametrize("scale", ["smoke", "paper"])
def test_all_plans_paper4s_jobs(tmp_path, scale):
    workdir = copy_workflow(tmp_path / "wf", scale=scale, corpora_root=tmp_path / "corpora")
    counts = job_counts(dry_run(workdir, "--forceall", "all"))
    assert {job: counts.get(job) for job in JOBS[scale]} == JOBS[scale]


@pytest.mark.parametrize(("scale", "parts"), [("smoke", {"grid": 2, "lrw": 2}), ("paper", {"grid": 8, "lrw": 64})])
def test_av_preparation_runs_the_configured_parts(tmp_path, scale, parts):
    """scales.<scale>.partitions: one landmarks, crop and audio job per part, one mean face and gather per corpus."""
    workdir = copy_workflow(tmp_path / "wf", scale=scale, corpora_root=tmp_path / "corpora")
    out = dry_run(workdir, "--forceall", "results/av/grid/mouths", "results/av/lrw/audio")
    counts, total = job_counts(out), sum(parts.values())
    assert [counts[r] for r in ("detect_landmarks", "crop_mouths", "extract_av_audio")] == [total] * 3
    assert counts["mean_face"] == counts["gather_av"] == 2
    for corpus, n in parts.items():
        found = set(re.findall(rf"results/av/{corpus}/parts/landmarks/(\d+)", out.stdout))
        assert found == {str(k) for k in range(n)}, corpus


def test_one_corpus_detection_needs_only_that_corpus(tmp_path):
    workdir = copy_workflow(tmp_path / "wf")
    counts = job_counts(dry_run(workdir, "--forceall", "results/avdetect/lrw/detection.json"))
    assert counts["attack_av"] == 2 + 4 + 2 and counts["gather_attack_av"] == 2 and counts["detect_av"] == 1
    assert "report_avdetect" not in counts
    assert counts["train_av"] == counts["train_syncnet"] == 1


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "fgsm: {eps_audio: [256, 1024], eps_video: [4, 16]",
            "fgsm: {eps_audio: [256, 2048], eps_video: [4, 16]",
            "scales.smoke.avdetect.fgsm.eps_audio.1: 2048 is not one of [256, 512, 1024]",
        ),
        (
            "cw: {eps_audio: [512], eps_video: [4]",
            "cw: {eps_audio: [512], eps_video: [32]",
            "scales.smoke.avdetect.cw.eps_video.0: 32 is not one of [4, 8, 16]",
        ),
        ("alpha_audio: 64,", "alpha_audio: -64,", "avdetect.bim.alpha_audio: -64 is less than or equal to"),
        ('"bin blue at a zero please"', '"bin blue at zero please"', "is not a GRID sentence (six lower-case words)"),
        ("targets: [bbaazp, bwbonn]", "targets: [bbaazp, bwbonx]", "cw.targets: bwbonx is not the initials of a"),
        ('"set red in x four now"', '"set white in p five never"', "two sentences share their initials"),
    ],
)
def test_bad_attack_settings_are_one_line(tmp_path, old, new, message):
    workdir = copy_workflow(tmp_path / "wf")
    config = workdir / "config.yaml"
    text = config.read_text()
    assert old in text
    config.write_text(text.replace(old, new, 1))
    out = dry_run(workdir, "all")
    assert out.returncode != 0
    errors = [line for line in (out.stdout + out.stderr).splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and message in errors[0], out.stdout[-1500:] + out.stderr[-1500:]


def test_one_vshift_reaches_every_job_that_scores_synchrony(tmp_path):
    """avdetect.syncnet.vshift (the paper's ±1 s: 25 frames) is the search range of the SyncNets' training and test
    and of every attack job's scoring; changing it changes every one of those commands."""
    workdir = copy_workflow(tmp_path / "wf")

    def vshifts() -> dict[str, set[str]]:
        out = subprocess.run(
            [tool("snakemake"), "-n", "-p", "--forceall", "all"], cwd=workdir, capture_output=True, text=True,
            env=VENV_ENV,
        )  # fmt: skip
        assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
        found: dict[str, set[str]] = {}
        for line in out.stdout.splitlines():
            script = re.search(r"workflow/scripts/(attack_av|train_syncnet)\.py", line)
            if script:
                found.setdefault(script[1], set()).update(re.findall(r"--vshift (\d+)", line) or {"missing"})
        return found

    assert vshifts() == {"attack_av": {"25"}, "train_syncnet": {"25"}}
    config = workdir / "config.yaml"
    config.write_text(config.read_text().replace("    vshift: 25 #", "    vshift: 20 #", 1))
    assert vshifts() == {"attack_av": {"20"}, "train_syncnet": {"20"}}


@pytest.mark.parametrize(("scale", "backend", "gpu"), [("smoke", "opencv", "0"), ("paper", "face_alignment", "1")])
def test_landmarks_come_from_the_scales_backend(tmp_path, scale, backend, gpu):
    """The paper scale detects landmarks with FAN (face_alignment) on a GPU, as the paper's preprocessing; the smoke
    scale with the offline opencv backend."""
    workdir = copy_workflow(tmp_path / "wf", scale=scale, corpora_root=tmp_path / "corpora")
    out = subprocess.run(
        [tool("snakemake"), "-n", "-p", "--forceall", "results/av/grid/parts/landmarks/0"], cwd=workdir,
        capture_output=True, text=True, env=VENV_ENV,
    )  # fmt: skip
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    assert set(re.findall(r"prepare_av\.py landmarks .*?--backend (\w+)", out.stdout)) == {backend}
    assert set(re.findall(r"rule detect_landmarks:.*?resources: .*?gpu=(\d)", out.stdout, re.S)) == {gpu}
