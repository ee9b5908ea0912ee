"""Features computed from prepared audio (STFT), shared by the data rules and the model code."""

from avsec.features.stft import extract_stft, from_channels, istft, stft, to_channels

__all__ = ["extract_stft", "from_channels", "istft", "stft", "to_channels"]
