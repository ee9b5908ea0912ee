"""The one audio I/O module: read and write audio files, resample, scale.

soundfile (libsndfile) reads NIST SPHERE, FLAC, WAV and AU; containers it cannot read (MP4, MPG) go through
the ffmpeg binary in :mod:`avsec.io.video`. Every failure is an :class:`~avsec.core.errors.InputError` naming the file.
"""

from __future__ import annotations

import functools
import re
from fractions import Fraction
from pathlib import Path

import numpy as np

from avsec.core.errors import InputError
from avsec.core.lazy import LazyModule
from avsec.io.atomic import atomic_path
from avsec.io.shards import valid_utf8

sf = LazyModule("soundfile")  # imported when a file is read or written
signal = LazyModule("scipy.signal")  # imported when audio is resampled (1.5 s: most jobs never do)

# soundfile format names by file suffix for writing
INT16_SCALE = 32768.0  # int16 samples ÷ this = [-1, 1) floats: the one scale every paper and metric uses
_FORMATS = {".wav": ("WAV", "PCM_16"), ".flac": ("FLAC", "PCM_16"), ".au": ("AU", "PCM_16")}


def audio_info(path: str | Path) -> object:
    """Header information of an audio file (rate, channels, frames), or InputError."""
    try:
        return sf.info(str(path))
    except Exception as exc:  # libsndfile reports every problem as a RuntimeError/LibsndfileError
        raise InputError(path, f"unreadable audio ({_short(exc)})") from None


def read_audio(
    path: str | Path, *, expect_rate: int | None = None, frames: int | None = None
) -> tuple[np.ndarray, int]:
    """Read a mono audio file as int16 samples (only the first ``frames`` samples when given).

    Raises InputError for an unreadable (or header-less), truncated (NIST SPHERE or WAV holding fewer samples
    than its header declares), empty, multi-channel, non-finite or (with ``expect_rate``) wrong-rate file, and
    for a file name that is not valid UTF-8 (it could not be named in a manifest). 16-bit PCM is read as int16
    directly; other encodings through float32.
    """
    if not valid_utf8(str(path)):
        raise InputError(path, "file name is not valid UTF-8 (rename it, e.g. with convmv -f latin1 -t utf-8)")
    try:
        with sf.SoundFile(str(path)) as fh:
            _check_header(path, fh.format, fh.channels, fh.frames, fh.samplerate, expect_rate)
            declared = _declared_frames(path, fh.format)
            if declared is not None and fh.frames < declared:
                raise InputError(
                    path, f"truncated audio (the header declares {declared} samples, the file holds {fh.frames})"
                )
            count = -1 if frames is None else int(frames)
            if fh.subtype == "PCM_16":
                data = fh.read(count, dtype="int16", always_2d=True)[:, 0]
            else:
                data = fh.read(count, dtype="float32", always_2d=True)[:, 0]
            rate = fh.samplerate
    except InputError:
        raise
    except Exception as exc:  # libsndfile reports every problem as a RuntimeError/LibsndfileError
        raise InputError(path, f"unreadable audio ({_short(exc)})") from None
    if data.shape[0] == 0:
        raise InputError(path, "empty audio (0 samples)")
    if data.dtype == np.int16:
        return np.ascontiguousarray(data), rate
    if not np.isfinite(data).all():
        raise InputError(path, "audio contains NaN or infinite samples")
    return to_int16(data), rate


def _check_header(path: str | Path, fmt: str, channels: int, frames: int, rate: int, expect_rate: int | None) -> None:
    if fmt == "RAW":  # libsndfile falls back to header-less raw samples for a broken .au/.raw: garbage, not audio
        raise InputError(path, "unreadable audio (no valid audio header)")
    if channels != 1:
        raise InputError(path, f"expected mono audio, found {channels} channels")
    if frames == 0:
        raise InputError(path, "empty audio (0 samples)")
    if expect_rate is not None and rate != expect_rate:
        raise InputError(path, f"sample rate {rate} Hz, expected {expect_rate} Hz")


def _declared_frames(path: str | Path, fmt: str) -> int | None:
    """The sample count a NIST SPHERE or RIFF WAV header declares; None for other formats or when it does not say.

    libsndfile reads a file cut short without complaint, as far as its data goes: this is how to tell.
    """
    if fmt not in ("NIST", "WAV", "WAVEX"):
        return None
    with open(path, "rb") as fh:
        head = fh.read(4096)
    if fmt == "NIST":
        m = re.search(rb"^sample_count -i (\d+)\s*$", head, re.M)
        return int(m[1]) if m else None
    if head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return None
    pos, block_align = 12, 0
    while pos + 8 <= len(head):
        chunk, size = head[pos : pos + 4], int.from_bytes(head[pos + 4 : pos + 8], "little")
        if chunk == b"fmt " and pos + 22 <= len(head):
            block_align = int.from_bytes(head[pos + 20 : pos + 22], "little")
        elif chunk == b"data":  # 0 or 0xFFFFFFFF: written to a pipe, length unknown
            return size // block_align if block_align and size not in (0, 0xFFFFFFFF) else None
        pos += 8 + size + (size & 1)
    return None


def to_int16(x: np.ndarray) -> np.ndarray:
    """Float samples in [-1, 1) to int16, clipped."""
    return np.clip(np.round(np.asarray(x, dtype=np.float64) * INT16_SCALE), -32768, 32767).astype(np.int16)


def resample(x: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    """Resample int16 samples by an exact rational polyphase filter (deterministic).

    scipy's default filter (Kaiser, beta 5, 10 zero crossings per side) is designed once per ratio and
    applied in float32, which is ample for int16 output and about 2.5x faster than float64.
    """
    if rate_in == rate_out:
        return x
    ratio = Fraction(rate_out, rate_in)
    up, down = ratio.numerator, ratio.denominator
    y = signal.resample_poly(x.astype(np.float32), up, down, window=_polyphase_filter(up, down))
    return np.clip(np.round(y), -32768, 32767).astype(np.int16)


@functools.lru_cache(maxsize=8)
def _polyphase_filter(up: int, down: int) -> np.ndarray:
    """scipy.signal.resample_poly's default low-pass filter for ``up/down`` (designing it costs as much as using it)."""
    max_rate = max(up, down)
    h = signal.firwin(2 * 10 * max_rate + 1, 1.0 / max_rate, window=("kaiser", 5.0)).astype(np.float32)
    h.flags.writeable = False
    return h


def normalize(x):
    """Int16 samples to [-1, 1] by SpeechAdvGan's eq. (12): 2/65535 · (x − 32767) + 1 (numpy or torch, float32)."""
    x = x.float() if hasattr(x, "float") else np.asarray(x).astype(np.float32)  # a torch tensor has .float()
    return (2.0 / 65535.0) * (x - 32767.0) + 1.0


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
