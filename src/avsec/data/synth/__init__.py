"""Synthetic corpora in the real corpora's exact layouts and file formats, deterministic from a seed.

Each ``make_<corpus>(root, *, seed, **sizes)`` writes the corpus into the directory ``root`` (which the
caller creates atomically); :func:`make_corpus` dispatches by corpus name.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from pathlib import Path

from avsec.core.errors import ConfigError
from avsec.io.atomic import atomic_path

CORPORA = ("timit", "librispeech", "gtzan", "speech_commands", "grid", "lrw", "voc")


def make_corpus(name: str, root: str | Path, *, seed: int, sizes: dict | None = None) -> None:
    """Generate synthetic corpus ``name`` at ``root`` atomically (absent on failure, complete on success)."""
    make = _maker(name)
    check_sizes(name, sizes or {})
    with atomic_path(root, directory=True) as tmp:
        make(Path(tmp), seed=seed, **(sizes or {}))


def check_sizes(name: str, sizes: dict) -> None:
    """ConfigError naming the keys of ``sizes`` that corpus ``name``'s generator does not take."""
    known = [key for key in inspect.signature(_maker(name)).parameters if key not in ("root", "seed")]
    unknown = sorted(set(sizes) - set(known))
    if unknown:
        raise ConfigError(
            f"unknown key(s) {', '.join(map(repr, unknown))} (the {name} generator takes {', '.join(known)})"
        )


def _maker(name: str) -> Callable[..., None]:
    if name not in CORPORA:
        raise ValueError(f"unknown corpus {name!r}; known: {', '.join(CORPORA)}")
    return getattr(importlib.import_module(f"avsec.data.synth.{name}"), f"make_{name}")
