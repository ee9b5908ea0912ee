"""Section D of paper 2 (SpeechAdvGan): the loss ablation, "yes" → "right" on WideResNet with the hinge term only,
the L2 term only and both (config.yaml: advgan.ablation).

Each variant is one generator trained by rule train_ablation with train_generator.py (the one trainer): the
generator's settings, then, after the ``--ablation`` marker, the variant's eq. (5) weights and the ablation's
sizes, which replace the settings of the same name (:func:`avsec.advgan.names.ablation_flags`). Rule
ablation_advgan then draws Figure 8 (the original clip and each variant's perturbation of it) and Figure 9 (the
generator loss and the training success per iteration, from each history CSV) and writes ``ablation.{tsv,json}``:
per variant its weights, iterations, last and highest training success (the paper gives the highest: 85.16 %,
92.19 %, 96.88 %), and its test success, SNR and perturbation size on the source's test clips. :func:`report_section`
copies them into paper 2's report.
"""

from __future__ import annotations

import csv
import json
import math
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from avsec.advgan.data import clip_rows
from avsec.advgan.evaluate import generate
from avsec.advgan.train import load_attack
from avsec.advgan.victims import predict
from avsec.core.errors import InputError
from avsec.io.atomic import atomic_path
from avsec.io.audio import normalize
from avsec.metrics.audio import snr_db
from avsec.report.folder import report_file, write_table_page
from avsec.report.tables import markdown_table, new_figure, save_figure
from avsec.train import resolve_device

TITLES = {"hinge": "hinge loss", "l2": "L2 loss", "both": "L2 & hinge loss"}  # the paper's names (Figures 8-9)
PAPER_MAX_SUCCESS = {"hinge": 0.8516, "l2": 0.9219, "both": 0.9688}  # Section D: the highest training success
FILES = ("figure8.png", "figure9.png", "ablation.tsv", "ablation.json")  # what rule ablation_advgan writes
SMALL = 0.1  # a perturbation sample is "small" below this fraction of its clip's largest |δ| (sparsity)


@dataclass
class AblationFigures:
    """The settings of rule ablation_advgan: Figure 8's test ``clip`` (of the source label), the batch."""

    clip: int = 0
    batch: int = 64
    device: str = "auto"
    bf16: bool = True


