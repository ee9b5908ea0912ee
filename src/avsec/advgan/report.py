"""The report of paper 2 (SpeechAdvGan): success matrices (Figures 4/5), Tables 1 and 2, victim accuracy and a
Figure 7-style example, ours beside the paper's numbers.

Inputs are the JSON files the workflow writes: one per victim, one per evaluated generator, one per baseline
attack, and the genetic baseline's attack on Figure 7's clip (its bottom row). :func:`report_from_files` reads
them (rule report_advgan; avsec.advgan.names.report_inputs lists them for a scale) and hands them to
:func:`write_report`, each evaluation with ``"path"``, the directory of its eval.json, where its example clips are.
A generator is trained per (source, target) pair (``source`` is a label: one matrix cell) or per target
(``source == "all"``: its ``per_source`` fills the target's column).
"""

from __future__ import annotations

import json
import math
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy.signal import spectrogram

from avsec.advgan.ablation import report_section
from avsec.advgan.names import FIGURE7
from avsec.core.errors import InputError
from avsec.io.atomic import atomic_path
from avsec.io.audio import INT16_SCALE, read_audio
from avsec.metrics.audio import snr_db
from avsec.report.deviations import with_deviations
from avsec.report.folder import report_file, write_table_page
from avsec.report.tables import BLANK, heatmap, markdown_table, new_figure, save_figure

# The paper's numbers (Wang et al., IEEE Access 8, 2020): victim accuracy (section V-B), Table 1 (success rate,
# SNR in dB, seconds per example) and Table 2 (SNR in dB and PESQ per target label, labels as printed).
PAPER: dict[str, Any] = {
    "victims": {
        "wideresnet": {"name": "WideResNet", "corpus": "SpeechCmd", "accuracy": 0.9603},
        "samplecnn": {"name": "SampleCNN", "corpus": "GTZAN", "accuracy": 0.9290},
    },
    "table1": {
        "wideresnet": {
            "proposed": (0.9233, 20.27, 0.009),
            "genetic": (0.8496, 15.72, 231.46),
            "pso": (0.8925, 17.57, 368.29),
        },
        "samplecnn": {
            "proposed": (0.9058, 26.92, 0.01),
            "genetic": (0.8276, 14.15, 215.36),
            "pso": (0.8910, 15.39, 452.21),
        },
    },
    "table2": {
        "wideresnet": {
            "labels": ("yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go"),
            "snr_db": (16.73, 20.80, 21.55, 19.69, 19.59, 23.41, 19.4, 21.89, 17.66, 22.02),
            "pesq": (2.808, 3.179, 3.151, 3.040, 3.208, 3.303, 2.858, 3.151, 3.116, 3.060),
            "average": (20.27, 3.087),
        },
        "samplecnn": {
            "labels": ("blues", "classical", "country", "disco", "hiphop", "jazz", "metal", "pop", "reggage", "rock"),
            "snr_db": (26.91, 24.67, 27.21, 27.36, 26.44, 27.32, 26.74, 29.79, 24.12, 28.66),
            "pesq": (3.840, 3.731, 3.984, 4.062, 3.985, 3.689, 3.792, 4.230, 3.896, 4.262),
            "average": (26.92, 3.947),
        },
    },
}
# Figure 6 (section V-B): the attack error rate (1 - success) over the 90 cells of each matrix, in %
PAPER_FIGURE6 = {
    "wideresnet": {"mean": 7.67, "std": 3.9, "low": 2.84, "high": 22.92, "outliers": 6, "cells": 90},
    "samplecnn": {"mean": 9.42, "std": 6.45, "low": 0.34, "high": 35.52, "outliers": 5, "cells": 90},
}
PAPER_SPELLING = {"reggae": "reggage"}  # our label -> the paper's Table 2 column
METHODS = {  # baseline method -> (our row, the paper's row)
    "genetic": ("Alzantot et al. GA (ours)", "Alzantot et al. [9] (paper)"),
    "pso": ("SirenAttack-style PSO (ours)", "SirenAttack [10] (paper)"),
}
OURS = "SpeechAdvGan generator (ours)"
PROPOSED = "Proposed (paper)"
FIGURE7_PREFERENCE = FIGURE7  # the paper's Figure 7: WideResNet, "on" -> "go" (avsec.advgan.names)
GENETIC = "Alzantot et al. GA (ours)"


