"""Paper 2's report from small fake JSON inputs: files, success matrix, Tables 1/2, figures, atomicity."""

from __future__ import annotations

import copy
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from matplotlib.image import imread

from avsec.advgan.names import report_inputs
from avsec.advgan.report import (
    PAPER,
    _Victim,
    cell_matrix,
    error_rates,
    error_summary,
    figure6_section,
    pick_example,
    report_from_files,
    write_report,
)
from avsec.core.errors import InputError
from avsec.io.audio import read_audio, write_audio
from avsec.report.tables import heatmap, markdown_table
from conftest import REPO, SMOKE_DEVIATION_FLAGS, smoke_deviations

WORDS = ["yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go"]
GENRES = ["blues", "reggae", "rock"]  # a smoke subset: most of the paper's GTZAN columns are absent
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _eval(victim, generator, source, target, per_source, **extra):
    values = list(per_source.values())
    return {
        "victim": victim,
        "generator": generator,
        "source": source,
        "target": target,
        "per_source": per_source,
        "success": float(np.mean([v["success"] for v in values])),
        "snr_db": float(np.mean([v["snr_db"] for v in values])),
        "pesq": extra.pop("pesq", 3.0),
        "pesq_nb": extra.pop("pesq_nb", 2.5),
        "seconds_per_clip_batched": 0.0005,
        "seconds_per_clip_batch1": 0.004,
        "batch": 64,
        "device": "cpu",
        "examples": [],
        "path": "unused",
        **extra,
    }


def _inputs(root: Path):
    """Victim, evaluation and baseline dicts as the workflow writes them, plus one example's WAV pair."""
    victims = [
        {
            "victim": "wideresnet",
            "corpus": "speech_commands",
            "labels": WORDS,
            "accuracy": 0.93,
            "per_class": {w: 0.9 for w in WORDS},
            "test_clips": 123,
            "rate": 16000,
        },
        {
            "victim": "samplecnn",
            "corpus": "gtzan",
            "labels": GENRES,
            "accuracy": 0.5,
            "per_class": {g: 0.5 for g in GENRES},
            "test_clips": 30,
            "rate": 16384,
        },
    ]
    go_dir = root / "results/advgan/wideresnet/all_to_go"
    t = np.arange(16000) / 16000
    clean = (8000 * np.sin(2 * np.pi * 220 * t) * np.sin(np.pi * t)).astype(np.int16)
    adversarial = (clean + 200 * np.sign(np.sin(2 * np.pi * 3 * t))).astype(np.int16)
    write_audio(go_dir / "examples/on_0_clean.wav", clean, 16000)
    write_audio(go_dir / "examples/on_0_adv.wav", adversarial, 16000)
    example = {
        "source": "on",
        "clean": "examples/on_0_clean.wav",
        "adversarial": "examples/on_0_adv.wav",
        "predicted": "go",
        "rate": 16000,
    }
    per_source_go = {  # the per-target generator also scored the target's own clips: the diagonal stays blank
        "yes": {"clips": 10, "success": 0.9, "snr_db": 20.0, "pesq": 3.0},
        "on": {"clips": 10, "success": 0.95, "snr_db": 22.0, "pesq": None},
        "stop": {"clips": 10, "success": 0.7, "snr_db": 18.0, "pesq": 2.0},
        "go": {"clips": 10, "success": 1.0, "snr_db": 30.0, "pesq": 4.0},
    }
    evaluations = [
        _eval("wideresnet", "yes_to_no", "yes", "no", {"yes": {"clips": 8, "success": 0.8, "snr_db": 25.0}}),
        _eval("wideresnet", "all_to_go", "all", "go", per_source_go, examples=[example], path=str(go_dir)),
        _eval("wideresnet", "stop_to_go", "stop", "go", {"stop": {"clips": 5, "success": 0.6, "snr_db": 16.0}}),
        _eval(
            "samplecnn", "blues_to_reggae", "blues", "reggae", {"blues": {"clips": 4, "success": 0.5, "snr_db": 27.0}}
        ),
    ]
    evaluations[1]["pesq"] = float("nan")
    baselines = [
        {
            "victim": "wideresnet",
            "method": method,
            "clips": [
                {"index": 0, "source": "yes", "target": "no", "success": True, "snr_db": 15.2, "seconds": seconds},
                {"index": 1, "source": "on", "target": "go", "success": False, "snr_db": 14.8, "seconds": seconds},
            ],
            "success": 0.5,
            "snr_db": 15.0,
            "seconds_per_clip": seconds,
            "settings": {},
        }
        for method, seconds in (("genetic", 12.5), ("pso", 20.0))
    ]
    return victims, evaluations, baselines


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    root = tmp_path_factory.mktemp("advgan")
    victims, evaluations, baselines = _inputs(root)
    out = root / "results/report/advgan"
    write_report(out, victims, evaluations, baselines)
    return out, (victims, evaluations, baselines)


