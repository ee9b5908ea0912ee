"""config.yaml: resolve the scale preset, validate with one clear line, render settings as command-line flags.

Used by rules/common.smk (at workflow start) and by the scripts; knows nothing of Snakemake. The flag
rendering is exactly DVC's dict unpacking (``${mapping}`` in a dvc.yaml ``cmd``), so Snakemake and DVC run
the same command lines: ``{a: 1, b: [x, y], c: true, d: false}`` → ``--a 1 --b x y --c``, values shell-quoted.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import shlex
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TypeVar

from avsec.core.errors import ConfigError
from avsec.core.lazy import LazyModule

jsonschema = LazyModule("jsonschema")  # imported when used: the scripts' flag parsing needs neither
yaml = LazyModule("yaml")

T = TypeVar("T")
CONFIG_FILE = "config.yaml"
SYNTH_ROOT = "results/synth"


def load_config(path: str | Path = CONFIG_FILE) -> dict:
    """Read config.yaml (or a JSON copy of it, which needs no PyYAML) and resolve its scale (:func:`resolve_scale`)."""
    with open(path, encoding="utf-8") as fh:
        return resolve_scale(json.load(fh) if str(path).endswith(".json") else yaml.safe_load(fh))


def resolve_scale(config: dict) -> dict:
    """Make ``config["scale"]`` the preset mapping: it may already be one (``scale: *paper`` in config.yaml) or a
    preset name (``snakemake --config scale=paper``)."""
    config = copy.deepcopy(config)
    scale = config.get("scale")
    if isinstance(scale, str):
        presets = config.get("scales") or {}
        if scale not in presets:
            raise ConfigError(f"{CONFIG_FILE}: scale: unknown preset {scale!r}; choose one of {', '.join(presets)}")
        config["scale"] = copy.deepcopy(presets[scale])
    return config


def validate(config: dict, schema_path: str | Path) -> None:
    """Validate against the JSON schema; the first error becomes one line naming the key."""
    with open(schema_path, encoding="utf-8") as fh:
        schema = yaml.safe_load(fh)
    validator = jsonschema.Draft202012Validator(schema)
    error = jsonschema.exceptions.best_match(validator.iter_errors(config))
    if error is None:
        return
    path = list(error.absolute_path)
    if path[:1] == ["scale"] and _preset_name(config):
        path[:1] = ["scales", _preset_name(config)]  # the resolved preset: name the key where config.yaml has it
    key = ".".join(str(p) for p in path) or "(top level)"
    raise ConfigError(f"{CONFIG_FILE}: {key}: {_message(error)}")


def _preset_name(config: dict) -> str | None:
    """The name of the preset under ``scales`` that ``config["scale"]`` is a copy of, if it is one."""
    scale, presets = config.get("scale"), config.get("scales")
    if isinstance(scale, dict) and isinstance(presets, dict) and presets.get(scale.get("name")) == scale:
        return scale["name"]
    return None


def _message(error: jsonschema.ValidationError) -> str:
    if error.validator == "additionalProperties":
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        return f"unknown key(s) {', '.join(map(repr, extra))}"
    if error.validator == "pattern":
        allowed = "letters, digits, '_' and '-'" if "_" in error.validator_value else "letters, digits and '-'"
        return f"{error.instance!r} is not a valid name ({allowed} only)"
    if error.validator == "type" and isinstance(error.instance, bool):
        return f'{error.instance!r} is a boolean, expected {error.validator_value} (quote words like "yes", "on")'
    if error.validator == "propertyNames":
        return f"{error.instance!r}: {error.message}"
    return error.message


# The four papers, by the name of their package and target rule.
PAPERS = {"stego": 1, "advgan": 2, "imgstego": 3, "avdetect": 4}


def paper_corpora(config: dict) -> dict[str, tuple[str, ...]]:
    """The corpora each paper needs: paper 1's datasets and paper 2's victims' corpora as config.yaml names them;
    paper 3 hides VOC images in TIMIT, paper 4 attacks GRID and LRW (fixed by those papers)."""
    return {
        "stego": tuple(config["stego"]["datasets"]),
        "advgan": tuple(dict.fromkeys(v["corpus"] for v in config["advgan"]["victims"].values())),
        "imgstego": ("timit", "voc"),
        "avdetect": ("grid", "lrw"),
    }


def papers_needing(config: dict, corpus: str) -> str:
    """``paper 1 (stego) and paper 3 (imgstego) need it``: the papers that need ``corpus``, as a phrase."""
    names = [f"paper {PAPERS[p]} ({p})" for p, corpora in paper_corpora(config).items() if corpus in corpora]
    return f"{' and '.join(names)} {'needs' if len(names) == 1 else 'need'} it" if names else "no paper needs it"


def check_corpora(config: dict) -> None:
    """Synthesised corpora must live at results/synth/<corpus> and take only their generator's size keys. Whether
    the user's corpora exist is asked per corpus, when a requested paper needs it (:func:`corpus_path`)."""
    from avsec.data.synth import check_sizes  # imports the generators: only when a workflow starts

    scale = config["scale"]
    for corpus, sizes in scale["synthesize"].items():
        try:
            check_sizes(corpus, sizes)
        except ConfigError as exc:
            raise ConfigError(f"{CONFIG_FILE}: scales.{scale['name']}.synthesize.{corpus}: {exc}") from None
        root, expected = scale["corpora"][corpus], f"{SYNTH_ROOT}/{corpus}"
        if root != expected:
            raise ConfigError(
                f"{CONFIG_FILE}: scales.{scale['name']}.corpora.{corpus}: {corpus} is synthesised, so its path "
                f"must be {expected!r}, not {root!r}"
            )


