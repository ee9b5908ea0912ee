"""avsec.metrics against hand-computed values: SNR (eq. 15), wide-band PESQ, accuracy and targeted success."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from avsec.io.audio import to_int16
from avsec.metrics import accuracy, per_class_accuracy, pesq_score, snr_db, success_rate
from avsec.metrics.audio import mean_snr_db, p862_raw


def speech_like(rate: int, seconds: float = 1.0) -> np.ndarray:
    """A voiced, syllable-paced signal PESQ's voice activity detector accepts: a gliding 140 Hz harmonic
    series under a 2.5 Hz envelope, peak 0.3."""
    t = np.arange(int(rate * seconds)) / rate
    phase = 2 * np.pi * np.cumsum(140 + 30 * np.sin(2 * np.pi * 1.5 * t)) / rate
    x = sum(np.sin(k * phase) / k for k in range(1, 25)) * np.sqrt(np.clip(np.sin(2 * np.pi * 2.5 * t), 0, None))
    return (0.3 * x / np.abs(x).max()).astype(np.float32)


# --- SNR ---------------------------------------------------------------------------------------------------------


def test_snr_of_a_known_scaled_noise():
    clean = np.full(100, 2.0)  # energy 400
    noise = np.tile([1.0, -1.0], 50)  # energy 100
    assert snr_db(clean, clean + 0.2 * noise) == pytest.approx(20.0)  # 400 / (0.04 · 100) = 100
    assert snr_db(clean, clean + 2.0 * noise) == pytest.approx(0.0)
    assert isinstance(snr_db(clean, clean + noise), float)


def test_snr_per_clip_in_a_batch_numpy_and_torch():
    rng = np.random.default_rng(0)
    clean = rng.standard_normal((3, 1000))
    noise = rng.standard_normal((3, 1000))
    scales = np.array([0.01, 0.1, 1.0])
    adversarial = clean + scales[:, None] * noise
    expected = 10 * np.log10((clean**2).sum(1) / ((scales[:, None] * noise) ** 2).sum(1))
    got = snr_db(clean, adversarial)
    assert got.shape == (3,)
    np.testing.assert_allclose(got, expected)
    np.testing.assert_allclose(snr_db(torch.from_numpy(clean), torch.from_numpy(adversarial)), expected)
    bf16 = snr_db(torch.from_numpy(clean).bfloat16(), torch.from_numpy(adversarial).bfloat16())
    np.testing.assert_allclose(bf16, expected, atol=0.5)  # bfloat16 keeps 8 bits of mantissa
    assert snr_db(clean[:, None], adversarial[:, None]).shape == (3, 1)  # (N, 1, L) as a Conv1d emits it


def test_snr_identical_is_inf_and_int16_matches_float():
    x = to_int16(speech_like(16000))
    assert snr_db(x, x) == math.inf
    assert np.all(snr_db(np.stack([x, x]), np.stack([x, x])) == math.inf)
    y = x.copy()
    y[::7] += 50
    assert snr_db(x, y) == pytest.approx(snr_db(x / 32768.0, y / 32768.0))  # int16 does not overflow


def test_snr_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="shape"):
        snr_db(np.zeros(10), np.zeros(11))


# --- PESQ --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("rate", [16000, 16384])
def test_pesq_is_higher_for_less_noise(rate):
    x = speech_like(rate)
    noise = np.random.default_rng(1).standard_normal(x.size).astype(np.float32)
    scores = [pesq_score(x, x + level * noise, rate) for level in (0.0, 0.001, 0.01)]
    assert all(np.isfinite(scores))
    assert scores[0] > 4.0  # identical clips: near the top of the scale
    assert scores[0] > scores[1] > scores[2] >= 1.0


def test_narrow_band_pesq_is_p862_on_its_own_scale():
    """Paper 2's PESQ (−0.5…4.5) is narrow-band P.862: the "nb" band orders noise levels too, differs from the
    wide-band score on the same pair, tops out at 4.5 on identical clips (wide-band reaches 4.64), and an unknown
    band is an error."""
    x = speech_like(16000)
    noise = np.random.default_rng(1).standard_normal(x.size).astype(np.float32)
    nb = [pesq_score(x, x + level * noise, 16000, band="nb") for level in (0.0, 0.001, 0.01)]
    wb = [pesq_score(x, x + level * noise, 16000) for level in (0.0, 0.001, 0.01)]
    assert nb[0] == pytest.approx(4.5, abs=0.01) and wb[0] > 4.6  # P.862's top vs P.862.2's
    assert nb[0] > nb[1] > nb[2]
    assert all(abs(a - b) > 0.01 for a, b in zip(nb[1:], wb[1:], strict=True))
    with pytest.raises(ValueError, match="band must be"):
        pesq_score(x, x, 16000, band="swb")
    for raw in (-0.5, 1.0, 2.5, 4.5):  # the inverse of P.862.1's mapping
        assert p862_raw(0.999 + 4 / (1 + math.exp(-1.4945 * raw + 4.6607))) == pytest.approx(raw)


def test_pesq_int16_and_float_inputs_agree():
    x = speech_like(16000)
    y = x + 0.003 * np.random.default_rng(2).standard_normal(x.size).astype(np.float32)
    assert pesq_score(to_int16(x), to_int16(y), 16000) == pytest.approx(pesq_score(x, y, 16000))
    assert pesq_score(torch.from_numpy(x), torch.from_numpy(y), 16000) == pytest.approx(pesq_score(x, y, 16000))


def test_pesq_returns_nan_instead_of_failing():
    silence = np.zeros(16000, dtype=np.int16)
    hiss = (np.random.default_rng(3).standard_normal(16000) * 100).astype(np.int16)
    assert math.isnan(pesq_score(silence, silence, 16000))  # all zero
    assert math.isnan(pesq_score(silence, hiss, 16000))  # no utterance in the reference
    assert math.isnan(pesq_score(hiss[:200], hiss[:200], 16384))  # too short
    assert math.isnan(pesq_score(np.full(16000, np.nan), np.zeros(16000), 16000))


# --- classification ----------------------------------------------------------------------------------------------


def test_accuracy_and_per_class_accuracy():
    labels = np.array([0, 0, 1, 1, 1, 2])
    pred = np.array([0, 1, 1, 1, 0, 2])
    assert accuracy(pred, labels) == pytest.approx(4 / 6)
    assert accuracy(torch.tensor(pred), torch.tensor(labels)) == pytest.approx(4 / 6)
    per_class = per_class_accuracy(pred, labels, ["yes", "no", "up", "down"])
    assert list(per_class) == ["yes", "no", "up", "down"]
    assert per_class["yes"] == 0.5 and per_class["no"] == pytest.approx(2 / 3) and per_class["up"] == 1.0
    assert math.isnan(per_class["down"])  # no test sample
    by_name = per_class_accuracy(["yes", "no", "no"], ["yes", "yes", "no"], ["yes", "no"])
    assert by_name == {"yes": 0.5, "no": 1.0}
    assert math.isnan(accuracy([], []))
    with pytest.raises(ValueError):
        accuracy([0, 1], [0])


def test_success_rate_is_the_share_predicted_as_target():
    pred = np.array([3, 3, 1, 3])
    assert success_rate(pred, 3) == 0.75
    assert success_rate(pred, np.array([3, 1, 1, 2])) == 0.5
    assert success_rate(torch.tensor(pred), torch.tensor(3)) == 0.75
    assert math.isnan(success_rate([], 3))


def test_mean_snr_db_on_tensors_equals_the_mean_of_snr_db():
    clean = torch.randn(4, 1000, generator=torch.Generator().manual_seed(0))
    noisy = clean + 0.1 * torch.arange(1, 5)[:, None] * torch.randn(4, 1000, generator=torch.Generator().manual_seed(1))
    assert mean_snr_db(clean, noisy) == pytest.approx(float(np.mean(snr_db(clean, noisy))), abs=1e-4)
    assert mean_snr_db(clean, clean) > 100  # no error: the floor, not a division by zero