def _read_tsv(path: Path) -> tuple[list[str], dict[str, dict[str, str]]]:
    header, *rows = [line.split("\t") for line in path.read_text().splitlines()]
    return header[1:], {row[0]: dict(zip(header[1:], row[1:], strict=True)) for row in rows}


def _section(out: Path, heading: str) -> str:
    """The Markdown of one section of report.md: from ``heading`` to the next ``## `` heading."""
    page = (out / "report.md").read_text()
    start = page.index(heading)
    end = page.find("\n## ", start + 1)
    return page[start : end if end >= 0 else None]


def test_report_writes_every_file(report):
    out, _ = report
    names = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    expected = {"tables/table1.html", "tables/table2.html", "tables/victims.html", "report.md", "figures/figure7.png"}
    expected |= {"tables/figure6.html", "figures/figure6.png"}
    expected |= {"audio/figure7_original.wav", "audio/figure7_adversarial.wav"}
    expected |= {f"tables/success_{v}.tsv" for v in ("wideresnet", "samplecnn")}
    expected |= {f"figures/success_{v}.png" for v in ("wideresnet", "samplecnn")}
    assert names == expected
    clips = out.parents[1] / "advgan/wideresnet/all_to_go/examples"  # Figure 7's example, copied
    assert (out / "audio/figure7_original.wav").read_bytes() == (clips / "on_0_clean.wav").read_bytes()
    assert (out / "audio/figure7_adversarial.wav").read_bytes() == (clips / "on_0_adv.wav").read_bytes()
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")]  # no temporary left


def test_success_matrix_has_a_blank_diagonal_and_the_generators_cells(report):
    out, _ = report
    columns, rows = _read_tsv(out / "tables/success_wideresnet.tsv")
    assert columns == WORDS and list(rows) == WORDS
    assert all(rows[w][w] == "" for w in WORDS)  # including go→go, which the per-target generator scored
    assert float(rows["yes"]["no"]) == pytest.approx(0.8)  # per pair
    assert float(rows["yes"]["go"]) == pytest.approx(0.9)  # per target
    assert float(rows["on"]["go"]) == pytest.approx(0.95)
    assert float(rows["stop"]["go"]) == pytest.approx(0.6)  # the per-pair generator wins over the per-target one
    filled = {(s, t) for s in WORDS for t in WORDS if rows[s][t]}
    assert filled == {("yes", "no"), ("yes", "go"), ("on", "go"), ("stop", "go")}
    columns, rows = _read_tsv(out / "tables/success_samplecnn.tsv")
    assert columns == GENRES and float(rows["blues"]["reggae"]) == pytest.approx(0.5)


def test_cell_matrix_other_keys():
    snr = cell_matrix(WORDS, _fake_evaluations(), "snr_db")
    assert snr[WORDS.index("yes"), WORDS.index("no")] == 25.0
    assert snr[WORDS.index("on"), WORDS.index("go")] == 22.0
    assert np.isnan(snr[WORDS.index("go"), WORDS.index("go")])
    assert np.isfinite(snr).sum() == 4


def _fake_evaluations():
    per_source = {
        "yes": {"clips": 10, "success": 0.9, "snr_db": 20.0},
        "on": {"clips": 10, "success": 0.95, "snr_db": 22.0},
        "stop": {"clips": 10, "success": 0.7, "snr_db": 18.0},
        "go": {"clips": 10, "success": 1.0, "snr_db": 30.0},
    }
    return [
        _eval("wideresnet", "yes_to_no", "yes", "no", {"yes": {"clips": 8, "success": 0.8, "snr_db": 25.0}}),
        _eval("wideresnet", "all_to_go", "all", "go", per_source),
        _eval("wideresnet", "stop_to_go", "stop", "go", {"stop": {"clips": 5, "success": 0.6, "snr_db": 16.0}}),
    ]


