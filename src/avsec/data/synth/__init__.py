"""Synthetic corpora in the real corpora's exact layouts and file formats, deterministic from a seed.

Each ``make_<corpus>(root, *, seed, **sizes)`` writes the corpus into the directory ``root`` (which the
caller creates atomically); :func:`make_corpus` dispatches by corpus name.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from avsec.io.atomic import atomic_path

CORPORA = ("timit", "librispeech", "gtzan", "speech_commands", "grid", "lrw", "voc")


def make_corpus(name: str, root: str | Path, *, seed: int, sizes: dict | None = None) -> None:
    """Generate synthetic corpus ``name`` at ``root`` atomically (absent on failure, complete on success)."""
    if name not in CORPORA:
        raise ValueError(f"unknown corpus {name!r}; known: {', '.join(CORPORA)}")
    module = importlib.import_module(f"avsec.data.synth.{name}")
    with atomic_path(root, directory=True) as tmp:
        getattr(module, f"make_{name}")(Path(tmp), seed=seed, **(sizes or {}))
