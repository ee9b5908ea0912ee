"""Synthetic GTZAN in the real layout and file formats.

Layout (the directory holding ``genres/`` or, with ``layout="genres_original"``, Kaggle's ``genres_original/``)::

    genres/<genre>/<genre>.000NN.au             Sun AU, 22050 Hz, mono, 16-bit big-endian PCM
    genres_original/<genre>/<genre>.000NN.wav   RIFF WAV, 22050 Hz, mono, 16-bit PCM

Ten genres of synthesised music, each with its own tempo range, swing, scales, instruments (harmonic
spectra, envelopes, distortion), drum patterns and noise, so that a classifier can tell them apart from a
1 s clip; every track draws its own key, tempo, chord progression, melody and mix. Tracks last about 30 s
(most exactly GTZAN's 661794 samples, some between 29.1 and 30.65 s). As in the common copies,
``jazz.00054`` is corrupt: a file that no audio library can decode.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from avsec.io.audio import to_int16, write_audio

RATE = 22050
GENRES = ("blues", "classical", "country", "disco", "hiphop", "jazz", "metal", "pop", "reggae", "rock")
LAYOUTS = {"genres": "au", "genres_original": "wav"}
CORRUPT = ("jazz", 54)
TABLE = 2048  # wavetable length

# scales as semitone offsets from the key
MAJOR, MINOR = (0, 2, 4, 5, 7, 9, 11), (0, 2, 3, 5, 7, 8, 10)
HARMONIC_MINOR, DORIAN, MIXOLYDIAN = (0, 2, 3, 5, 7, 8, 11), (0, 2, 3, 5, 7, 9, 10), (0, 2, 4, 5, 7, 9, 10)
PHRYGIAN, BLUES = (0, 1, 3, 5, 7, 8, 10), (0, 3, 5, 6, 7, 10)
MAJOR_PENTATONIC, MINOR_PENTATONIC = (0, 2, 4, 7, 9), (0, 3, 5, 7, 10)


@dataclass(frozen=True)
class Timbre:
    """An instrument: relative harmonic amplitudes, attack and decay times (s), vibrato depth (fraction)."""

    harmonics: tuple[float, ...]
    attack: float = 0.005
    decay: float = 0.5
    vibrato: float = 0.0


@dataclass(frozen=True)
class Style:
    """What makes a genre: tempo (BPM), swing (0 straight, 1 triplet), scales, chord progressions (scale
    degrees, one chord per bar), instruments with their rhythms (16th-note steps of a bar), drums, distortion
    and noise."""

    tempo: tuple[float, float]
    swing: float
    scales: tuple[tuple[int, ...], ...]
    progressions: tuple[tuple[int, ...], ...]
    lead: Timbre
    lead_octave: int
    lead_steps: int  # a melody note every this many 16ths (on average)
    chord: Timbre | None
    chord_steps: tuple[int, ...]
    chord_len: int  # 16ths
    bass: Timbre | None
    bass_steps: tuple[int, ...]
    drums: dict[str, tuple[int, ...]] = field(default_factory=dict)
    chord_size: int = 3
    drive: float = 0.0
    noise: float = 0.0
    crackle: float = 0.0


_GUITAR = Timbre((1, 0.7, 0.5, 0.35, 0.25, 0.15, 0.1), decay=0.45, vibrato=0.004)
_STRINGS = Timbre(tuple(1 / k for k in range(1, 13)), attack=0.15, decay=4.0, vibrato=0.006)
_TWANG = Timbre((1, 0.9, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2), decay=0.25)
_FIDDLE = Timbre((1, 0.6, 0.45, 0.3, 0.2, 0.15), attack=0.04, decay=1.0, vibrato=0.008)
_BRASS = Timbre((1, 0.8, 0.6, 0.5, 0.35, 0.2), attack=0.02, decay=0.6)
_STAB = Timbre((1, 0.5, 0.33, 0.25, 0.2), attack=0.005, decay=0.15)
_EPIANO = Timbre((1, 0.3, 0.05, 0.1), decay=0.7)
_SAX = Timbre((1, 0.6, 0.7, 0.3, 0.4, 0.2, 0.15), attack=0.03, decay=0.8, vibrato=0.01)
_PIANO = Timbre((1, 0.5, 0.3, 0.2, 0.1), decay=0.5)
_POWER = Timbre((1, 0.8, 0.6, 0.5, 0.4, 0.3, 0.25, 0.2, 0.15), decay=0.3)
_SQUARE = Timbre((1, 0, 0.33, 0, 0.2, 0, 0.14, 0, 0.11), attack=0.01, decay=0.5)
_PAD = Timbre((1, 0.4, 0.2, 0.1), attack=0.2, decay=3.0)
_ORGAN = Timbre((1, 1, 0.5, 0.6, 0, 0.3), decay=0.12)
_MELODICA = Timbre((1, 0.5, 0.5, 0.25), attack=0.03, decay=0.6, vibrato=0.005)
_BASS = Timbre((1, 0.5, 0.25, 0.12), decay=0.5)
_UPRIGHT = Timbre((1, 0.45, 0.15), decay=0.35)
_SUB = Timbre((1, 0.1), decay=1.2)

_8THS = (0, 2, 4, 6, 8, 10, 12, 14)
_BEATS = (0, 4, 8, 12)
_OFFBEATS = (2, 6, 10, 14)
_BACKBEAT = (4, 12)

STYLES = {
    "blues": Style(
        (70, 100), 0.9, (BLUES, MIXOLYDIAN), ((0, 0, 0, 0, 3, 3, 0, 0, 4, 3, 0, 4),), _GUITAR, 4, 3,
        _PIANO, (0, 6, 8, 14), 2, _BASS, _BEATS, {"kick": (0, 8), "snare": _BACKBEAT, "hat": _8THS}, drive=1.5,
    ),
    "classical": Style(
        (60, 90), 0.0, (MAJOR, HARMONIC_MINOR), ((0, 3, 4, 0), (0, 5, 3, 4), (0, 4, 5, 3)), _STRINGS, 5, 2,
        _STRINGS, (0,), 16, _STRINGS, (0, 8), {}, noise=0.002,
    ),
    "country": Style(
        (100, 130), 0.0, (MAJOR_PENTATONIC, MAJOR), ((0, 3, 4, 0), (0, 0, 3, 4)), _FIDDLE, 5, 2,
        _TWANG, _BACKBEAT, 2, _BASS, (0, 8), {"kick": (0, 8), "brush": _BACKBEAT},
    ),
    "disco": Style(
        (115, 130), 0.0, (DORIAN, MINOR), ((0, 3, 0, 4), (0, 5, 6, 4)), _BRASS, 5, 2,
        _STAB, _OFFBEATS, 1, _BASS, _8THS, {"kick": _BEATS, "snare": _BACKBEAT, "open_hat": _OFFBEATS},
    ),
    "hiphop": Style(
        (80, 100), 0.35, (MINOR_PENTATONIC, MINOR), ((0, 0, 5, 4), (0, 3, 0, 3)), _EPIANO, 5, 6,
        _EPIANO, (0, 10), 4, _SUB, (0, 7, 10), {"kick808": (0, 7, 10), "snare": _BACKBEAT, "hat": tuple(range(16))},
        noise=0.004, crackle=0.02,
    ),
    "jazz": Style(
        (110, 160), 0.75, (DORIAN, MIXOLYDIAN), ((1, 4, 0, 0), (1, 4, 0, 5), (0, 5, 1, 4)), _SAX, 4, 2,
        _PIANO, (3, 6, 11), 2, _UPRIGHT, _BEATS, {"ride": (0, 4, 6, 8, 12, 14), "hat": _BACKBEAT},
        chord_size=4,
    ),
    "metal": Style(
        (140, 190), 0.0, (PHRYGIAN, MINOR), ((0, 0, 5, 6), (0, 1, 0, 6)), _POWER, 4, 1,
        _POWER, tuple(range(16)), 1, _BASS, tuple(range(16)),
        {"kick": tuple(range(16)), "snare": _BACKBEAT, "crash": (0,)}, drive=12.0, noise=0.01,
    ),
    "pop": Style(
        (100, 125), 0.0, (MAJOR,), ((0, 4, 5, 3), (0, 5, 3, 4)), _SQUARE, 5, 2,
        _PAD, (0,), 16, _BASS, _8THS, {"kick": (0, 8, 10), "clap": _BACKBEAT, "hat": _8THS},
    ),
    "reggae": Style(
        (65, 85), 0.25, (MAJOR, MIXOLYDIAN), ((0, 3, 0, 4), (0, 0, 3, 3)), _MELODICA, 5, 4,
        _ORGAN, _OFFBEATS, 1, _SUB, (0, 3, 6, 10), {"kick": (8,), "rim": (8,), "hat": _8THS},
    ),
    "rock": Style(
        (110, 150), 0.0, (MIXOLYDIAN, MINOR_PENTATONIC), ((0, 3, 4, 3), (0, 6, 3, 0)), _GUITAR, 4, 2,
        _POWER, _8THS, 2, _BASS, _8THS, {"kick": (0, 6, 8), "snare": _BACKBEAT, "hat": _8THS, "crash": (0,)},
        drive=4.0, noise=0.003,
    ),
}  # fmt: skip


def make_gtzan(
    root: Path, *, seed: int, tracks_per_genre: int = 3, duration: float = 30.0, layout: str = "genres"
) -> None:
    """Write ``tracks_per_genre`` tracks of each genre, plus the corrupt ``jazz.00054``, under ``root``."""
    if layout not in LAYOUTS:
        raise ValueError(f"unknown GTZAN layout {layout!r}; known: {', '.join(LAYOUTS)}")
    ext = LAYOUTS[layout]
    for g, genre in enumerate(GENRES):
        for n in range(tracks_per_genre):
            if (genre, n) == CORRUPT:
                continue
            rng = np.random.default_rng([seed, 0x6721, g, n])
            write_audio(root / layout / genre / f"{genre}.{n:05d}.{ext}", track(genre, rng, duration), RATE)
    genre, n = CORRUPT
    (root / layout / genre / f"{genre}.{n:05d}.{ext}").write_bytes(corrupt_file(ext, seed))


def corrupt_file(ext: str, seed: int) -> bytes:
    """A damaged file of the container ``ext``: its magic number, then a broken header and garbage.

    Plain garbage would not do for ``.au``: libsndfile reads a headerless ``.au`` as raw 8 kHz mu-law.
    """
    garbage = np.random.default_rng([seed, 0x6722]).integers(0, 256, 65536, dtype=np.uint8).tobytes()
    if ext == "au":  # .snd header with encoding 0 ("unspecified"), which no decoder accepts
        return b".snd" + struct.pack(">5I", 24, len(garbage), 0, RATE, 1) + garbage
    return b"RIFF" + struct.pack("<I", len(garbage) + 4) + b"WAVE" + garbage  # no fmt or data chunk


def track(genre: str, rng: np.random.Generator, duration: float = 30.0) -> np.ndarray:
    """One int16 track of ``genre`` lasting about ``duration`` seconds at 22050 Hz."""
    style = STYLES[genre]
    if rng.random() < 0.7:
        n = round(duration * RATE) + 294  # 661794 samples at 30 s, like most GTZAN tracks
    else:
        n = int(rng.uniform(duration - 0.9, duration + 0.65) * RATE)
    song = _Song(style, rng, n)
    mix = song.drums() + song.bass() * _db(rng, -3) + song.chords() * _db(rng, -6) + song.melody() * _db(rng, -4)
    if style.drive:
        mix = np.tanh(style.drive * mix / max(np.abs(mix).max(), 1e-9))
    mix += song.noise()
    return to_int16(mix * rng.uniform(0.5, 0.95) / max(np.abs(mix).max(), 1e-9))


def _db(rng: np.random.Generator, level: float) -> float:
    """A gain around ``level`` dB, ±2 dB."""
    return 10 ** ((level + rng.uniform(-2, 2)) / 20)


class _Song:
    """The score of one track (key, tempo, grid, progression) and its rendering into instrument layers."""

    def __init__(self, style: Style, rng: np.random.Generator, n: int):
        self.style, self.rng, self.n = style, rng, n
        self.key = int(rng.integers(0, 12))
        self.scale = style.scales[int(rng.integers(len(style.scales)))]
        self.progression = style.progressions[int(rng.integers(len(style.progressions)))]
        self.step = 60.0 / rng.uniform(*style.tempo) / 4 * RATE  # samples per 16th note
        self.bars = int(np.ceil(n / (16 * self.step))) + 1
        self.tilt = rng.uniform(0.8, 1.25)  # brightness of this recording

    def time(self, bar: int, step: float) -> int:
        """Sample index of a 16th step of a bar, with the style's swing on off-beat 8ths and a human jitter."""
        swing = self.style.swing * 2 / 3 if int(step) % 4 == 2 else 0.0
        jitter = self.rng.normal(0, 0.004 * RATE)
        return int((bar * 16 + step + swing) * self.step + jitter)

    def pitch(self, degree: int, octave: int) -> float:
        """Frequency of a scale degree (any integer, wrapping into octaves) in an octave (4: middle C's)."""
        size = len(self.scale)
        semitone = self.scale[degree % size] + 12 * (degree // size)
        return 440.0 * 2 ** ((self.key + semitone + 12 * (octave + 1) - 69) / 12)

    def chord_root(self, bar: int) -> int:
        return self.progression[bar % len(self.progression)]

    def melody(self) -> np.ndarray:
        """A random walk on the scale, phrased in two-bar motifs that repeat with variation."""
        style, out = self.style, np.zeros(self.n)
        motif = self._motif()
        for bar in range(self.bars):
            if bar % 8 == 4:
                motif = self._motif()
            for step, degree, length in motif[bar % 2]:
                freq = self.pitch(degree + self.chord_root(bar), style.lead_octave)
                self._add(out, self.time(bar, step), _tone(freq, int(length * self.step), style.lead, self.tilt))
        return out

    def _motif(self) -> list[list[tuple[int, int, int]]]:
        """Two bars of (step, scale degree, length in 16ths)."""
        rng, every = self.rng, self.style.lead_steps
        bars, degree = [], int(rng.integers(0, 5))
        for _ in range(2):
            notes, step = [], 0
            while step < 16:
                length = max(1, int(rng.choice([every, every, 2 * every, max(every // 2, 1)])))
                if rng.random() < 0.85:
                    notes.append((step, degree, min(length, 16 - step)))
                degree = int(np.clip(degree + rng.choice([-2, -1, -1, 0, 1, 1, 2, 3, -3]), -3, 9))
                step += length
            bars.append(notes)
        return bars

    def chords(self) -> np.ndarray:
        out = np.zeros(self.n)
        timbre = self.style.chord
        if timbre is None:
            return out
        for bar in range(self.bars):
            root = self.chord_root(bar)
            freqs = [self.pitch(root + 2 * i, 3) for i in range(self.style.chord_size)]
            if timbre is _POWER:  # root, fifth, octave
                freqs = [self.pitch(root, 2), self.pitch(root, 2) * 1.5, self.pitch(root, 3)]
            for step in self.style.chord_steps:
                at, length = self.time(bar, step), int(self.style.chord_len * self.step)
                for i, freq in enumerate(freqs):  # a slight strum
                    self._add(out, at + i * int(0.008 * RATE), _tone(freq, length, timbre, self.tilt) / len(freqs))
        return out

    def bass(self) -> np.ndarray:
        out = np.zeros(self.n)
        timbre = self.style.bass
        if timbre is None:
            return out
        for bar in range(self.bars):
            root = self.chord_root(bar)
            for i, step in enumerate(self.style.bass_steps):
                walk = (0, 2, 4, 5)[i % 4] if timbre is _UPRIGHT else (0, 4)[i % 2]  # walking or root-fifth
                nxt = self.style.bass_steps[i + 1] if i + 1 < len(self.style.bass_steps) else 16
                freq = self.pitch(root + walk, 2 if timbre is not _SUB else 1)
                self._add(out, self.time(bar, step), _tone(freq, int((nxt - step) * self.step), timbre, 1.0))
        return out

    def drums(self) -> np.ndarray:
        out = np.zeros(self.n)
        kit = {name: _drum(name, self.rng) for name in self.style.drums}
        for bar in range(self.bars):
            for name, steps in self.style.drums.items():
                if name == "crash" and bar % 4:
                    continue
                for step in steps:
                    self._add(out, self.time(bar, step), kit[name] * self.rng.uniform(0.75, 1.0))
        return out

    def noise(self) -> np.ndarray:
        """Tape hiss and vinyl crackle."""
        out = self.rng.standard_normal(self.n) * self.style.noise
        if self.style.crackle:
            clicks = self.rng.random(self.n) < 8 / RATE
            out += clicks * self.rng.uniform(-1, 1, self.n) * self.style.crackle * 10
        return out

    def _add(self, out: np.ndarray, at: int, x: np.ndarray) -> None:
        at = max(at, 0)
        end = min(at + len(x), len(out))
        if end > at:
            out[at:end] += x[: end - at]


def _tone(freq: float, n: int, timbre: Timbre, tilt: float) -> np.ndarray:
    """A note: wavetable of the timbre's harmonics (tilted brighter or darker), vibrato and envelope."""
    n = max(n, 1)
    t = np.arange(n) / RATE
    amps = np.array(timbre.harmonics) * tilt ** np.arange(len(timbre.harmonics))
    amps[np.arange(1, len(amps) + 1) * freq > RATE / 2] = 0.0  # no aliasing
    table = _wavetable(tuple(np.round(amps, 3)))
    phase = freq * t
    if timbre.vibrato:
        phase += timbre.vibrato * freq / (2 * np.pi * 5.5) * np.sin(2 * np.pi * 5.5 * t)
    wave = table[(phase * TABLE).astype(np.int64) % TABLE]
    envelope = np.minimum(t / timbre.attack, 1.0) * np.exp(-t / timbre.decay)
    envelope *= np.minimum((n - np.arange(n)) / (0.01 * RATE), 1.0)  # 10 ms release, no click
    return wave * envelope


_TABLES: dict[tuple[float, ...], np.ndarray] = {}


def _wavetable(amps: tuple[float, ...]) -> np.ndarray:
    """One period of the sum of harmonics with amplitudes ``amps``, peak-normalised (cached)."""
    if amps not in _TABLES:
        phase = np.arange(TABLE) / TABLE
        wave = sum(a * np.sin(2 * np.pi * (k + 1) * phase) for k, a in enumerate(amps) if a)
        _TABLES[amps] = wave / max(np.abs(wave).max(), 1e-9)
    return _TABLES[amps]


def _drum(name: str, rng: np.random.Generator) -> np.ndarray:
    """One sampled drum hit of this track's kit."""
    t = np.arange(int(RATE * {"kick808": 0.6, "crash": 1.2, "ride": 0.5, "open_hat": 0.25}.get(name, 0.2))) / RATE
    noise = rng.standard_normal(len(t))
    if name in ("kick", "kick808"):
        low, decay = (45.0, 0.4) if name == "kick808" else (55.0, 0.12)
        freq = low + 90 * np.exp(-t / 0.03)
        return np.sin(2 * np.pi * np.cumsum(freq) / RATE) * np.exp(-t / decay) * 1.2
    if name in ("snare", "rim", "clap", "brush"):
        body = np.sin(2 * np.pi * rng.uniform(170, 220) * t) * np.exp(-t / 0.04)
        buzz = np.diff(noise, prepend=0.0) * np.exp(-t / {"brush": 0.12, "rim": 0.02}.get(name, 0.07))
        if name == "clap":
            buzz *= 1 + (np.sin(2 * np.pi * 90 * t) > 0.6)
        gain = {"brush": 0.25, "rim": 0.5}.get(name, 0.8)
        return gain * (0.5 * body + 0.5 * buzz)
    hiss = np.diff(noise, n=2, prepend=[0.0, 0.0]) / 2  # high-passed
    if name == "ride":
        bell = sum(np.sin(2 * np.pi * f * t) for f in rng.uniform(2500, 6000, 3)) / 3
        return 0.25 * (bell + 0.5 * hiss) * np.exp(-t / 0.25)
    decay = {"crash": 0.6, "open_hat": 0.1}.get(name, 0.025)
    return {"crash": 0.5, "open_hat": 0.3}.get(name, 0.2) * hiss * np.exp(-t / decay)