@dataclass
class _Victim:
    """Everything the report knows about one victim."""

    name: str
    labels: list[str]
    info: dict | None = None
    evaluations: list[dict] = field(default_factory=list)
    baselines: dict[str, dict] = field(default_factory=dict)

    @property
    def title(self) -> str:
        return _title(self.name)


def report_from_files(
    out_dir: str | Path,
    victims: Sequence[str | Path],
    evaluations: Sequence[str | Path],
    baselines: Sequence[str | Path],
    deviations: str = "",
    figure7: str | Path | None = None,
    ablation: str | Path | None = None,
) -> None:
    """Read the victims' victim.json, the generators' eval.json and the baselines' JSON files, in the order given,
    and ``figure7``, the record of rule attack_figure7 (its WAV beside it), and write the report
    (:func:`write_report`); an unreadable file is one line naming it."""

    def load(file: str | Path, **extra) -> dict:
        try:
            return {**json.loads(Path(file).read_text(encoding="utf-8")), **extra}
        except (OSError, ValueError) as exc:
            raise InputError(file, f"unreadable results JSON ({exc})") from None

    write_report(
        out_dir,
        [load(file) for file in victims],
        [load(file, path=str(Path(file).parent)) for file in evaluations],
        [load(file) for file in baselines],
        deviations,
        None if figure7 is None else load(figure7, path=str(Path(figure7).parent)),
        ablation,
    )


def write_report(
    out_dir: str | Path,
    victims: list[dict],
    evaluations: list[dict],
    baselines: list[dict],
    deviations: str = "",
    figure7: dict | None = None,
    ablation: str | Path | None = None,
) -> None:
    """Write paper 2's report directory atomically (all of it or nothing), in the layout of
    :mod:`avsec.report.folder`.

    ``out_dir`` receives ``tables/success_<victim>.tsv`` and ``figures/success_<victim>.png`` (Figures 4/5),
    ``tables/{victims,table1,table2}.html``, ``figures/figure7.png`` and ``audio/figure7_{original,adversarial}.wav``
    (when some evaluation has an example) and ``report.md`` linking them. ``figure7``, the genetic baseline's
    attack on a clip (rule attack_figure7's record, with ``"path"``, its folder), picks Figure 7's clip, adds the
    figure's bottom row and ``audio/figure7_genetic.wav``; without it the figure has our row only
    (:func:`pick_example`). With ``ablation`` (rule ablation_advgan's folder), Section D's Figures 8 and 9 and
    ``tables/ablation.{tsv,html}`` (:mod:`avsec.advgan.ablation`).
    """
    groups = _group(victims, evaluations, baselines)
    with atomic_path(out_dir, directory=True) as tmp:
        for victim in groups:
            matrix = cell_matrix(victim.labels, victim.evaluations, "success")
            report_file(tmp, "tables", f"success_{victim.name}.tsv").write_text(
                _matrix_tsv(matrix, victim.labels), encoding="utf-8"
            )
            heatmap(
                matrix,
                victim.labels,
                victim.labels,
                report_file(tmp, "figures", f"success_{victim.name}.png"),
                f"Targeted success rate, {victim.title} (ours)",
                xlabel="target",
                ylabel="source",
                vmin=0.0,
                vmax=1.0,
            )
        sections = {
            "victims": ("Victim accuracy", victims_section(groups)),
            "table1": ("Table 1: success rate, SNR and time per example", table1_section(groups)),
            "table2": ("Table 2: SNR (dB) and PESQ per target label", table2_section(groups)),
            "figure6": ("Figure 6: attack error rate (1 − success) over the matrix cells", figure6_section(groups)),
        }
        figure6(groups, report_file(tmp, "figures", "figure6.png"))
        for stem, (title, body) in sections.items():
            write_table_page(tmp, stem, title, body)
        picked = pick_example(evaluations) if figure7 is None else genetic_example(evaluations, figure7)
        if picked is not None:
            figure7_figure(*picked, report_file(tmp, "figures", "figure7.png"), genetic=figure7)
            evaluation, example = picked
            for kind, name in (("clean", "original"), ("adversarial", "adversarial")):
                clip = Path(evaluation.get("path", ".")) / example[kind]
                shutil.copyfile(clip, report_file(tmp, "audio", f"figure7_{name}.wav"))
            if figure7 is not None:
                shutil.copyfile(_genetic_wav(figure7), report_file(tmp, "audio", "figure7_genetic.wav"))
        page = _report_page(groups, sections, picked, figure7)
        if ablation is not None:
            page += "\n" + report_section(tmp, ablation)
        (tmp / "report.md").write_text(with_deviations(tmp, page, deviations), encoding="utf-8")


