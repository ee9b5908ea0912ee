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


def test_training_and_attack_scripts_start_without_scipy_signal_or_sklearn():
    """Every smoke job pays its imports (about 95 jobs in a row on 2 cores): the scripts that train, attack or
    evaluate on prepared shards must not import scipy.signal (1.5 s) or scikit-learn (1.7 s) before they need them,
    while the resampling and the detection scores still reach them on first use."""
    probe = (
        "import runpy, sys\n"
        "sys.argv = [sys.argv[1], '--help']\n"
        "try:\n"
        "    runpy.run_path(sys.argv[0], run_name='__main__')\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(sorted(m for m in ('scipy.signal', 'sklearn') if m in sys.modules))\n"
    )
    for name in ("train_stego.py", "train_generator.py", "train_av.py", "attack_av.py", "train_syncnet.py"):
        done = subprocess.run(
            [sys.executable, "-c", probe, str(REPO / "workflow/scripts" / name)],
            capture_output=True, text=True, env=VENV_ENV, cwd=REPO,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-2000:]
        assert done.stdout.strip().splitlines()[-1] == "[]", (name, done.stdout[-300:])
    import numpy as np

    from avsec.io.audio import resample
    from avsec.metrics.detection import auc

    assert resample(np.ones(160, np.int16), 16000, 8000).shape == (80,)
    assert auc(np.array([0.1, 0.9]), np.array([0, 1])) == 1.0