def read_history(path: str | Path) -> list[dict[str, float]]:
    """The rows of a history CSV (avsec.train.history) as floats (blank: NaN); one line naming the file when it
    is unreadable or lacks the step, generator loss or success columns."""
    try:
        with open(path, newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
    except OSError as exc:
        raise InputError(path, f"unreadable history CSV ({exc})") from None
    missing = [c for c in ("step", "loss_g", "success") if not rows or c not in rows[0]]
    if missing:
        raise InputError(path, f"history CSV without rows or columns {', '.join(missing)}")
    try:
        return [{k: float(v) if v not in ("", None) else math.nan for k, v in row.items()} for row in rows]
    except ValueError as exc:
        raise InputError(path, f"history CSV with a value that is not a number ({exc})") from None


def figure8(clip: np.ndarray, perturbations: Mapping[str, np.ndarray], rate: int, path: str | Path, title: str = ""):
    """The paper's Figure 8: (a) the original clip, then each variant's perturbation δ = x_adv − x of it, the
    perturbations on one amplitude scale (their largest |δ|)."""
    fig = new_figure(4.0 * (1 + len(perturbations)), 3.2)
    axes = fig.subplots(1, 1 + len(perturbations))
    t = np.arange(clip.size) / rate
    axes[0].plot(t, clip, linewidth=0.5, color="tab:blue")
    axes[0].set_title("(a) original")
    limit = 1.05 * max([float(np.abs(d).max()) for d in perturbations.values()] + [1e-6])
    for k, (name, delta) in enumerate(perturbations.items(), start=1):
        axes[k].plot(t[: delta.size], delta, linewidth=0.5, color="tab:red")
        axes[k].set_ylim(-limit, limit)
        axes[k].set_title(f"({chr(ord('a') + k)}) {TITLES.get(name, name)}")
    for ax in axes:
        ax.set_xlabel("time (s)")
    if title:
        fig.suptitle(title)
    return save_figure(fig, path)


def figure9(histories: Mapping[str, Sequence[Mapping[str, float]]], path: str | Path, title: str = ""):
    """The paper's Figure 9: the generator loss and the training success per iteration (each history row: the
    mean over the steps since the previous row), one line per variant."""
    fig = new_figure(11.0, 3.6)
    loss_ax, success_ax = fig.subplots(1, 2)
    for name, rows in histories.items():
        steps = [row["step"] for row in rows]
        loss_ax.plot(steps, [row["loss_g"] for row in rows], linewidth=0.8, label=TITLES.get(name, name))
        success_ax.plot(steps, [row["success"] for row in rows], linewidth=0.8, label=TITLES.get(name, name))
    loss_ax.set_title("(a) generator loss")
    success_ax.set_title("(b) training attack success rate")
    success_ax.set_ylim(-0.02, 1.02)
    for ax in (loss_ax, success_ax):
        ax.set_xlabel("iteration")
        ax.legend()
    if title:
        fig.suptitle(title)
    return save_figure(fig, path)


def write_ablation(
    out_dir: str | Path,
    runs: Sequence[str | Path],
    victim_ckpt: str | Path,
    data: str | Path,
    settings: AblationFigures,
) -> dict:
    """Figures 8 and 9 and ``ablation.{tsv,json}`` in ``out_dir`` (atomically, all or nothing) from the variants'
    run folders ``runs`` (each ``<variant>/`` with generator.pt and generator_history.csv; the folder's name is the
    variant's): every generator on its source's test clips (targeted success, SNR of eq. (15), mean |δ| and
    ‖δ‖₂) and on Figure 8's clip."""
    s = settings
    device = resolve_device(s.device)
    variants, histories, perturbations, summary = [], {}, {}, {}
    source = target = rate = test = None
    for run in map(Path, runs):
        name = run.name
        generator, gckpt, victim, vckpt = load_attack(run / "generator.pt", victim_ckpt)
        if source is None:
            source, target, rate = gckpt["source"], gckpt["target"], int(vckpt["rate"])
            test = clip_rows(data, "test", [source])
            if s.clip >= len(test):
                raise InputError(data, f"no test clip {s.clip} of {source!r} for Figure 8 (it has {len(test)})")
        elif (gckpt["source"], gckpt["target"]) != (source, target):
            raise InputError(run / "generator.pt", f"attacks {gckpt['generator']}, not {source}_to_{target}")
        generator.to(device), victim.to(device)
        scores, perturbations[name] = _score(
            generator, gckpt["clamp"], victim, vckpt["labels"].index(target), test, s, device
        )
        history = read_history(run / "generator_history.csv")
        variants.append(name)
        histories[name] = history
        weights = gckpt.get("settings", {})
        summary[name] = {
            "title": TITLES.get(name, name),
            "loss": weights.get("loss"),
            "beta": weights.get("beta"),
            "gamma": weights.get("gamma"),
            "iterations": int(history[-1]["step"]),
            "train_success_last": history[-1]["success"],
            "train_success_max": max(row["success"] for row in history),
            "paper_success_max": PAPER_MAX_SUCCESS.get(name),
            **scores,
        }
    clip = None if test is None else normalize(test[s.clip : s.clip + 1])[0].numpy()
    if not variants:
        raise InputError(out_dir, "no ablation runs given")
    result = {"generator": f"{source}_to_{target}", "figure8_clip": s.clip, "variants": summary}
    pair = f'"{source}" → "{target}"'
    with atomic_path(out_dir, directory=True) as tmp:
        figure8(clip, perturbations, rate, tmp / "figure8.png", f"Perturbations of one {pair} test clip")
        figure9(histories, tmp / "figure9.png", f"{pair}: generator loss and training success per iteration")
        (tmp / "ablation.tsv").write_text(summary_tsv(summary), encoding="utf-8")
        (tmp / "ablation.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return result


def _score(generator, clamp: float, victim, target: int, test, s: AblationFigures, device) -> tuple[dict, np.ndarray]:
    """One generator on the source's test clips, streamed in batches of ``s.batch`` (memory flat in the split's
    size): the test summary's columns, and Figure 8's clip's δ."""
    hits = clips = 0
    snr = abs_sum = l2 = small = 0.0
    figure = None
    for start in range(0, len(test), s.batch):
        audio = test[start : start + s.batch]
        adv = generate(generator, clamp, audio, s.batch, device, s.bf16)
        clean = normalize(audio)
        delta = (adv - clean).numpy()
        hits += int((predict(victim, adv, s.batch) == target).sum())
        snr += float(np.sum(np.atleast_1d(snr_db(clean.numpy(), adv.numpy()))))
        abs_sum += float(np.abs(delta).sum())
        l2 += float(np.linalg.norm(delta.reshape(len(delta), -1), axis=1).sum())
        small += small_share(delta) * len(delta)
        clips += len(delta)
        if start <= s.clip < start + len(delta):
            figure = delta[s.clip - start]
    scores = {
        "test_clips": clips,
        "test_success": hits / clips,
        "snr_db": snr / clips,
        "mean_abs_delta": abs_sum / figure.size / clips,
        "l2_delta": l2 / clips,
        "small_share": small / clips,
    }
    return scores, figure


def small_share(delta: np.ndarray) -> float:
    """The share of perturbation samples below :data:`SMALL` × their clip's largest |δ|, averaged over the clips:
    near 1 for a sparse perturbation (a few large samples), lower for one spread over the whole clip."""
    a = np.abs(np.asarray(delta, dtype=np.float64)).reshape(len(delta), -1)
    top = a.max(axis=1, keepdims=True)
    return float(np.mean(np.where(top > 0, a < SMALL * top, 1.0)))


COLUMNS = (
    "variant",
    "beta",
    "gamma",
    "iterations",
    "train_success_last",
    "train_success_max",
    "paper_success_max",
    "test_clips",
    "test_success",
    "snr_db",
    "mean_abs_delta",
    "l2_delta",
    "small_share",
)


def summary_tsv(summary: Mapping[str, Mapping]) -> str:
    """One row per variant, :data:`COLUMNS` (blank where a value is missing)."""
    lines = ["\t".join(COLUMNS)]
    for name, row in summary.items():
        values = [name, *(row.get(c) for c in COLUMNS[1:])]
        lines.append("\t".join("" if v is None else str(v) for v in values))
    return "\n".join(lines) + "\n"


def report_section(report_dir: str | Path, ablation_dir: str | Path) -> str:
    """Copy Figures 8 and 9 and the ablation's table into paper 2's report folder ``report_dir``
    (``figures/figure8.png``, ``figures/figure9.png``, ``tables/ablation.{tsv,html}``) and return its section."""
    ablation_dir = Path(ablation_dir)
    try:
        result = json.loads((ablation_dir / "ablation.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(ablation_dir / "ablation.json", f"unreadable ablation results ({exc})") from None
    for name in ("figure8.png", "figure9.png"):
        if not (ablation_dir / name).is_file():
            raise InputError(ablation_dir / name, "missing: rule ablation_advgan writes it")
        shutil.copyfile(ablation_dir / name, report_file(report_dir, "figures", name))
    shutil.copyfile(ablation_dir / "ablation.tsv", report_file(report_dir, "tables", "ablation.tsv"))
    rows = [
        [
            f"{v['title']} ({name})",
            v.get("beta"),
            v.get("gamma"),
            v.get("iterations"),
            _pct(v.get("train_success_max")),
            _pct(v.get("paper_success_max")),
            _pct(v.get("train_success_last")),
            _pct(v.get("test_success")),
            v.get("snr_db"),
            v.get("mean_abs_delta"),
            v.get("small_share"),
        ]
        for name, v in result["variants"].items()
    ]
    clips = max((v.get("test_clips", 0) for v in result["variants"].values()), default=0)
    table = markdown_table(
        [
            "variant",
            "β",
            "γ",
            "iterations",
            "max train success %",
            "paper's max %",
            "last train success %",
            "test success %",
            "SNR dB",
            "mean abs δ",
            "small δ share",
        ],
        rows,
        fmt="{:.4g}",
    )
    note = (
        f"Generator {result['generator']}, each variant trained alone (eq. (5)'s other weights unchanged). Training "
        "success: the batch's, per history row (each iteration). Test success, SNR (eq. 15) and mean |δ| on the "
        f"source's {clips} test clip(s); small δ share: the share of samples below {SMALL:g} × the clip's largest "
        "|δ| (near 1: sparse)."
    )
    write_table_page(report_dir, "ablation", "Section D: loss ablation", f"{table}\n\n{note}")
    return "\n".join(
        [
            "## Section D: loss ablation (Figures 8–9)",
            "",
            table,
            "",
            note + " Values: [tables/ablation.tsv](tables/ablation.tsv).",
            "",
            f"![Figure 8: the perturbations of test clip {result.get('figure8_clip', 0)}](figures/figure8.png)",
            "",
            "![Figure 9: generator loss and success per iteration](figures/figure9.png)",
            "",
        ]
    )


def _pct(value) -> float | None:
    return None if value is None else 100.0 * float(value)
