"""Paper 2's names without torch: what the workflow imports when it starts, and the report's input files."""

from __future__ import annotations

import subprocess
import sys

import pytest

from avsec.advgan.names import BASELINES, parse_generator, report_inputs
from avsec.core.errors import ConfigError


def test_the_package_and_names_import_no_torch():
    code = "import sys, avsec.advgan, avsec.advgan.names; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_report_inputs_of_a_scale():
    inputs = report_inputs({"wideresnet": ["all_to_yes", "all_to_no"], "samplecnn": ["all_to_jazz"]})
    assert inputs == {
        "victims": ["results/advgan/wideresnet/victim.json", "results/advgan/samplecnn/victim.json"],
        "evaluations": [
            "results/advgan/wideresnet/all_to_yes/eval.json",
            "results/advgan/wideresnet/all_to_no/eval.json",
            "results/advgan/samplecnn/all_to_jazz/eval.json",
        ],
        "baselines": [
            "results/advgan/wideresnet/baselines/genetic.json",
            "results/advgan/wideresnet/baselines/pso.json",
            "results/advgan/samplecnn/baselines/genetic.json",
            "results/advgan/samplecnn/baselines/pso.json",
        ],
    }
    assert BASELINES == ("genetic", "pso")


def test_report_inputs_from_dvc_flags():
    """DVC unpacks a one-element list as one value (``--samplecnn all_to_jazz``: a string once parsed)."""
    one = report_inputs({"samplecnn": "all_to_jazz"})
    assert one["evaluations"] == ["results/advgan/samplecnn/all_to_jazz/eval.json"]
    with pytest.raises(ConfigError, match="samplecnn must be a non-empty list of names"):
        report_inputs({"samplecnn": True})  # `--samplecnn` without a generator


def test_parse_generator():
    assert parse_generator("yes_to_no") == ("yes", "no") and parse_generator("all_to_no") == ("all", "no")
    with pytest.raises(ConfigError, match="is not <source>_to_<target>"):
        parse_generator("yes_no")
