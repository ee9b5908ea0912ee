"""Synthetic LibriSpeech in the real layout and file formats.

Layout (the ``LibriSpeech/`` directory an archive unpacks to)::

    SPEAKERS.TXT, CHAPTERS.TXT                   LibriSpeech's pipe-separated tables with ';' comment headers
    <subset>/<spk>/<chap>/<spk>-<chap>-<utt>.flac  FLAC, 16 kHz, 16-bit mono; <utt> has four digits
    <subset>/<spk>/<chap>/<spk>-<chap>.trans.txt   "<spk>-<chap>-<utt> UPPER CASE TRANSCRIPT" per utterance

Speaker and chapter ids are numbers like LibriSpeech's (``103``, ``1240``). Every speaker is an espeak-ng
voice reading book-like sentences of one to three clauses (several seconds each, with a little silence before
and after, light noise); two utterances of the corpus are short (under 32640 samples), a defect the prep
records as rejects.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from avsec.data.synth.speech import (
    ACCENTS,
    Voice,
    add_noise,
    in_threads,
    random_sentence,
    short_sentence,
    speak,
    trim_silence,
)
from avsec.io.audio import write_audio

RATE = 16000
SHORT_UTTERANCES = 2
_FIRST = {
    "F": "Ada Clara Elsa Greta Iris Kara Mira Opal Rosa Tess",
    "M": "Basil Dmitri Felix Hugo Jonas Leon Nils Piet Silas",
}
_LAST = "Abbott Brennan Castle Dawes Ellery Foster Grange Hollis Ingram Jarvis Keller Lowell Marsh Norris Oakes Pryor"
_TITLES = ("Chapter 01", "Chapter 02", "Chapter 03", "Chapter 04", "Chapter 05", "Part I", "Part II", "Prologue")
_BOOKS = ("The Quiet Harbour", "Letters from the Valley", "A Journey North", "The Carpenter's Daughter")

SPEAKERS_HEADER = """\
; Some pipe(|) separated metadata about all LibriVox readers, whose work was used
; in the corpus.
;
; The meaning of the fields in left-to-right order is as follows:
;
; reader_id: the ID of the reader in the LibriVox's database
; gender: 'F' for female, 'M' for male
; subset: the corpus subset to which the reader's audio is assigned
; duration: total number of minutes of speech by the reader, included in the corpus
; name: the name under which the reader is registered in LibriVox
;
;ID  |SEX| SUBSET           |MINUTES| NAME
"""
CHAPTERS_HEADER = """\
; Some pipe(|) separated metadata about the audio chapters included in the corpus.
;
; The meaning of the fields in left-to-right order is as follows:
;
; chapter_id: the ID of the chapter in the LibriVox's database
; reader_id: the ID of the reader in the LibriVox's database
; duration: how many minutes of this chapter are used in the corpus
; subset: the corpus subset to which this chapter is assigned
; project_id: the LibriVox project ID
; book_id: the Project Gutenberg's ID for the book on which the LibriVox project is based
; chapter_title: the title of the chapter on LibriVox
; project_title: the title of the LibriVox project
;
;ID    |READER|MINUTES| SUBSET           | PROJ.|BOOK ID| CH. TITLE          | PROJECT TITLE
"""


def make_librispeech(
    root: Path,
    *,
    seed: int,
    subset: str = "train-clean-100",
    speakers: int = 6,
    chapters_per_speaker: int = 2,
    utterances_per_chapter: int = 5,
) -> None:
    """Write the synthetic LibriSpeech ``subset`` under ``root`` (the ``LibriSpeech/`` directory)."""
    rng = np.random.default_rng([seed, 0x1B51])
    speaker_ids = sorted(int(i) for i in rng.choice(np.arange(19, 9000), speakers, replace=False))
    chapter_ids = iter(int(i) for i in rng.choice(np.arange(100, 200000), speakers * chapters_per_speaker, False))
    total = speakers * chapters_per_speaker * utterances_per_chapter
    short = {int(i) for i in rng.choice(total, min(SHORT_UTTERANCES, total), replace=False)}
    jobs = []  # (speaker, chapter, utterance id, text, voice)
    readers = []
    for spk in speaker_ids:
        sex = "M" if rng.random() < 0.5 else "F"
        voice = Voice(
            accent=str(rng.choice(ACCENTS, p=[0.6, 0.1, 0.1, 0.1, 0.1])),
            variant=f"{sex.lower()}{int(rng.integers(1, 6))}",
            speed=int(rng.integers(140, 191)),
            pitch=int(rng.integers(25, 76)),
        )
        readers.append((spk, sex, f"{rng.choice(_FIRST[sex].split())} {rng.choice(_LAST.split())}"))
        for chap in sorted(next(chapter_ids) for _ in range(chapters_per_speaker)):
            for utt in range(utterances_per_chapter):
                text = short_sentence(rng) if len(jobs) in short else random_sentence(rng, int(rng.integers(1, 4)))
                jobs.append((spk, chap, f"{spk}-{chap}-{utt:04d}", text, voice))
    spoken = in_threads(lambda job: speak(job[3], job[4], RATE), jobs)
    minutes: dict[tuple[int, int], float] = {}
    transcripts: dict[tuple[int, int], list[str]] = {}
    for k, ((spk, chap, uid, text, _), speech) in enumerate(zip(jobs, spoken, strict=True)):
        audio = _utterance(trim_silence(speech, RATE), np.random.default_rng([seed, 0x1B52, k]))
        folder = root / subset / str(spk) / str(chap)
        write_audio(folder / f"{uid}.flac", audio, RATE)
        transcripts.setdefault((spk, chap), []).append(f"{uid} {transcript(text)}")
        minutes[(spk, chap)] = minutes.get((spk, chap), 0.0) + len(audio) / RATE / 60
    for (spk, chap), lines in transcripts.items():
        (root / subset / str(spk) / str(chap) / f"{spk}-{chap}.trans.txt").write_text("\n".join(lines) + "\n")
    _write_tables(root, subset, readers, minutes, rng)


def transcript(text: str) -> str:
    """LibriSpeech's transcript spelling: upper case, apostrophes kept, no other punctuation."""
    return " ".join("".join(c for c in word if c.isalpha() or c == "'") for word in text.upper().split())


