"""The one video I/O module: write, read and probe audio-visual files through the ffmpeg binary.

Frames are RGB ``uint8`` arrays of shape (T, H, W, 3); audio is ``int16`` samples, (N,) mono or (N, C).
Writes are atomic and deterministic (bit-exact flags, one encoder thread, no creation time or encoder tag),
so the same input gives byte-identical files. Every failure is an :class:`~avsec.core.errors.InputError` naming
the file.
"""

from __future__ import annotations

import tempfile
from fractions import Fraction
from pathlib import Path

import numpy as np

from avsec.core.errors import InputError
from avsec.core.lazy import LazyModule
from avsec.io.atomic import atomic_path

ffmpeg = LazyModule("ffmpeg")  # imported when a video is read or written
sf = LazyModule("soundfile")

_QUIET = ("-hide_banner", "-nostdin", "-loglevel", "error")
# Flags that keep the output byte-identical from run to run.
_BITEXACT = {"fflags": "+bitexact", "flags:v": "+bitexact", "flags:a": "+bitexact", "threads": 1, "map_metadata": -1}


def write_video(
    path: str | Path,
    frames: np.ndarray,
    fps: float,
    audio: np.ndarray | None = None,
    rate: int | None = None,
    *,
    vcodec: str = "libx264",
    acodec: str = "aac",
    format: str | None = None,
    pix_fmt: str = "yuv420p",
    video_options: dict | None = None,
    audio_options: dict | None = None,
) -> None:
    """Encode ``frames`` (and ``audio`` at ``rate`` Hz, if given) into ``path`` atomically.

    ``format`` is the ffmpeg muxer (from the suffix when None); ``video_options`` / ``audio_options`` are extra
    ffmpeg output options, e.g. ``{"crf": 20}`` or ``{"ar": 44100, "ac": 2, "b:a": "192k"}``.
    """
    path = Path(path)
    frames = np.ascontiguousarray(frames, dtype=np.uint8)
    if frames.ndim != 4 or frames.shape[-1] != 3 or len(frames) == 0:
        raise ValueError(f"frames must be a non-empty (T, H, W, 3) uint8 array, got shape {frames.shape}")
    if audio is not None and rate is None:
        raise ValueError("audio given without its sample rate")
    height, width = frames.shape[1:3]
    fps_arg = str(Fraction(fps).limit_denominator(1001))
    video = ffmpeg.input("pipe:", format="rawvideo", pix_fmt="rgb24", s=f"{width}x{height}", framerate=fps_arg)
    options = {"vcodec": vcodec, "pix_fmt": pix_fmt, "r": fps_arg, **_BITEXACT, **(video_options or {})}
    if format is not None:
        options["format"] = format
    with tempfile.TemporaryDirectory(prefix="avsec-video-") as scratch, atomic_path(path) as tmp:
        streams = [video]
        if audio is not None:
            wav = Path(scratch) / "audio.wav"
            sf.write(str(wav), np.asarray(audio, dtype=np.int16), int(rate), subtype="PCM_16")
            streams.append(ffmpeg.input(str(wav)).audio)
            options.update({"acodec": acodec, **(audio_options or {})})
        cmd = ffmpeg.output(*streams, str(tmp), **options).global_args(*_QUIET).overwrite_output()
        try:
            cmd.run(input=frames.tobytes(), capture_stdout=True, capture_stderr=True)
        except ffmpeg.Error as exc:
            raise InputError(path, f"ffmpeg could not encode the video ({_stderr(exc)})") from None


