"""The report of paper 3 (image in speech): the results table with the paper's numbers beside ours, figures of
original / revealed / enhanced images, carrier and embedded spectrograms, training curves, and WAV examples.

Inputs are the files rule report_imgstego declares: the ``eval.json`` and the ``examples/`` folder of each of
the three columns of the paper's table, ``<column>/eval.json`` and ``<column>/examples`` (the column is the name
of the folder that holds them): ``base`` (MSE only), ``ssim`` (model + SSIM) and ``enhanced`` (model + SSIM +
enhancer).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from avsec.core.errors import InputError
from avsec.io.atomic import atomic_path
from avsec.report.deviations import with_deviations
from avsec.report.folder import report_file, write_table_page
from avsec.report.tables import BLANK, markdown_table, new_figure, save_figure

TITLE = "Results (the paper's table, ours beside the paper's)"
COLUMNS = {"base": "Base model", "ssim": "Model + SSIM", "enhanced": "Model + SSIM + enhancer"}

# The paper's results table (section 5.2), per column. Our text copy lost the header of its first column and
# the labels of rows 3-5; the issue names the columns (base, + SSIM, with enhancer) and section 5.2 names the
# carrier measures (MAE, Pearson correlation): rows 3 and 4 are read as those, row 5 stays unlabelled.
PAPER: dict[str, dict[str, float]] = {
    "base": {"image_mae": 13.3901, "image_ssim": 0.8666, "carrier_mae": 0.0633, "carrier_pearson": 0.9987,
             "row5": 0.4999},
    "ssim": {"image_mae": 7.3529, "image_ssim": 0.9246, "carrier_mae": 0.0715, "carrier_pearson": 0.99878,
             "row5": 0.4943},
    "enhanced": {"image_mae": 8.1673, "image_ssim": 0.9486, "carrier_mae": 0.0715, "carrier_pearson": 0.99878,
                 "row5": 0.4943},
}  # fmt: skip

ROWS = (  # (key, label, format); keys without a paper value show "–" on the paper's side
    ("image_mae", "MAE (image, 0–255)", "{:.4f}"),
    ("image_ssim", "SSIM (image)", "{:.4f}"),
    ("carrier_mae", "MAE (carrier spectrogram) †", "{:.4f}"),
    ("carrier_pearson", "Pearson correlation (carrier spectrogram) †", "{:.5f}"),
    ("row5", "row 5 of the paper's table (label lost) †", "{:.4f}"),
    ("audio_mae", "MAE (carrier waveform, [-1, 1])", "{:.6f}"),
    ("audio_snr_db", "SNR of the embedded audio (dB)", "{:.2f}"),
    ("through_audio_image_mae", "MAE (image revealed from the embedded audio)", "{:.4f}"),
    ("through_audio_image_ssim", "SSIM (image revealed from the embedded audio)", "{:.4f}"),
)


def by_column(paths: Sequence[str | Path], what: str) -> dict[str, Path]:
    """``paths`` (``<column>/eval.json`` or ``<column>/examples``) keyed by their column, in the table's order;
    InputError naming a path of no column, a column given twice or a column missing."""
    out: dict[str, Path] = {}
    for path in map(Path, paths):
        column = path.parent.name
        if column not in COLUMNS:
            raise InputError(path, f"not in a column folder ({', '.join(COLUMNS)})")
        if column in out:
            raise InputError(path, f"a second {what} of column {column} (first: {out[column]})")
        out[column] = path
    missing = [column for column in COLUMNS if column not in out]
    if missing:
        raise InputError(Path(paths[0]).parent.parent if paths else ".", f"no {what} of column(s) {', '.join(missing)}")
    return {column: out[column] for column in COLUMNS}


def load_results(evaluations: Sequence[str | Path]) -> dict[str, dict]:
    """Each column's eval.json (``<column>/eval.json``); InputError naming a missing or unreadable one."""
    out = {}
    for column, path in by_column(evaluations, "evaluation").items():
        try:
            out[column] = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise InputError(path, "evaluation not found") from None
        except (OSError, ValueError) as exc:
            raise InputError(path, f"unreadable evaluation ({exc})") from None
    return out


