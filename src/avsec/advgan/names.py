"""Paper 2's names and config checks, without torch (rules/common.smk imports this when the workflow starts).

A generator is named ``<source>_to_<target>``: ``yes_to_no`` is trained on the "yes" clips only (the authors'
code, one generator per pair, 90 per victim); ``all_to_no`` on every clip that is not "no" (the paper's text,
one per target, 10 per victim). docs/protocols.md, paper 2, says which protocol each scale follows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from avsec.core.config import CONFIG_FILE, parse_flags
from avsec.core.errors import ConfigError
from avsec.data.corpora import names

ALL = "all"
LOSSES = ("paper", "code")
BASELINES = ("genetic", "pso")  # the black-box attacks (avsec.advgan.baselines.METHODS), in the report's order
RESULTS = "results/advgan"
FIGURE7 = ("wideresnet", "on", "go")  # the paper's Figure 7: WideResNet, "on" -> "go"
# Figure 7's bottom row: the genetic baseline on Figure 7's clip (rule attack_figure7), its record and its WAV
FIGURE7_GENETIC = {"json": f"{RESULTS}/figure7/genetic.json", "wav": f"{RESULTS}/figure7/genetic.wav"}
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


def figure7_clip(generators: Mapping, labels: Mapping[str, Sequence[str]]) -> dict[str, str]:
    """The clip Figure 7 shows, from a scale's generators (``{victim: [generator, ...]}``, as
    :func:`report_inputs` takes them) and each victim's labels (its class list, in order), before anything runs.

    The paper's WideResNet "on" → "go" (:data:`FIGURE7`) when a WideResNet generator targets "go" and is trained
    on "on" (``on_to_go``, or ``all_to_go`` with "on" among the labels; the first such in the list); else the first
    generator of the first victim, on its source (a per-target generator: its first label other than the target).
    That clip is the first example rule evaluate_generator writes for the source, ``examples/<source>_0_clean.wav``
    (it writes the first ``examples`` test clips of each source in the victim's label order).

    Returns ``victim``, ``generator``, ``source``, ``target`` and the files: ``victim_ckpt``, ``evaluation`` (the
    generator's eval.json), ``examples`` (its folder), ``clean`` and ``adversarial`` (the example's WAV pair).
    """
    generators = {victim: names(listed, victim) for victim, listed in generators.items()}
    if not generators:
        raise ConfigError("Figure 7: no generators listed")
    victim, source, target = FIGURE7
    picked = None
    for name in generators.get(victim, ()):
        from_label, to_label = parse_generator(name)
        if to_label == target and (from_label == source or (from_label == ALL and source in labels.get(victim, ()))):
            picked = (victim, name, source)
            break
    if picked is None:
        victim = next(iter(generators))
        name = generators[victim][0]
        from_label, to_label = parse_generator(name)
        if from_label == ALL:
            others = [label for label in labels.get(victim, ()) if label != to_label]
            if not others:
                raise ConfigError(f"Figure 7: {victim} has no label other than {to_label!r} for {name}")
            from_label = others[0]
        picked = (victim, name, from_label)
    victim, name, source = picked
    folder = f"{RESULTS}/{victim}/{name}"
    return {
        "victim": victim,
        "generator": name,
        "source": source,
        "target": parse_generator(name)[1],
        "victim_ckpt": f"{RESULTS}/{victim}/victim.pt",
        "evaluation": f"{folder}/eval.json",
        "examples": f"{folder}/examples",
        "clean": f"{folder}/examples/{source}_0_clean.wav",
        "adversarial": f"{folder}/examples/{source}_0_adv.wav",
    }


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