def probe(path: str | Path, *, count_frames: bool = False) -> dict:
    """ffprobe's description of ``path`` (``format`` and ``streams``), or InputError.

    With ``count_frames`` every video stream gets ``nb_read_frames`` by decoding the whole file.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "no such file")
    extra = {"count_frames": None} if count_frames else {}
    try:
        info = ffmpeg.probe(str(path), **extra)
    except ffmpeg.Error as exc:
        raise InputError(path, f"unreadable video ({_stderr(exc, path)})") from None
    if not info.get("streams"):
        raise InputError(path, "no audio or video streams")
    return info


def read_video(path: str | Path) -> tuple[np.ndarray, float]:
    """Decode the first video stream of ``path`` to RGB frames (T, H, W, 3) uint8 and its frame rate."""
    path = Path(path)
    stream = _stream(path, "video")
    width, height = int(stream["width"]), int(stream["height"])
    fps = _frame_rate(stream)
    cmd = ffmpeg.input(str(path)).output("pipe:", format="rawvideo", pix_fmt="rgb24", map="0:v:0", vsync="passthrough")
    raw = _run(cmd.global_args(*_QUIET), path, "could not decode the video")
    size = width * height * 3
    if len(raw) == 0 or len(raw) % size:
        raise InputError(path, f"decoded {len(raw)} bytes, not a whole number of {width}x{height} frames")
    return np.frombuffer(raw, dtype=np.uint8).reshape(-1, height, width, 3).copy(), fps


def read_video_audio(path: str | Path, rate: int = 16000) -> np.ndarray:
    """Decode the first audio stream of ``path`` to int16 mono at ``rate`` Hz, aligned to the video.

    Sample 0 is the time of the first video frame: a later audio start is padded with zeros, an earlier one
    trimmed (files without video keep the audio as it is).
    """
    path = Path(path)
    info = probe(path)
    audio = _stream(path, "audio", info)
    cmd = ffmpeg.input(str(path)).output("pipe:", format="s16le", acodec="pcm_s16le", map="0:a:0", ac=1, ar=rate)
    raw = _run(cmd.global_args(*_QUIET), path, "could not decode the audio")
    samples = np.frombuffer(raw[: len(raw) // 2 * 2], dtype="<i2").astype(np.int16)
    if len(samples) == 0:
        raise InputError(path, "empty audio track (0 samples)")
    videos = [s for s in info["streams"] if s.get("codec_type") == "video"]
    if videos and "start_time" in audio and "start_time" in videos[0]:
        shift = round((float(audio["start_time"]) - float(videos[0]["start_time"])) * rate)
        samples = np.concatenate([np.zeros(shift, np.int16), samples]) if shift > 0 else samples[-shift:]
    return samples


def read_clip(
    path: str | Path, rate: int = 16000, *, audio: bool = True
) -> tuple[np.ndarray, float, np.ndarray | None]:
    """:func:`read_video` and :func:`read_video_audio` in one probe and one ffmpeg run (about twice as fast).

    Returns (frames, fps, audio): audio is int16 mono at ``rate`` aligned to the first video frame as
    :func:`read_video_audio` aligns it, or None when ``audio`` is False or the file has no audio stream.
    """
    path = Path(path)
    info = probe(path)
    stream = _stream(path, "video", info)
    width, height = int(stream["width"]), int(stream["height"])
    audio_stream = next((s for s in info["streams"] if s.get("codec_type") == "audio"), None) if audio else None
    source = ffmpeg.input(str(path))
    outputs = [source.output("pipe:", format="rawvideo", pix_fmt="rgb24", map="0:v:0", vsync="passthrough")]
    with tempfile.TemporaryDirectory(prefix="avsec-clip-") as scratch:
        raw_audio = Path(scratch) / "audio.s16le"
        if audio_stream is not None:
            options = {"format": "s16le", "acodec": "pcm_s16le", "map": "0:a:0", "ac": 1, "ar": rate}
            outputs.append(source.output(str(raw_audio), **options))
        cmd = ffmpeg.merge_outputs(*outputs).global_args(*_QUIET).overwrite_output()
        raw = _run(cmd, path, "could not decode the video" + (" or its audio" if audio_stream is not None else ""))
        pcm = raw_audio.read_bytes() if audio_stream is not None else b""
    size = width * height * 3
    if len(raw) == 0 or len(raw) % size:
        raise InputError(path, f"decoded {len(raw)} bytes, not a whole number of {width}x{height} frames")
    frames = np.frombuffer(raw, dtype=np.uint8).reshape(-1, height, width, 3).copy()
    if audio_stream is None:
        return frames, _frame_rate(stream), None
    samples = np.frombuffer(pcm[: len(pcm) // 2 * 2], dtype="<i2").astype(np.int16)
    if len(samples) == 0:
        raise InputError(path, "empty audio track (0 samples)")
    if "start_time" in audio_stream and "start_time" in stream:
        shift = round((float(audio_stream["start_time"]) - float(stream["start_time"])) * rate)
        samples = np.concatenate([np.zeros(shift, np.int16), samples]) if shift > 0 else samples[-shift:]
    return frames, _frame_rate(stream), samples


def _stream(path: Path, kind: str, info: dict | None = None) -> dict:
    """The first stream of ``kind`` ("video" or "audio") in ``path``, or InputError."""
    info = probe(path) if info is None else info
    for stream in info["streams"]:
        if stream.get("codec_type") == kind:
            return stream
    raise InputError(path, f"no {kind} stream")


def _frame_rate(stream: dict) -> float:
    for key in ("avg_frame_rate", "r_frame_rate"):
        num, _, den = str(stream.get(key, "0/0")).partition("/")
        if den and float(den) > 0 and float(num) > 0:
            return float(num) / float(den)
    return 0.0


def _run(cmd, path: Path, what: str) -> bytes:
    try:
        out, _ = cmd.run(capture_stdout=True, capture_stderr=True)
    except ffmpeg.Error as exc:
        raise InputError(path, f"{what} ({_stderr(exc, path)})") from None
    return out


def _stderr(exc: Exception, path: Path | None = None) -> str:
    """ffmpeg's last error line, without the file name it starts with (the error names the file already)."""
    lines = (exc.stderr or b"").decode("utf-8", "replace").strip().splitlines()
    line = lines[-1] if lines else "ffmpeg failed"
    if path is not None:
        line = line.removeprefix(f"{path}: ")
    return line[:200]