def corpus_path(config: dict, corpus: str, repo: str | Path = ".") -> str:
    """The directory of ``corpus`` (results/synth/<corpus> when synthesised); a user's corpus that does not exist
    is one line naming the key, the path and the papers that need it."""
    scale = config["scale"]
    root = scale["corpora"][corpus]
    if corpus not in scale["synthesize"] and not (Path(repo) / root).is_dir():
        raise ConfigError(
            f"{CONFIG_FILE}: scales.{scale['name']}.corpora.{corpus}: {root} does not exist, and "
            f"{papers_needing(config, corpus)}; point it at your copy of the corpus, add {corpus} to "
            f"scales.{scale['name']}.synthesize, or run only the other papers (`snakemake <paper>`, or "
            "`papers:` in config.yaml)"
        )
    return root


def check_partitions(config: dict) -> None:
    """``partition_ids.<corpus>`` must be ``range(partitions.<corpus>)`` written out (dvc.yaml's foreach needs
    the list, Snakemake and the scripts the count)."""
    scale = config["scale"]
    for corpus, count in scale["partitions"].items():
        ids = scale["partition_ids"].get(corpus)
        if ids != list(range(count)):
            raise ConfigError(
                f"{CONFIG_FILE}: scales.{scale['name']}.partition_ids.{corpus}: must be [0, 1, ..., {count - 1}] "
                f"(partitions.{corpus} is {count}), not {ids}"
            )


def flags(*settings: Mapping) -> str:
    """Render mappings as command-line flags exactly as DVC unpacks a dict in ``cmd``."""
    parts: list[str] = []
    for mapping in settings:
        for key, value in mapping.items():
            if isinstance(value, bool):
                if value:
                    parts.append(f"--{key}")
            elif isinstance(value, (list, tuple)):
                parts.append(" ".join([f"--{key}", *(_scalar(v) for v in value)]))
            else:
                parts.append(f"--{key} {_scalar(value)}")
    return " ".join(parts)


def _scalar(value) -> str:
    """One value as DVC writes it: booleans lower-case, then shell-quoted where needed (``~`` is not expanded)."""
    return shlex.quote(str(value).lower() if isinstance(value, bool) else str(value))


def parse_flags(argv: Sequence[str]) -> dict:
    """Inverse of :func:`flags`: ``--a 1 --b x y --c`` → ``{"a": 1, "b": ["x", "y"], "c": True}``.

    Numbers become int or float; a flag with several values becomes a list; a bare flag becomes True.
    """
    out: dict = {}
    key = None
    for token in argv:
        if token.startswith("--") and len(token) > 2 and not _is_number(token):
            key = token[2:].replace("-", "_")
            if key in out:
                raise ConfigError(f"flag --{key} given twice")
            out[key] = True
        elif key is None:
            raise ConfigError(f"unexpected argument {token!r} before any --flag")
        else:
            value = _number(token)
            current = out[key]
            out[key] = (
                value if current is True else (current + [value] if isinstance(current, list) else [current, value])
            )
    return out


def settings(cls: type[T], given: Mapping, what: str) -> T:
    """The settings dataclass ``cls`` built from parsed flags (:func:`parse_flags`): a flag it does not know, or a
    field without a default that is not given, is one line naming ``what`` (the step) and the key. Scripts call
    this; the library's entry functions take the dataclass, so none needs a long list of keyword arguments."""
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(given) - set(fields))
    if unknown:
        raise ConfigError(f"{what}: unknown setting(s) {', '.join(unknown)} (known: {', '.join(fields)})")
    missing = [
        name
        for name, f in fields.items()
        if name not in given and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    ]
    if missing:
        raise ConfigError(f"{what}: missing setting(s) {', '.join(missing)}")
    return cls(**given)


def _is_number(token: str) -> bool:
    return not isinstance(_number(token), str)


def _number(token: str):
    for kind in (int, float):
        try:
            return kind(token)
        except ValueError:
            pass
    return token
