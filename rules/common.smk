import os
import sys

from snakemake.utils import validate

from avsec.config import check_advgan, check_corpora, flags, resolve_scale
from avsec.config import validate as check_schema
from avsec.data.synth import CORPORA
from avsec.errors import ConfigError


# Jobs call `python workflow/scripts/...`: make that the interpreter running Snakemake (the project's .venv).
envvars:
    "PATH",


os.environ["PATH"] = os.pathsep.join(
    [os.path.dirname(sys.executable), os.environ.get("PATH", "")]
)

# ---- config: resolve the scale preset, then validate (one clear line on error) -------------------------------
try:
    config.update(resolve_scale(config))
    check_schema(config, workflow.source_path("../workflow/schemas/config.schema.yaml"))
    check_corpora(config)
    check_advgan(config)
except ConfigError as exc:
    sys.exit(f"error: {exc}")
validate(config, "../workflow/schemas/config.schema.yaml")

SCALE = config["scale"]
PREPARED = ("timit", "librispeech", "gtzan", "speech_commands", "voc")
AV_CORPORA = ("grid", "lrw")
VICTIMS = tuple(config["advgan"]["victims"])
LABEL = "[A-Za-z0-9-]+"


wildcard_constraints:
    corpus="|".join(CORPORA),
    feature="|".join(config["features"]) or "[A-Za-z0-9_-]+",
    victim="|".join(VICTIMS),
    generator=f"{LABEL}_to_{LABEL}",
    method="|".join(config["advgan"]["baselines"]),


# ---- input functions -------------------------------------------------------------------------------------------
def corpus_root(corpus):
    """The corpus directory: the synth_corpus output when synthesised, else the user's path."""
    return SCALE["corpora"][corpus]


def prep_settings(corpus):
    """The preparation flags of a corpus: the protocol's settings, then the scale's."""
    return flags(config["prep"][corpus], SCALE["prep"].get(corpus, {}))


def av_settings(corpus, step):
    """The flags of an audiovisual step: its settings, the corpus's, and (landmarks, GRID) the speaker split."""
    split = (
        SCALE["av"]["grid_speakers"] if (step, corpus) == ("landmarks", "grid") else {}
    )
    return flags(config["av"][step], config["av"][corpus], split)


def victim_data(victim):
    """The prepared corpus a victim is trained and attacked on."""
    return f"results/prep/{config['advgan']['victims'][victim]['corpus']}"


def victim_settings(victim):
    return flags(
        config["advgan"]["victims"][victim], SCALE["advgan"]["victims"][victim]
    )


def generator_paths():
    """<victim>/<generator> of every generator the scale trains."""
    return [
        f"{victim}/{name}"
        for victim, names in SCALE["advgan"]["generators"].items()
        for name in names
    ]


def config_runtime(rule):
    """The rule's SLURM time limit in minutes, from the scale preset."""
    return SCALE["resources"]["runtime"][rule]


def final_outputs():
    return [
        *expand("results/synth/{corpus}", corpus=SCALE["synthesize"]),
        *expand("results/prep/{corpus}", corpus=PREPARED),
        *expand("results/features/{feature}", feature=config["features"]),
        *expand(
            "results/av/{corpus}/{kind}", corpus=AV_CORPORA, kind=("mouths", "audio")
        ),
        "results/advgan/report",
    ]
