"""The one audio I/O module: read and write audio files, resample, scale.

soundfile (libsndfile) reads NIST SPHERE, FLAC, WAV and AU; containers it cannot read (MP4, MPG) go through
the ffmpeg binary in :mod:`avsec.io.video`. Every failure is an :class:`~avsec.errors.InputError` naming the file.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

from avsec.errors import InputError
from avsec.io.atomic import atomic_path

# soundfile format names by file suffix for writing
_FORMATS = {".wav": ("WAV", "PCM_16"), ".flac": ("FLAC", "PCM_16"), ".au": ("AU", "PCM_16")}


def audio_info(path: str | Path) -> sf._SoundFileInfo:
    """Header information of an audio file (rate, channels, frames), or InputError."""
    try:
        return sf.info(str(path))
    except Exception as exc:  # libsndfile reports every problem as a RuntimeError/LibsndfileError
        raise InputError(path, f"unreadable audio ({_short(exc)})") from None


def read_audio(path: str | Path, *, expect_rate: int | None = None) -> tuple[np.ndarray, int]:
    """Read a mono audio file as int16 samples.

    Raises InputError for an unreadable, empty, multi-channel, non-finite or (with ``expect_rate``)
    wrong-rate file.
    """
    try:
        data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except Exception as exc:
        raise InputError(path, f"unreadable audio ({_short(exc)})") from None
    if data.shape[1] != 1:
        raise InputError(path, f"expected mono audio, found {data.shape[1]} channels")
    if data.shape[0] == 0:
        raise InputError(path, "empty audio (0 samples)")
    if not np.isfinite(data).all():
        raise InputError(path, "audio contains NaN or infinite samples")
    if expect_rate is not None and rate != expect_rate:
        raise InputError(path, f"sample rate {rate} Hz, expected {expect_rate} Hz")
    return to_int16(data[:, 0]), rate


def to_int16(x: np.ndarray) -> np.ndarray:
    """Float samples in [-1, 1) to int16, clipped."""
    return np.clip(np.round(np.asarray(x, dtype=np.float64) * 32768.0), -32768, 32767).astype(np.int16)


def resample(x: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    """Resample int16 samples by an exact rational polyphase filter (deterministic)."""
    if rate_in == rate_out:
        return x
    ratio = Fraction(rate_out, rate_in)
    y = resample_poly(x.astype(np.float64), ratio.numerator, ratio.denominator)
    return np.clip(np.round(y), -32768, 32767).astype(np.int16)


def normalize(x: np.ndarray) -> np.ndarray:
    """Int16 samples to [-1, 1] by SpeechAdvGan's eq. (12): 2/65535 · (x − 32767) + 1."""
    return (2.0 / 65535.0) * (x.astype(np.float32) - 32767.0) + 1.0


def denormalize(x: np.ndarray) -> np.ndarray:
    """Inverse of :func:`normalize`, eq. (13): (x − 1) · 65535/2 + 32767, rounded to int16."""
    y = (np.asarray(x, dtype=np.float64) - 1.0) * 65535.0 / 2.0 + 32767.0
    return np.clip(np.round(y), -32768, 32767).astype(np.int16)


def write_audio(path: str | Path, x: np.ndarray, rate: int, *, format: str | None = None) -> None:
    """Write int16 mono samples atomically; the format comes from the suffix unless given
    (``format="NIST"`` writes NIST SPHERE whatever the name)."""
    path = Path(path)
    if format is None:
        fmt, subtype = _FORMATS.get(path.suffix.lower(), ("WAV", "PCM_16"))
    else:
        fmt, subtype = format, "PCM_16"
    with atomic_path(path) as tmp:
        sf.write(str(tmp), np.asarray(x, dtype=np.int16), rate, format=fmt, subtype=subtype)


def _short(exc: Exception) -> str:
    return str(exc).strip().splitlines()[-1][:200] if str(exc).strip() else type(exc).__name__
