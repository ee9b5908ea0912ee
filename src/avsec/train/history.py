"""A training job's history as CSV, for ``dvc plots`` (dvc.yaml) and anyone with a spreadsheet.

One row per log point: every ``log_every`` optimisation steps (0: none between epochs) and at the end of each
epoch. Columns: ``epoch`` (1-based, the epoch the row falls in), ``step`` (optimisation steps taken so far, over
all epochs), the task's step scalars averaged over the steps since the previous row, then the task's end-of-epoch
measures (validation accuracy, ...), which are blank on rows between epochs. With ``log_every`` 0 the rows are the
per-epoch history the trainer returns. The rows travel in the resume file, and the CSV is rewritten atomically
(whole, under a temporary name) after each resume file and at the end, so a resumed run's CSV is byte for byte the
uninterrupted run's.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from avsec.io.atomic import write_text


class HistoryLog:
    """The rows logged so far, the running sums since the last row, and the CSV they go to (None: kept only)."""

    def __init__(self, path: str | Path | None, every: int, state: dict | None = None):
        self.path, self.every = (Path(path) if path else None), every
        state = state or {}
        self.rows: list[dict] = [dict(row) for row in state.get("rows", [])]
        self.window: dict[str, float] = dict(state.get("window", {}))
        self.n: int = state.get("n", 0)
        self.pending: dict | None = state.get("pending")  # an epoch's last row, waiting for its measures

    def state(self) -> dict:
        """What the resume file keeps (plain lists, dicts and numbers: the safe loader reads them)."""
        return {"rows": self.rows, "window": self.window, "n": self.n, "pending": self.pending}

    def add(self, scalars: dict[str, float], epoch: int, step: int, end: bool) -> None:
        """Count one step's scalars; ``step`` counts the steps taken so far over all epochs, ``end`` says it was
        the epoch's last (``epoch`` 0-based, as the trainer counts)."""
        for name, value in scalars.items():
            self.window[name] = self.window.get(name, 0.0) + float(value)
        self.n += 1
        if end or (self.every and step % self.every == 0):
            row = {"epoch": epoch + 1, "step": step, **{k: v / self.n for k, v in self.window.items()}}
            self.window, self.n = {}, 0
            if end:
                self.pending = row
            else:
                self.rows.append(row)

    def end_epoch(self, measures: dict[str, float]) -> None:
        """Close the epoch's last row with the task's end-of-epoch ``measures``."""
        if self.pending is not None:
            self.rows.append({**self.pending, **{k: float(v) for k, v in measures.items()}})
            self.pending = None

    def csv(self) -> str:
        columns = list(dict.fromkeys(["epoch", "step", *(key for row in self.rows for key in row)]))
        text = io.StringIO()
        writer = csv.DictWriter(text, columns, restval="", lineterminator="\n")
        writer.writeheader()
        writer.writerows(self.rows)
        return text.getvalue()

    def write(self) -> None:
        """Rewrite the CSV (atomically) with the rows so far; nothing when there is no path."""
        if self.path is not None:
            write_text(self.path, self.csv())
