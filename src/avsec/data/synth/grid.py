"""Synthetic GRID corpus in the real layout and formats.

Layout (as the GRID distribution unpacks)::

    s<N>/video/mpg_6000/<id>.mpg    75 frames, 25 fps, 360x288, MPEG-1 video + MPEG-1 Layer II audio, MPEG-PS
    s<N>/align/<id>.align           "start end word" per line, times in 1/25000 s (1000 per video frame),
                                    sil at both ends, sp for a pause between words
    audio_25k/s<N>/<id>.wav         the same speech, 25 kHz 16-bit mono
    GRID_landmarks/s<N>/video/mpg_6000/<id>.npz
                                    the face's true 68-point landmarks in every frame (not part of GRID: the
                                    precomputed-landmarks format of :mod:`avsec.data.av.landmarks.precomputed`)

Sentences follow the GRID grammar ``command colour preposition letter digit adverb`` and ids are the real
six-character code of the words' first characters with the digit as a number (``bin blue at f two now`` is
``bbaf2n``). Each speaker is an espeak-ng voice and a :class:`~avsec.data.synth.face.Look` of the photo; words
are synthesised one by one, so the alignment boundaries are exact, and the sentence is placed in 3 s with
silence before and after and light noise throughout.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
from scipy.signal import resample_poly

from avsec.data.av.landmarks.precomputed import LANDMARK_DIRS, landmark_path, write_landmarks
from avsec.data.synth.defects import corrupt, remove_face
from avsec.data.synth.face import TalkingFace, mouth_openings, random_look
from avsec.data.synth.speech import Voice, add_noise, random_voice, speak, trim_silence
from avsec.io.atomic import write_text
from avsec.io.audio import write_audio
from avsec.io.video import write_video

COMMANDS = ("bin", "lay", "place", "set")
COLOURS = ("blue", "green", "red", "white")
PREPOSITIONS = ("at", "by", "in", "with")
LETTERS = tuple("abcdefghijklmnopqrstuvxyz")  # no w
DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
ADVERBS = ("again", "now", "please", "soon")

RATE = 25000  # GRID's distributed audio rate; also the .align time unit (1000 units per 40 ms video frame)
FPS = 25
FRAMES = 75
SIZE = (360, 288)
ALIGN_STEP = 250  # GRID's boundaries fall on 10 ms steps
ALIGN_END = 74500  # the last sil of a real GRID .align ends here, not at 75000
MIN_SILENCE = 3750  # 150 ms of silence at least before and after the sentence

# How espeak-ng should say a letter (its name) rather than guess a word.
_NAMES = "ay bee see dee ee eff jee aitch eye jay kay ell em en oh pee cue ar ess tee you vee ex why zed"
LETTER_NAMES = dict(zip(LETTERS, _NAMES.split(), strict=True))
# MPEG-1 video and MPEG-1 Layer II audio in an MPEG program stream, like GRID's .mpg files.
ENCODING = {
    "vcodec": "mpeg1video",
    "acodec": "mp2",
    "format": "mpeg",
    "video_options": {"q:v": 3},
    "audio_options": {"ar": 44100, "ac": 2, "b:a": "192k"},
}


def make_grid(
    root: Path, *, seed: int, speakers: int = 3, sentences_per_speaker: int = 6, defects: bool = False
) -> None:
    """Write ``speakers`` speakers (s1, s2, ...) with ``sentences_per_speaker`` sentences each under ``root``.

    ``defects``: damage the last sentence of the first speakers (a missing .align, a corrupt video, a video
    without a face; :mod:`avsec.data.synth.defects`)."""
    last: list[tuple[str, str]] = []
    for speaker in range(1, speakers + 1):
        rng = np.random.default_rng([seed, 0x6D1D, speaker])
        voice = dataclasses.replace(random_voice(rng), speed=int(rng.integers(170, 211)))
        face = TalkingFace(random_look(rng, SIZE, (90.0, 120.0)), SIZE)
        cache: dict[str, np.ndarray] = {}
        for words in _sentences(rng, sentences_per_speaker):
            uid = sentence_id(words)
            audio, align = _utterance(words, voice, rng, cache)
            openings = mouth_openings(audio, RATE, FPS, FRAMES)
            frames = face.render(openings, FPS)
            spk = f"s{speaker}"
            video = f"{spk}/video/mpg_6000/{uid}.mpg"
            write_audio(root / "audio_25k" / spk / f"{uid}.wav", audio, RATE)
            write_text(root / spk / "align" / f"{uid}.align", "".join(f"{a} {b} {w}\n" for a, b, w in align))
            write_video(root / video, frames, FPS, audio, RATE, **ENCODING)
            write_landmarks(landmark_path(root, video, LANDMARK_DIRS["grid"]), face.landmarks(openings, FPS))
        last.append((spk, uid))
    if defects:
        plants = (
            lambda spk, uid: (root / spk / "align" / f"{uid}.align").unlink(),
            lambda spk, uid: corrupt(root / spk / "video/mpg_6000" / f"{uid}.mpg"),
            lambda spk, uid: remove_face(
                root / spk / "video/mpg_6000" / f"{uid}.mpg",
                landmark_path(root, f"{spk}/video/mpg_6000/{uid}.mpg", LANDMARK_DIRS["grid"]),
                RATE,
                ENCODING,
            ),
        )
        for (spk, uid), plant in zip(last, plants, strict=False):
            plant(spk, uid)


def sentence_id(words: tuple[str, ...]) -> str:
    """GRID's id of a sentence: first characters, the digit as a number (``bin blue at f two now`` → bbaf2n)."""
    return "".join(str(DIGITS.index(w)) if w in DIGITS else w[0] for w in words)


