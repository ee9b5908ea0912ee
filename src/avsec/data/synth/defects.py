"""The defects real audiovisual corpora have, planted into synthetic GRID and LRW clips.

Each defect damages one good clip in place, so the corpus keeps its layout and the preparation's rejects
files must name it: a truncated (corrupt) video, a video without its audio track, a video without a face
(grey frames, speech kept; its ground-truth landmarks become missing frames), and, for GRID, a missing .align.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from avsec.data.av.landmarks.precomputed import write_landmarks
from avsec.io.video import read_clip, write_video


def corrupt(video: Path) -> None:
    """Keep the first third of the file: the container's index or data is cut off."""
    data = video.read_bytes()
    video.write_bytes(data[: len(data) // 3])


def strip_audio(video: Path, encoding: dict) -> None:
    """Re-encode the video without its audio track."""
    frames, fps, _ = read_clip(video, audio=False)
    write_video(video, frames, fps, None, None, **encoding)


def remove_face(video: Path, landmarks: Path, rate: int, encoding: dict) -> None:
    """Replace the frames by flat grey (no face to find), keep the speech; landmarks all missing."""
    frames, fps, audio = read_clip(video, rate)
    write_video(video, np.full_like(frames, 128), fps, audio, rate, **encoding)
    write_landmarks(landmarks, np.full((len(frames), 68, 2), np.nan, np.float32))