def cell_matrix(labels: Sequence[str], evaluations: Sequence[dict], key: str = "success") -> np.ndarray:
    """The ``labels × labels`` matrix (rows source, columns target) of ``key`` over the evaluations.

    Per-target generators fill their target's column from ``per_source``; per-pair generators fill one cell
    (from ``per_source[source]``, else their overall value) and take precedence over a per-target one. The
    diagonal and cells without a generator are NaN; labels outside ``labels`` are ignored.
    """
    index = {label: i for i, label in enumerate(labels)}
    matrix = np.full((len(labels), len(labels)), np.nan)
    per_target = [e for e in evaluations if e.get("source") == "all"]
    per_pair = [e for e in evaluations if e.get("source") != "all"]
    for evaluation in per_target:
        col = index.get(evaluation["target"])
        for source, values in evaluation.get("per_source", {}).items():
            if col is not None and source in index:
                matrix[index[source], col] = _num(values.get(key))
    for evaluation in per_pair:
        row, col = index.get(evaluation["source"]), index.get(evaluation["target"])
        if row is not None and col is not None:
            values = evaluation.get("per_source", {}).get(evaluation["source"], evaluation)
            matrix[row, col] = _num(values.get(key, evaluation.get(key)))
    np.fill_diagonal(matrix, np.nan)
    return matrix


def victims_section(groups: Sequence[_Victim]) -> str:
    """Test accuracy of each victim, ours beside the paper's, then ours per class."""
    rows = []
    for victim in groups:
        info = victim.info or {}
        paper = PAPER["victims"].get(victim.name, {})
        rows.append(
            [
                victim.title,
                info.get("corpus", BLANK),
                info.get("test_clips"),
                _percent(info.get("accuracy")),
                f"{_percent(paper.get('accuracy'))} ({paper['corpus']})" if paper else BLANK,
            ]
        )
    parts = [markdown_table(["victim", "corpus", "test clips", "accuracy (ours)", "accuracy (paper)"], rows)]
    for victim in groups:
        per_class = (victim.info or {}).get("per_class") or {}
        if per_class:
            table = markdown_table(["class", "accuracy (ours)"], [[k, _percent(v)] for k, v in per_class.items()])
            parts.append(f"Per class, {victim.title}:\n\n{table}")
    return "\n".join(parts)


