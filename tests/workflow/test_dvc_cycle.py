"""The README's DVC cycle, for real, on a cheap part of the smoke DAG: Snakemake builds the targets, the documented
`dvc commit` + `dvc push` records exactly the stages that ran, a `git clone` + `dvc pull` restores every artifact
byte for byte, and after the documented `snakemake --touch` Snakemake has nothing to do there while a changed
setting still reruns exactly what reads it (in Snakemake and in DVC)."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import time

import pytest
import yaml

from conftest import REPO, VENV_ENV, copy_workflow, tool

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("git") is None, reason="needs git"),
]

# Snakemake targets and the DVC stages that make them (README, "DVC"): the two prepared corpora and a victim.
TARGETS = ("results/prep/speech_commands", "results/prep/gtzan", "results/advgan/wideresnet/victim.pt")
STAGES = ("prepare_gtzan", "train_victim_wideresnet")  # with --with-deps: + synth_corpus@*, prepare_speech_commands
COMMITTED = {
    "synth_corpus@gtzan",
    "synth_corpus@speech_commands",
    "prepare_gtzan",
    "prepare_speech_commands",
    "train_victim_wideresnet",
}
GIT_ENV = {
    **VENV_ENV,
    "GIT_AUTHOR_NAME": "avsec test",
    "GIT_AUTHOR_EMAIL": "test@avsec.invalid",
    "GIT_COMMITTER_NAME": "avsec test",
    "GIT_COMMITTER_EMAIL": "test@avsec.invalid",
}


def run(cmd, cwd) -> str:
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=GIT_ENV)
    assert done.returncode == 0, f"{' '.join(map(str, cmd))} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout + done.stderr


def git_workflow(dest):
    """A copy of the workflow as a user's clone of the project has it: a git repository with DVC (scm mode), the
    project's .gitignore and .dvc/config (default remote ../avsec-dvc-store, beside ``dest``), committed."""
    copy_workflow(dest)
    shutil.rmtree(dest / ".dvc")  # copy_workflow makes a repo without git
    shutil.copy2(REPO / ".gitignore", dest / ".gitignore")
    run(["git", "init", "-q"], dest)
    run([tool("dvc"), "init", "-q"], dest)
    shutil.copy2(REPO / ".dvc/config", dest / ".dvc/config")
    run(["git", "add", "-A"], dest)
    run(["git", "commit", "-q", "-m", "workflow"], dest)
    return dest


def digests(root) -> dict[str, str]:
    """sha256 of every file under results/ except logs and benchmarks (not artifacts: DVC does not track them) and
    Snakemake's directory markers (.dvcignore leaves them out)."""
    return {
        path.relative_to(root).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted((root / "results").rglob("*"))
        if path.is_file()
        and not path.relative_to(root).as_posix().startswith(("results/logs/", "results/benchmarks/"))
        and path.name != ".snakemake_timestamp"
    }


def planned(dry_run: str) -> dict[str, int]:
    """Jobs per rule from a Snakemake dry run; {} when there is nothing to do."""
    if "Nothing to be done" in dry_run:
        return {}
    stats = dry_run[dry_run.index("Job stats:") :]
    return {rule: int(n) for rule, n in re.findall(r"^(\w+)\s+(\d+)$", stats, re.M) if rule != "total"}


def dvc_status(cwd) -> dict:
    """`dvc status --json` of the stages recorded in dvc.lock (the others were never run: DVC lists them all)."""
    recorded = sorted(yaml.safe_load((cwd / "dvc.lock").read_text())["stages"])
    out = run([tool("dvc"), "status", "--json", *recorded], cwd)
    return json.loads(out[out.index("{") :])


@pytest.fixture(scope="module")
def cycle(tmp_path_factory):
    """Snakemake run → the README's commit/push → git commit of dvc.lock → git clone → dvc pull."""
    root = tmp_path_factory.mktemp("dvc_cycle")
    origin = git_workflow(root / "origin")
    started = time.monotonic()
    run([tool("snakemake"), "--cores", "2", *TARGETS], origin)
    snakemake_s = time.monotonic() - started

    started = time.monotonic()
    run([tool("dvc"), "commit", "-f", "--with-deps", *STAGES], origin)
    run([tool("dvc"), "push"], origin)
    commit_push_s = time.monotonic() - started
    run(["git", "add", "dvc.lock"], origin)
    run(["git", "commit", "-q", "-m", "results"], origin)
    assert set(yaml.safe_load((origin / "dvc.lock").read_text())["stages"]) == COMMITTED
    assert any((root / "avsec-dvc-store").rglob("*")), "the default remote ../avsec-dvc-store is empty"

    run(["git", "clone", "-q", str(origin), "clone"], root)
    clone = root / "clone"
    assert not (clone / "results").exists() and not (clone / ".snakemake").exists()
    started = time.monotonic()
    run([tool("dvc"), "pull", "--with-deps", *STAGES], clone)
    pull_s = time.monotonic() - started
    print(f"snakemake {snakemake_s:.1f} s, dvc commit+push {commit_push_s:.1f} s, dvc pull {pull_s:.1f} s")
    return origin, clone


def test_pull_restores_every_artifact_byte_for_byte(cycle):
    origin, clone = cycle
    ours, theirs = digests(origin), digests(clone)
    assert any(path.endswith("victim.json") for path in ours), "the victim's metrics must be a DVC artifact too"
    assert ours and sorted(ours) == sorted(theirs)
    assert [path for path in ours if ours[path] != theirs[path]] == []
    assert dvc_status(clone) == {}


def test_snakemake_has_nothing_to_do_after_touch(cycle):
    """DVC restores files with the times of the restore, in any order; Snakemake reruns a job whose input is newer
    than its output whatever `--rerun-triggers` says (9.x), so the README touches the outputs after a pull."""
    _, clone = cycle
    later = time.time() + 60  # an order a checkout can produce: a corpus restored after its prepared data
    os.utime(clone / "results/synth/speech_commands", (later, later))
    triggers = ["--rerun-triggers", "code", "input", "params", "software-env"]  # the SLURM profile's
    dry = run([tool("snakemake"), "-n", *TARGETS, *triggers], clone)
    assert planned(dry).get("prepare_corpus") == 1, dry[-2000:]

    run([tool("snakemake"), "--cores", "1", "--touch", "--forceall", *TARGETS], clone)  # the README's command
    dry = run([tool("snakemake"), "-n", *TARGETS], clone)
    assert planned(dry) == {}, dry[-2000:]
    assert dvc_status(clone) == {}, "touching must not change what DVC sees (.snakemake_timestamp is dvcignored)"


def test_changed_victim_setting_reruns_only_the_victim(cycle):
    """In the clone, a changed `advgan.victims.wideresnet.lr` is seen by DVC (params) and by Snakemake (the touch
    recorded the job's params in .snakemake/metadata)."""
    _, clone = cycle
    run([tool("snakemake"), "--cores", "1", "--touch", "--forceall", *TARGETS], clone)  # idempotent
    config = clone / "config.yaml"
    text = config.read_text()
    start = text.index("\n  victims:\n    wideresnet:")
    changed, n = re.subn(r"(\n      lr: )[^\s#]+", r"\g<1>0.0123", text[start:], count=1)
    assert n == 1
    config.write_text(text[:start] + changed)
    try:
        assert sorted(dvc_status(clone)) == ["train_victim_wideresnet"]
        dry = run([tool("snakemake"), "-n", *TARGETS], clone)
        assert planned(dry) == {"train_victim": 1}, dry[-2000:]
    finally:
        config.write_text(text)
