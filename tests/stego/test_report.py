"""Paper 1's report: Tables 2-4 with the paper's numbers beside ours, Figure 3 from the WAV examples."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from avsec.core.config import flags
from avsec.core.errors import InputError
from avsec.io.audio import write_audio
from avsec.stego.names import report_inputs
from avsec.stego.report import PAPER, ROWS, mixing_reference, write_report
from conftest import REPO, SMOKE_DEVIATION_FLAGS, VENV_ENV, smoke_deviations

ROW = {"carrier_mse": 0.001, "secret_mse": 0.002, "carrier_snr_db": 5.0, "secret_snr_db": 1.5}


def evaluation(root, dataset, run, carrier_snr):
    path = root / dataset / run
    (path / "examples").mkdir(parents=True)
    rng = np.random.default_rng(len(run))
    example = {}
    for name in ("carrier", "secret", "stego", "revealed"):
        write_audio(path / "examples" / f"0_{name}.wav", (rng.standard_normal(2048) * 3000).astype(np.int16), 16000)
        example[name] = f"examples/0_{name}.wav"
    analyzer, channel = run.split("_")
    result = {
        "dataset": dataset,
        "run": run,
        "analyzer": analyzer,
        "channel": channel,
        "clips": 16,
        "samples": 2048,
        "stft": {"n_fft": 510, "hop": 128, "win_length": 510, "window": "hann", "center": True},
        "clean": {**ROW, "carrier_snr_db": carrier_snr},
        "noisy": {**ROW, "carrier_snr_db": carrier_snr - 0.5, "noise_db": 60},
        "chance_secret_snr_db": -3.0,
        "seconds_per_clip_hide_reveal": 0.01,
        "examples": [{**example, "rate": 16000}],
    }
    (path / "eval.json").write_text(json.dumps(result))


def security(root, dataset, method, rich, cnn):
    (root / dataset / "security").mkdir(parents=True, exist_ok=True)
    result = {
        "dataset": dataset,
        "method": method,
        "run": "ran_nor" if method == "gan" else None,
        "rich_model_accuracy": rich,
        "cnn_accuracy": cnn,
        "stego_snr_db": 30.0,
        "payload_bits_per_sample": 1.0,
        "carriers": 32,
        "val_clips": 16,
    }
    (root / dataset / "security" / f"{method}.json").write_text(json.dumps(result))


@pytest.fixture
def results(tmp_path):
    root = tmp_path / "stego"
    for run, snr in (("ran_nor", 6.25), ("hpf_nor", 7.5), ("ran_an", 4.0)):
        evaluation(root, "timit", run, snr)
    evaluation(root, "librispeech", "ran_nor", 2.0)
    for dataset in ("timit", "librispeech"):
        for method, (rich, cnn) in {
            "gan": (0.61, 0.72),
            "lsb_matching": (0.93, 0.55),
            "echo_hiding": (0.7, 0.8),
        }.items():
            security(root, dataset, method, rich, cnn)
    return root


def build_report(results, out, runs):
    """The report of ``runs`` from the result files under ``results`` (a copy of results/stego)."""
    files = report_inputs(runs, str(results))
    write_report(files["evaluations"], files["security"], out)


def test_mixing_reference():
    # equal-power mix: carrier SNR 0 dB, the secret comes back at 3 dB; the paper's TIMIT RAN row sits near the line
    assert mixing_reference(0.0) == pytest.approx(3.0103, abs=1e-3)
    assert mixing_reference(6.8479) == pytest.approx(0.8158, abs=1e-3)
    assert np.isnan(mixing_reference(float("nan")))


def test_report_puts_the_papers_numbers_beside_ours(results, tmp_path):
    out = tmp_path / "report"
    build_report(results, out, {"timit": ["ran_nor", "hpf_nor", "ran_an"], "librispeech": "ran_nor"})
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    clips = [f"audio/{d}_ran_nor_{row}.wav" for d in ("librispeech", "timit") for row in sorted(ROWS)]
    assert files == [
        *clips,
        "figures/figure3.png",
        "figures/table4.png",
        "report.md",
        "tables/runs.html",
        "tables/table2.html",
        "tables/table3.html",
        "tables/table4.html",
    ]
    report = (out / "report.md").read_text()
    assert "| TIMIT | RAN | 0.0010 | 0.0001 | 0.0020 | 0.0003 | 6.25 | 6.85 | 1.50 | 0.36 | -3.00 | 0.92 |" in report
    assert "| LibriSpeech | HPF | – | 0.0056 |" in report  # not trained at this scale: blank beside the paper's
    assert "| TIMIT | AN | 0.0010 | 0.0042 | 0.0020 | 0.0002 | 3.50 | 5.96 |" in report
    assert "| TIMIT | GAN steganography (ours) [ran_nor] | 0.6100 | 0.7200 |" in report
    assert "| LibriSpeech | EECS (paper) | 0.7024 | 0.9145 |" in report
    assert len(PAPER["table4"]["timit"]) == 3
    assert "![Figure 3](figures/figure3.png)" in report and "## Table 4" in report
    # the same rows on the tables' HTML pages, which Snakemake's report shows
    table2 = (out / "tables/table2.html").read_text()
    assert "<td>TIMIT</td><td>RAN</td><td>0.0010</td><td>0.0001</td>" in table2 and "<h1>Table 2: MSE" in table2
    assert "<td>EECS (paper)</td><td>0.7024</td>" in (out / "tables/table4.html").read_text()
    section = report[report.index("## Table 4") :]
    section = section[: section.find("\n## ", 1)] if "\n## " in section[1:] else section
    table4 = [line for line in section.splitlines() if line.startswith("| ")]
    assert table4[0].split(" | ")[-2] == "Stego clips"  # the stego clips beside the paper's 5 000
    assert {row.split(" | ")[-2] for row in table4[2:]} == {"32", "5000"}
    assert (out / "figures/figure3.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # Figure 3's clips, copied: the TIMIT column is ran_nor's first example
    copied = (out / "audio/timit_ran_nor_stego.wav").read_bytes()
    assert copied == (results / "timit/ran_nor/examples/0_stego.wav").read_bytes()


def test_report_figures_are_byte_identical_when_rebuilt(results, tmp_path):
    runs = {"timit": ["ran_nor", "hpf_nor", "ran_an"], "librispeech": ["ran_nor"]}
    build_report(results, tmp_path / "a", runs)
    build_report(results, tmp_path / "b", runs)
    for name in ("figures/figure3.png", "figures/table4.png", "report.md", "tables/table2.html"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


def test_a_missing_result_is_one_line_naming_it(results, tmp_path):
    (results / "timit" / "security" / "gan.json").unlink()
    with pytest.raises(InputError, match=r"gan\.json: unreadable results JSON"):
        build_report(results, tmp_path / "report", {"timit": ["ran_nor"]})
    assert not (tmp_path / "report").exists()


def test_the_script_reads_the_files_the_runs_name(results, tmp_path, monkeypatch):
    """Snakemake and DVC both pass the scale's runs; the script reads the files rule report_stego declares for them
    (names.report_inputs), and its report is the report of those files."""
    runs = {"timit": ["ran_nor", "hpf_nor", "ran_an"], "librispeech": ["ran_nor"]}
    (tmp_path / "wd" / "results").mkdir(parents=True)
    (tmp_path / "wd" / "results" / "stego").symlink_to(results)
    monkeypatch.chdir(tmp_path / "wd")
    files = report_inputs(runs)
    write_report(files["evaluations"], files["security"], tmp_path / "a", smoke_deviations("stego"))
    script = [sys.executable, str(REPO / "workflow/scripts/report_stego.py")]
    done = subprocess.run(
        [
            *script,
            *flags(runs).split(),
            "--out",
            str(tmp_path / "b"),
            *SMOKE_DEVIATION_FLAGS,
        ],
        capture_output=True,
        text=True,
        env=VENV_ENV,
    )
    assert done.returncode == 0, done.stderr
    for name in ("report.md", "tables/runs.html", "tables/table4.html", "figures/figure3.png", "figures/table4.png"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
