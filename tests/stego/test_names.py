"""Paper 1's names without torch: what the workflow imports when it starts, the config checks, and the report's
input files."""

from __future__ import annotations

import subprocess
import sys

import pytest

from avsec.core.errors import ConfigError
from avsec.stego.names import check_stego, parse_run, report_inputs


def test_the_package_and_names_import_no_torch():
    code = "import sys, avsec.stego, avsec.stego.names; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_run_names_and_config_checks():
    assert parse_run("hpf_an") == ("hpf", "an")
    for bad in ("hpf", "srm_nor", "ran_noise"):
        with pytest.raises(ConfigError, match="<analyzer>_<channel>"):
            parse_run(bad)
    config = {
        "features": {"stego_timit": {}},
        "stego": {"datasets": {"timit": {}}, "security": {"run": "hpf_nor"}},
        "scale": {"name": "smoke", "stego": {"runs": {"timit": ["ran_nor"]}, "epochs": {"timit": 1}}},
    }
    with pytest.raises(ConfigError, match="stego.security.run: 'hpf_nor' is not trained for timit"):
        check_stego(config)
    config["stego"]["security"]["run"] = "ran_nor"
    check_stego(config)


def test_report_inputs_of_a_scale():
    """Dataset by dataset, in the order of the scale's runs; a single run arrives from DVC's flags as a string."""
    inputs = report_inputs({"timit": ["ran_nor", "hpf_nor"], "librispeech": "ran_nor"})
    assert inputs == {
        "prep": ["results/prep/timit", "results/prep/librispeech"],
        "evaluations": [
            "results/stego/timit/ran_nor/eval.json",
            "results/stego/timit/hpf_nor/eval.json",
            "results/stego/librispeech/ran_nor/eval.json",
        ],
        "security": [
            "results/stego/timit/security/gan.json",
            "results/stego/timit/security/lsb_matching.json",
            "results/stego/timit/security/echo_hiding.json",
            "results/stego/librispeech/security/gan.json",
            "results/stego/librispeech/security/lsb_matching.json",
            "results/stego/librispeech/security/echo_hiding.json",
        ],
    }
