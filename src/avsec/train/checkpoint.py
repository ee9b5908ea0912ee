"""Checkpoint files: written atomically, read with ``weights_only=True``, checked for kind and architecture.

A checkpoint is a plain dict ``{"kind": ..., "modules": {name: state_dict}, ...}`` of tensors, numbers,
strings, lists and dicts, so the safe unpickler reads it. Every problem becomes one line naming the file.
"""

from __future__ import annotations

import re
import sys
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path

import torch
from torch import nn

from avsec.core.errors import AvsecError, InputError
from avsec.io.atomic import atomic_path


def save_checkpoint(path: str | Path, payload: dict) -> None:
    """Write ``payload`` to ``path`` atomically (a temporary file beside it, then a rename)."""
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        # to a file object, torch names the archive's folder "archive"; to a path it would take the temporary
        # name, and the same weights would give different bytes on every save
        torch.save(payload, fh)


def load_checkpoint(path: str | Path, kind: str | None = None, require: Sequence[str] = ()) -> dict:
    """Read a checkpoint safely; InputError if it is missing, truncated, not a checkpoint, holds objects the safe
    loader refuses, is of another kind or lacks one of the entries ``require`` names."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "checkpoint not found")
    if not zipfile.is_zipfile(path):  # torch.save writes a zip archive; its directory sits at the end
        raise InputError(path, "corrupt or unreadable checkpoint (no zip directory: truncated, or not a PyTorch file)")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # a damaged archive, objects other than tensors and plain containers ...
        raise InputError(path, f"corrupt or unreadable checkpoint ({_load_error(exc)})") from None
    if not isinstance(payload, dict) or "kind" not in payload:
        raise InputError(path, "not an avsec checkpoint (no 'kind' entry)")
    if kind is not None and payload["kind"] != kind:
        raise InputError(path, f"is a {payload['kind']!r} checkpoint, expected {kind!r}")
    missing = [key for key in require if key not in payload]
    if missing:
        raise InputError(path, f"{payload['kind']} checkpoint without {', '.join(map(repr, missing))}")
    return payload


def load_resume(path: str | Path, key: str) -> dict | None:
    """The resume file at ``path`` when it exists and was written with the fingerprint ``key``, else None (start
    afresh): an unreadable one is removed, and one written with other settings is set aside as ``<name>.stale``,
    each with a warning; a run never silently continues another's work."""
    path = Path(path)
    if not path.exists():
        return None
    try:
        saved = load_checkpoint(path, "resume")
    except AvsecError as exc:
        print(f"warning: {exc}; starting over", file=sys.stderr, flush=True)
        path.unlink()
        return None
    if saved["fingerprint"] != key:
        stale = path.with_name(path.name + ".stale")
        path.replace(stale)
        print(
            f"warning: {path} was written with other settings; set aside as {stale.name}, starting over",
            file=sys.stderr,
            flush=True,
        )
        return None
    return saved


def _load_error(exc: Exception) -> str:
    """torch.load's reason in one line: for a refused object the unpickler's own words, not the advice to load
    the file unsafely."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(exc))
    refused = re.search(r"WeightsUnpickler error:\s*(.+)", text)
    if refused:
        return f"refused by the safe loader: {refused[1].split('. ')[0].strip()}"[:200]
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[0].split(". ")[0][:200] if lines else type(exc).__name__


def build_from(path: str | Path, build: Callable[..., nn.Module], *args, **kwargs) -> nn.Module:
    """``build(*args, **kwargs)`` with settings read from the checkpoint ``path``; settings the architecture does
    not take (another network's, a wrong type) are one line naming the checkpoint."""
    try:
        return build(*args, **kwargs)
    except (TypeError, ValueError, KeyError, AvsecError) as exc:
        raise InputError(path, f"its settings do not build the network ({exc})") from None


def load_state(path: str | Path, module: nn.Module, state: dict) -> nn.Module:
    """Load ``state`` into ``module``; a mismatched architecture is one line naming the checkpoint file."""
    try:
        module.load_state_dict(state)
    except RuntimeError as exc:
        lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
        detail = lines[1] if len(lines) > 1 else lines[0]
        raise InputError(path, f"does not match the {type(module).__name__} architecture ({detail[:200]})") from None
    return module
