"""The "Deviations from the paper" tables: docs/deviations.yaml read against config.yaml for both presets."""

from __future__ import annotations

import argparse

import pytest

from avsec.core.config import load_config
from avsec.core.errors import InputError
from avsec.report.deviations import (
    MISSING,
    deviations_table,
    from_args,
    load_deviations,
    value_at,
    with_deviations,
)
from conftest import REPO

PAPERS = ("stego", "advgan", "imgstego", "avdetect")


def test_every_entry_of_every_paper_reads_a_value_at_both_presets():
    """Each entry's config keys exist in config.yaml at both presets, so no table cell says "–" by a typo, and every
    paper has a table."""
    deviations = load_deviations(REPO / "docs/deviations.yaml")
    config = load_config(REPO / "config.yaml")
    assert sorted(deviations) == sorted(PAPERS)
    for paper, entries in deviations.items():
        for entry in entries:
            for preset in ("paper", "smoke"):
                if "keys" in entry:
                    assert value_at(config, preset, entry["keys"])[1] is not MISSING, (paper, entry["setting"], preset)


def test_a_table_shows_each_presets_value_the_first_key_a_preset_has_and_marks_the_run():
    config = {
        "advgan": {"generator": {"patience": 5}},
        "scales": {"smoke": {"advgan": {"generator": {"patience": 0}}, "n": [1, 2, 3, 4, 5, 6]}, "paper": {"n": [1]}},
    }
    entries = [
        {"setting": "early stop", "paper": "5", "why": "smoke: all\n epochs", "keys": [
            "scale.advgan.generator.patience", "advgan.generator.patience"]},
        {"setting": "items", "paper": "6", "why": "w", "keys": ["scale.n"]},
        {"setting": "nowhere", "paper": "1", "why": "w", "keys": ["scale.absent"]},
        {"setting": "framework", "paper": "TensorFlow", "why": "w", "ours": "PyTorch"},
    ]  # fmt: skip
    table = deviations_table(entries, config, "smoke")
    rows = {
        line.split(" | ")[0].lstrip("| "): line.split(" | ") for line in table.splitlines() if line.startswith("| ")
    }
    assert rows["setting"][2:4] == ["ours, paper", "ours, smoke (this run)"]
    assert rows["early stop"][2:5] == ["patience: 5", "patience: 0", "smoke: all epochs |"]
    assert rows["items"][2:4] == ["n: 1", "n: 6 (1, 2, 3, …)"]
    assert rows["nowhere"][2:4] == ["–", "–"]
    assert rows["framework"][2:4] == ["PyTorch", "PyTorch"]
    assert "This run used the `smoke` preset" in table
    assert "ours, paper (this run)" in deviations_table(entries, config, "paper")


def test_the_table_ends_the_report_and_is_a_page(tmp_path):
    page = with_deviations(tmp_path, "# Report\n\nText.\n", "| a | b |\n|---|---|\n| 1 | 2 |\n")
    assert page.endswith("## Deviations from the paper\n\n| a | b |\n|---|---|\n| 1 | 2 |\n")
    assert "<td>1</td><td>2</td>" in (tmp_path / "tables/deviations.html").read_text()
    assert with_deviations(tmp_path / "other", "# R\n", "") == "# R\n"  # no table: the page as it was


def test_a_bad_deviations_file_is_one_line_naming_it(tmp_path):
    bad = tmp_path / "deviations.yaml"
    bad.write_text("stego:\n  - setting: x\n    paper: y\n    why: z\n")  # neither keys nor ours
    with pytest.raises(InputError, match=r"deviations.yaml: stego\[0\]: needs setting, paper, why and one of keys"):
        load_deviations(bad)
    bad.write_text("stego: [")
    with pytest.raises(InputError, match="unreadable deviations file"):
        load_deviations(bad)
    args = argparse.Namespace(deviations=REPO / "docs/deviations.yaml", config=REPO / "config.yaml", scale="paper")
    with pytest.raises(InputError, match="no deviations listed for rehearsal"):
        from_args(args, "rehearsal")
    assert "| TIMIT clips | 10 000 (7 500 train, 2 500 test) | count: 10000 | count: 200 |" in from_args(args, "stego")