def table1_section(groups: Sequence[_Victim]) -> str:
    """Table 1 per victim: our generator and baselines, then the paper's rows, with speed-ups over ours."""
    header = ["method", "success rate", "SNR (dB)", "time per example (s)", "speed-up (method s / our s)", "clips"]
    parts = []
    for victim in groups:
        success = cell_matrix(victim.labels, victim.evaluations, "success")
        snr = cell_matrix(victim.labels, victim.evaluations, "snr_db")
        batched = _mean(e.get("seconds_per_clip_batched") for e in victim.evaluations)
        batch1 = _mean(e.get("seconds_per_clip_batch1") for e in victim.evaluations)
        batches = sorted({str(e["batch"]) for e in victim.evaluations if e.get("batch") is not None})
        ours_time = (
            f"{_seconds(batched)} (batch {'/'.join(batches) or '?'}); {_seconds(batch1)} (batch 1)"
            if victim.evaluations
            else BLANK
        )
        clips = int(np.nansum(cell_matrix(victim.labels, victim.evaluations, "clips")))
        rows = [[OURS, _percent(_mean(success.ravel())), _db(_mean(snr.ravel())), ours_time, BLANK, clips or None]]
        for method in [*METHODS, *sorted(set(victim.baselines) - set(METHODS))]:
            baseline = victim.baselines.get(method)
            if baseline is None:
                continue
            seconds = _num(baseline.get("seconds_per_clip"))
            speedup = f"{_ratio(_div(seconds, batched))} (batched); {_ratio(_div(seconds, batch1))} (batch 1)"
            name = METHODS.get(method, (f"{method} (ours)",))[0]
            rows.append(
                [
                    name,
                    _percent(baseline.get("success")),
                    _db(baseline.get("snr_db")),
                    _seconds(seconds),
                    speedup,
                    len(baseline.get("clips", [])) or None,
                ]
            )
        paper = PAPER["table1"].get(victim.name)
        if paper:
            proposed_s = paper["proposed"][2]
            for key, name in [("proposed", PROPOSED)] + [(m, names[1]) for m, names in METHODS.items()]:
                rate, snr_value, seconds = paper[key]
                speedup = BLANK if key == "proposed" else _ratio(seconds / proposed_s)
                rows.append([name, _percent(rate), _db(snr_value), f"{seconds:g}", speedup, None])
        parts.append(f"{victim.title} on {_corpus(victim)}:\n\n{markdown_table(header, rows)}")
    parts.append(
        "Ours: the mean over the filled cells of the success matrix; time per example at the evaluation's batch "
        "size and at batch 1, on the evaluation's device. Speed-up: the method's seconds per clip over ours "
        "(the paper's rows: over the paper's 0.009 s / 0.01 s).\n"
    )
    return "\n".join(parts)


def table2_section(groups: Sequence[_Victim]) -> str:
    """Table 2 per victim: SNR and PESQ per target label (mean over that target's generators), ours and the paper's.
    The paper's PESQ (its range −0.5…4.5) is narrow-band P.862: ours beside it is narrow-band too; the wide-band
    score follows, labelled."""
    header = ["target", "SNR (dB) ours", "SNR (dB) paper", "PESQ NB ours", "PESQ paper (NB)", "PESQ WB ours",
              "generators"]  # fmt: skip
    parts = []
    for victim in groups:
        paper = PAPER["table2"].get(victim.name)
        paper_index = {label: i for i, label in enumerate(paper["labels"])} if paper else {}
        rows, our_snr, our_nb, our_wb = [], [], [], []
        for label in victim.labels:
            generators = [e for e in victim.evaluations if e.get("target") == label]
            snr = _mean(e.get("snr_db") for e in generators)
            nb, wb = _mean(e.get("pesq_nb") for e in generators), _mean(e.get("pesq") for e in generators)
            our_snr.append(snr)
            our_nb.append(nb)
            our_wb.append(wb)
            spelled = PAPER_SPELLING.get(label, label)
            i = paper_index.get(spelled)
            rows.append(
                [
                    label if spelled == label or i is None else f"{label} (paper: {spelled})",
                    _db(snr),
                    _db(paper["snr_db"][i]) if i is not None else BLANK,
                    _pesq(nb),
                    _pesq(paper["pesq"][i]) if i is not None else BLANK,
                    _pesq(wb),
                    len(generators),
                ]
            )
        average = paper["average"] if paper else (math.nan, math.nan)
        rows.append(["Average", _db(_mean(our_snr)), _db(average[0]), _pesq(_mean(our_nb)), _pesq(average[1]),
                     _pesq(_mean(our_wb)), BLANK])  # fmt: skip
        parts.append(f"{victim.title} on {_corpus(victim)}:\n\n{markdown_table(header, rows)}")
    parts.append(
        "Ours: each generator's SNR and PESQ over its test clips, averaged over the generators with that target. "
        "PESQ at 16 kHz: NB is narrow-band ITU-T P.862 (−0.5…4.5, the range the paper gives, so the column to "
        "compare), WB wide-band P.862.2 (1.0…4.64); – where it could not score a clip. Average: over the targets "
        "shown.\n"
    )
    return "\n".join(parts)