def test_table1_has_the_papers_numbers_and_ours(report):
    out, _ = report
    text = _section(out, "## Table 1")
    for number in ("92.33%", "20.27", "0.009", "84.96%", "15.72", "231.46", "89.25%", "17.57", "368.29"):
        assert number in text
    for number in ("90.58%", "26.92", "0.01", "82.76%", "14.15", "215.36", "89.10%", "15.39", "452.21"):
        assert number in text
    ours = next(line for line in text.splitlines() if line.startswith("| SpeechAdvGan generator (ours)"))
    assert f"{100 * np.mean([0.8, 0.9, 0.95, 0.6]):.2f}%" in ours  # the mean over the filled cells
    assert f"{np.mean([25.0, 20.0, 22.0, 16.0]):.2f}" in ours
    assert "0.0005 (batch 64)" in ours and "0.004 (batch 1)" in ours
    assert ours.endswith("| 33 |")  # test clips in the filled cells: 8 + 10 + 10 + 5
    ga = next(line for line in text.splitlines() if line.startswith("| Alzantot et al. GA (ours)"))
    assert "50.00%" in ga and "15.00" in ga and "12.50" in ga
    assert "25,000× (batched)" in ga and "3,125× (batch 1)" in ga  # 12.5 / 0.0005 and 12.5 / 0.004
    assert "SirenAttack-style PSO (ours)" in text and "40,000× (batched)" in text
    assert "25,718×" in text  # the paper's own 231.46 / 0.009
    page = (out / "tables/table1.html").read_text()  # what Snakemake's report shows: the same rows as HTML
    assert "<h1>Table 1: success rate, SNR and time per example</h1>" in page
    assert "<td>Alzantot et al. GA (ours)</td><td>50.00%</td><td>15.00</td><td>12.50</td>" in page
    assert "<p>WideResNet on speech_commands:</p>" in page


def test_table2_per_target_beside_the_paper(report):
    out, _ = report
    text = _section(out, "## Table 2")
    row = {line.split(" | ")[0].lstrip("| "): line for line in text.splitlines() if line.startswith("| ")}
    assert "| 22.02 |" in row["go"] and "| 3.060 |" in row["go"]  # the paper's values for "go"
    assert f"| {np.mean([22.5, 16.0]):.2f} |" in row["go"]  # all_to_go (overall 22.5) and stop_to_go
    assert "| 19.40 |" in row["on"]  # the paper prints 19.4
    assert row["up"].count("–") == 3  # no generator targets "up": our SNR and both PESQs are blank
    cells = [cell.strip() for cell in row["go"].split("|")[1:-1]]
    # narrow-band ours beside the paper's (its scale), then wide-band: all_to_go's WB is NaN, stop_to_go's 3.0
    assert cells[3:6] == ["2.500", "3.060", "3.000"]
    assert "reggae (paper: reggage)" in text and "24.12" in text and "3.896" in text
    assert "20.27" in text and "3.087" in text and "26.92" in text and "3.947" in text  # the paper's averages
    blues_row = next(line for line in text.splitlines() if line.startswith("| blues"))
    assert "26.91" in blues_row and "3.840" in blues_row


def test_victims_and_report_page(report):
    out, _ = report
    victims = _section(out, "## Victim accuracy")
    assert "96.03%" in victims and "92.90%" in victims and "93.00%" in victims
    page = (out / "report.md").read_text()
    links = ("(figures/figure7.png)", "(figures/success_wideresnet.png)", "(tables/success_samplecnn.tsv)")
    for link in (*links, "(tables/table1.html)", "(audio/figure7_adversarial.wav)"):
        assert link in page
    assert "92.33%" in page and "reggage" in page  # the tables are inline
    assert "1 per target (all_to_go)" in page and "4 of 90 matrix cells filled" in page


def test_pngs_are_real_images(report):
    out, _ = report
    for name in ("figure7.png", "success_wideresnet.png", "success_samplecnn.png"):
        assert (out / "figures" / name).read_bytes()[:8] == PNG_MAGIC
        image = imread(out / "figures" / name)
        assert image.ndim == 3 and image.shape[0] > 100 and image.shape[1] > 100
    wide = imread(out / "figures/figure7.png")
    assert wide.shape[1] > 3 * wide.shape[0]  # six panels in one row, as in the paper


