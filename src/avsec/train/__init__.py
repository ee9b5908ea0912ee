"""The shared trainer and checkpoint files."""

from avsec.train.checkpoint import load_checkpoint, load_state, save_checkpoint
from avsec.train.trainer import Interrupted, TrainSettings, channels_last, fit, frozen, resolve_device, set_threads

__all__ = [
    "Interrupted",
    "TrainSettings",
    "channels_last",
    "fit",
    "frozen",
    "load_checkpoint",
    "load_state",
    "resolve_device",
    "save_checkpoint",
    "set_threads",
]
