"""Paper 2's names without torch: what the workflow imports when it starts, and the report's input files."""

from __future__ import annotations

import subprocess
import sys

import pytest

from avsec.advgan.names import BASELINES, figure7_clip, parse_generator, report_inputs
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


WORDS = ["yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go"]
GENRES = ["blues", "classical", "country", "disco", "hiphop", "jazz", "metal", "pop", "reggae", "rock"]
LABELS = {"wideresnet": WORDS, "samplecnn": GENRES}


@pytest.mark.parametrize(
    ("generators", "expected"),
    [
        # the paper scale's lists (per pair: on_to_go among 90; per target: all_to_go with "on" among the labels)
        ({"wideresnet": ["yes_to_no", "go_to_on", "on_to_go"], "samplecnn": ["pop_to_jazz"]},
         ("wideresnet", "on_to_go", "on")),
        ({"wideresnet": ["all_to_yes", "all_to_go"], "samplecnn": ["all_to_jazz"]}, ("wideresnet", "all_to_go", "on")),
        # the smoke lists: no "go" target, so the first generator's first example (its first label but the target)
        ({"wideresnet": ["all_to_yes", "all_to_no"], "samplecnn": ["all_to_jazz"]}, ("wideresnet", "all_to_yes", "no")),
        ({"wideresnet": ["no_to_yes", "yes_to_no"], "samplecnn": ["jazz_to_pop"]}, ("wideresnet", "no_to_yes", "no")),
        ({"samplecnn": ["all_to_blues", "all_to_pop"], "wideresnet": ["on_to_go"]}, ("wideresnet", "on_to_go", "on")),
        ({"samplecnn": ["all_to_blues"], "wideresnet": ["up_to_go"]}, ("samplecnn", "all_to_blues", "classical")),
        ({"samplecnn": "pop_to_jazz"}, ("samplecnn", "pop_to_jazz", "pop")),  # DVC's one-element list
    ],
)  # fmt: skip
def test_figure7_clip_of_known_generator_lists(generators, expected):
    clip = figure7_clip(generators, LABELS)
    victim, generator, source = expected
    assert (clip["victim"], clip["generator"], clip["source"]) == expected
    assert clip["target"] == parse_generator(generator)[1]
    folder = f"results/advgan/{victim}/{generator}"
    assert clip["clean"] == f"{folder}/examples/{source}_0_clean.wav"
    assert clip["adversarial"] == f"{folder}/examples/{source}_0_adv.wav"
    assert (clip["examples"], clip["evaluation"]) == (f"{folder}/examples", f"{folder}/eval.json")
    assert clip["victim_ckpt"] == f"results/advgan/{victim}/victim.pt"


def test_figure7_clip_needs_on_among_the_labels_for_all_to_go():
    without_on = {**LABELS, "wideresnet": [w for w in WORDS if w != "on"]}
    clip = figure7_clip({"wideresnet": ["all_to_no", "all_to_go"]}, without_on)
    assert (clip["generator"], clip["source"]) == ("all_to_no", "yes")
    with pytest.raises(ConfigError, match="Figure 7: no generators listed"):
        figure7_clip({}, LABELS)
    with pytest.raises(ConfigError, match="Figure 7: samplecnn has no label other than 'pop'"):
        figure7_clip({"samplecnn": ["all_to_pop"]}, {"samplecnn": ["pop"]})