def test_pick_example_prefers_on_to_go_else_the_first():
    evaluations = _fake_evaluations()
    assert pick_example(evaluations) is None
    first = {"source": "yes", "clean": "a.wav", "adversarial": "b.wav"}
    on = {"source": "on", "clean": "c.wav", "adversarial": "d.wav"}
    evaluations[0]["examples"] = [first]
    evaluations[1]["examples"] = [{"source": "yes", "clean": "e.wav", "adversarial": "f.wav"}, on]
    assert pick_example(evaluations) == (evaluations[1], on)
    evaluations[1]["victim"] = "samplecnn"
    assert pick_example(evaluations) == (evaluations[0], first)


def _genetic(root: Path, evaluation: dict, example: dict, **extra) -> dict:
    """Rule attack_figure7's record and WAV under ``root``: the example's clean clip plus ±200 every 97th sample."""
    clean, rate = read_audio(Path(evaluation["path"]) / example["clean"])
    adversarial = clean.copy()
    adversarial[::97] += np.where(np.arange(adversarial[::97].size) % 2, 200, -200).astype(np.int16)
    folder = root / "results/advgan/figure7"
    write_audio(folder / "genetic.wav", adversarial, rate)
    return {
        "victim": evaluation["victim"],
        "generator": evaluation["generator"],
        "method": "genetic",
        "source": example["source"],
        "target": evaluation["target"],
        "success": False,
        "predicted": example["source"],
        "snr_db": 33.3,
        "queries": 800,
        "iterations": 40,
        "seconds": 3.25,
        "clean": str(Path(evaluation["path"]) / example["clean"]),
        "adversarial": "genetic.wav",
        "path": str(folder),
        **extra,
    }


def test_figure7_has_the_genetic_row_on_the_genetic_attacks_clip(tmp_path):
    """With rule attack_figure7's record, Figure 7 shows the clip it attacked (here not the one pick_example would
    take), a second row for the genetic attack labelled a failure, and the report copies the GA's WAV."""
    victims, evaluations, baselines = _inputs(tmp_path)
    yes_dir = tmp_path / "results/advgan/wideresnet/yes_to_no"
    t = np.arange(16000) / 16000
    write_audio(yes_dir / "examples/yes_0_clean.wav", (6000 * np.sin(2 * np.pi * 330 * t)).astype(np.int16), 16000)
    write_audio(yes_dir / "examples/yes_0_adv.wav", (6000 * np.sin(2 * np.pi * 331 * t)).astype(np.int16), 16000)
    example = {"source": "yes", "clean": "examples/yes_0_clean.wav", "adversarial": "examples/yes_0_adv.wav",
               "predicted": "no", "rate": 16000}  # fmt: skip
    evaluations[0].update(examples=[example], path=str(yes_dir))
    genetic = _genetic(tmp_path, evaluations[0], example)
    write_report(tmp_path / "one", victims, evaluations, baselines)
    write_report(tmp_path / "two", victims, evaluations, baselines, figure7=genetic)
    one, two = _contents(tmp_path / "one"), _contents(tmp_path / "two")
    assert set(two) - set(one) == {"audio/figure7_genetic.wav"}
    assert two["audio/figure7_genetic.wav"] == (tmp_path / "results/advgan/figure7/genetic.wav").read_bytes()
    assert two["audio/figure7_original.wav"] == (yes_dir / "examples/yes_0_clean.wav").read_bytes()
    assert two["audio/figure7_adversarial.wav"] == (yes_dir / "examples/yes_0_adv.wav").read_bytes()
    assert one["audio/figure7_original.wav"] != two["audio/figure7_original.wav"]  # without it: "on" -> "go"
    single, double = imread(tmp_path / "one/figures/figure7.png"), imread(tmp_path / "two/figures/figure7.png")
    assert double.shape[0] > 1.7 * single.shape[0]  # a second row of panels
    assert abs(double.shape[1] - single.shape[1]) < 0.1 * single.shape[1]  # of the same six panels
    figure = _section(tmp_path / "two", "## Figure 7")
    assert "(audio/figure7_genetic.wav)" in figure and "failure" in figure and "800 queries" in figure
    assert "yes_to_no/examples/yes_0_clean.wav" in figure
    assert "figure7_genetic.wav" not in _section(tmp_path / "one", "## Figure 7")


