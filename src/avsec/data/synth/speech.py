"""Speech from espeak-ng with varied voices, speeds and pitches: the learnable content of the synthetic corpora."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

import numpy as np

from avsec.io.audio import resample

T = TypeVar("T")
R = TypeVar("R")

ESPEAK_RATE = 22050
# espeak-ng voice variants (espeak-ng-data/voices/!v) that ship with Debian's espeak-ng-data
VARIANTS = ("m1", "m2", "m3", "m4", "m5", "f1", "f2", "f3", "f4", "f5", "klatt", "klatt2", "croak", "whisper")
ACCENTS = ("en-us", "en-gb", "en-gb-scotland", "en-029", "en-gb-x-rp")
WORD_GAP = 50  # espeak-ng -g: pause after each word, 10 ms units at the default speed (speak_words)


@dataclass(frozen=True)
class Voice:
    """One synthetic speaker: an espeak-ng voice plus speed (words/min) and pitch (0-99)."""

    accent: str
    variant: str
    speed: int
    pitch: int

    @property
    def name(self) -> str:
        return f"{self.accent}+{self.variant}"


def random_voice(rng: np.random.Generator) -> Voice:
    """A speaker drawn from ``rng``: accent, variant, speed 130-190 wpm, pitch 25-75."""
    return Voice(
        accent=str(rng.choice(ACCENTS)),
        variant=str(rng.choice(VARIANTS[:10])),
        speed=int(rng.integers(130, 191)),
        pitch=int(rng.integers(25, 76)),
    )


def speak(text: str, voice: Voice, rate: int) -> np.ndarray:
    """Synthesize ``text`` with espeak-ng and return int16 samples at ``rate`` Hz."""
    return resample(_espeak(text, voice), ESPEAK_RATE, rate)


def speak_words(words: Sequence[str], voice: Voice, rate: int) -> list[np.ndarray]:
    """Each of ``words`` as int16 samples at ``rate`` Hz, its silence trimmed, spoken as one phrase.

    One espeak-ng call reads the phrase with a long gap after every word (``-g``), so the words keep the
    phrase's prosody and the gaps give exact word boundaries; should the gaps not split the phrase into as
    many pieces as there are words, every word is synthesised on its own instead.
    """
    pcm = _espeak(" ".join(words), voice, "-g", str(WORD_GAP))
    pieces = _split_at_gaps(pcm, min_gap=int(0.15 * ESPEAK_RATE))
    if len(pieces) != len(words):
        return [trim_silence(speak(w, voice, rate), rate) for w in words]
    margin = int(0.005 * ESPEAK_RATE)
    return [resample(pcm[max(a - margin, 0) : b + margin], ESPEAK_RATE, rate) for a, b in pieces]


def _espeak(text: str, voice: Voice, *options: str) -> np.ndarray:
    """espeak-ng's int16 output at :data:`ESPEAK_RATE` for ``text`` in ``voice``."""
    cmd = [_executable(), "-v", voice.name, "-s", str(voice.speed), "-p", str(voice.pitch), *options, "--stdout", text]
    wav = subprocess.run(cmd, check=True, capture_output=True).stdout
    # espeak-ng streams a canonical 44-byte RIFF header with placeholder sizes: take the PCM after it
    return np.frombuffer(wav[44 : 44 + (len(wav) - 44) // 2 * 2], dtype="<i2").astype(np.int16)


def _executable() -> str:
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise RuntimeError("espeak-ng not found: install Debian's espeak-ng (bash setup.sh does it as root)")
    return exe


def _split_at_gaps(x: np.ndarray, *, min_gap: int) -> list[tuple[int, int]]:
    """(start, end) of the stretches of ``x`` separated by at least ``min_gap`` samples of near silence."""
    mag = np.abs(x.astype(np.int32))
    loud = np.nonzero(mag > 0.005 * max(int(mag.max(initial=0)), 1))[0]
    if len(loud) == 0:
        return []
    breaks = np.nonzero(np.diff(loud) > min_gap)[0]
    starts = np.concatenate([[loud[0]], loud[breaks + 1]])
    ends = np.concatenate([loud[breaks] + 1, [loud[-1] + 1]])
    return [(int(a), int(b)) for a, b in zip(starts, ends, strict=True)]


def add_noise(x: np.ndarray, rng: np.random.Generator, snr_db: float) -> np.ndarray:
    """Add white noise at ``snr_db`` relative to the signal power (int16 in, int16 out)."""
    sig = x.astype(np.float64)
    power = max(np.mean(sig**2), 1.0)
    noise = rng.standard_normal(len(sig)) * np.sqrt(power / 10 ** (snr_db / 10))
    return np.clip(np.round(sig + noise), -32768, 32767).astype(np.int16)


def in_threads(fn: Callable[[T], R], items: Sequence[T], *, workers: int | None = None) -> list[R]:
    """``[fn(x) for x in items]`` in a few threads: for calls that wait on an espeak-ng process each, whose
    results do not depend on the order they finish in."""
    with ThreadPoolExecutor(max_workers=workers or min(4, os.cpu_count() or 1)) as pool:
        return list(pool.map(fn, items))


def trim_silence(x: np.ndarray, rate: int, *, level: float = 0.03, margin_s: float = 0.005) -> np.ndarray:
    """``x`` without the synthesiser's leading and trailing silence: samples below ``level`` × peak, keeping
    ``margin_s`` on each side."""
    mag = np.abs(x.astype(np.int32))
    loud = np.nonzero(mag > level * max(int(mag.max(initial=0)), 1))[0]
    if len(loud) == 0:
        return x[:0]
    margin = int(rate * margin_s)
    return x[max(loud[0] - margin, 0) : loud[-1] + margin + 1]


def ipa_words(words: Sequence[str], accent: str) -> list[str]:
    """espeak-ng's IPA transcription of each word (stress marks included) in ``accent``, in one call."""
    # -l 1000: every input line shorter than that is its own clause, so each word comes back on its own line
    text = "\n".join(words) + "\n"
    cmd = [_executable(), "-q", "--ipa", "-l", "1000", "-v", accent]
    out = subprocess.run(cmd, input=text.encode(), check=True, capture_output=True).stdout.decode("utf-8")
    lines = [line.strip() for line in out.splitlines() if line.strip()]
    if len(lines) != len(words):  # espeak-ng merged or split a line: ask word by word
        lines = [subprocess.run([*cmd, w], check=True, capture_output=True).stdout.decode().strip() for w in words]
    return lines


# A small English grammar for sentences with varied phonetic content.
_ADJECTIVES = (
    "old young quiet bright heavy narrow gentle bitter golden wooden frozen yellow smooth ragged sudden "
    "shallow curious patient clever silver muddy thirsty faithful broken crooked distant pleasant"
).split()
_NOUNS = (
    "farmer sailor garden window river kitchen teacher village blanket kettle lantern bridge orchard "
    "shepherd engine pocket meadow harbour chimney basket doctor hunter castle valley thunder cabin "
    "wagon soldier letter pillow candle journey feather mirror ladder stranger carpenter fisherman"
).split()
_VERBS = (
    "watched carried followed painted guarded noticed visited crossed repaired described borrowed "
    "gathered dropped fetched measured polished admired pushed searched cleaned opened covered"
).split()
_PREPOSITIONS = "near behind beside under across beyond toward through above against".split()
_ADVERBS = "slowly quickly quietly gladly nearly often early rarely suddenly carefully".split()
_DETERMINERS = "the the the a this that every some".split()
_CONJUNCTIONS = "and but while because although until".split()


def random_sentence(rng: np.random.Generator, clauses: int = 1) -> str:
    """An English sentence of ``clauses`` clauses (about 8 words each), capitalised, ending with a period."""
    parts = []
    for i in range(clauses):
        words = [str(rng.choice(_DETERMINERS)), str(rng.choice(_ADJECTIVES)), str(rng.choice(_NOUNS))]
        if rng.random() < 0.4:
            words.append(str(rng.choice(_ADVERBS)))
        words += [str(rng.choice(_VERBS)), str(rng.choice(_DETERMINERS)), str(rng.choice(_NOUNS))]
        if rng.random() < 0.6:
            words += [str(rng.choice(_PREPOSITIONS)), "the", str(rng.choice(_NOUNS))]
        if i:
            words.insert(0, str(rng.choice(_CONJUNCTIONS)))
        parts.append(" ".join(words))
    text = " ".join(parts)
    return text[0].upper() + text[1:] + "."


def short_sentence(rng: np.random.Generator) -> str:
    """A two- or three-word sentence (well under two seconds spoken)."""
    words = [str(rng.choice(_NOUNS)), str(rng.choice(_VERBS))]
    if rng.random() < 0.5:
        words.append(str(rng.choice(_ADVERBS)))
    text = " ".join(words)
    return text[0].upper() + text[1:] + "."