def results_table(evals: dict[str, dict]) -> tuple[list[str], list[list[Any]]]:
    """Header and rows: each measure, ours and the paper's per column."""
    header = ["measure"]
    for name in COLUMNS.values():
        header += [f"{name} (ours)", f"{name} (paper)"]
    rows = []
    for key, label, fmt in ROWS:
        row: list[Any] = [label]
        for column in COLUMNS:
            ours, paper = evals[column].get(key), PAPER[column].get(key)
            row += [BLANK if ours is None else fmt.format(ours), BLANK if paper is None else fmt.format(paper)]
        rows.append(row)
    return header, rows


def write_report(
    evaluations: Sequence[str | Path], examples: Sequence[str | Path], out: str | Path, deviations: str = ""
) -> Path:
    """Write ``out``/report.md, tables/results.{tsv,html}, figures/{images,spectrograms,training}.png and audio/
    (the model + SSIM column's WAV examples) atomically, in the layout of :mod:`avsec.report.folder`, from the
    columns' ``<column>/eval.json`` files and ``<column>/examples`` folders."""
    evals = load_results(evaluations)
    folders = by_column(examples, "examples folder")
    kept = {column: _examples(folder) for column, folder in folders.items()}
    with atomic_path(out, directory=True) as tmp:
        header, rows = results_table(evals)
        report_file(tmp, "tables", "results.tsv").write_text(
            "\n".join("\t".join(str(c) for c in r) for r in [header, *rows]) + "\n", encoding="utf-8"
        )
        write_table_page(tmp, "results", TITLE, _table_section(header, rows))
        images_figure(kept, report_file(tmp, "figures", "images.png"))
        spectrogram_figure(kept["ssim"], report_file(tmp, "figures", "spectrograms.png"))
        training_figure(evals, report_file(tmp, "figures", "training.png"))
        wavs = sorted(folders["ssim"].glob("*.wav"))
        for wav in wavs:
            shutil.copyfile(wav, report_file(tmp, "audio", wav.name))
        page = _markdown(evals, header, rows, [w.name for w in wavs])
        (tmp / "report.md").write_text(with_deviations(tmp, page, deviations), encoding="utf-8")
    return Path(out)


def _examples(root: Path) -> dict[str, np.ndarray]:
    out = {}
    for name in ("original", "revealed", "carrier", "embedded"):
        path = root / f"{name}.npy"
        if not path.is_file():
            raise InputError(root, f"no {name}.npy (evaluate with examples > 0)")
        out[name] = np.load(path)
    return out


def _table_section(header: list[str], rows: list[list[Any]]) -> str:
    """The results table and its note, as report.md and tables/results.html show them."""
    return (
        markdown_table(header, rows)
        + "\n† Our copy of the paper lost these row labels; section 5.2 names the carrier's MAE and Pearson "
        "correlation, which we read as rows 3 and 4. Row 5 (0.4999 / 0.4943) is printed as the paper has it; "
        "we do not guess its measure. Spectrogram MAE is on the STFT magnitude of [-1, 1] audio. The rows below "
        "row 5 are ours only; in the enhancer's column, the image revealed from the audio is not enhanced.\n"
    )


