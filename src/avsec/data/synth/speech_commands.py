"""Synthetic Speech Commands v0.02 in the real layout and file format.

Layout (the directory the archive unpacks to)::

    <word>/<hash>_nohash_<n>.wav   16 kHz, 16-bit mono WAV, at most 16000 samples (about a third shorter)
    _background_noise_/*.wav       long noise recordings (white_noise.wav, pink_noise.wav, ...) and a README.md
    validation_list.txt            "<word>/<file>.wav" of the validation clips, by the README's which_set rule
    testing_list.txt               the same for the test clips
    LICENSE, README.md

A speaker is an espeak-ng voice with an eight-hex-digit id; each says every word once or a few times
(``_nohash_0``, ``_nohash_1``, ...), a little faster or slower each time, at a random offset in the clip,
over background noise. Speaker ids are drawn so that the ``which_set`` rule (SHA-1 of the id, 10 % validation,
10 % test) gives every split at least one speaker.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from pathlib import Path

import numpy as np

from avsec.data.corpora import names as name_list
from avsec.data.synth.speech import in_threads, random_voice, speak, trim_silence
from avsec.io.audio import to_int16, write_audio

RATE = 16000
CLIP = 16000
WORDS = ("yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go", "bed", "cat")
# the background files of the real archive, in the order they are made
BACKGROUNDS = ("white_noise", "pink_noise", "running_tap", "exercise_bike", "doing_the_dishes", "dude_miaowing")
MAX_NUM_WAVS_PER_CLASS = 2**27 - 1  # ~134M, from the dataset README's which_set
VALIDATION_PERCENTAGE = TESTING_PERCENTAGE = 10.0

LICENSE = """\
This synthetic stand-in for the Speech Commands dataset is released, like the original, under the
Creative Commons BY 4.0 license (https://creativecommons.org/licenses/by/4.0/).
"""
README = """\
# Speech Commands (synthetic)

One-second WAV clips (16 kHz, 16-bit mono) of single spoken words, one folder per word, named
`<speaker id>_nohash_<n>.wav`. `validation_list.txt` and `testing_list.txt` name the clips of the validation
and test sets, chosen by hashing the speaker id (see `which_set`); every other clip is for training.
`_background_noise_` holds longer noise recordings for mixing into the clips.
"""
BACKGROUND_README = """\
These files are longer recordings of background noise, for mixing into the word clips during training.
They are synthesised: white and pink noise, and imitations of a running tap, an exercise bike, dishes being
washed and a cat.
"""


def make_speech_commands(
    root: Path,
    *,
    seed: int,
    speakers: int = 12,
    words: tuple[str, ...] = WORDS,
    background: int = 2,
) -> None:
    """Write the synthetic Speech Commands corpus under ``root``."""
    if speakers < 3:
        raise ValueError(f"speech_commands needs at least 3 speakers (one per split), got {speakers}")
    if not 0 <= background <= len(BACKGROUNDS):
        raise ValueError(f"background must be 0..{len(BACKGROUNDS)}, got {background}")
    words = name_list(words, "words")  # --words yes arrives as one string, not as letters
    rng = np.random.default_rng([seed, 0x5C01])
    jobs = []  # (file name relative to root, word, voice)
    for speaker in speaker_ids(rng, speakers):
        voice = random_voice(rng)
        for word in words:
            for n in range(int(rng.choice([1, 1, 1, 1, 2, 2, 3]))):
                take = dataclasses.replace(
                    voice, speed=voice.speed + int(rng.integers(-15, 16)), pitch=voice.pitch + int(rng.integers(-5, 6))
                )
                jobs.append((f"{word}/{speaker}_nohash_{n}.wav", word, take))
    spoken = in_threads(lambda job: trim_silence(speak(job[1], job[2], RATE), RATE), jobs)
    lists: dict[str, list[str]] = {"validation": [], "testing": []}
    for k, ((name, _, _), speech) in enumerate(zip(jobs, spoken, strict=True)):
        write_audio(root / name, _clip(speech, np.random.default_rng([seed, 0x5C02, k])), RATE)
        split = which_set(name)
        if split in lists:
            lists[split].append(name)
    for split, names in lists.items():
        (root / f"{split}_list.txt").write_text("".join(f"{name}\n" for name in sorted(names)))
    for b, name in enumerate(BACKGROUNDS[:background]):
        noise = _background(name, np.random.default_rng([seed, 0x5C03, b]))
        write_audio(root / "_background_noise_" / f"{name}.wav", noise, RATE)
    if background:
        (root / "_background_noise_" / "README.md").write_text(BACKGROUND_README)
    (root / "LICENSE").write_text(LICENSE)
    (root / "README.md").write_text(README)


def which_set(filename: str, validation_percentage: float = 10.0, testing_percentage: float = 10.0) -> str:
    """The dataset README's rule: "validation", "testing" or "training" from the SHA-1 of the speaker id."""
    hash_name = re.sub(r"_nohash_.*$", "", Path(filename).name)
    hash_name_hashed = hashlib.sha1(hash_name.encode("utf-8")).hexdigest()
    percentage_hash = (int(hash_name_hashed, 16) % (MAX_NUM_WAVS_PER_CLASS + 1)) * (100.0 / MAX_NUM_WAVS_PER_CLASS)
    if percentage_hash < validation_percentage:
        return "validation"
    if percentage_hash < testing_percentage + validation_percentage:
        return "testing"
    return "training"


def speaker_ids(rng: np.random.Generator, n: int) -> list[str]:
    """``n`` distinct eight-hex-digit speaker ids, 10 % (at least one) falling in each of validation and
    testing by :func:`which_set`, the rest in training."""
    held_out = max(1, round(n * VALIDATION_PERCENTAGE / 100))
    quota = {"validation": held_out, "testing": held_out, "training": n - 2 * held_out}
    ids: list[str] = []
    while len(ids) < n:
        candidate = f"{int(rng.integers(0, 2**32)):08x}"
        split = which_set(f"{candidate}_nohash_0.wav")
        if quota[split] > 0 and candidate not in ids:
            quota[split] -= 1
            ids.append(candidate)
    return ids


def _clip(speech: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The word at a random offset in a clip of at most 1 s (a third of them shorter), over noise."""
    length = CLIP if rng.random() < 0.65 else int(rng.integers(CLIP // 2, CLIP))
    speech = speech[:CLIP]
    length = max(length, min(len(speech) + RATE // 20, CLIP))
    at = int(rng.integers(0, length - len(speech) + 1))
    signal = np.zeros(length)
    signal[at : at + len(speech)] = speech / max(np.abs(speech).max(initial=0), 1)
    signal *= rng.uniform(0.1, 0.8)
    colour = _pink(length, rng) if rng.random() < 0.5 else rng.standard_normal(length)
    noise_db = rng.uniform(-45, -25)  # relative to full scale
    signal += colour / np.sqrt(np.mean(colour**2)) * 10 ** (noise_db / 20)
    return to_int16(signal)


def _pink(n: int, rng: np.random.Generator) -> np.ndarray:
    """Pink (1/f) noise by shaping white noise's spectrum."""
    spectrum = np.fft.rfft(rng.standard_normal(n))
    spectrum /= np.sqrt(np.maximum(np.arange(len(spectrum)), 1))
    return np.fft.irfft(spectrum, n)


def _background(name: str, rng: np.random.Generator) -> np.ndarray:
    """10 to 13 s of one kind of background noise, int16."""
    n = int(rng.uniform(10, 13) * RATE)
    t = np.arange(n) / RATE
    white = rng.standard_normal(n)
    if name == "white_noise":
        x = white
    elif name == "pink_noise":
        x = _pink(n, rng)
    elif name == "running_tap":  # band-limited rush with a slow wobble
        x = np.convolve(white, np.hanning(9), "same") * (1 + 0.3 * np.sin(2 * np.pi * 0.7 * t))
    elif name == "exercise_bike":  # whoosh at the pedalling rate plus a squeak
        x = white * (0.4 + 0.6 * np.sin(np.pi * 1.3 * t) ** 2) + 0.5 * np.sin(2 * np.pi * 900 * t) * (
            np.sin(2 * np.pi * 1.3 * t) > 0.95
        )
    else:  # clinks (decaying pings) over water, or a cat's meows over room noise
        x = 0.3 * _pink(n, rng)
        for at in rng.integers(0, n - RATE, int(n / RATE * 1.5)):
            d = np.arange(int(0.6 * RATE)) / RATE
            if name == "doing_the_dishes":
                ping = np.sin(2 * np.pi * rng.uniform(1500, 4000) * d) * np.exp(-d / 0.08)
            else:
                f0 = 500 + 300 * np.sin(np.pi * d / 0.6)
                phase = 2 * np.pi * np.cumsum(f0) / RATE
                ping = (np.sin(phase) + 0.5 * np.sin(2 * phase)) * np.sin(np.pi * d / 0.6)
            x[at : at + len(d)] += 3 * ping
    return to_int16(x / np.abs(x).max() * rng.uniform(0.2, 0.5))
