"""The black-box baselines of paper 2 (genetic algorithm, particle swarm) against tiny seeded linear victims."""

from __future__ import annotations

import json
import math

import pytest
import torch

from avsec.advgan.baselines import METHODS, AttackResult, genetic_attack, pso_attack, run_baseline
from avsec.advgan.baselines.common import DEFAULT_EPS
from avsec.advgan.names import BASELINES
from avsec.core.errors import ConfigError

L = 1024
CLASSES = 4
LABELS = ["yes", "no", "up", "down"]


class Linear(torch.nn.Module):
    """A fixed random linear victim; records the size and the logits of each forward call."""

    def __init__(self, bias: torch.Tensor):
        super().__init__()
        generator = torch.Generator().manual_seed(0)
        self.weight = torch.nn.Parameter(torch.randn(CLASSES, L, generator=generator), requires_grad=False)
        self.bias = torch.nn.Parameter(bias.clone(), requires_grad=False)
        self.batches: list[int] = []
        self.outputs: list[torch.Tensor] = []

    def forward(self, waves: torch.Tensor) -> torch.Tensor:
        logits = waves @ self.weight.T + self.bias
        self.batches.append(waves.shape[0])
        self.outputs.append(logits)
        return logits


def clip(seed: int = 1, scale: float = 0.1) -> torch.Tensor:
    return torch.randn(L, generator=torch.Generator().manual_seed(seed)) * scale


def victim(x: torch.Tensor, source: int, target: int, gap: float) -> Linear:
    """A victim that classifies ``x`` as ``source``, with the target's logit ``gap`` × (the most any ±eps
    perturbation can gain on it) below; the other classes are far below both. gap < 1: reachable; gap > 1: not."""
    model = Linear(torch.zeros(CLASSES)).eval()
    with torch.no_grad():
        reach = DEFAULT_EPS * float((model.weight[target] - model.weight[source]).abs().sum())
        logits = torch.full((CLASSES,), -1e3)
        logits[source], logits[target] = 0.0, -gap * reach
        model.bias.copy_(logits - model(x[None])[0])
    model.batches.clear()
    model.outputs.clear()
    return model


def attack(method: str, model, x, target, budget: int, seed: int = 0, **kw) -> AttackResult:
    generator = torch.Generator().manual_seed(seed)
    if method == "genetic":
        kw = {"mutation_p": 0.05, **kw}  # L = 1024: the default 0.0005 would mutate half a sample per child
        return genetic_attack(model, x, target, iterations=budget, generator=generator, **kw)
    return pso_attack(model, x, target, iterations=budget, generator=generator, **kw)


def predicted(model, wave: torch.Tensor) -> int:
    with torch.no_grad():
        return int(model(wave[None])[0].argmax())


def target_log_prob(model, wave: torch.Tensor, target: int) -> float:
    with torch.no_grad():
        return float(torch.log_softmax(model(wave[None])[0], dim=0)[target])


@pytest.mark.parametrize(("method", "per_iteration", "gap"), [("genetic", 20, 0.15), ("pso", 25, 0.2)])
def test_reaches_the_target_of_an_easy_victim_within_budget(method, per_iteration, gap):
    x = clip()
    model = victim(x, source=0, target=1, gap=gap)
    assert predicted(model, x) == 0
    model.batches.clear()
    result = attack(method, model, x, 1, budget=100)
    assert result.queries == per_iteration * result.iterations == sum(model.batches)
    assert result.success and predicted(model, result.adversarial) == 1
    assert 1 <= result.iterations < 100
    assert result.adversarial.shape == x.shape and result.adversarial.dtype == torch.float32
    assert result.seconds > 0


@pytest.mark.parametrize("method", METHODS)
def test_perturbation_within_eps_and_output_within_range(method):
    x = (clip(scale=1.5)).clamp(-1, 1)  # a third of the samples sit on ±1: the box must not push them out
    assert (x.abs() == 1).sum() > 100
    model = victim(x, source=0, target=1, gap=3.0)  # unreachable: the whole budget runs
    for eps in (DEFAULT_EPS, 0.05):
        result = attack(method, model, x, 1, budget=15, eps=eps)
        delta = result.adversarial - x
        assert not result.success
        assert delta.abs().max() <= eps * (1 + 1e-5)
        assert delta.abs().max() > eps / 2  # it did perturb
        assert result.adversarial.abs().max() <= 1.0


@pytest.mark.parametrize(
    ("method", "size", "kw"), [("genetic", 20, {}), ("pso", 5, {"particles": 5, "epoch_iterations": 3})]
)
def test_queries_count_every_clip_scored_in_chunks_of_max_batch(method, size, kw):
    x = clip()
    model = victim(x, source=0, target=1, gap=3.0)
    result = attack(method, model, x, 1, budget=7, max_batch=8, **kw)
    assert not result.success
    assert result.iterations == 7
    assert result.queries == size * 7 == sum(model.batches)
    assert max(model.batches) <= 8
    assert len(model.batches) == 7 * math.ceil(size / 8)  # one forward (chunked) per generation / iteration


@pytest.mark.parametrize("method", METHODS)
def test_same_seed_same_attack(method):
    x = clip()
    model = victim(x, source=0, target=1, gap=0.2)
    first, again = attack(method, model, x, 1, budget=30), attack(method, model, x, 1, budget=30)
    other = attack(method, model, x, 1, budget=30, seed=1)
    assert torch.equal(first.adversarial, again.adversarial)
    assert (first.iterations, first.queries, first.success) == (again.iterations, again.queries, again.success)
    assert not torch.equal(first.adversarial, other.adversarial)


