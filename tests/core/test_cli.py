"""`avsec`'s subcommands on trained models without a workflow: their help, argument errors, the one line a
checkpoint of the wrong kind gives, and the pure parts (the victim beside a generator, the detector's threshold).
tests/workflow/test_workflow_smoke.py runs each on the smoke models."""

from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest

from avsec.advgan.nets import Generator
from avsec.advgan.train import load_attack
from avsec.avdetect.clip import detector_threshold, is_adversarial
from avsec.core.errors import InputError
from avsec.io.audio import write_audio
from avsec.train import save_checkpoint
from conftest import VENV_ENV, tool

COMMANDS = ("synth", "attack", "hide", "reveal", "hide-image", "reveal-image", "sync", "detect")


def avsec(*args) -> subprocess.CompletedProcess:
    return subprocess.run([tool("avsec"), *map(str, args)], capture_output=True, text=True, env=VENV_ENV)


def test_help_names_every_command_and_each_says_what_it_does_with_odd_lengths():
    done = avsec("--help")
    assert done.returncode == 0 and all(name in done.stdout for name in COMMANDS), done.stdout
    assert "results/advgan/<victim>/<generator>/generator.pt" in done.stdout
    for command, says in (
        ("attack", "cropped or zero-padded"),
        ("hide", "consecutive segments"),
        ("hide-image", "at least 3 s"),
        ("detect", "best validation F1"),
    ):
        done = avsec(command, "--help")
        assert done.returncode == 0 and says in " ".join(done.stdout.split()), (command, done.stdout)


def test_a_missing_argument_or_an_unknown_option_is_a_usage_error(tmp_path):
    done = avsec("hide", "model.pt", "carrier.wav")
    assert done.returncode == 2 and "the following arguments are required: secret, output" in done.stderr
    done = avsec("sync", "clip.mp4", "--threshold", "0.5")
    assert done.returncode == 2 and "unrecognized arguments: --threshold 0.5" in done.stderr


def test_a_checkpoint_of_another_kind_is_one_line_naming_it(tmp_path):
    """A victim given to `hide` and to `attack`: exit status 1, ``error: <file>: <problem>``, no output."""
    victim = tmp_path / "victim.pt"
    save_checkpoint(victim, {"kind": "victim", "modules": {}})
    write_audio(tmp_path / "a.wav", np.zeros(16000, np.int16), 16000)
    for args in (("hide", victim, tmp_path / "a.wav", tmp_path / "a.wav"), ("attack", victim, tmp_path / "a.wav")):
        done = avsec(*args, tmp_path / "out.wav")
        expected = "generator" if args[0] == "attack" else "stego"
        assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
        last = done.stderr.strip().splitlines()[-1]
        assert last == f"error: {victim}: is a 'victim' checkpoint, expected '{expected}'"
    assert not (tmp_path / "out.wav").exists()


@pytest.fixture
def generator(tmp_path):
    """A tiny untrained generator checkpoint in the workflow's layout: results/advgan/wideresnet/all_to_no/."""
    path = tmp_path / "advgan/wideresnet/all_to_no/generator.pt"
    path.parent.mkdir(parents=True)
    save_checkpoint(
        path,
        {"kind": "generator", "victim": "wideresnet", "generator": "all_to_no", "source": "all", "target": "no",
         "labels": ["yes", "no"], "width": 0.0625, "clamp": 0.3,
         "modules": {"generator": Generator(0.0625).state_dict()}},
    )  # fmt: skip
    return path


def test_the_victim_is_looked_for_beside_the_generators_folder(generator, tmp_path):
    with pytest.raises(InputError, match=r"advgan/wideresnet/victim\.pt: no victim checkpoint beside .*--victim"):
        load_attack(generator)
    other = tmp_path / "other.pt"
    save_checkpoint(other, {"kind": "generator", "modules": {}})
    with pytest.raises(InputError, match=r"other\.pt: is a 'generator' checkpoint, expected 'victim'"):
        load_attack(generator, other)


def test_the_detectors_threshold_is_the_settings_of_detection_json(tmp_path):
    path = tmp_path / "detection.json"
    rows = [
        {"name": "fgsm_a256_v4", "threshold": 0.6, "val_f1": 0.55},
        {"name": "fgsm_a1024_v4", "threshold": 0.5, "val_f1": 0.875},
        {"name": "bim_a256_v4", "threshold": 0.4, "val_f1": 0.7},
    ]
    path.write_text(json.dumps({"corpus": "lrw", "settings": rows}))
    assert detector_threshold(path) == ("fgsm_a1024_v4", 0.5)  # the best validation F1
    assert detector_threshold(path, "bim_a256_v4") == ("bim_a256_v4", 0.4)
    with pytest.raises(InputError, match=r"no setting 'cw'; it has fgsm_a256_v4, fgsm_a1024_v4, bim_a256_v4$"):
        detector_threshold(path, "cw")
    path.write_text("{")
    with pytest.raises(InputError, match=r"detection\.json: not a detection JSON"):
        detector_threshold(path)
    with pytest.raises(InputError, match=r"nowhere\.json: detection results not found"):
        detector_threshold(tmp_path / "nowhere.json")
    # adversarial at or below the threshold: the clips detect_av's F1 calls adversarial
    assert is_adversarial(0.5, 0.5) and is_adversarial(0.49, 0.5) and not is_adversarial(0.51, 0.5)