def test_figure7_genetic_record_must_match_an_example(tmp_path):
    victims, evaluations, baselines = _inputs(tmp_path)
    genetic = _genetic(tmp_path, evaluations[1], evaluations[1]["examples"][0])
    with pytest.raises(InputError, match="no evaluation of wideresnet/stop_to_go has as an example"):
        write_report(
            tmp_path / "report", victims, evaluations, baselines, figure7={**genetic, "generator": "stop_to_go"}
        )
    write_audio(tmp_path / "results/advgan/figure7/genetic.wav", np.zeros(8000, np.int16), 16000)
    with pytest.raises(InputError, match=r"genetic.wav: 8000 samples, Figure 7's clip has 16000"):
        write_report(tmp_path / "report", victims, evaluations, baselines, figure7=genetic)
    assert not (tmp_path / "report").exists()


def test_a_failure_mid_write_leaves_no_out_dir(tmp_path):
    victims, evaluations, baselines = _inputs(tmp_path)
    broken = copy.deepcopy(evaluations)
    broken[1]["examples"][0]["adversarial"] = "examples/missing.wav"
    out = tmp_path / "report"
    with pytest.raises(InputError, match="missing.wav"):
        write_report(out, victims, broken, baselines)
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
    (out / "old").mkdir(parents=True)  # an earlier report stays as it was
    with pytest.raises(InputError):
        write_report(out, victims, broken, baselines)
    assert [p.name for p in out.iterdir()] == ["old"]


# ---- from the files the workflow writes ------------------------------------------------------------------------
GENERATORS = {"wideresnet": ["yes_to_no", "all_to_go", "stop_to_go"], "samplecnn": ["blues_to_reggae"]}


def _write_results(root: Path) -> tuple[list, list, list]:
    """``_inputs`` as the workflow's files under ``root``/results/advgan (the baselines for both victims); returns
    the dicts as the report receives them."""
    victims, evaluations, baselines = _inputs(root)
    baselines += [{**baseline, "victim": "samplecnn"} for baseline in baselines]
    files = report_inputs(GENERATORS)
    for file, victim in zip(files["victims"], victims, strict=True):
        _write_json(root / file, victim)
    for file, evaluation in zip(files["evaluations"], evaluations, strict=True):
        _write_json(root / file, {k: v for k, v in evaluation.items() if k != "path"})
    for file, baseline in zip(files["baselines"], baselines, strict=True):
        _write_json(root / file, baseline)
    return victims, evaluations, baselines


def _write_json(path: Path, value: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value, indent=2) + "\n")