def error_rates(matrix: np.ndarray) -> np.ndarray:
    """Figure 6's values: 1 − success of every filled cell of a success matrix, in %."""
    return 100.0 * (1.0 - matrix[np.isfinite(matrix)])


def error_summary(errors: np.ndarray) -> dict[str, float]:
    """Mean, standard deviation, range and the outliers of a box plot (beyond 1.5 IQR of the quartiles, matplotlib's
    and the paper's convention) of error rates."""
    if not len(errors):
        return {"cells": 0, "mean": math.nan, "std": math.nan, "low": math.nan, "high": math.nan, "outliers": 0}
    q1, q3 = np.percentile(errors, [25, 75])
    fence = 1.5 * (q3 - q1)
    outliers = int(((errors < q1 - fence) | (errors > q3 + fence)).sum())
    return {"cells": len(errors), "mean": float(errors.mean()), "std": float(errors.std()), "low": float(errors.min()),
            "high": float(errors.max()), "outliers": outliers}  # fmt: skip


def figure6_section(groups: Sequence[_Victim]) -> str:
    """Figure 6's numbers per victim, ours beside the paper's (its text gives them)."""
    header = ["victim", "", "cells", "mean ± std (%)", "range (%)", "outliers"]
    rows = []
    for victim in groups:
        ours = error_summary(error_rates(cell_matrix(victim.labels, victim.evaluations)))
        for who, d in (("ours", ours), ("paper", PAPER_FIGURE6.get(victim.name))):
            if d is None:
                continue
            rows.append([victim.title, who, d["cells"], f"{d['mean']:.2f} ± {d['std']:.2f}",
                         f"{d['low']:.2f} – {d['high']:.2f}", f"{d['outliers']} of {d['cells']}"])  # fmt: skip
    return (
        markdown_table(header, rows)
        + "\nError rate = 1 − the targeted success rate of a matrix cell (source → target) on the test clips; the"
        " box plot's outliers lie beyond 1.5 × the interquartile range. The paper's 90 cells are the full 10 × 10"
        " matrix without its diagonal; ours are the cells this run filled.\n"
    )


def figure6(groups: Sequence[_Victim], path: str | Path) -> Path:
    """Figure 6: a box plot of the attack error rates of each victim's matrix cells (%)."""
    fig = new_figure(1.8 + 1.6 * max(1, len(groups)), 3.6)
    ax = fig.add_subplot()
    values = [error_rates(cell_matrix(v.labels, v.evaluations)) for v in groups]
    ax.boxplot(values, whis=1.5)
    ax.set_xticks(range(1, len(groups) + 1), [v.title for v in groups])
    ax.set_ylabel("attack error rate (%)")
    ax.set_title("Attack error rates (ours)")
    return save_figure(fig, path)


def pick_example(evaluations: Sequence[dict]) -> tuple[dict, dict] | None:
    """The (evaluation, example) Figure 7 shows: a WideResNet "on" → "go" example when there is one, else the
    first example of the first evaluation that has examples; None when no evaluation has any."""
    victim, source, target = FIGURE7_PREFERENCE
    for evaluation in evaluations:
        if evaluation.get("victim") == victim and evaluation.get("target") == target:
            for example in evaluation.get("examples", []):
                if example.get("source") == source:
                    return evaluation, example
    for evaluation in evaluations:
        if evaluation.get("examples"):
            return evaluation, evaluation["examples"][0]
    return None


def genetic_example(evaluations: Sequence[dict], genetic: dict) -> tuple[dict, dict]:
    """The (evaluation, example) whose clean clip the genetic attack of Figure 7 ran on (rule attack_figure7's
    record: its victim, generator and clean WAV); InputError when no evaluation has that example."""
    name = Path(str(genetic.get("clean", ""))).name
    for evaluation in evaluations:
        if (evaluation.get("victim"), evaluation.get("generator")) == (genetic.get("victim"), genetic.get("generator")):
            for example in evaluation.get("examples", []):
                if Path(example["clean"]).name == name:
                    return evaluation, example
    raise InputError(
        genetic.get("clean", "?"),
        f"Figure 7's genetic attack ran on a clip that no evaluation of {genetic.get('victim')}/"
        f"{genetic.get('generator')} has as an example",
    )


