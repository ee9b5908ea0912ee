"""Paper 2's names and config checks, without torch (rules/common.smk imports this when the workflow starts).

A generator is named ``<source>_to_<target>``: ``yes_to_no`` is trained on the "yes" clips only (the authors'
code, one generator per pair, 90 per victim); ``all_to_no`` on every clip that is not "no" (the paper's text,
one per target, 10 per victim). docs/protocols.md, paper 2, says which protocol each scale follows.
"""

from __future__ import annotations

from collections.abc import Sequence

from avsec.core.config import CONFIG_FILE, parse_flags
from avsec.core.errors import ConfigError
from avsec.data.corpora import names

ALL = "all"
LOSSES = ("paper", "code")
BASELINES = ("genetic", "pso")  # the black-box attacks (avsec.advgan.baselines.METHODS), in the report's order
RESULTS = "results/advgan"
ABLATION_MARKER = "--ablation"  # train_generator.py: the flags after it replace the generator's of that name


def report_inputs(generators: dict) -> dict[str, list[str]]:
    """The files rule report_advgan reads, from a scale's generators (``{victim: [generator, ...]}``, e.g.
    scales.<scale>.advgan.generators, or its --victim flags as parsed): per victim of the mapping, its victim.json,
    the eval.json of each generator listed and one JSON per baseline attack."""
    return {
        "victims": [f"{RESULTS}/{victim}/victim.json" for victim in generators],
        "evaluations": [
            f"{RESULTS}/{victim}/{name}/eval.json"
            for victim, listed in generators.items()
            for name in names(listed, victim)
        ],
        "baselines": [f"{RESULTS}/{victim}/baselines/{method}.json" for victim in generators for method in BASELINES],
    }


def ablation_flags(argv: Sequence[str]) -> dict:
    """The --key value flags of train_generator.py as settings: those before ``--ablation`` (the generator's), then
    those after it (a loss-ablation variant's weights and sizes) replacing them key by key. Each part still refuses
    a flag given twice."""
    argv = list(argv)
    if ABLATION_MARKER not in argv:
        return parse_flags(argv)
    i = argv.index(ABLATION_MARKER)
    return {**parse_flags(argv[:i]), **parse_flags(argv[i + 1 :])}


def parse_generator(name: str) -> tuple[str, str]:
    """``yes_to_no`` → ("yes", "no"); ``all_to_no`` → ("all", "no")."""
    source, sep, target = name.partition("_to_")
    if not sep or not source or not target:
        raise ConfigError(f"generator name {name!r} is not <source>_to_<target>")
    return source, target


def check_advgan(config: dict) -> None:
    """Paper 2's generator lists name labels their victim has (``<source>_to_<target>`` or ``all_to_<target>``)."""
    adv = config["scale"]["advgan"]
    where = f"scales.{config['scale']['name']}.advgan"
    words = config["scale"]["prep"]["speech_commands"]["words"]
    missing = [w for w in adv["victims"]["wideresnet"]["labels"] if w not in words]
    if missing:
        raise ConfigError(
            f"{CONFIG_FILE}: {where}.victims.wideresnet.labels: {', '.join(missing)} not among the prepared "
            f"Speech Commands words (scales.{config['scale']['name']}.prep.speech_commands.words)"
        )
    for victim, generators in adv["generators"].items():
        labels = adv["victims"][victim]["labels"]
        for name in generators:
            source, _, target = name.partition("_to_")
            for label in [target] if source == "all" else [source, target]:
                if label not in labels:
                    raise ConfigError(
                        f"{CONFIG_FILE}: {where}.generators.{victim}: {name!r}: {victim} has no label {label!r} "
                        f"(its labels: {', '.join(labels)})"
                    )
            if source == target:
                raise ConfigError(f"{CONFIG_FILE}: {where}.generators.{victim}: {name!r}: source equals target")
    ablation = config["advgan"]["ablation"]  # Section D's generator: labels its victim has at this scale
    source, _, target = ablation["generator"].partition("_to_")
    labels = adv["victims"][ablation["victim"]]["labels"]
    for label in [target] if source == ALL else [source, target]:
        if label not in labels:
            raise ConfigError(
                f"{CONFIG_FILE}: advgan.ablation.generator: {ablation['generator']!r}: {ablation['victim']} has no "
                f"label {label!r} at scale {config['scale']['name']} (its labels: {', '.join(labels)})"
            )