def _markdown(evals: dict[str, dict], header: list[str], rows: list[list[Any]], wavs: list[str]) -> str:
    ssim = evals["ssim"]
    front = ssim.get("front", {})
    lines = [
        "# Paper 3: hiding images in speech spectrograms",
        "",
        f"{ssim['images']} test images (Pascal VOC val), each RGB image hidden channel by channel in three 1 s "
        f"TIMIT test carriers (STFT {front.get('n_fft')}-point, frame step {front.get('hop')}, the first "
        f"{front.get('frames')} frames × {front.get('n_fft', 0) // 2 + 1} bins), revealed from the embedded "
        "spectrogram (the paper's setting) and, below the paper's rows, from the embedded audio.",
        "",
        f"## {TITLE}",
        "",
        _table_section(header, rows),
        f"Carriers rejected (shorter than the 1 s window): {ssim.get('carrier_rejects', 0)}.",
        "",
        "The table is also `tables/results.html` (and `tables/results.tsv`).",
        "",
        "## Figures",
        "",
        "- `figures/images.png`: original images and the images revealed by each column.",
        "- `figures/spectrograms.png`: carrier and embedded log-magnitude spectrograms (model + SSIM) and their "
        "difference.",
        "- `figures/training.png`: training losses per epoch (hiding/reveal models, enhancer).",
        "",
        "## Audio examples (model + SSIM; three 1 s carriers concatenated)",
        "",
        *[f"- `audio/{name}`" for name in wavs],
        "",
    ]
    return "\n".join(lines)


def images_figure(examples: dict[str, dict[str, np.ndarray]], path: Path) -> Path:
    """Rows: examples; columns: the original, then the revealed image of each column."""
    originals = examples["ssim"]["original"]
    count = len(originals)
    fig = new_figure(3.0 * (1 + len(COLUMNS)), 2.6 * count)
    for k in range(count):
        panels = [("original", originals[k])] + [(COLUMNS[c], examples[c]["revealed"][k]) for c in COLUMNS]
        for j, (title, image) in enumerate(panels):
            ax = fig.add_subplot(count, len(panels), k * len(panels) + j + 1)
            ax.imshow(_hwc(image), cmap="gray" if image.shape[0] == 1 else None, vmin=0, vmax=255)
            ax.set_axis_off()
            if k == 0:
                ax.set_title(title, fontsize=9)
    return save_figure(fig, path)


def _hwc(image: np.ndarray) -> np.ndarray:
    return image[0] if image.shape[0] == 1 else np.moveaxis(image, 0, -1)


def spectrogram_figure(examples: dict[str, np.ndarray], path: Path) -> Path:
    """Carrier, embedded and |difference| log-magnitude spectrograms (frequency up, time right)."""
    count = len(examples["carrier"])
    fig = new_figure(12.0, 3.2 * count)
    for k in range(count):
        carrier = examples["carrier"][k].astype(np.float32)
        embedded = examples["embedded"][k].astype(np.float32)
        panels = (("carrier", carrier), ("embedded", embedded), ("|embedded − carrier|", np.abs(embedded - carrier)))
        for j, (title, mag) in enumerate(panels):
            ax = fig.add_subplot(count, 3, 3 * k + j + 1)
            db = 20 * np.log10(np.maximum(mag, 1e-5)).T
            image = ax.imshow(db, origin="lower", aspect="auto", cmap="magma", vmin=-100, vmax=max(0.0, db.max()))
            ax.set_title(f"{title} (example {k})", fontsize=9)
            ax.set_xlabel("frame")
            ax.set_ylabel("bin")
            fig.colorbar(image, ax=ax, label="dB")
    return save_figure(fig, path)


def training_figure(evals: dict[str, dict], path: Path) -> Path:
    fig = new_figure(10.0, 3.5)
    curves = [
        (COLUMNS["base"], evals["base"]["history"]["model"]),
        (COLUMNS["ssim"], evals["ssim"]["history"]["model"]),
        ("enhancer", evals["enhanced"]["history"]["enhancer"]),
    ]
    for j, (title, history) in enumerate(curves):
        ax = fig.add_subplot(1, 3, j + 1)
        epochs = [h["epoch"] for h in history]
        for key in ("image_mae", "revealed_mae", "mae"):
            if history and key in history[0]:
                ax.plot(epochs, [h[key] for h in history], label=key)
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("epoch")
        ax.set_ylabel("image MAE (0–255, training crops)")
        ax.legend(fontsize=7)
    return save_figure(fig, path)
