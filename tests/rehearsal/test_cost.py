"""The rehearsal's arithmetic on known inputs: the step log the trainer writes, the full run's step counts from
the corpora's sizes, SyncNet's windows per clip, and the cost table's projections and flags."""

from __future__ import annotations

import copy
import math
from pathlib import Path

import pytest
import torch

from avsec.avdetect.syncnet import sync_pairs, sync_rows_per_clip
from avsec.core.config import load_config
from avsec.core.errors import ConfigError
from avsec.rehearsal.cost import cost_rows, totals, write_cost
from avsec.rehearsal.jobs import JOBS, Context, check_rehearsal
from avsec.train import TrainSettings, fit
from avsec.train.steplog import ENV, read_step_log
from conftest import REPO

CONFIG = load_config(REPO / "config.yaml")


class Tiny:
    def __init__(self):
        torch.manual_seed(0)
        self.model = torch.nn.Linear(3, 1)
        self.modules = {"model": self.model}
        self.optimizers = {"model": torch.optim.SGD(self.model.parameters(), lr=0.1)}

    def step(self, batch, epoch):
        (x,) = batch
        loss = self.model(x).pow(2).mean()
        self.optimizers["model"].zero_grad()
        loss.backward()
        self.optimizers["model"].step()
        return {"loss": loss.item()}

    def end_epoch(self, epoch):
        return {}


@pytest.mark.parametrize("logged", [True, False])
def test_the_trainer_logs_one_line_per_step_only_when_asked(tmp_path, monkeypatch, logged):
    log = tmp_path / "steps.jsonl"
    if logged:
        monkeypatch.setenv(ENV, str(log))
    else:
        monkeypatch.delenv(ENV, raising=False)
    settings = TrainSettings(epochs=3, batch=4, seed=0, device="cpu", steps=5)  # 3 steps an epoch: stops in the 2nd
    fit(Tiny(), (torch.randn(10, 3),), settings, tmp_path / "resume", desc="tiny")
    records = read_step_log(log)
    assert len(records) == (5 if logged else 0)
    assert all(r["seconds"] > 0 and r["cuda_peak_mb"] == 0 for r in records)


class Clips:
    """What sync_pairs reads of the clips: their count and frames."""

    def __init__(self, n: int, frames: int):
        self.n, self.frames = n, frames

    def __len__(self) -> int:
        return self.n


@pytest.mark.parametrize("frames", [29, 75, 9])
def test_sync_rows_per_clip_is_what_sync_pairs_makes(frames):
    rows = sync_pairs(Clips(3, frames), min_shift=3, vshift=15, seed=0)
    assert len(rows[0]) == 3 * sync_rows_per_clip(frames, 3, 15)


def test_full_run_steps_follow_the_corpora_and_the_paper_preset():
    config = copy.deepcopy(CONFIG)
    paper, sizes = config["scales"]["paper"], config["rehearsal"]["corpora"]
    c = Context(config, Path("data"), Path("work"), 3, 2)
    victim = paper["advgan"]["victims"]["wideresnet"]
    assert JOBS["train_victim-wideresnet"].full(c).steps == victim["epochs"] * math.ceil(
        sizes["speech_commands"]["train"] / victim["batch"]
    )
    # per pair: the source label's tenth of the clips; per target: the other nine tenths
    g = paper["advgan"]["generator"]
    assert JOBS["train_generator-samplecnn"].full(c).rows == sizes["gtzan"]["train"] // 10
    paper["advgan"]["generators"] = config["advgan"]["generator_sets"]["paper_per_target"]
    per_target = JOBS["train_generator-samplecnn"].full(c)
    assert per_target.rows == sizes["gtzan"]["train"] * 9 // 10
    assert per_target.steps == g["epochs"] * math.ceil(per_target.rows / g["batch"])
    assert JOBS["train_generator-samplecnn"].count(c) == 10
    # the loss ablation: the source label's clips, the preset's 2000 steps (Figure 9) within its epochs, or all the
    # epochs' steps when the preset gives none; one job per variant
    ablation, yes = JOBS["train_ablation-wideresnet"], sizes["speech_commands"]["train"] // 10
    assert ablation.full(c)[:2] == (paper["advgan"]["ablation"]["steps"], yes) == (2000, yes)
    assert ablation.count(c) == len(config["advgan"]["ablation"]["variants"]) == 3
    paper["advgan"]["ablation"].pop("steps")
    assert ablation.full(c).steps == paper["advgan"]["ablation"]["epochs"] * math.ceil(yes / g["batch"])
    command = ablation.command(c, 3)  # the rehearsal's steps replace the preset's after --ablation too
    assert command[command.index("--ablation") :].count("--steps") == 1 and command[-2:] == ["--steps", "3"]
    # paper 3 trains for the paper's steps whatever the number of training images: at least those, less than one
    # epoch more, before and after doubling them; given in epochs instead, doubling the images doubles the steps
    t = paper["imgstego"]["train"]
    for _ in range(2):
        planes_steps = math.ceil(3 * sizes["voc"]["train"] / t["batch"])
        assert 0 <= JOBS["train_imgstego-ssim"].full(c).steps - t["train_steps"] < planes_steps
        sizes["voc"]["train"] *= 2
    t.pop("train_steps")
    t["epochs"] = 47
    before = JOBS["train_imgstego-ssim"].full(c).steps
    sizes["voc"]["train"] *= 2
    assert abs(JOBS["train_imgstego-ssim"].full(c).steps - 2 * before) <= t["epochs"]
    # C&W: 300 clips of each split, in batches; its per-batch work scales with the paper's iterations
    cw = paper["avdetect"]["cw"]
    assert JOBS["attack_av-cw"].full(c).steps == 2 * math.ceil(cw["clips"] / cw["batch"])
    assert JOBS["attack_av-cw"].per_step(c) == cw["iterations"] / 3
    assert JOBS["attack_av-cw"].count(c) == len(cw["eps_audio"]) * len(cw["eps_video"]) * len(cw["targets"])
    assert JOBS["attack_av-bim"].per_step(c) == 20 / 5  # min(ε_V + 4, 1.25 ε_V) at ε_V 16 over ε_V 4