def figure7_figure(evaluation: dict, example: dict, path: str | Path, genetic: dict | None = None) -> Path:
    """The paper's Figure 7 for one example: (a) original and (b) adversarial waveform, (c)/(d) their spectrograms,
    (e) the residual (adversarial − original) and (f) the residual × 10; the top row is our generator's example,
    the bottom row (with ``genetic``, rule attack_figure7's record) the genetic baseline's attack on the same clip,
    labelled a failure when it did not reach the target (its best try). All waveform panels share one amplitude
    scale, all spectrograms one colour scale."""
    base = Path(evaluation.get("path", "."))
    clean, rate = read_audio(base / example["clean"])
    adversarial, _ = read_audio(base / example["adversarial"], expect_rate=rate)
    n = min(clean.size, adversarial.size)
    x = clean[:n] / INT16_SCALE
    source, target = example.get("source", "?"), evaluation.get("target", "?")
    ours = adversarial[:n] / INT16_SCALE
    rows = [
        (
            f"SpeechAdvGan generator {evaluation.get('generator', '?')} (ours): predicted "
            f'"{example.get("predicted") or "?"}", SNR {_db(snr_db(x, ours))} dB',
            ours,
        )
    ]
    if genetic is not None:
        ga, _ = read_audio(_genetic_wav(genetic), expect_rate=rate)
        if ga.size != clean.size:
            raise InputError(_genetic_wav(genetic), f"{ga.size} samples, Figure 7's clip has {clean.size}")
        outcome = "success" if genetic.get("success") else "failure, its best try"
        theirs = ga[:n] / INT16_SCALE
        rows.append(
            (
                f'{GENETIC}: {outcome}, predicted "{genetic.get("predicted", "?")}", SNR {_db(snr_db(x, theirs))} dB, '
                f"{genetic.get('queries', '?')} queries",
                theirs,
            )
        )
    t = np.arange(n) / rate
    limit = 1.05 * max(np.abs(x).max(), *(max(np.abs(adv).max(), 10 * np.abs(adv - x).max()) for _, adv in rows), 1e-4)
    specs = [_spectrogram_db(y, rate) for y in (x, *(adv for _, adv in rows))]
    top = max(float(s[2].max()) for s in specs)
    fig = new_figure(24.0, 3.6 * len(rows))
    subfigures = np.atleast_1d(fig.subfigures(len(rows), 1))
    for r, (subfig, (title, adv)) in enumerate(zip(subfigures, rows, strict=True)):
        axes = subfig.subplots(1, 6)
        residual = adv - x
        waves = [(0, "(a) original", x), (1, "(b) adversarial", adv), (4, "(e) residual", residual)]
        for i, panel, y in [*waves, (5, "(f) residual × 10", 10 * residual)]:
            axes[i].plot(t, y, linewidth=0.5, color="tab:red" if i >= 4 else "tab:blue")
            axes[i].set_ylim(-limit, limit)
            axes[i].set_title(panel)
            axes[i].set_xlabel("time (s)")
        for i, panel, (f, tt, spec) in [(2, "(c) original", specs[0]), (3, "(d) adversarial", specs[r + 1])]:
            axes[i].pcolormesh(tt, f / 1000.0, spec, shading="auto", vmin=top - 80.0, vmax=top, rasterized=True)
            axes[i].set_title(f"{panel} spectrogram")
            axes[i].set_xlabel("time (s)")
            axes[i].set_ylabel("kHz")
        subfig.suptitle(title)
    fig.suptitle(f'{_title(evaluation.get("victim", "?"))}: "{source}" → "{target}"', fontweight="bold")
    return save_figure(fig, path)


