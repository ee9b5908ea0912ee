"""Black-box targeted attacks on waveform classifiers: SpeechAdvGan's two baselines (Table 1).

- :func:`genetic_attack`: the genetic algorithm of Alzantot et al. 2018;
- :func:`pso_attack`: the particle swarm of SirenAttack (Du et al. 2019);
- :func:`run_baseline`: either one over a set of clips, with the per-clip and summary figures of Table 1;
- :func:`attack_baseline`: the workflow's step (rule attack_baseline): a trained victim, test clips drawn with a
  seed, each towards a random other label, and the results JSON (settings: :class:`BaselineAttack`);
- :func:`attack_figure7`: the genetic attack on the clip the report's Figure 7 shows (rule attack_figure7).

A victim is any ``torch.nn.Module`` in eval mode mapping float32 waveforms (B, L) in [-1, 1] to logits (B, C);
the attacks only read its outputs, a whole population per forward call.
"""

from avsec.advgan.baselines.common import AttackResult
from avsec.advgan.baselines.genetic import genetic_attack
from avsec.advgan.baselines.pso import pso_attack
from avsec.advgan.baselines.run import (
    METHODS,
    BaselineAttack,
    attack_baseline,
    attack_figure7,
    baseline_attack,
    run_baseline,
)

__all__ = [
    "METHODS",
    "AttackResult",
    "BaselineAttack",
    "attack_baseline",
    "attack_figure7",
    "baseline_attack",
    "genetic_attack",
    "pso_attack",
    "run_baseline",
]