def speak_word(word: str, voice: Voice, rate: int) -> np.ndarray:
    """One word from espeak-ng with the synthesiser's leading and trailing silence cut (5 ms kept)."""
    return trim_silence(speak(LETTER_NAMES.get(word, word), voice, rate), rate)


def _sentences(rng: np.random.Generator, n: int) -> list[tuple[str, ...]]:
    """``n`` distinct random GRID sentences."""
    seen: dict[str, tuple[str, ...]] = {}
    while len(seen) < n:
        words = tuple(str(rng.choice(group)) for group in (COMMANDS, COLOURS, PREPOSITIONS, LETTERS, DIGITS, ADVERBS))
        seen.setdefault(sentence_id(words), words)
    return list(seen.values())


def _utterance(
    words: tuple[str, ...], voice: Voice, rng: np.random.Generator, cache: dict[str, np.ndarray]
) -> tuple[np.ndarray, list[tuple[int, int, str]]]:
    """3 s of int16 audio at 25 kHz and its alignment: (start, end, word) in samples, sil/sp included."""
    for w in words:
        if w not in cache:
            cache[w] = speak_word(w, voice, RATE)
    clips = [cache[w] for w in words]
    pauses = [int(rng.integers(4, 13)) * ALIGN_STEP if rng.random() < 0.3 else 0 for _ in words[1:]]
    lengths = [-(-len(c) // ALIGN_STEP) * ALIGN_STEP for c in clips]
    budget = ALIGN_END - 2 * MIN_SILENCE
    speech = sum(lengths) + sum(pauses)
    while speech > budget:  # a slow voice: no pauses, and the words sped up until they fit the 3 s
        pauses = [0] * len(pauses)
        ratio = 0.98 * budget / sum(lengths)
        clips = [resample_poly(c.astype(np.float64), 100, int(np.ceil(100 / ratio))) for c in clips]
        clips = [np.clip(np.round(c), -32768, 32767).astype(np.int16) for c in clips]
        lengths = [-(-len(c) // ALIGN_STEP) * ALIGN_STEP for c in clips]
        speech = sum(lengths) + sum(pauses)
    slack = (ALIGN_END - MIN_SILENCE - speech - MIN_SILENCE) // ALIGN_STEP
    start = MIN_SILENCE + int(rng.integers(0, slack + 1)) * ALIGN_STEP
    audio = np.zeros(FRAMES * RATE // FPS, np.float64)
    align = [(0, start, "sil")]
    for i, (word, clip, length) in enumerate(zip(words, clips, lengths, strict=True)):
        if i and pauses[i - 1]:
            align.append((start, start + pauses[i - 1], "sp"))
            start += pauses[i - 1]
        audio[start : start + len(clip)] = clip
        align.append((start, start + length, word))
        start += length
    align.append((start, ALIGN_END, "sil"))
    noisy = add_noise(np.clip(np.round(audio), -32768, 32767).astype(np.int16), rng, float(rng.uniform(25, 35)))
    return noisy, align