def _genetic_wav(genetic: dict) -> Path:
    """The WAV of rule attack_figure7's record: ``adversarial``, relative to the record's folder ``path``."""
    return Path(genetic.get("path", ".")) / str(genetic.get("adversarial", ""))


def _spectrogram_db(y: np.ndarray, rate: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    f, t, s = spectrogram(y, fs=rate, nperseg=256, noverlap=192)
    return f, t, 10.0 * np.log10(s + 1e-12)


def _report_page(
    groups: Sequence[_Victim], sections: dict[str, tuple[str, str]], picked: Any, genetic: dict | None = None
) -> str:
    lines = [
        "# Paper 2: targeted speech adversarial examples with a GAN (SpeechAdvGan)",
        "",
        "Our run beside the numbers of Wang et al., IEEE Access 8 (2020). Files: [tables/victims.html]"
        "(tables/victims.html), [tables/table1.html](tables/table1.html), [tables/table2.html](tables/table2.html), "
        "[tables/figure6.html](tables/figure6.html), [figures/figure6.png](figures/figure6.png), "
        + ", ".join(f"[tables/success_{v.name}.tsv](tables/success_{v.name}.tsv)" for v in groups)
        + (", [figures/figure7.png](figures/figure7.png), audio/." if picked else "."),
        "",
        "## What this run covers",
        "",
    ]
    for victim in groups:
        pairs = sorted(e["generator"] for e in victim.evaluations if e.get("source") != "all")
        targets = sorted(e["generator"] for e in victim.evaluations if e.get("source") == "all")
        matrix = cell_matrix(victim.labels, victim.evaluations)
        filled, cells = int(np.isfinite(matrix).sum()), len(victim.labels) * (len(victim.labels) - 1)
        devices = sorted({str(e["device"]) for e in victim.evaluations if e.get("device")})
        baselines = ", ".join(f"{m} on {len(b.get('clips', []))} clips" for m, b in sorted(victim.baselines.items()))
        lines.append(
            f"- **{victim.title}** ({_corpus(victim)}), labels {', '.join(victim.labels) or BLANK}: "
            f"generators {len(pairs)} per pair ({', '.join(pairs) or 'none'}) and "
            f"{len(targets)} per target ({', '.join(targets) or 'none'}); "
            f"{filled} of {cells} matrix cells filled; evaluated on {', '.join(devices) or BLANK}; "
            f"baselines: {baselines or 'none'}."
        )
    lines += [
        "",
        "Cells without a generator are blank, as is the diagonal (the paper prints zeros there); where a pair has "
        "both a per-pair and a per-target generator, the per-pair one fills the cell. Our averages are over what "
        "exists, so a run with few labels or generators (the smoke scale) is not comparable number for number "
        "with the paper's full 10 × 10 protocol. Labels or victims missing from the paper's tables show –. The "
        'paper\'s Table 2 spells GTZAN\'s "reggae" as "reggage". Times depend on the device and batch size.',
        "",
    ]
    for title, body in sections.values():
        lines += [f"## {title}", "", body]
    lines += ["## Figures 4 and 5: targeted success rate (rows source, columns target)", ""]
    for victim in groups:
        lines += [
            f"![success matrix, {victim.title}](figures/success_{victim.name}.png)",
            "",
            f"Values: [tables/success_{victim.name}.tsv](tables/success_{victim.name}.tsv).",
            "",
        ]
    lines += ["## Figure 6: attack error rates, box plot", "", "![attack error rates](figures/figure6.png)", ""]
    lines += ["## Figure 7: an original clip and its adversarial example", ""]
    if picked:
        evaluation, example = picked
        lines += [
            "![original vs adversarial](figures/figure7.png)",
            "",
            f"{evaluation.get('victim')}, generator {evaluation.get('generator')}: "
            f'"{example.get("source")}" → "{evaluation.get("target")}", predicted "{example.get("predicted")}". '
            "Audio: [audio/figure7_original.wav](audio/figure7_original.wav) and "
            "[audio/figure7_adversarial.wav](audio/figure7_adversarial.wav), copies of "
            f"`{Path(evaluation.get('path', '.')) / example['clean']}` and "
            f"`{Path(evaluation.get('path', '.')) / example['adversarial']}`.",
            "",
        ]
        if genetic is not None:
            lines += [
                "Bottom row, as in the paper: the genetic baseline (Alzantot et al.) on the same clip towards the "
                f"same target, with the baselines' budget: {'success' if genetic.get('success') else 'failure'} "
                f'(predicted "{genetic.get("predicted")}", its best try shown when it failed), SNR '
                f"{_db(genetic.get('snr_db'))} dB, {genetic.get('queries')} queries, {_seconds(genetic.get('seconds'))}"
                " s. Audio: [audio/figure7_genetic.wav](audio/figure7_genetic.wav), a copy of "
                f"`{_genetic_wav(genetic)}`.",
                "",
            ]
    else:
        lines += ["No evaluation saved an example clip, so there is no figure.", ""]
    return "\n".join(lines)


def _group(victims: list[dict], evaluations: list[dict], baselines: list[dict]) -> list[_Victim]:
    """One entry per victim, in the order of ``victims`` then of first mention in the evaluations/baselines."""
    groups: dict[str, _Victim] = {}
    for info in victims:
        groups[info["victim"]] = _Victim(info["victim"], list(info.get("labels", [])), info)
    for evaluation in evaluations:
        victim = groups.setdefault(evaluation["victim"], _Victim(evaluation["victim"], []))
        victim.evaluations.append(evaluation)
    for baseline in baselines:
        victim = groups.setdefault(baseline["victim"], _Victim(baseline["victim"], []))
        victim.baselines[baseline["method"]] = baseline
    for victim in groups.values():
        if not victim.labels:  # no victim file: the labels the evaluations mention, in order of appearance
            seen = [
                label
                for e in victim.evaluations
                for label in (e.get("source"), e.get("target"), *e.get("per_source", {}))
                if label and label != "all"
            ]
            victim.labels = list(dict.fromkeys(seen))
    return list(groups.values())


def _matrix_tsv(matrix: np.ndarray, labels: Sequence[str]) -> str:
    # rows: sources, columns: targets; the first column is "source", a name dvc plots can address (dvc.yaml)
    lines = ["source\t" + "\t".join(labels)]
    for label, row in zip(labels, matrix, strict=True):
        lines.append(label + "\t" + "\t".join("" if np.isnan(v) else f"{v:.4f}" for v in row))
    return "\n".join(lines) + "\n"


def _title(victim: str) -> str:
    paper = PAPER["victims"].get(victim)
    return paper["name"] if paper else victim


def _corpus(victim: _Victim) -> str:
    if victim.info and victim.info.get("corpus"):
        return str(victim.info["corpus"])
    paper = PAPER["victims"].get(victim.name)
    return paper["corpus"] if paper else BLANK


def _num(value: Any) -> float:
    return math.nan if value is None else float(value)


def _mean(values: Iterable[Any]) -> float:
    """Mean of the finite values (None and NaN skipped); NaN when there are none."""
    finite = [v for v in (_num(x) for x in values) if not math.isnan(v)]
    return float(np.mean(finite)) if finite else math.nan


def _div(a: float, b: float) -> float:
    return a / b if b and not math.isnan(b) else math.nan


def _percent(value: Any) -> str:
    value = _num(value)
    return BLANK if math.isnan(value) else f"{100 * value:.2f}%"


def _db(value: Any) -> str:
    value = _num(value)
    return BLANK if math.isnan(value) else f"{value:.2f}"


def _pesq(value: Any) -> str:
    value = _num(value)
    return BLANK if math.isnan(value) else f"{value:.3f}"


def _seconds(value: Any) -> str:
    value = _num(value)
    if math.isnan(value):
        return BLANK
    return f"{value:.1f}" if value >= 100 else f"{value:.2f}" if value >= 1 else f"{value:.3g}"


def _ratio(value: float) -> str:
    if math.isnan(value) or math.isinf(value):
        return BLANK
    return f"{value:,.0f}×" if value >= 100 else f"{value:.1f}×"