@pytest.mark.parametrize(("method", "size"), [("genetic", 20), ("pso", 25)])
def test_clip_already_classified_as_target_stops_after_one_iteration(method, size):
    x = clip()
    model = victim(x, source=2, target=3, gap=1.0)
    result = attack(method, model, x, 2, budget=50)
    assert result.success
    assert (result.iterations, result.queries) == (1, size)
    assert predicted(model, result.adversarial) == 2


def test_genetic_elites_keep_the_best_fitness_from_falling():
    x = clip()
    model = victim(x, source=0, target=1, gap=3.0)
    attack("genetic", model, x, 1, budget=12)
    best = [float(torch.softmax(logits, dim=1)[:, 1].max()) for logits in model.outputs]
    assert len(best) == 12
    assert best == sorted(best)
    assert best[-1] > best[0]


def test_pso_restart_carries_the_global_best_into_particle_zero():
    x = clip()
    model = victim(x, source=0, target=1, gap=3.0)
    result = attack("pso", model, x, 1, budget=12, epoch_iterations=4)
    fitness = [torch.log_softmax(logits, dim=1)[:, 1] for logits in model.outputs]
    for epoch_start in (4, 8):
        so_far = max(float(f.max()) for f in fitness[:epoch_start])
        assert float(fitness[epoch_start][0]) == so_far
    assert target_log_prob(model, result.adversarial, 1) == pytest.approx(max(float(f.max()) for f in fitness))


def test_genetic_keeps_the_clip_where_nothing_mutates():
    x = clip()
    model = victim(x, source=0, target=1, gap=3.0)
    result = attack("genetic", model, x, 1, budget=5, mutation_p=0.0)
    assert torch.equal(result.adversarial, x)


def test_run_baseline_record(capsys):
    clips = torch.stack([clip(1), clip(2)])
    model = victim(clips[0], source=0, target=1, gap=0.15)  # clip 1 is classified otherwise; its target: 3
    sources = ["yes", LABELS[predicted(model, clips[1])]]
    record, adversarial = run_baseline(
        "genetic",
        model,
        clips,
        sources,
        ["no", "down"],
        LABELS,
        seed=3,
        return_adversarial=True,
        iterations=40,
        mutation_p=0.05,
    )
    json.dumps(record, allow_nan=False)
    assert set(record) == {"method", "clips", "success", "snr_db", "seconds_per_clip", "settings"}
    assert record["method"] == "genetic"
    rows = record["clips"]
    assert [set(row) for row in rows] == [
        {"index", "source", "target", "success", "snr_db", "seconds", "queries", "iterations"}
    ] * 2
    assert [(row["index"], row["source"], row["target"]) for row in rows] == [(0, "yes", "no"), (1, sources[1], "down")]
    assert rows[0]["success"] and predicted(model, adversarial[0]) == 1
    assert record["success"] == sum(row["success"] for row in rows) / 2
    assert all(row["queries"] == 20 * row["iterations"] for row in rows)
    assert adversarial.shape == clips.shape
    for row, x, adv in zip(rows, clips, adversarial, strict=True):
        assert row["snr_db"] == pytest.approx(10 * math.log10(float((x**2).sum() / ((adv - x) ** 2).sum())), abs=1e-3)
    assert record["snr_db"] == pytest.approx((rows[0]["snr_db"] + rows[1]["snr_db"]) / 2, abs=1e-3)
    assert record["settings"] == {
        "iterations": 40,
        "population": 20,
        "elites": 2,
        "temperature": 0.03,
        "mutation_p": 0.05,
        "eps": DEFAULT_EPS,
        "max_batch": 64,
        "seed": 3,
    }
    assert len(capsys.readouterr().err.strip().splitlines()) == 2  # one progress line per clip

    again = run_baseline(
        "genetic", model, clips, sources, ["no", "down"], LABELS, seed=3, iterations=40, mutation_p=0.05
    )
    assert [{**row, "seconds": 0} for row in again["clips"]] == [{**row, "seconds": 0} for row in rows]


def test_run_baseline_pso_fills_in_defaults():
    x = clip()
    model = victim(x, source=0, target=1, gap=0.2)
    record = run_baseline("pso", model, x[None], ["yes"], ["no"], LABELS, seed=0, iterations=50)
    assert record["clips"][0]["success"] and record["success"] == 1.0
    assert record["settings"]["particles"] == 25 and record["settings"]["inertia"] == [0.9, 0.1]
    json.dumps(record, allow_nan=False)


@pytest.mark.parametrize(
    ("method", "targets", "settings", "message"),
    [
        ("fgsm", ["no"], {"iterations": 1}, "attack method must be one of genetic, pso, got 'fgsm'"),
        ("genetic", ["no"], {"iterations": 1, "particles": 3}, "genetic attack: unknown settings particles"),
        ("pso", ["no"], {}, "pso attack: missing setting iterations"),
        ("genetic", ["maybe"], {"iterations": 1}, "attack targets maybe are not among the victim's labels"),
    ],
)
def test_run_baseline_rejects_bad_configuration_in_one_line(method, targets, settings, message):
    x = clip()
    with pytest.raises(ConfigError) as error:
        run_baseline(method, victim(x, 0, 1, 0.2), x[None], ["yes"], targets, LABELS, seed=0, **settings)
    assert message in str(error.value) and "\n" not in str(error.value)


def test_methods_are_the_names_the_workflow_reads():
    assert tuple(METHODS) == BASELINES  # names.py lists them without torch, for the report's inputs


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("method", METHODS)
def test_attacks_run_on_the_clip_device(method):
    x = clip()
    model = victim(x, source=0, target=1, gap=0.15).cuda()
    result = attack(method, model, x.cuda(), 1, budget=100)
    assert result.adversarial.is_cuda and result.success
    assert (result.adversarial.cpu() - x).abs().max() <= DEFAULT_EPS * (1 + 1e-5)
