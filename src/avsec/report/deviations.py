"""Each report's "Deviations from the paper" table, from one place: docs/deviations.yaml.

Each entry names a setting, the paper's value, ours and why. Ours is a fixed text (``ours``) or read from
config.yaml (``keys``: dotted paths, ``scale.`` meaning the preset; the first path a preset has wins, so a preset's
override comes before the protocol's key), for both presets, with the run's preset marked.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from avsec.core.config import load_config
from avsec.core.errors import ConfigError, InputError
from avsec.core.lazy import LazyModule
from avsec.report.folder import write_table_page
from avsec.report.tables import markdown_table

yaml = LazyModule("yaml")

TITLE = "Deviations from the paper"
PRESETS = ("paper", "smoke")
MISSING = object()


def load_deviations(path: str | Path) -> dict[str, list[dict]]:
    """docs/deviations.yaml: {paper: [entry, ...]}; a malformed entry is one line naming the file."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise InputError(path, f"unreadable deviations file ({exc})") from None
    if not isinstance(data, dict):
        raise InputError(path, "expected a mapping of papers to lists of deviations")
    for paper, entries in data.items():
        for i, entry in enumerate(entries or []):
            missing = {"setting", "paper", "why"} - set(entry)
            if missing or ("keys" in entry) == ("ours" in entry):
                raise InputError(path, f"{paper}[{i}]: needs setting, paper, why and one of keys or ours")
    return data


def value_at(config: Mapping, preset: str, keys: Sequence[str]) -> Any:
    """The value of the first of ``keys`` that ``config`` has, ``scale.`` read in the preset ``preset``."""
    for key in keys:
        node: Any = config
        parts = key.split(".")
        if parts[0] == "scale":
            node, parts = config["scales"][preset], parts[1:]
        for part in parts:
            node = node.get(part, MISSING) if isinstance(node, Mapping) else MISSING
            if node is MISSING:
                break
        if node is not MISSING:
            return key.rsplit(".", 1)[-1], node
    return None, MISSING


def show(value: Any) -> str:
    """A config value as a table cell: lists by their items (or their count when long), mappings as key: value."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Mapping):
        return "; ".join(f"{k}: {show(v)}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return f"{len(value)} ({', '.join(map(str, value[:3]))}, …)" if len(value) > 4 else ", ".join(map(str, value))
    return str(value)


def ours(entry: Mapping, config: Mapping, preset: str) -> str:
    if "ours" in entry:
        return str(entry["ours"])
    leaf, value = value_at(config, preset, entry["keys"])
    return "–" if value is MISSING else f"{leaf}: {show(value)}"


def deviations_table(entries: Sequence[Mapping], config: Mapping, scale: str) -> str:
    """The Markdown table of ``entries``, ours under both presets (``scale`` is this run's), and its note."""
    if scale not in PRESETS:
        raise ConfigError(f"deviations: unknown preset {scale!r}; choose one of {', '.join(PRESETS)}")
    header = ["setting", "the paper", *(f"ours, {p}{' (this run)' if p == scale else ''}" for p in PRESETS), "why"]
    rows = [[e["setting"], e["paper"], *(ours(e, config, p) for p in PRESETS), " ".join(str(e["why"]).split())]
            for e in entries]  # fmt: skip
    return (
        markdown_table(header, rows)
        + f"\nThis run used the `{scale}` preset. Ours is config.yaml's value (`name: value`) or what the workflow "
        "does; docs/deviations.yaml holds this table and docs/protocols.md explains each entry.\n"
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The report scripts' flags for the table."""
    parser.add_argument("--deviations", required=True, help="docs/deviations.yaml")
    parser.add_argument("--config", required=True, help="config.yaml (our values, both presets)")
    parser.add_argument("--scale", required=True, choices=PRESETS, help="this run's preset")


def from_args(args: argparse.Namespace, paper: str) -> str:
    """``paper``'s table for the report scripts (:func:`add_arguments`)."""
    entries = load_deviations(args.deviations).get(paper)
    if not entries:
        raise InputError(args.deviations, f"no deviations listed for {paper}")
    return deviations_table(entries, load_config(args.config), args.scale)


def with_deviations(root: str | Path, page: str, table: str) -> str:
    """``page`` (a report.md) with the deviations ``table`` as its last section, the table also written as
    ``tables/deviations.html`` under the report folder ``root``; ``page`` as it is when ``table`` is empty."""
    if not table:
        return page
    write_table_page(root, "deviations", TITLE, table)
    return f"{page.rstrip()}\n\n## {TITLE}\n\n{table}"
