"""Paper 1's security tools: the classic baselines (LSB matching, echo hiding) and the rich-model steganalyzer."""

from __future__ import annotations

import numpy as np
import pytest

from avsec.core.errors import ConfigError
from avsec.stego.classic import (
    echo_capacity,
    echo_extract,
    echo_hiding,
    embed,
    lsb_extract,
    lsb_matching,
    lsb_positions,
    message_bits,
)
from avsec.stego.rich_model import cooccurrence, residual, rich_features, rich_model_accuracy

ECHO = dict(segment=1024, delays=(48, 64), amplitude=0.5)


def speech_like(n: int, length: int, seed: int) -> np.ndarray:
    """Noise bursts under a slow envelope with quiet gaps, as int16."""
    rng = np.random.default_rng(seed)
    t = np.arange(length)
    out = []
    for _ in range(n):
        envelope = np.clip(np.sin(2 * np.pi * t / rng.uniform(800, 3000) + rng.uniform(0, 6)), 0, None) ** 2
        tone = np.sin(2 * np.pi * rng.uniform(100, 400) * t / 16000)
        out.append(3000 * envelope * (0.6 * tone + 0.4 * rng.standard_normal(length)))
    return np.round(np.stack(out)).astype(np.int16)


def test_message_bits_are_the_secret_samples_msb_first():
    bits = message_bits(np.array([1, -1], dtype=np.int16), 20)
    assert bits[:16].tolist() == [0] * 15 + [1] and bits[16:20].tolist() == [1, 1, 1, 1]
    assert message_bits(np.array([1], dtype=np.int16), 40).size == 40  # repeated when the secret is short


def test_lsb_matching_changes_samples_by_at_most_one_and_the_receiver_reads_the_message():
    carrier = speech_like(1, 4096, 0)[0]
    bits = np.random.default_rng(1).integers(0, 2, 4096).astype(np.uint8)
    stego = lsb_matching(carrier, bits, np.random.default_rng(7), 0.5)
    assert np.abs(stego.astype(np.int32) - carrier).max() == 1
    positions = lsb_positions(4096, 0.5, np.random.default_rng(7))  # the shared key
    assert np.array_equal(lsb_extract(stego, positions), bits[: positions.size])
    changed = np.count_nonzero(stego != carrier)
    assert 0.35 * positions.size < changed < 0.65 * positions.size  # about half the LSBs already match


def test_lsb_matching_stays_in_the_int16_range():
    carrier = np.array([32767, -32768] * 8, dtype=np.int16)
    stego = lsb_matching(carrier, np.array([0, 1] * 8, dtype=np.uint8), np.random.default_rng(0))
    assert stego.dtype == np.int16 and np.abs(stego.astype(np.int32) - carrier).max() <= 1


def test_echo_hiding_is_decoded_from_the_cepstrum():
    carrier = np.round(np.random.default_rng(3).standard_normal(16384) * 3000).astype(np.int16)
    bits = np.random.default_rng(4).integers(0, 2, echo_capacity(16384, 1024)).astype(np.uint8)
    stego = echo_hiding(carrier, bits, **ECHO)
    assert stego.dtype == np.int16 and stego.shape == carrier.shape
    decoded = echo_extract(stego, bits.size, segment=1024, delays=(48, 64))
    assert np.mean(decoded == bits) >= 0.9


def test_bad_embedding_settings_are_config_errors():
    carrier = np.zeros(2048, dtype=np.int16)
    with pytest.raises(ConfigError, match="delays"):
        echo_hiding(carrier, np.ones(2, dtype=np.uint8), segment=1024, delays=(64, 48), amplitude=0.5)
    with pytest.raises(ConfigError, match="bits_per_sample"):
        lsb_matching(carrier, np.ones(4, dtype=np.uint8), np.random.default_rng(0), 1.5)
    with pytest.raises(ConfigError, match="unknown classic"):
        embed("phase_coding", carrier, carrier, np.random.default_rng(0))


def test_residuals_vanish_on_polynomials_of_lower_degree():
    t = np.arange(100, dtype=np.float64)
    for order in (1, 2, 3, 4):
        assert np.allclose(residual(t ** (order - 1), order), 0)
        assert not np.allclose(residual(t**order, order), 0)


def test_cooccurrence_is_a_normalised_histogram():
    r = np.array([[0.0, 1.0, -1.0, 5.0, 0.0]])
    hist = cooccurrence(r, 1.0, 2)
    assert hist.shape == (1, 125) and np.isclose(hist.sum(), 1.0)
    assert rich_features(speech_like(3, 2048, 0)).shape == (3, 4 * 2 * 125)


def test_rich_model_detects_full_rate_lsb_matching_in_smooth_audio():
    covers = speech_like(40, 4096, 5)
    covers = np.round(covers.astype(np.float64) * 0.02).astype(np.int16)  # quiet: the LSB plane matters
    rng = np.random.default_rng(6)
    stegos = np.stack([embed("lsb_matching", c, c[::-1], rng) for c in covers])
    x = np.concatenate([covers, stegos])
    y = np.repeat([0, 1], len(covers))
    train = np.r_[0:20, 40:60]
    val = np.r_[20:40, 60:80]
    accuracy = rich_model_accuracy(x[train], y[train], x[val], y[val], estimators=11, seed=0)
    assert accuracy > 0.8
