"""Checkpoint files: written atomically, read with ``weights_only=True``, checked for kind and architecture.

A checkpoint is a plain dict ``{"kind": ..., "modules": {name: state_dict}, ...}`` of tensors, numbers,
strings, lists and dicts, so the safe unpickler reads it. Every problem becomes one line naming the file.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from avsec.errors import InputError
from avsec.io.atomic import atomic_path


def save_checkpoint(path: str | Path, payload: dict) -> None:
    """Write ``payload`` to ``path`` atomically (a temporary file beside it, then a rename)."""
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)


def load_checkpoint(path: str | Path, kind: str | None = None) -> dict:
    """Read a checkpoint safely; InputError if it is missing, corrupt, or of another kind."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "checkpoint not found")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # truncated zip, not a torch file, unsafe pickle content ...
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(path, f"corrupt or unreadable checkpoint ({reason[:160]})") from None
    if not isinstance(payload, dict) or "kind" not in payload:
        raise InputError(path, "not an avsec checkpoint (no 'kind' entry)")
    if kind is not None and payload["kind"] != kind:
        raise InputError(path, f"is a {payload['kind']!r} checkpoint, expected {kind!r}")
    return payload


def load_state(path: str | Path, module: nn.Module, state: dict) -> nn.Module:
    """Load ``state`` into ``module``; a mismatched architecture is one line naming the checkpoint file."""
    try:
        module.load_state_dict(state)
    except RuntimeError as exc:
        lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
        detail = lines[1] if len(lines) > 1 else lines[0]
        raise InputError(path, f"does not match the {type(module).__name__} architecture ({detail[:200]})") from None
    return module
