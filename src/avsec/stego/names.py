"""Paper 1's run names and config checks, without torch (rules/common.smk imports this when the workflow starts).

A trained encoder/decoder/steganalyzer triple is named ``<analyzer>_<channel>``: ``ran`` (the steganalyzer's
first layer random) or ``hpf`` (initialised with SRM high-pass kernels), and ``nor`` (normal training) or
``an`` (60 dB Gaussian noise during training); the dataset is the directory above it.
"""

from __future__ import annotations

from avsec.core.errors import ConfigError

ANALYZERS = ("ran", "hpf")
CHANNELS = ("nor", "an")
DATASETS = ("timit", "librispeech")
RUNS = tuple(f"{a}_{c}" for a in ANALYZERS for c in CHANNELS)
BASELINES = ("lsb_matching", "echo_hiding")
METHODS = ("gan", *BASELINES)  # Table 4's rows: ours, then the classic baselines


RESULTS = "results/stego"
PREP = "results/prep"


def report_inputs(runs: dict, results: str = RESULTS, prep: str = PREP) -> dict[str, list[str]]:
    """The files rule report_stego reads for a scale's runs (``scales.<scale>.stego.runs``: dataset → run names, or
    one name as a string, as a single-value flag arrives): ``evaluations``, the eval.json of every run, dataset by
    dataset; ``security``, the security result of every dataset and method (``METHODS``); ``prep``, every
    dataset's prepared directory (its manifest's counts)."""
    return {
        "prep": [f"{prep}/{dataset}" for dataset in runs],
        "evaluations": [
            f"{results}/{dataset}/{name}/eval.json"
            for dataset, names in runs.items()
            for name in ([names] if isinstance(names, str) else names)
        ],
        "security": [f"{results}/{dataset}/security/{method}.json" for dataset in runs for method in METHODS],
    }


def parse_run(name: str) -> tuple[str, str]:
    """``hpf_an`` → ("hpf", "an"); ConfigError for anything else."""
    analyzer, sep, channel = name.partition("_")
    if not sep or analyzer not in ANALYZERS or channel not in CHANNELS:
        raise ConfigError(f"stego run {name!r} is not <analyzer>_<channel> with analyzer ran|hpf, channel nor|an")
    return analyzer, channel


def check_stego(config: dict) -> None:
    """Every run the scale lists is well named, its dataset has λ values and an STFT, and the security
    experiment's run is trained for every dataset."""
    scale = config["scale"]
    where = f"config.yaml: scales.{scale['name']}.stego"
    runs = scale["stego"]["runs"]
    for dataset, names in runs.items():
        if dataset not in config["stego"]["datasets"]:
            raise ConfigError(f"{where}.runs.{dataset}: no stego.datasets.{dataset} (λ values) for it")
        if f"stego_{dataset}" not in config["features"]:
            raise ConfigError(f"{where}.runs.{dataset}: no features.stego_{dataset} (its STFT settings)")
        for name in names:
            try:
                parse_run(name)
            except ConfigError as exc:
                raise ConfigError(f"{where}.runs.{dataset}: {exc}") from None
        security = config["stego"]["security"]["run"]
        if security not in names:
            raise ConfigError(
                f"config.yaml: stego.security.run: {security!r} is not trained for {dataset} "
                f"(scales.{scale['name']}.stego.runs.{dataset}: {', '.join(names)})"
            )
        if dataset not in scale["stego"]["epochs"]:
            raise ConfigError(f"{where}.epochs: no entry for {dataset}")
