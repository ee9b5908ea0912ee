"""The workflow scripts as the rules call them: log to --log, one-line errors naming the file, nothing half-written."""

from __future__ import annotations

import subprocess
import sys

from conftest import REPO, VENV_ENV, tool


def script(name: str, *args: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, str(REPO / "workflow/scripts" / name), *args]
    return subprocess.run(cmd, capture_output=True, text=True, env=VENV_ENV)


def test_bad_corpus_root_is_one_line_naming_it_and_leaves_no_output(tmp_path):
    out, log = tmp_path / "prep", tmp_path / "logs" / "prep.log"
    done = script(
        "prepare_corpus.py",
        "--corpus",
        "timit",
        "--root",
        str(tmp_path / "nowhere"),
        "--out",
        str(out),
        "--seed",
        "1",
        "--count",
        "5",
        "--log",
        str(log),
    )
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and done.stderr.startswith(f"error: {tmp_path / 'nowhere'}")
    assert "Traceback" not in log.read_text() and "error:" in log.read_text()
    assert not out.exists() and not list(tmp_path.glob(".prep*"))


def test_synth_then_prepare_through_the_scripts(tmp_path):
    corpus, out, log = tmp_path / "sc", tmp_path / "prep", tmp_path / "prep.log"
    made = script(
        "synth_corpus.py",
        "--corpus",
        "speech_commands",
        "--seed",
        "7",
        "--out",
        str(corpus),
        "--speakers",
        "3",
        "--words",
        "yes",
        "no",
        "--log",
        str(tmp_path / "synth.log"),
    )
    assert made.returncode == 0, made.stderr
    done = script(
        "prepare_corpus.py",
        "--corpus",
        "speech_commands",
        "--root",
        str(corpus),
        "--out",
        str(out),
        "--seed",
        "7",
        "--words",
        "yes",
        "no",
        "--length",
        "16384",
        "--log",
        str(log),
    )
    assert done.returncode == 0, log.read_text()
    manifest = (out / "manifest.tsv").read_text().splitlines()
    assert len(manifest) > 3 and {line.split("\t")[4] for line in manifest[1:]} == {"yes", "no"}
    assert "done in" in log.read_text()


def test_avsec_synth_command(tmp_path):
    done = subprocess.run(
        [tool("avsec"), "synth", "voc", str(tmp_path / "voc"), "--seed", "3", "--images", "6"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert len(list((tmp_path / "voc/VOCdevkit/VOC2012/JPEGImages").glob("*.jpg"))) >= 6
