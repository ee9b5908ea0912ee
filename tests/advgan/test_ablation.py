"""Section D's loss ablation (avsec.advgan.ablation): the variants' flags and losses, the per-iteration history,
Figures 8-9 and the report's section, on known inputs and on tiny generators trained for real."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest
import torch
import yaml

from avsec.advgan.ablation import (
    FILES,
    AblationFigures,
    figure9,
    read_history,
    report_section,
    small_share,
    write_ablation,
)
from avsec.advgan.names import ablation_flags, check_advgan
from avsec.advgan.nets import Discriminator, Generator
from avsec.advgan.train import GeneratorTask, GeneratorTraining, train_generator
from avsec.advgan.victims import VictimTraining, train_victim
from avsec.core.config import flags, load_config, settings, validate
from avsec.core.errors import ConfigError, InputError
from avsec.io.audio import normalize
from conftest import REPO, step_keeping_own_gradients

LABELS = ["low", "mid", "high"]


def config_variants() -> tuple[dict, dict]:
    """config.yaml's generator settings and the ablation's variants."""
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    return config["advgan"]["generator"], config["advgan"]["ablation"]["variants"]


def test_flags_after_the_marker_replace_the_generators():
    argv = "--beta 1 --gamma 100 --epochs 8 --ablation --beta 0 --epochs 60 --steps 5".split()
    assert ablation_flags(argv) == {"beta": 0, "gamma": 100, "epochs": 60, "steps": 5}
    assert ablation_flags("--beta 1 --gamma 100".split()) == {"beta": 1, "gamma": 100}
    with pytest.raises(ConfigError, match="--beta given twice"):
        ablation_flags("--beta 1 --ablation --beta 0 --beta 2".split())
    with pytest.raises(ConfigError, match="--beta given twice"):
        ablation_flags("--beta 1 --beta 2 --ablation --gamma 0".split())


def _losses(variant_settings: dict[str, GeneratorTraining]) -> dict[str, tuple[float, torch.Tensor]]:
    """Each setting's generator loss on the first step of one game (the same networks, batch and random draws),
    and the perturbation δ that step's loss saw."""
    torch.manual_seed(0)
    x = (torch.randn(2, 16384) * 3000).to(torch.int16)
    g, d = Generator(0.125), Discriminator(0.0625)
    victim = torch.nn.Sequential(torch.nn.Linear(16384, 3))
    out = {}
    for name, s in variant_settings.items():
        task = GeneratorTask(copy.deepcopy(g), copy.deepcopy(d), victim, 2, s)
        with torch.no_grad():
            _, delta = task.attack(normalize(x))
        torch.manual_seed(1)
        out[name] = (task.step((x,), epoch=s.warmup)["loss_g"], delta)
    return out


def test_the_config_variants_drop_their_term_of_eq_5():
    """The generator loss of the config's variants (config.yaml's generator flags, then --ablation and the
    variant's): hinge − none is β·mean‖δ‖₂ alone, l2 − none is γ·mean|δ| alone, both is their sum: a variant's
    left-out term really weighs nothing."""
    generator, variants = config_variants()
    base = flags(generator, {"warmup": 0})
    made = {
        name: settings(GeneratorTraining, ablation_flags(f"{base} --ablation {flags(v)}".split()), "t")
        for name, v in {**variants, "none": {"beta": 0, "gamma": 0}}.items()
    }
    assert made["hinge"].gamma == 0 and made["l2"].beta == 0 and made["both"].beta * made["both"].gamma > 0
    assert made["both"].lr == generator["lr"] and made["both"].loss == generator["loss"] == "code"
    losses = _losses(made)
    delta = losses["none"][1]
    for name in ("hinge", "l2", "both"):  # one network, one δ
        assert torch.equal(losses[name][1], delta)
    hinge_term = made["hinge"].beta * float(delta.flatten(1).norm(dim=1).mean())
    l2_term = made["l2"].gamma * float(delta.abs().mean())
    none = losses["none"][0]
    assert losses["hinge"][0] - none == pytest.approx(hinge_term, rel=1e-4)
    assert losses["l2"][0] - none == pytest.approx(l2_term, rel=1e-4)
    assert losses["both"][0] - none == pytest.approx(hinge_term + l2_term, rel=1e-4)
    assert hinge_term > 0.01 and l2_term > 0.01  # both terms are there to drop


def test_with_beta_0_the_paper_loss_ignores_the_hinge_bound():
    """Loss "paper": β·max(0, ‖δ‖₂ − c) is the only place c enters; with β = 0 (the L2 variant) c changes nothing,
    with β = 1 it does."""
    s = {
        f"{beta}_{c}": GeneratorTraining(loss="paper", beta=beta, gamma=100, c=c, warmup=0)
        for beta in (0, 1)
        for c in (0.0, 0.5)
    }
    losses = {k: v[0] for k, v in _losses(s).items()}
    assert losses["0_0.0"] == losses["0_0.5"]
    assert losses["1_0.0"] - losses["1_0.5"] == pytest.approx(0.5, rel=1e-3)


@pytest.fixture(scope="module")
def trained(data, tmp_path_factory):
    """A victim of the three tones (tests/advgan/conftest.py: 8/2/3 per class and split), and the three variants of
    "low" → "high" trained for 2 epochs of 2 steps with a history row every step."""
    root = tmp_path_factory.mktemp("ablation")
    small = VictimTraining(labels=LABELS, rate=16000, epochs=1, batch=8, lr=0.003, arch={"depth": 10, "widen": 1})
    train_victim("wideresnet", data, root / "victim.pt", root / "victim.json", small)
    _, variants = config_variants()
    for name, weights in variants.items():
        s = GeneratorTraining(
            **weights, epochs=2, warmup=0, batch=4, width=0.125, discriminator_width=0.0625, log_every=1
        )
        run = root / "runs" / name
        train_generator("low_to_high", root / "victim.pt", data, run / "generator.pt", s, run / "generator_history.csv")
    return root, data, list(variants)


