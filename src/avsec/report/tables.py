"""Report building blocks shared by the four papers: Markdown tables, annotated heatmaps, atomic figure files.

Figures are drawn on a bare :class:`matplotlib.figure.Figure` (Agg canvas, no pyplot state), so they render the
same headless, in threads and under SLURM.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from avsec.core.lazy import LazyModule
from avsec.io.atomic import atomic_path

# imported at the first figure: the tables alone (the rehearsal's cost.md on a bare GPU machine) need no matplotlib
_figure = LazyModule("matplotlib.figure")
_agg = LazyModule("matplotlib.backends.backend_agg")
_mpl = LazyModule("matplotlib")

BLANK = "–"  # what a table shows for a missing value


def new_figure(width: float, height: float) -> _figure.Figure:
    """A matplotlib figure of ``width`` × ``height`` inches on the Agg canvas, independent of pyplot, laid out
    by matplotlib's constrained layout (titles and colour bars never overlap)."""
    fig = _figure.Figure(figsize=(width, height), layout="constrained")
    _agg.FigureCanvasAgg(fig)
    return fig


def save_figure(fig: _figure.Figure, path: str | Path, *, dpi: int = 120) -> Path:
    """Write ``fig`` atomically; the format comes from the suffix of ``path`` (png, pdf, svg)."""
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format=path.suffix.lstrip(".").lower() or "png", dpi=dpi, bbox_inches="tight")
    return path


def cell(value: Any, fmt: str = "{:.2f}") -> str:
    """One table cell: strings as they are, None/NaN as ``–``, ints plainly, other numbers through ``fmt``."""
    if value is None:
        return BLANK
    if isinstance(value, str):
        return value
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    value = float(value)
    return BLANK if math.isnan(value) else fmt.format(value)


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[Any]], fmt: str = "{:.2f}") -> str:
    """A GitHub-flavoured Markdown table; cells go through :func:`cell` (numbers not already formatted by the
    caller get ``fmt``), ``|`` in a cell is escaped. Ends with a newline."""
    width = len(header)
    lines = [_row(header), "|" + "---|" * width]
    for row in rows:
        if len(row) != width:
            raise ValueError(f"markdown_table: row of {len(row)} cells under a header of {width}: {row!r}")
        lines.append(_row(cell(value, fmt) for value in row))
    return "\n".join(lines) + "\n"


def _row(cells: Any) -> str:
    return "| " + " | ".join(str(c).replace("|", "\\|").replace("\n", " ") for c in cells) + " |"


def heatmap(
    matrix: Any,
    row_labels: Sequence[str],
    col_labels: Sequence[str],
    path: str | Path,
    title: str,
    fmt: str = "{:.0%}",
    *,
    xlabel: str | None = None,
    ylabel: str | None = None,
    vmin: float | None = None,
    vmax: float | None = None,
    cmap: str = "viridis",
) -> Path:
    """An annotated heatmap of an ``n × m`` matrix, written atomically to ``path`` (PNG by suffix).

    Every finite value is printed in its cell with ``fmt``; NaN cells stay blank (white, no text). The colour
    scale spans ``vmin``..``vmax`` (default: the finite values' range).
    """
    values = np.asarray(matrix, dtype=np.float64)
    if values.shape != (len(row_labels), len(col_labels)):
        raise ValueError(f"heatmap: matrix {values.shape} for {len(row_labels)} × {len(col_labels)} labels")
    finite = values[np.isfinite(values)]
    lo = vmin if vmin is not None else (float(finite.min()) if finite.size else 0.0)
    hi = vmax if vmax is not None else (float(finite.max()) if finite.size else 1.0)
    if hi <= lo:
        hi = lo + 1.0
    n_rows, n_cols = values.shape
    fig = new_figure(max(4.0, 0.7 * n_cols + 2.0), max(3.0, 0.6 * n_rows + 1.5))
    ax = fig.add_subplot()
    image = ax.imshow(np.ma.masked_invalid(values), cmap=_with_blank(cmap), vmin=lo, vmax=hi, aspect="auto")
    fig.colorbar(image, ax=ax)
    ax.set_xticks(range(n_cols), labels=list(col_labels), rotation=45, ha="right")
    ax.set_yticks(range(n_rows), labels=list(row_labels))
    ax.set_title(title)
    if xlabel:
        ax.set_xlabel(xlabel)
    if ylabel:
        ax.set_ylabel(ylabel)
    mapper = image.cmap
    for i in range(n_rows):
        for j in range(n_cols):
            value = values[i, j]
            if not np.isfinite(value):
                continue
            r, g, b, _ = mapper((value - lo) / (hi - lo))
            text = "black" if 0.299 * r + 0.587 * g + 0.114 * b > 0.5 else "white"
            ax.text(j, i, fmt.format(value), ha="center", va="center", color=text, fontsize=8)
    return save_figure(fig, path)


def _with_blank(name: str) -> Any:
    """The named colormap with masked (NaN) cells drawn white."""
    return _mpl.colormaps[name].with_extremes(bad="white")