def record(job: str, **changes) -> dict:
    base = {"job": job, "rule": JOBS[job].rule, "paper": JOBS[job].paper, "device": "cpu: 2 cores", "steps": 3,
            "status": "ok", "seconds_per_step": 1.0, "full_steps": 3600, "full_rows": 10000, "jobs": 2,
            "peak_rss_mb": 1000.0, "peak_cuda_mb": 0.0}  # fmt: skip
    return {**base, **changes}


def test_cost_rows_project_hours_resubmissions_and_flags():
    mem = CONFIG["scales"]["paper"]["resources"]["mem_mb"]
    runtime = CONFIG["scales"]["paper"]["resources"]["runtime"]
    records = [
        record("train_victim-wideresnet"),  # 1 h: inside 720 min
        record("train_av-lrw", full_steps=3600 * 50),  # 50 h against 1440 min: 2 resubmissions
        record("train_syncnet-lrw", full_steps=3600 * 100),  # 100 h against 720 min: 8 > retries
        record("train_enhancer", peak_rss_mb=mem["train_enhancer"] + 1.0),
        record("train_imgstego-ssim", full_steps=100_000),  # half of the paper's ~203 K steps
        record("attack_av-cw", status="failed", error="exited -9: Killed\nmore"),
    ]
    rows = {row["job"]: row for row in cost_rows(records, CONFIG, retries=3)}
    assert rows["train_victim-wideresnet"]["hours_per_job"] == 1.0
    assert rows["train_victim-wideresnet"]["device_hours"] == 2.0 and not rows["train_victim-wideresnet"]["flags"]
    window = runtime["train_av"] - 5
    assert rows["train_av-lrw"]["resubmissions"] == math.ceil(50 * 60 / window) - 1 == 2
    assert not rows["train_av-lrw"]["flags"]
    assert "resubmissions" in rows["train_syncnet-lrw"]["flags"]
    assert "peak RSS" in rows["train_enhancer"]["flags"]
    assert "steps short of the paper: 100000 of 203000" in rows["train_imgstego-ssim"]["flags"]
    assert rows["attack_av-cw"]["flags"] == "failed: exited -9: Killed"
    assert totals(list(rows.values()))["all"] == pytest.approx(2 + 100 + 200 + 2 + 2 * 100_000 / 3600, abs=0.2)


def test_a_job_that_outruns_its_limit_without_a_resume_path_is_flagged():
    config = copy.deepcopy(CONFIG)
    config["scales"]["paper"]["resources"]["runtime"]["attack_av"] = 60
    rows = cost_rows([record("attack_av-fgsm", full_steps=7200)], config, retries=3)  # 2 h, resumable: ok
    assert rows[0]["resubmissions"] == 2 and not rows[0]["flags"]
    from avsec.rehearsal import cost

    cost.RESUMABLE.discard("attack_av")
    try:
        assert "cannot resume" in cost_rows([record("attack_av-fgsm", full_steps=7200)], config, retries=3)[0]["flags"]
    finally:
        cost.RESUMABLE.add("attack_av")


def test_cost_files(tmp_path):
    rows = write_cost([record("train_victim-wideresnet"), record("train_stego-timit", full_rows=5600)], CONFIG,
                      tmp_path, retries=3)  # fmt: skip
    tsv = (tmp_path / "cost.tsv").read_text().splitlines()
    assert tsv[0].split("\t")[:3] == ["job", "rule", "paper"] and len(tsv) == 3
    md = (tmp_path / "cost.md").read_text()
    assert "| train_stego-timit |" in md and "rows short of the paper: 5600 of 7500" in md
    assert "1 of 2 job kinds flagged: train_stego-timit." in md
    assert [row["job"] for row in rows] == ["train_victim-wideresnet", "train_stego-timit"]


def test_the_job_list_must_match(tmp_path):
    config = copy.deepcopy(CONFIG)
    config["rehearsal"]["jobs"] = [*config["rehearsal"]["jobs"][1:], "train_foo-bar"]
    with pytest.raises(ConfigError, match="missing: train_victim-wideresnet; unknown: train_foo-bar"):
        check_rehearsal(config)