def _utterance(speech: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Speech with a little silence before and after, at a reader's level, with light noise."""
    lead, tail = (rng.uniform(0.05, 0.3, 2) * RATE).astype(int)
    signal = np.concatenate([np.zeros(lead), speech.astype(np.float64), np.zeros(tail)])
    signal *= rng.uniform(0.2, 0.6) * 32767 / max(np.abs(signal).max(), 1.0)
    return add_noise(np.round(signal).astype(np.int16), rng, float(rng.uniform(25, 40)))


def _write_tables(
    root: Path,
    subset: str,
    readers: list[tuple[int, str, str]],
    minutes: dict[tuple[int, int], float],
    rng: np.random.Generator,
) -> None:
    """SPEAKERS.TXT and CHAPTERS.TXT in LibriSpeech's column layout."""
    lines = [SPEAKERS_HEADER]
    for spk, sex, name in readers:
        total = sum(m for (s, _), m in minutes.items() if s == spk)
        lines.append(f"{spk:<5}| {sex} | {subset:<17}| {total:<6.2f}| {name}\n")
    (root / "SPEAKERS.TXT").write_text("".join(lines))
    lines = [CHAPTERS_HEADER]
    for (spk, chap), mins in sorted(minutes.items(), key=lambda kv: kv[0][1]):
        project, book = int(rng.integers(100, 12000)), int(rng.integers(1, 40000))
        title, book_title = str(rng.choice(_TITLES)), str(rng.choice(_BOOKS))
        lines.append(
            f"{chap:<7}| {spk:<5}| {mins:<6.2f}| {subset:<17}| {project:<5}| {book:<6}| {title:<19}| {book_title}\n"
        )
    (root / "CHAPTERS.TXT").write_text("".join(lines))
