"""Paper 4's detector and its measures (§5.2, rule detect_av): every clip is scored by its SyncNet confidence,
adversarial clips being the positive class and −confidence the score; the AUC is measured on the test clips,
and the average F1 of the two classes on test at the threshold that maximises it on the validation clips.

Every attacked clip counts, successful or not; the benign clips are the same validation and test clips
unattacked (their scores are in each attack JSON's ``benign``).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from avsec.core.errors import InputError
from avsec.io.atomic import write_text
from avsec.metrics.detection import auc, average_f1, best_threshold, roc


def detection_measures(benign: dict, adversarial: dict) -> dict:
    """The paper's measures for one attack setting: AUC on test of −confidence (adversarial = positive), the
    threshold maximising the average F1 on validation, and the average F1 it gives on test."""
    out: dict = {}
    if "val" in benign and "val" in adversarial:
        s = [-c for c in benign["val"]["confidence"] + adversarial["val"]["confidence"]]
        y = [0] * len(benign["val"]["confidence"]) + [1] * len(adversarial["val"]["confidence"])
        out["threshold"] = -best_threshold(s, y)  # on the confidence: below it is called adversarial
        out["val_f1"] = average_f1(s, y, -out["threshold"])
    s = [-c for c in benign["test"]["confidence"] + adversarial["test"]["confidence"]]
    y = [0] * len(benign["test"]["confidence"]) + [1] * len(adversarial["test"]["confidence"])
    out["auc"] = auc(s, y)
    out["f1"] = average_f1(s, y, -out["threshold"]) if "threshold" in out else None
    fpr, tpr = roc(s, y)
    out["roc"] = {"fpr": fpr.tolist(), "tpr": tpr.tolist()}
    out["benign_confidence"] = benign["test"]["confidence"]
    out["adversarial_confidence"] = adversarial["test"]["confidence"]
    return out


def _mean(values) -> float | None:
    values = [v for v in values if v is not None and math.isfinite(v)]
    return float(np.mean(values)) if values else None


def detect_attacks(corpus: str, attacks: list[str | Path], out: str | Path, roc_csv: str | Path | None = None) -> dict:
    """Detection measures of every attack setting of a corpus from the attack JSONs; one row per setting (and
    per goal, partial / full, for C&W) with the attack's success and distortion beside them. ``roc_csv``, when
    given, receives the ROC curves for ``dvc plots`` (:func:`roc_table`)."""
    rows = []
    for path in attacks:
        path = Path(path)
        if not path.is_file():
            raise InputError(path, "attack results not found")
        try:
            result = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise InputError(path, f"not valid JSON ({exc.msg})") from None
        if result.get("corpus") != corpus:
            raise InputError(path, f"attack results of {result.get('corpus')!r}, expected {corpus!r}")
        benign = result["benign"]
        for entry in result["settings"]:
            base = {k: entry[k] for k in ("name", "eps_audio", "eps_video", "target", "iterations") if k in entry}
            base.update(method=result["method"], attack_seconds=entry["attack_seconds"])
            goals = ("partial", "full") if result["method"] == "cw" else (None,)
            for goal in goals:
                adv = {s: (v[goal] if goal else v) for s, v in entry["splits"].items()}
                test = adv["test"]
                row = {**base, "goal": goal} if goal else dict(base)
                if goal:
                    limit = 0.0 if goal == "full" else 0.5
                    row["success"] = float(np.mean([w <= limit for w in test["wer"]]))
                    row["wer"] = float(np.mean(test["wer"]))
                else:
                    row["accuracy"] = test["accuracy"]
                for key in ("l2_video", "linf_video", "linf_video_pixels", "linf_audio_db"):
                    row[key] = _mean(test[key])
                row.update(detection_measures(benign, adv))
                rows.append(row)
    benign_acc = None
    if rows:
        first = json.loads(Path(attacks[0]).read_text(encoding="utf-8"))["benign"]["test"]
        benign_acc = {k: first[k] for k in ("accuracy", "wer") if k in first}
    result = {"corpus": corpus, "benign": benign_acc, "settings": rows}
    if roc_csv is not None:
        write_text(roc_csv, roc_table(rows))
    write_text(out, json.dumps(result, indent=1) + "\n")
    return result


def roc_table(rows: list[dict]) -> str:
    """The ROC curves of ``rows`` (detect_attacks's) as CSV: ``setting`` (its name, ``/<goal>`` for C&W's two
    goals), ``point`` (the curve's order), ``fpr``, ``tpr``."""
    lines = ["setting,point,fpr,tpr"]
    for row in rows:
        setting = f"{row['name']}/{row['goal']}" if row.get("goal") else row["name"]
        for point, (fpr, tpr) in enumerate(zip(row["roc"]["fpr"], row["roc"]["tpr"], strict=True)):
            lines.append(f"{setting},{point},{fpr!r},{tpr!r}")
    return "\n".join(lines) + "\n"