def _contents(directory: Path) -> dict[str, bytes]:
    return {p.relative_to(directory).as_posix(): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


def test_report_from_files_is_the_report_of_their_contents(tmp_path):
    """Each evaluation's folder, where its examples are, is the folder of its eval.json."""
    victims, evaluations, baselines = _write_results(tmp_path)
    files = {key: [tmp_path / f for f in paths] for key, paths in report_inputs(GENERATORS).items()}
    report_from_files(tmp_path / "from_files", files["victims"], files["evaluations"], files["baselines"])
    for evaluation, file in zip(evaluations, files["evaluations"], strict=True):
        evaluation["path"] = str(file.parent)
    write_report(tmp_path / "from_dicts", victims, evaluations, baselines)
    assert _contents(tmp_path / "from_files") == _contents(tmp_path / "from_dicts")
    assert "all_to_go/examples/on_0_clean.wav" in (tmp_path / "from_files/report.md").read_text()


def test_report_from_files_names_an_unreadable_file(tmp_path):
    _write_results(tmp_path)
    files = {key: [tmp_path / f for f in paths] for key, paths in report_inputs(GENERATORS).items()}
    files["baselines"][-1].write_text("{")
    with pytest.raises(InputError, match=r"samplecnn/baselines/pso.json: unreadable results JSON"):
        report_from_files(tmp_path / "report", files["victims"], files["evaluations"], files["baselines"])
    assert not (tmp_path / "report").exists()


def test_script_reads_the_files_the_generators_name(tmp_path, monkeypatch):
    """Snakemake and DVC both pass the scale's generators; the script reads the files rule report_advgan declares
    for them (names.report_inputs), and its report is the report of those files."""
    _, evaluations, _ = _write_results(tmp_path)
    genetic = _genetic(tmp_path, evaluations[1], evaluations[1]["examples"][0])
    _write_json(tmp_path / "results/advgan/figure7/genetic.json", {k: v for k, v in genetic.items() if k != "path"})
    monkeypatch.chdir(tmp_path)
    files = report_inputs(GENERATORS)
    report_from_files(
        tmp_path / "from_files",
        files["victims"],
        files["evaluations"],
        files["baselines"],
        smoke_deviations("advgan"),
        "results/advgan/figure7/genetic.json",
    )
    script = [sys.executable, str(REPO / "workflow/scripts/report_advgan.py")]
    command = [*script, *(flag for victim, names in GENERATORS.items() for flag in (f"--{victim}", *names))]
    done = subprocess.run(
        [
            *command,
            "--out",
            "script",
            "--figure7",
            "results/advgan/figure7/genetic.json",
            *SMOKE_DEVIATION_FLAGS,
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert _contents(tmp_path / "script") == _contents(tmp_path / "from_files")
    assert "results/advgan/wideresnet/all_to_go/examples/on_0_adv.wav" in (tmp_path / "script/report.md").read_text()
    assert "audio/figure7_genetic.wav" in _contents(tmp_path / "script")


def test_paper_constant_matches_the_paper():
    table2 = PAPER["table2"]
    for victim, average in (("wideresnet", (20.27, 3.087)), ("samplecnn", (26.92, 3.947))):
        assert table2[victim]["average"] == average
        assert len(table2[victim]["snr_db"]) == len(table2[victim]["pesq"]) == 10
        # the printed averages are the means of the printed values, to rounding
        assert np.mean(table2[victim]["snr_db"]) == pytest.approx(average[0], abs=0.01)
        assert np.mean(table2[victim]["pesq"]) == pytest.approx(average[1], abs=0.001)
    assert PAPER["table1"]["wideresnet"]["proposed"] == (0.9233, 20.27, 0.009)
    assert PAPER["table1"]["samplecnn"]["pso"] == (0.8910, 15.39, 452.21)
    assert PAPER["victims"]["wideresnet"]["accuracy"] == 0.9603 and PAPER["victims"]["samplecnn"]["accuracy"] == 0.929


def test_markdown_table_and_heatmap(tmp_path):
    table = markdown_table(["a", "b|c", "d"], [["x", 1.23456, None], ["y", float("nan"), 3]])
    assert table.splitlines() == ["| a | b\\|c | d |", "|---|---|---|", "| x | 1.23 | – |", "| y | – | 3 |"]
    with pytest.raises(ValueError):
        markdown_table(["a"], [[1, 2]])
    matrix = np.array([[math.nan, 0.5], [1.0, math.nan]])
    path = heatmap(matrix, ["r1", "r2"], ["c1", "c2"], tmp_path / "h.png", "title")
    assert path.read_bytes()[:8] == PNG_MAGIC
    assert [p.name for p in tmp_path.iterdir()] == ["h.png"]


def test_figure6_summarises_the_error_rates_of_the_filled_cells_with_the_papers_beside():
    """Figure 6: 1 − success of each filled cell, in %; mean, std, range and the box plot's outliers (beyond 1.5 IQR)
    of known values; the section puts the paper's numbers beside ours."""
    matrix = np.full((4, 4), np.nan)
    matrix[0, 1:] = [0.9, 0.92, 0.94]
    matrix[1, [0, 2, 3]] = [0.91, 0.93, 0.3]  # one cell far below: an outlier of the error rates
    errors = error_rates(matrix)
    assert sorted(np.round(errors, 6)) == [6.0, 7.0, 8.0, 9.0, 10.0, 70.0]
    summary = error_summary(errors)
    assert summary["cells"] == 6 and summary["outliers"] == 1
    assert summary["low"] == pytest.approx(6.0) and summary["high"] == pytest.approx(70.0)
    assert summary["mean"] == pytest.approx(np.mean([6, 7, 8, 9, 10, 70]))
    assert error_summary(errors[errors < 50])["outliers"] == 0
    labels = ["yes", "no", "up", "down"]
    evaluations = [
        {"victim": "wideresnet", "generator": f"all_to_{t}", "source": "all", "target": t,
         "per_source": {s: {"success": float(matrix[labels.index(s), j])} for s in labels if s != t}}
        for j, t in enumerate(labels) if j == 1
    ]  # fmt: skip
    section = figure6_section([_Victim("wideresnet", labels, evaluations=evaluations)])
    ours = error_summary(error_rates(cell_matrix(labels, evaluations)))
    assert f"{ours['mean']:.2f} ± {ours['std']:.2f}" in section
    assert "7.67 ± 3.90" in section and "6 of 90" in section  # the paper's WideResNet numbers
