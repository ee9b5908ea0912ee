"""The particle-swarm black-box attack of SirenAttack (Du et al. 2019), SpeechAdvGan's second baseline (Table 1).

"SirenAttack: Generating adversarial audio for end-to-end acoustic systems" (arXiv:1901.07846), its black-box
first phase: each particle is a perturbation δ in the box |δ| ≤ eps (and x + δ in [-1, 1]); its fitness is the
victim's log-probability of the target. Every iteration scores the swarm, updates each particle's best and the
global best, then moves the particles with the standard velocity update

    v ← w·v + c1·r1·(pbest − δ) + c2·r2·(gbest − δ),   δ ← clip(δ + v)

with r1, r2 uniform per sample and the inertia w decreasing linearly from ``inertia[0]`` to ``inertia[1]`` over an
epoch. An epoch lasts ``epoch_iterations`` iterations; the next one restarts the swarm at random except one
particle that carries the global best on. The attack stops when any particle is classified as the target.

Defaults follow SirenAttack as re-implemented in SpeakerGuard (Chen et al.): 25 particles, 30 iterations per
epoch, c1 = c2 = 1.4961, inertia 0.9 → 0.1, initial velocities uniform in ±(box width), here also their bound.
eps defaults to the genetic baseline's 256/32768 so that both baselines search the same box. The second phase
of SirenAttack (refining a found example with a gradient) is not part of this black-box baseline.
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


def pso_attack(
    model: torch.nn.Module,
    x: torch.Tensor,
    target: int,
    *,
    iterations: int,
    particles: int = 25,
    epoch_iterations: int = 30,
    c1: float = 1.4961,
    c2: float = 1.4961,
    inertia: tuple[float, float] = (0.9, 0.1),
    eps: float = DEFAULT_EPS,
    generator: torch.Generator,
    max_batch: int = DEFAULT_MAX_BATCH,
) -> AttackResult:
    """Attack clip ``x`` (L,) towards class ``target`` for at most ``iterations`` swarm evaluations in all epochs.

    Every iteration costs ``particles`` queries. Returns the fittest particle classified as the target on
    success, else the global best; ``iterations`` counts the swarm evaluations.
    """
    if iterations < 1 or epoch_iterations < 1 or particles < 1:
        raise ValueError(
            f"iterations, epoch_iterations and particles must be at least 1, got {iterations}, "
            f"{epoch_iterations} and {particles}"
        )
    start = time.perf_counter()
    x = check_clip(x, target)
    lo, hi = perturbation_bounds(x, eps)
    width = hi - lo
    shape = (particles, x.numel())
    w_start, w_end = inertia
    gbest = torch.zeros_like(x)
    gbest_fit = torch.tensor(float("-inf"), device=x.device)
    done = 0
    with torch.no_grad():
        while done < iterations:
            position = lo + uniform(shape, generator, x.device) * width
            velocity = (uniform(shape, generator, x.device) * 2.0 - 1.0) * width
            if done:  # a restart: one particle carries the global best into the new epoch
                position[0] = gbest
            pbest, pbest_fit = position.clone(), torch.full((particles,), float("-inf"), device=x.device)
            for step in range(min(epoch_iterations, iterations - done)):
                logits = query_logits(model, x + position, max_batch)
                done += 1
                fitness = torch.log_softmax(logits, dim=1)[:, target]
                hit = logits.argmax(dim=1) == target
                if hit.any():
                    winner = int(torch.where(hit, fitness, float("-inf")).argmax())
                    return _result(x, position[winner], True, done, particles, start)
                better = fitness > pbest_fit
                pbest[better], pbest_fit[better] = position[better], fitness[better]
                best = int(pbest_fit.argmax())
                if pbest_fit[best] > gbest_fit:
                    gbest, gbest_fit = pbest[best].clone(), pbest_fit[best].clone()
                w = w_start - (w_start - w_end) * step / max(epoch_iterations - 1, 1)
                r1, r2 = uniform(shape, generator, x.device), uniform(shape, generator, x.device)
                velocity = w * velocity + c1 * r1 * (pbest - position) + c2 * r2 * (gbest - position)
                velocity = velocity.clamp(-width, width)
                position = (position + velocity).clamp(lo, hi)
    return _result(x, gbest, False, done, particles, start)


def _result(
    x: torch.Tensor, delta: torch.Tensor, success: bool, done: int, particles: int, start: float
) -> AttackResult:
    """The attack's result for perturbation ``delta`` after ``done`` swarm evaluations."""
    adversarial = (x + delta).clamp(-1.0, 1.0)
    return AttackResult(adversarial, success, done * particles, done, time.perf_counter() - start)