def test_history_rows_carry_success_every_step(trained):
    root, _, variants = trained
    for name in variants:
        rows = read_history(root / "runs" / name / "generator_history.csv")
        assert [(r["epoch"], r["step"]) for r in rows] == [(1, 1), (1, 2), (2, 3), (2, 4)]
        for row in rows:  # rows 1 and 3 fall between epochs: each step's own batch
            assert row["success"] in (0.0, 0.25, 0.5, 0.75, 1.0) and np.isfinite(row["loss_g"])
        ckpt = torch.load(root / "runs" / name / "generator.pt", weights_only=True)
        assert {k: ckpt["settings"][k] for k in ("beta", "gamma")} == config_variants()[1][name]


def test_ablation_figures_table_and_report_section(trained, tmp_path):
    root, data, variants = trained
    runs = [root / "runs" / v for v in variants]
    result = write_ablation(tmp_path / "ablation", runs, root / "victim.pt", data, AblationFigures(clip=2))
    assert sorted(p.name for p in (tmp_path / "ablation").iterdir()) == sorted(FILES)
    assert result["generator"] == "low_to_high" and list(result["variants"]) == variants
    saved = json.loads((tmp_path / "ablation" / "ablation.json").read_text())
    assert saved == json.loads(json.dumps(result))
    for name, row in result["variants"].items():
        assert row["test_clips"] == 3 and row["iterations"] == 4
        assert (row["beta"], row["gamma"]) == tuple(config_variants()[1][name].values())
        assert np.isfinite(row["snr_db"]) and row["mean_abs_delta"] > 0
    # the test clips are streamed batch by batch: one clip at a time gives the same scores
    streamed = write_ablation(tmp_path / "one", runs, root / "victim.pt", data, AblationFigures(clip=2, batch=1))
    for name, row in result["variants"].items():
        for key in ("test_clips", "test_success", "snr_db", "mean_abs_delta", "l2_delta", "small_share"):
            assert streamed["variants"][name][key] == pytest.approx(row[key], rel=1e-5), (name, key)
    tsv = (tmp_path / "ablation" / "ablation.tsv").read_text().splitlines()
    assert [line.split("\t")[0] for line in tsv] == ["variant", *variants]
    with pytest.raises(InputError, match="no test clip 3"):
        write_ablation(tmp_path / "x", runs[:1], root / "victim.pt", data, AblationFigures(clip=3))
    report = tmp_path / "report"
    section = report_section(report, tmp_path / "ablation")
    assert section.startswith("## Section D: loss ablation (Figures 8–9)")
    for path in ("figures/figure8.png", "figures/figure9.png", "tables/ablation.tsv", "tables/ablation.html"):
        assert (report / path).stat().st_size > 0, path
        assert path in section or path == "tables/ablation.html"


def test_figure9_from_a_small_known_history(tmp_path):
    history = tmp_path / "h.csv"
    history.write_text("epoch,step,loss_g,success,val\n1,1,3.0,0.0,\n1,2,2.5,0.5,0.7\n2,3,2.0,1.0,\n")
    rows = read_history(history)
    assert [r["success"] for r in rows] == [0.0, 0.5, 1.0] and np.isnan(rows[0]["val"]) and rows[1]["val"] == 0.7
    path = figure9({"hinge": rows, "both": rows[:2]}, tmp_path / "f.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    bad = tmp_path / "bad.csv"
    bad.write_text("epoch,step,loss_g\n1,1,3.0\n")
    with pytest.raises(InputError, match="bad.csv.*success"):
        read_history(bad)


def test_small_share_is_the_sparsity_of_each_clip():
    delta = np.array([[1.0, 0.0, 0.0, 0.05], [1.0, -1.0, 0.5, 1.0]])
    assert small_share(delta) == pytest.approx((3 / 4 + 0 / 4) / 2)


def test_the_ablation_generator_must_name_labels_of_its_victim():
    config = load_config(REPO / "config.yaml")
    check_advgan(config)  # the shipped config: "yes" and "right" are among the smoke WideResNet's labels
    validate(config, REPO / "workflow/schemas/config.schema.yaml")
    config["advgan"]["ablation"]["generator"] = "yes_to_bed"
    with pytest.raises(ConfigError, match=r"advgan.ablation.generator: 'yes_to_bed': wideresnet has no label 'bed'"):
        check_advgan(config)
    config["advgan"]["ablation"]["variants"]["l2"]["delta"] = 1
    with pytest.raises(ConfigError, match=r"advgan.ablation.variants.l2.*unknown key\(s\) 'delta'"):
        validate(config, REPO / "workflow/schemas/config.schema.yaml")


def test_the_generators_update_computes_no_gradient_for_the_discriminator():
    """The generator's loss reaches the discriminator only through x_adv: after a step the discriminator's
    gradients are still exactly those its own loss gave (the generator's backward added none: D's weights are
    frozen meanwhile: 6 % less time per step at the smoke widths, the generator's update the same values), and D's
    weights train again in the next step."""
    torch.manual_seed(0)
    x = (torch.randn(2, 16384) * 3000).to(torch.int16)
    victim = torch.nn.Sequential(torch.nn.Linear(16384, 3))
    task = GeneratorTask(Generator(0.125), Discriminator(0.0625), victim, 2, GeneratorTraining(warmup=0))
    step_keeping_own_gradients(task, "discriminator", (x,), 0)
    assert all(p.grad is not None for p in task.g.parameters())
