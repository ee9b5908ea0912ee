"""Paper 4's detection measures on known inputs, and attack → detection → report end to end on tiny shards."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest

from avsec.avdetect.attack_jobs import AttackSettings, attack_corpus
from avsec.avdetect.detect import detect_attacks, roc_table
from avsec.avdetect.report import write_report
from avsec.core.errors import InputError
from avsec.metrics.detection import auc, average_f1, best_threshold
from avsec.metrics.text import wer


def test_wer_counts_word_edits():
    assert wer("bin blue at a zero please", "bin blue at a zero please") == 0
    assert wer("bin blue at a zero please", "bin red at zero please") == pytest.approx(2 / 6)
    assert wer("a b", "a b c d") == 1.0
    assert wer("", "") == 0 and wer("", "x") == 1


def test_detection_scores_on_known_inputs():
    labels = [0, 0, 0, 1, 1, 1]
    assert auc([0.1, 0.2, 0.3, 0.7, 0.8, 0.9], labels) == 1.0
    assert auc([0.1, 0.8, 0.3, 0.7, 0.2, 0.9], labels) == pytest.approx(6 / 9)  # 6 of 9 pairs ordered
    assert np.isnan(auc([0.1, 0.2], [1, 1]))
    threshold = best_threshold([0.1, 0.2, 0.3, 0.7, 0.8, 0.9], labels)
    assert 0.3 < threshold <= 0.7
    assert average_f1([0.1, 0.2, 0.3, 0.7, 0.8, 0.9], labels, threshold) == 1.0
    # everything called adversarial: F1 of the adversarial class 2/3, of the benign class 0
    assert average_f1([0.1, 0.2, 0.3, 0.7, 0.8, 0.9], labels, 0.0) == pytest.approx(1 / 3)


def test_roc_table_has_one_curve_per_setting_and_cw_goal_in_order():
    rows = [
        {"name": "cw_a512_v4_bbaazp", "goal": "partial", "roc": {"fpr": [0.0, 0.0, 1.0], "tpr": [0.0, 0.5, 1.0]}},
        {"name": "cw_a512_v4_bbaazp", "goal": "full", "roc": {"fpr": [0.0, 1.0], "tpr": [0.0, 1.0]}},
        {"name": "fgsm_a256_v4", "roc": {"fpr": [0.0, 0.25, 1 / 3, 1.0], "tpr": [0.0, 0.75, 0.75, 1.0]}},
    ]
    table = list(csv.DictReader(io.StringIO(roc_table(rows))))
    assert list(table[0]) == ["setting", "point", "fpr", "tpr"]
    curves: dict[str, list] = {}
    for line in table:
        curves.setdefault(line["setting"], []).append((int(line["point"]), float(line["fpr"]), float(line["tpr"])))
    assert list(curves) == ["cw_a512_v4_bbaazp/partial", "cw_a512_v4_bbaazp/full", "fgsm_a256_v4"]
    for row, curve in zip(rows, curves.values(), strict=True):  # every point, in order, exactly (1/3 round-trips)
        assert curve == [(i, f, t) for i, (f, t) in enumerate(zip(row["roc"]["fpr"], row["roc"]["tpr"], strict=True))]


# ---- attack → detection → report ---------------------------------------------------------------------------------
def test_attack_detect_report(av, trained, tmp_path):
    out, _, _ = trained
    result = attack_corpus(
        "fgsm", av / "mouths", av / "audio", out / "recogniser.pt", out / "syncnet.pt", tmp_path / "fgsm.json",
        tmp_path / "examples", AttackSettings(eps_audio=[256, 1024], eps_video=[4], examples=1),
    )  # fmt: skip
    assert [s["name"] for s in result["settings"]] == ["fgsm_a1024_v4", "fgsm_a256_v4"]
    test = result["settings"][0]["splits"]["test"]
    assert len(test["confidence"]) == 5 and test["linf_audio_db"][0] < 0
    assert sorted(p.name for p in (tmp_path / "examples").iterdir()) == ["fgsm_a1024_v4_0.mp4", "fgsm_a256_v4_0.mp4"]
    detection = detect_attacks("lrw", [tmp_path / "fgsm.json"], tmp_path / "detection.json", tmp_path / "roc.csv")
    assert (tmp_path / "roc.csv").read_text() == roc_table(detection["settings"])  # the curves dvc plots draws
    row = detection["settings"][0]
    assert 0 <= row["auc"] <= 1 and 0 <= row["f1"] <= 1 and "threshold" in row
    assert row["roc"]["fpr"][0] == 0 and row["roc"]["tpr"][-1] == 1
    with pytest.raises(InputError, match="expected 'grid'"):
        detect_attacks("grid", [tmp_path / "fgsm.json"], tmp_path / "x.json")
    # a report from these results (GRID's: LRW's networks under GRID's name, no attack rows)
    results = tmp_path / "results"
    files: dict[str, list] = {"recogniser": [], "syncnet": [], "detection": []}
    for corpus in ("lrw", "grid"):
        (results / corpus).mkdir(parents=True)
        for kind in ("recogniser", "syncnet"):
            networks = {**json.loads((out / f"{kind}.json").read_text()), "corpus": corpus}
            (results / corpus / f"{kind}.json").write_text(json.dumps(networks))
        rows = detection if corpus == "lrw" else {"corpus": "grid", "benign": None, "settings": []}
        (results / corpus / "detection.json").write_text(json.dumps(rows))
        for kind, paths in files.items():
            paths.append(results / corpus / f"{kind}.json")
    write_report(
        files["recogniser"], files["syncnet"], files["detection"], [tmp_path / "examples"], tmp_path / "report"
    )
    report = (tmp_path / "report" / "report.md").read_text()
    assert "| FGSM (ε_A=1024, ε_V=4) |" in report and "(15.20%)" in report  # ours beside the paper's
    assert (tmp_path / "report" / "figures" / "roc_lrw.png").stat().st_size > 0
    # each table is also an HTML page (what Snakemake's report shows); the example videos are in video/
    pages = sorted(p.name for p in (tmp_path / "report" / "tables").iterdir())
    assert pages == ["networks.html", "table1.html", "table2.html", "table3.html", "table4.html"]
    assert "<td>FGSM (ε_A=1024, ε_V=4)</td>" in (tmp_path / "report" / "tables" / "table1.html").read_text()
    videos = sorted(p.name for p in (tmp_path / "report" / "video").iterdir())
    assert videos == ["fgsm_a1024_v4_0.mp4", "fgsm_a256_v4_0.mp4"] and "(video/fgsm_a256_v4_0.mp4)" in report
