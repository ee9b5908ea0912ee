"""Errors that name the file and the problem, so a rule fails with one clear line."""

from __future__ import annotations

from pathlib import Path


class AvsecError(Exception):
    """Base class: its message is printed as the rule's one-line error."""


class InputError(AvsecError):
    """A corpus file that cannot be used: unreadable, corrupt, wrong rate, too short, ..."""

    def __init__(self, path: str | Path, problem: str):
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


class ConfigError(AvsecError):
    """A config value that is missing or invalid; names the key."""
