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
        "train_clips": None if run == "ran_an" else 48,  # ran_an: a checkpoint from before the count was kept
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
        "train_clips": 32,
        "val_clips": 32,
    }
    (root / dataset / "security" / f"{method}.json").write_text(json.dumps(result))


# Known manifests: TIMIT's utterance a has three chained overlapping rows, b two abutting (not overlapping) ones.
MANIFESTS = {
    "timit": [
        ("train", "a.wav", 0),
        ("train", "a.wav", 16320),
        ("train", "a.wav", 40000),
        ("test", "b.wav", 0),
        ("test", "b.wav", 32640),
        ("train", "c.wav", 0),
    ],
    "librispeech": [("train", f"{k}.flac", 0) for k in range(5)] + [("test", "5.flac", 0)],
}


def manifest(root, dataset, rows):
    """A prepared directory's manifest.tsv with ``rows`` (split, source, offset), 32640-sample rows."""
    (root / dataset).mkdir(parents=True)
    lines = ["row\tshard\tindex\tsplit\tlabel\tsource\toffset\tlength"]
    lines += [f"{i}\t0\t{i}\t{split}\tSPK\t{source}\t{offset}\t32640" for i, (split, source, offset) in enumerate(rows)]
    (root / dataset / "manifest.tsv").write_text("\n".join(lines) + "\n")


@pytest.fixture
def results(tmp_path):
    for dataset, rows in MANIFESTS.items():
        manifest(tmp_path / "prep", dataset, rows)
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
    files = report_inputs(runs, str(results), str(results.parent / "prep"))
    write_report(files["evaluations"], files["security"], out, prep=files["prep"])


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
        "tables/data.html",
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


def test_report_states_the_clips_used_beside_the_papers(results, tmp_path):
    """Every count from the known manifests and JSON, beside the paper's 10 000 (7 500 / 2 500) and 5 000."""
    out = tmp_path / "report"
    build_report(results, out, {"timit": ["ran_nor", "ran_an"], "librispeech": "ran_nor"})
    report = (out / "report.md").read_text()
    where = "results/prep/timit/manifest.tsv"
    for row in (
        f"| TIMIT | prepared segments | 6 | 10000 | {where} |",
        f"| TIMIT | train split | 4 | 7500 | {where} |",
        f"| TIMIT | test split (the paper's validation set) | 2 | 2500 | {where} |",
        f"| TIMIT | source utterances | 3 | – | {where} |",
        f"| TIMIT | rows overlapping another of their utterance | 3 | – | {where} |",  # a's three; b's abut
        "| TIMIT | training clips, run ran_nor | 48 | 7500 | results/stego/timit/ran_nor/eval.json |",
        "| TIMIT | evaluation clips, run ran_nor | 16 | 2500 | results/stego/timit/ran_nor/eval.json |",
        "| TIMIT | training clips, run ran_an | – | 7500 | results/stego/timit/ran_an/eval.json |",  # not recorded
        "| TIMIT | stego clips, GAN steganography (ours) | 32 | 5000 | results/stego/timit/security/gan.json |",
        "| TIMIT | steganalyzer training / validation clips, gan | 32 / 32 | 5000 / 5000 | results/stego/timit/",
        "| LibriSpeech | prepared segments | 6 | 10000 | results/prep/librispeech/manifest.tsv |",
        "| LibriSpeech | train split | 5 | 7500 | results/prep/librispeech/manifest.tsv |",
        "| LibriSpeech | rows overlapping another of their utterance | 0 | – | results/prep/librispeech/manifest.tsv |",
    ):
        assert row in report, row
    assert "TIMIT: 6 prepared clips, 4 train and 2 test (the paper: 10000, 7500 and 2500)" in report
    assert report.index("## Clips used") < report.index("## Table 2")
    assert "<td>TIMIT</td><td>prepared segments</td><td>6</td><td>10000</td>" in (out / "tables/data.html").read_text()


def test_a_malformed_manifest_is_one_line_naming_it(results, tmp_path):
    path = results.parent / "prep" / "timit" / "manifest.tsv"
    path.write_text("row\tsplit\n0\ttrain\n")  # no source, offset, length
    with pytest.raises(InputError, match=r"timit/manifest\.tsv: unreadable prepared manifest"):
        build_report(results, tmp_path / "report", {"timit": ["ran_nor"]})
    assert not (tmp_path / "report").exists()


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
    (tmp_path / "wd" / "results" / "prep").symlink_to(results.parent / "prep")
    monkeypatch.chdir(tmp_path / "wd")
    files = report_inputs(runs)
    write_report(files["evaluations"], files["security"], tmp_path / "a", smoke_deviations("stego"), files["prep"])
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
    for name in ("report.md", "tables/data.html", "tables/runs.html", "tables/table4.html", "figures/figure3.png"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
