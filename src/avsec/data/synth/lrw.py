"""Synthetic LRW (Lip Reading in the Wild) corpus in the real layout and formats.

Layout::

    lipread_mp4/<WORD>/{train,val,test}/<WORD>_<NNNNN>.mp4   29 frames, 25 fps, 256x256, H.264 + AAC (16 kHz mono)
    lipread_mp4/<WORD>/{train,val,test}/<WORD>_<NNNNN>.txt   metadata; line 5 "Duration: 0.27 seconds"
    LRW_landmarks/<WORD>/{train,val,test}/<WORD>_<NNNNN>.npz the face's true 68-point landmarks in every frame,
                                                             where the community LRW landmarks go (the format of
                                                             :mod:`avsec.data.av.landmarks.precomputed`)

Numbering restarts at 00001 in every split, as in LRW. Each clip is 1.16 s of a sentence cut around the target
word: context words before and after it, the target word's centre at the clip's centre, and the .txt gives
the target word's duration, which readers use to mark the word's frames around the middle. A speaker is an
espeak-ng voice and a :class:`~avsec.data.synth.face.Look` of the photo. LRW's splits go by broadcast date, not
by speaker, so its regular presenters say many of the words in every split: with ``speakers`` > 0 each clip's
speaker is drawn from that many recurring speakers shared by all words and splits (the smoke scale's setting,
which lets a small recogniser learn the words from a few clips); with 0, every clip is a new speaker.
"""

from __future__ import annotations

import dataclasses
import zlib
from pathlib import Path

import numpy as np

from avsec.data.av.landmarks.precomputed import LANDMARK_DIRS, landmark_path, write_landmarks
from avsec.data.corpora import names as name_list
from avsec.data.synth.defects import corrupt, remove_face, strip_audio
from avsec.data.synth.face import Look, TalkingFace, mouth_openings, random_look
from avsec.data.synth.grid import speak_word
from avsec.data.synth.speech import Voice, add_noise, random_voice
from avsec.io.atomic import write_text
from avsec.io.video import write_video

RATE = 16000
FPS = 25
FRAMES = 29
SIZE = (256, 256)
CLIP = FRAMES * RATE // FPS  # 1.16 s
SPLITS = ("train", "val", "test")
# H.264 video and AAC audio in MP4, like LRW's files.
ENCODING = {
    "vcodec": "libx264",
    "acodec": "aac",
    "format": "mp4",
    "video_options": {"crf": 20, "preset": "medium"},
    "audio_options": {"ar": RATE, "ac": 1, "b:a": "64k"},
}
# Frequent words of broadcast speech, spoken around the target word.
CONTEXT = (
    "THE", "THAT", "PEOPLE", "THERE", "THINK", "GOING", "WHICH", "COULD", "RIGHT", "WORLD",
    "YEARS", "BEING", "MIGHT", "WOULD", "THEIR", "WHERE", "AFTER", "STILL", "TODAY", "NEVER",
)  # fmt: skip


def make_lrw(
    root: Path,
    *,
    seed: int,
    words: tuple[str, ...] = ("ABOUT", "ABSOLUTELY", "ACCESS", "AGAIN"),
    train: int = 4,
    val: int = 1,
    test: int = 1,
    speakers: int = 0,
    defects: bool = False,
) -> None:
    """Write ``train``/``val``/``test`` clips per word of ``words`` under ``root/lipread_mp4``, spoken by
    ``speakers`` recurring speakers (0: a new speaker per clip).

    ``defects``: damage the first training clip of the first three words (corrupt video, no audio track, no face;
    :mod:`avsec.data.synth.defects`)."""
    words = name_list(words, "words")  # --words ABOUT arrives as one string, not as letters
    pool = [_speaker(np.random.default_rng([seed, 0x1A3, 0x5EA, k])) for k in range(speakers)]
    for word in words:
        word = word.upper()
        for split, count in zip(SPLITS, (train, val, test), strict=True):
            for number in range(1, count + 1):
                rng = np.random.default_rng([seed, 0x1A3, zlib.crc32(word.encode()), SPLITS.index(split), number])
                voice, look = pool[int(rng.integers(speakers))] if pool else _speaker(rng)
                audio, duration = _clip_audio(word, voice, rng)
                face = TalkingFace(look, SIZE)
                openings = mouth_openings(audio, RATE, FPS, FRAMES)
                frames = face.render(openings, FPS)
                video = f"lipread_mp4/{word}/{split}/{word}_{number:05d}.mp4"
                write_video(root / video, frames, FPS, audio, RATE, **ENCODING)
                write_text((root / video).with_suffix(".txt"), metadata(word, duration, conf=int(rng.integers(1, 5))))
                write_landmarks(landmark_path(root, video, LANDMARK_DIRS["lrw"]), face.landmarks(openings, FPS))
    if defects:
        first = [f"lipread_mp4/{w.upper()}/train/{w.upper()}_00001.mp4" for w in words[:3]] if train else []
        plants = (
            lambda v: corrupt(root / v),
            lambda v: strip_audio(root / v, ENCODING),
            lambda v: remove_face(root / v, landmark_path(root, v, LANDMARK_DIRS["lrw"]), RATE, ENCODING),
        )
        for video, plant in zip(first, plants, strict=False):
            plant(video)


def metadata(word: str, duration: float, *, conf: int) -> str:
    """The clip's .txt: the word on line 1, the target word's duration in seconds on line 5 (and last)."""
    return f"Text:  {word}\nConf:  {conf}\n\n\nDuration: {duration:.2f} seconds\n"


def _speaker(rng: np.random.Generator) -> tuple[Voice, Look]:
    """A speaker drawn from ``rng``: a voice (165-220 words/min) and a look of the photo."""
    voice = dataclasses.replace(random_voice(rng), speed=int(rng.integers(165, 221)))
    return voice, random_look(rng, SIZE, (105.0, 135.0))


def _clip_audio(word: str, voice: Voice, rng: np.random.Generator) -> tuple[np.ndarray, float]:
    """1.16 s of int16 speech at 16 kHz in ``voice`` with ``word`` centred among context words, and the word's
    duration."""
    others = [w for w in CONTEXT if w != word]
    sequence = [str(w) for w in rng.choice(others, size=2)] + [word] + [str(w) for w in rng.choice(others, size=2)]
    pieces, start, target = [], 0, (0, 0)
    for i, w in enumerate(sequence):
        clip = speak_word(w.lower(), voice, RATE)
        if i:
            start += int(rng.integers(0, RATE * 6 // 100))  # up to 60 ms between words
        pieces.append((start, clip))
        if i == 2:
            target = (start, start + len(clip))
        start += len(clip)
    speech = np.zeros(start + 2 * CLIP, np.int16)  # room on both sides for a clip centred anywhere
    for begin, clip in pieces:
        speech[CLIP + begin : CLIP + begin + len(clip)] = clip
    centre = CLIP + (target[0] + target[1]) // 2
    audio = speech[centre - CLIP // 2 : centre - CLIP // 2 + CLIP]
    return add_noise(audio, rng, float(rng.uniform(20, 30))), (target[1] - target[0]) / RATE
