"""The one MFCC (avsec.dsp.mfcc) against python_speech_features' algorithm, with paper 2's settings (non-overlapping
512-sample frames, 2048-point FFT, 32 filters and cepstra); paper 4's are checked in the AV corpus tests."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.fftpack
import torch

from avsec.dsp.mfcc import MFCC, dct_matrix, mel_filterbank

L = 16384
RATE = 16000
PAPER2 = dict(rate=RATE, hop=512, win_length=512, n_fft=2048, n_mels=32, n_mfcc=32)  # WideResNet's front-end


# ---- reference -------------------------------------------------------------------------------------------------------
def reference_filterbank(nfilt: int, nfft: int, rate: int) -> np.ndarray:
    """python_speech_features.get_filterbanks(nfilt, nfft, rate, lowfreq=0, highfreq=None)."""
    mel = 2595 * np.log10(1 + np.array([0.0, rate / 2]) / 700)
    points = np.linspace(mel[0], mel[1], nfilt + 2)
    bins = np.floor((nfft + 1) * (700 * (10 ** (points / 2595) - 1)) / rate)
    bank = np.zeros((nfilt, nfft // 2 + 1))
    for j in range(nfilt):
        for i in range(int(bins[j]), int(bins[j + 1])):
            bank[j, i] = (i - bins[j]) / (bins[j + 1] - bins[j])
        for i in range(int(bins[j + 1]), int(bins[j + 2])):
            bank[j, i] = (bins[j + 2] - i) / (bins[j + 2] - bins[j + 1])
    return bank


def reference_mfcc(signal: np.ndarray) -> np.ndarray:
    """python_speech_features.mfcc(signal, 16000, winlen=512/16000, winstep=512/16000, numcep=32, nfilt=32,
    nfft=2048, lowfreq=0, highfreq=None, preemph=0.97, ceplifter=22, appendEnergy=True, winfunc=rectangular),
    in float64 numpy, for a signal of whole frames (the library zero-pads only a partial last frame)."""
    frame, nfft, nfilt, numcep, lift = 512, 2048, 32, 32, 22
    eps = np.finfo(float).eps
    sig = np.asarray(signal, dtype=np.float64)
    sig = np.append(sig[0], sig[1:] - 0.97 * sig[:-1])
    assert len(sig) % frame == 0
    frames = sig.reshape(-1, frame) * np.ones(frame)  # rectangular window
    pspec = np.square(np.abs(np.fft.rfft(frames, nfft))) / nfft
    energy = pspec.sum(1)
    energy = np.where(energy == 0, eps, energy)
    feat = pspec @ reference_filterbank(nfilt, nfft, RATE).T
    feat = np.where(feat == 0, eps, feat)
    feat = scipy.fftpack.dct(np.log(feat), type=2, axis=1, norm="ortho")[:, :numcep]
    feat = feat * (1 + (lift / 2) * np.sin(np.pi * np.arange(numcep) / lift))
    feat[:, 0] = np.log(energy)
    return feat


def speechlike(seed: int, voiced: int = L, amplitude: float = 0.5) -> np.ndarray:
    """A vowel-like harmonic tone with a moving pitch, noise and an envelope, zero-padded after ``voiced`` samples
    (as Speech Commands clips shorter than one second are), quantised to int16 steps and scaled to [-1, 1]."""
    rng = np.random.default_rng(seed)
    t = np.arange(voiced) / RATE
    pitch = 120 + 60 * t + 20 * rng.random()
    phase = 2 * np.pi * np.cumsum(pitch) / RATE
    tone = sum(np.sin(k * phase + rng.uniform(0, 2 * np.pi)) / k for k in range(1, 12))
    wave = np.sin(np.pi * t / t[-1]) * (tone + 0.3 * rng.standard_normal(voiced))
    wave = amplitude * wave / np.abs(wave).max()
    out = np.zeros(L)
    out[:voiced] = np.round(wave * 32767) / 32768
    return out


def test_filterbank_and_dct_match_the_library():
    np.testing.assert_allclose(mel_filterbank(32, 2048, RATE), reference_filterbank(32, 2048, RATE), atol=1e-7)
    x = np.random.default_rng(0).standard_normal((5, 32))
    ours = torch.from_numpy(x).float() @ torch.tensor(dct_matrix(32, 32)).float().T
    np.testing.assert_allclose(ours.numpy(), scipy.fftpack.dct(x, type=2, axis=1, norm="ortho"), atol=1e-5)


def test_mfcc_matches_python_speech_features():
    # a full clip, a loud clip, and a short word zero-padded to 16384 (its last frames are exact silence)
    clips = np.stack([speechlike(1), speechlike(2, amplitude=0.99), speechlike(3, voiced=9000, amplitude=0.2)])
    out = MFCC(**PAPER2)(torch.from_numpy(clips).float())
    assert out.shape == (3, 1, 32, 32) and out.dtype == torch.float32
    for row, clip in zip(out[:, 0].numpy(), clips, strict=True):
        ref = reference_mfcc(clip)
        np.testing.assert_allclose(row, ref, rtol=1e-4, atol=1e-4 * np.abs(ref).max())
    # the padded clip's silent frames carry the library's floor, log(float64 eps), in c0
    assert out[2, 0, -1, 0].item() == pytest.approx(math.log(np.finfo(float).eps), rel=1e-6)


def test_mfcc_gradient_matches_finite_differences():
    """d<w, MFCC(x)>/dx from autograd against a central difference of the float64 reference along a direction."""
    clip = speechlike(4)
    rng = np.random.default_rng(5)
    weights = rng.standard_normal((32, 32))
    direction = rng.standard_normal(L)
    x = torch.from_numpy(clip).float()[None].requires_grad_(True)
    (MFCC(**PAPER2)(x)[0, 0] * torch.from_numpy(weights).float()).sum().backward()
    grad = x.grad[0].double().numpy()
    assert np.isfinite(grad).all() and np.count_nonzero(grad) > 0.99 * L
    h = 1e-4
    plus = (reference_mfcc(clip + h * direction) * weights).sum()
    minus = (reference_mfcc(clip - h * direction) * weights).sum()
    assert grad @ direction == pytest.approx((plus - minus) / (2 * h), rel=2e-3)


def test_mfcc_of_silence_has_finite_values_and_gradients():
    mfcc = MFCC(**PAPER2)
    zero = torch.zeros(2, L, requires_grad=True)
    out = mfcc(zero)
    out.sum().backward()
    assert torch.isfinite(out).all() and torch.isfinite(zero.grad).all()
    # at exact silence the power spectrum's gradient is 0 (d|X|²/dX = 0 at X = 0); one int16 step of dither is
    # enough for every frame's cepstra c1 … c31 (every mel filter's log, not just c0's energy) to reach the waveform
    dither = torch.from_numpy(np.random.default_rng(6).integers(-1, 2, (2, L)) / 32768).float().requires_grad_(True)
    feat = mfcc(dither)
    assert torch.isfinite(feat).all()
    weights = torch.randn(feat[..., 1:].shape, generator=torch.Generator().manual_seed(7))
    (grad,) = torch.autograd.grad((feat[..., 1:] * weights).sum(), dither)
    assert torch.isfinite(grad).all()
    # samples 0 … 510 of a frame reach no other frame (pre-emphasis carries only the last one into the next)
    per_frame = grad.unflatten(1, (32, 512))[..., :511].abs().sum(-1)
    assert (per_frame > 0).all(), per_frame
