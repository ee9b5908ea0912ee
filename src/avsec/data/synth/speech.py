"""Speech from espeak-ng with varied voices, speeds and pitches: the learnable content of the synthetic corpora."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass

import numpy as np

from avsec.io.audio import resample

ESPEAK_RATE = 22050
# espeak-ng voice variants (espeak-ng-data/voices/!v) that ship with Debian's espeak-ng-data
VARIANTS = ("m1", "m2", "m3", "m4", "m5", "f1", "f2", "f3", "f4", "f5", "klatt", "klatt2", "croak", "whisper")
ACCENTS = ("en-us", "en-gb", "en-gb-scotland", "en-029", "en-gb-x-rp")


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
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise RuntimeError("espeak-ng not found: install Debian's espeak-ng (bash setup.sh does it as root)")
    cmd = [exe, "-v", voice.name, "-s", str(voice.speed), "-p", str(voice.pitch), "--stdout", text]
    wav = subprocess.run(cmd, check=True, capture_output=True).stdout
    # espeak-ng streams a canonical 44-byte RIFF header with placeholder sizes: take the PCM after it
    pcm = np.frombuffer(wav[44 : 44 + (len(wav) - 44) // 2 * 2], dtype="<i2")
    return resample(pcm.astype(np.int16), ESPEAK_RATE, rate)


def add_noise(x: np.ndarray, rng: np.random.Generator, snr_db: float) -> np.ndarray:
    """Add white noise at ``snr_db`` relative to the signal power (int16 in, int16 out)."""
    sig = x.astype(np.float64)
    power = max(np.mean(sig**2), 1.0)
    noise = rng.standard_normal(len(sig)) * np.sqrt(power / 10 ** (snr_db / 10))
    return np.clip(np.round(sig + noise), -32768, 32767).astype(np.int16)
