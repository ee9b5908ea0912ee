"""Modules imported on first use: the libraries (soundfile, ffmpeg-python, PyYAML, jsonschema, matplotlib) that
preparation, validation, evaluation and reports need, but training and attacks on prepared shards do not, so that
the rehearsal (``python -m avsec.rehearsal``) runs on a machine with PyTorch, NumPy, SciPy, scikit-learn and tqdm."""

from __future__ import annotations

import importlib
from types import ModuleType


class LazyModule:
    """Stands for module ``name``; imports it at the first attribute read (ImportError there if it is absent)."""

    def __init__(self, name: str):
        self._name = name

    def __getattr__(self, attr: str):
        module: ModuleType = importlib.import_module(self._name)
        return getattr(module, attr)
