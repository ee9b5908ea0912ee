"""Paper 3's training-length arithmetic, without torch (the rehearsal's job list, read when the workflow starts,
uses it as :mod:`avsec.imgstego.train` does)."""

from __future__ import annotations

import math


def epochs_to_reach(train_steps: int, rows: int, batch: int, epochs: int) -> int:
    """``epochs``, or with ``train_steps`` (> 0) the whole epochs of ``rows`` in batches of ``batch`` that reach it
    (at most one epoch more)."""
    return math.ceil(train_steps / math.ceil(rows / batch)) if train_steps else epochs
