"""Classic audio steganography, the baselines of paper 1's security experiment (Table 4).

The paper compares against "HCM" and "EECS" without describing them well enough to reproduce; these are two
well-known schemes named for what they are:

- LSB matching (±1 embedding): each carrier sample whose least significant bit differs from the message bit is
  moved by +1 or −1 at random (never out of the int16 range); the receiver reads the LSBs. ``bits_per_sample``
  of the samples carry a bit (1.0: every sample).
- Echo hiding (Gruhl, Lu and Bender 1996): the carrier is cut into ``segment``-sample segments, each carrying one
  bit as an echo of ``amplitude`` at delay ``delays[bit]``; a mixer ramps between the two echo kernels over
  ``ramp`` samples at bit changes. The receiver reads each segment's real cepstrum at the two delays.

The message is the secret audio's bits (int16 samples, most significant bit first), as much as the carrier holds:
both schemes carry far less than a whole secret clip (1 and 1/segment bits per sample against 16).
"""

from __future__ import annotations

import numpy as np

from avsec.core.errors import ConfigError


def message_bits(secret: np.ndarray, count: int) -> np.ndarray:
    """The first ``count`` bits of int16 ``secret`` samples, most significant bit first (uint8 0/1), repeated if
    the secret is shorter."""
    raw = np.unpackbits(np.asarray(secret, dtype=">i2").view(np.uint8))
    reps = -(-count // max(1, raw.size))
    return np.tile(raw, reps)[:count]


def lsb_matching(
    carrier: np.ndarray, bits: np.ndarray, rng: np.random.Generator, bits_per_sample: float = 1.0
) -> np.ndarray:
    """Embed ``bits`` into the first samples chosen by ``rng`` (a share ``bits_per_sample`` of them) by ±1 changes."""
    if not 0 < bits_per_sample <= 1:
        raise ConfigError(f"lsb_matching: bits_per_sample must be in (0, 1], got {bits_per_sample}")
    x = np.asarray(carrier, dtype=np.int32).copy()
    where = lsb_positions(x.size, bits_per_sample, rng)
    bits = np.asarray(bits, dtype=np.int32)[: where.size]
    where = where[: bits.size]
    change = (x[where] & 1) != bits
    step = rng.choice(np.array([-1, 1]), size=where.size)
    step = np.where(x[where] >= 32767, -1, np.where(x[where] <= -32768, 1, step))
    x[where] += np.where(change, step, 0)
    return x.astype(np.int16)


def lsb_positions(length: int, bits_per_sample: float, rng: np.random.Generator) -> np.ndarray:
    """The sample positions that carry bits, in message order (a random path shared through the key ``rng``)."""
    return rng.permutation(length)[: int(round(length * bits_per_sample))]


def lsb_extract(stego: np.ndarray, positions: np.ndarray) -> np.ndarray:
    return (np.asarray(stego, dtype=np.int32)[positions] & 1).astype(np.uint8)


def echo_capacity(length: int, segment: int) -> int:
    return length // segment


def echo_hiding(
    carrier: np.ndarray, bits: np.ndarray, *, segment: int, delays: tuple[int, int], amplitude: float, ramp: int = 64
) -> np.ndarray:
    """Embed one bit per ``segment`` samples as an echo at ``delays[bit]`` of relative ``amplitude``."""
    d0, d1 = (int(d) for d in delays)
    if not 0 < d0 < d1 < segment:
        raise ConfigError(f"echo_hiding: need 0 < delays[0] < delays[1] < segment, got {delays} and {segment}")
    x = np.asarray(carrier, dtype=np.float64)
    n_bits = min(len(bits), echo_capacity(x.size, segment))
    mixer = np.zeros(x.size)
    for k in range(n_bits):
        mixer[k * segment : (k + 1) * segment] = bits[k]
    if n_bits:
        mixer[n_bits * segment :] = bits[n_bits - 1]
    if ramp > 1:  # smooth bit changes: a moving average of `ramp` samples
        mixer = np.convolve(
            np.pad(mixer, (ramp // 2, ramp - 1 - ramp // 2), mode="edge"), np.ones(ramp) / ramp, "valid"
        )
    echo0, echo1 = np.zeros_like(x), np.zeros_like(x)
    echo0[d0:], echo1[d1:] = x[:-d0], x[:-d1]
    y = x + amplitude * ((1 - mixer) * echo0 + mixer * echo1)
    return np.clip(np.round(y), -32768, 32767).astype(np.int16)


def echo_extract(stego: np.ndarray, n_bits: int, *, segment: int, delays: tuple[int, int]) -> np.ndarray:
    """Each segment's bit: which delay its real cepstrum peaks at."""
    d0, d1 = (int(d) for d in delays)
    y = np.asarray(stego, dtype=np.float64)
    out = np.zeros(n_bits, dtype=np.uint8)
    for k in range(n_bits):
        seg = y[k * segment : (k + 1) * segment] * np.hanning(segment)
        spectrum = np.abs(np.fft.rfft(seg)) + 1e-9
        cep = np.fft.irfft(np.log(spectrum), n=segment)
        out[k] = cep[d1] > cep[d0]
    return out


def embed(method: str, carrier: np.ndarray, secret: np.ndarray, rng: np.random.Generator, **settings) -> np.ndarray:
    """Stego audio (int16) hiding as much of ``secret``'s bits in ``carrier`` as ``method`` holds."""
    if method == "lsb_matching":
        bits = message_bits(secret, carrier.size)
        return lsb_matching(carrier, bits, rng, **settings)
    if method == "echo_hiding":
        bits = message_bits(secret, echo_capacity(carrier.size, int(settings["segment"])))
        return echo_hiding(carrier, bits, **settings)
    raise ConfigError(f"unknown classic steganography method {method!r}; choose lsb_matching or echo_hiding")
