"""The genetic-algorithm black-box attack of Alzantot et al. 2018, SpeechAdvGan's first baseline (Table 1).

"Did you hear that? Adversarial examples against automatic speech recognition" (arXiv:1801.00554) and its
public code: a population of noisy copies of the clip evolves towards the target. Each generation scores every
member by the victim's probability of the target (the fitness), stops when the best member is classified as the
target, keeps the ``elites`` best unchanged, and breeds the rest from two parents each, drawn with probabilities
softmax(fitness / temperature): sample-wise uniform crossover, then a mutation adding uniform noise in
[-eps, eps] to each sample with probability ``mutation_p``. The initial population is the clip mutated once.

Defaults follow the authors' code: population 20, 2 elites, mutation probability 0.0005 per sample, noise bound
256 (int16), i.e. 256/32768 in [-1, 1] units; temperature 0.03 (their first release; the last one uses 0.01).
Unlike the original, the accumulated perturbation is clipped to ±eps, so eps bounds the result, not each step.
"""

from __future__ import annotations

import time

import torch

from avsec.advgan.baselines.common import (
    DEFAULT_EPS,
    DEFAULT_MAX_BATCH,
    AttackResult,
    check_clip,
    perturbation_bounds,
    query_logits,
    uniform,
)


def genetic_attack(
    model: torch.nn.Module,
    x: torch.Tensor,
    target: int,
    *,
    iterations: int,
    population: int = 20,
    elites: int = 2,
    temperature: float = 0.03,
    mutation_p: float = 0.0005,
    eps: float = DEFAULT_EPS,
    generator: torch.Generator,
    max_batch: int = DEFAULT_MAX_BATCH,
) -> AttackResult:
    """Attack clip ``x`` (L,) towards class ``target`` for at most ``iterations`` generations.

    Every generation costs ``population`` queries. Returns the best member of the last generation scored (the
    first one classified as the target on success); ``iterations`` counts the generations scored.
    """
    if iterations < 1:
        raise ValueError(f"iterations (generations) must be at least 1, got {iterations}")
    if not 0 <= elites < population:
        raise ValueError(f"elites must be in [0, population), got {elites} of {population}")
    if temperature <= 0 or not 0 <= mutation_p <= 1:
        raise ValueError(f"need temperature > 0 and mutation_p in [0, 1], got {temperature} and {mutation_p}")
    start = time.perf_counter()
    x = check_clip(x, target)
    lo, hi = perturbation_bounds(x, eps)
    delta = _mutate(torch.zeros(population, x.numel(), device=x.device), mutation_p, eps, lo, hi, generator)
    queries = 0
    with torch.no_grad():
        for generation in range(1, iterations + 1):
            logits = query_logits(model, x + delta, max_batch)
            queries += population
            fitness = torch.softmax(logits, dim=1)[:, target]
            order = torch.argsort(fitness, descending=True, stable=True)
            best = order[0]
            if int(logits[best].argmax()) == target or generation == iterations:
                break
            probs = torch.softmax(fitness / temperature, dim=0).to(generator.device)
            children = population - elites
            parents = torch.multinomial(probs, 2 * children, replacement=True, generator=generator).to(x.device)
            first, second = delta[parents[:children]], delta[parents[children:]]
            take_first = uniform(tuple(first.shape), generator, x.device) < 0.5
            child = torch.where(take_first, first, second)
            delta = torch.cat([delta[order[:elites]], _mutate(child, mutation_p, eps, lo, hi, generator)])
    adversarial = (x + delta[best]).clamp(-1.0, 1.0)
    success = int(logits[best].argmax()) == target
    return AttackResult(adversarial, success, queries, generation, time.perf_counter() - start)


def _mutate(
    delta: torch.Tensor, p: float, eps: float, lo: torch.Tensor, hi: torch.Tensor, generator: torch.Generator
) -> torch.Tensor:
    """Add uniform noise in [-eps, eps] to each sample with probability ``p``; keep δ within [lo, hi]."""
    shape = tuple(delta.shape)
    mask = uniform(shape, generator, delta.device) < p
    noise = (uniform(shape, generator, delta.device) * 2.0 - 1.0) * eps
    return torch.where(mask, delta + noise, delta).clamp(lo, hi)
