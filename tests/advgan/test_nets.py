"""Paper 2's networks: the SpeechAdvGan generator and discriminator, and the two victims (WideResNet-28-10,
SampleCNN), checked against the architecture docs/protocols.md (paper 2) describes rather than against numbers read
off the code."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from avsec.advgan.nets import Discriminator, Generator
from avsec.advgan.victims import SampleCNN, WideResNet

L = 16384
RATE = 16000

# The architecture's channel counts (docs/protocols.md, paper 2), written out here independently of the module's
# constants.
PAPER_ENCODER = (16, 32, 32, 64, 64, 128, 128, 256)
PAPER_DECODER = (128, 128, 64, 64, 32, 32, 16)
PAPER_DISCRIMINATOR = (32, 64, 64, 128, 128, 256, 256, 512, 512, 1024, 2048)


def n_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


# ---- helpers -----------------------------------------------------------------------------------------------------
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


# ---- generator ---------------------------------------------------------------------------------------------------
def record_shapes(model: nn.Module, x: torch.Tensor, layers: dict[str, nn.Module]) -> dict:
    """Input and output shapes of the named ``layers`` during one forward pass; "output" is the model's output."""
    shapes: dict = {}

    def hook(key):
        return lambda module, inputs, output: shapes.__setitem__(key, (tuple(inputs[0].shape), tuple(output.shape)))

    handles = [layer.register_forward_hook(hook(key)) for key, layer in layers.items()]
    with torch.no_grad():
        shapes["output"] = model(x)
    for handle in handles:
        handle.remove()
    return shapes


def generator_layers(g: Generator) -> dict[str, nn.Module]:
    return {
        **{f"enc{i}": m for i, m in enumerate(g.encoder)},
        **{f"dec{i}": m for i, m in enumerate(g.decoder)},
        "out": g.out,
    }


@pytest.mark.parametrize("width", [1.0, 0.5])
def test_generator_shapes_range_and_unet_skips(width):
    torch.manual_seed(0)
    g = Generator(width).eval()
    enc = [round(c * width) for c in PAPER_ENCODER]
    dec = [round(c * width) for c in PAPER_DECODER]
    shapes = record_shapes(g, torch.rand(2, L) * 2 - 1, generator_layers(g))
    for i, c in enumerate(enc):  # each Conv1d(k32, s2, p15) halves the length
        assert shapes[f"enc{i}"][1] == (2, c, L >> (i + 1))
    cin = enc[-1]
    for i, c in enumerate(dec):  # each ConvTranspose1d(k32, s2, p15) doubles it ...
        assert shapes[f"dec{i}"] == ((2, cin, L >> (8 - i)), (2, c, L >> (7 - i)))
        cin = c + enc[6 - i]  # ... and is concatenated with the encoder output of that length (U-Net skip)
    assert shapes["out"] == ((2, dec[-1] + enc[0], L // 2), (2, 1, L))
    out = shapes["output"]
    assert out.shape == (2, L) and out.dtype == torch.float32
    assert (out.abs() < 1).all() and out.std() > 1e-3
    assert g(torch.zeros(1, 4096)).shape == (1, 4096)  # any multiple of 256 samples


@pytest.mark.parametrize("net", [Generator, Discriminator])
def test_both_networks_are_xavier_normal_initialised(net):
    """Algorithm 1, line 1: Xavier for the generator and the discriminator, told apart from PyTorch's default."""
    torch.manual_seed(0)
    layers = [m for m in net().modules() if isinstance(m, (nn.Conv1d, nn.ConvTranspose1d, nn.Linear))]
    assert len(layers) == (8 + 7 + 1 if net is Generator else 11 + 1 + 1)
    separable = 0
    for m in layers:
        w = m.weight.detach()
        # Conv1d weights are (out, in, k), ConvTranspose1d (in, out, k), Linear (out, in): fan_in + fan_out is
        # (in + out)·k for all three (k = 1 for Linear)
        k = w[0, 0].numel()
        fan_in_out = (w.shape[0] + w.shape[1]) * k
        xavier = math.sqrt(2 / fan_in_out)
        if w.numel() >= 64:  # a std estimate needs samples (Linear(8, 1) has 8 weights)
            assert w.std().item() == pytest.approx(xavier, rel=0.1), m
            assert w.abs().max() > 2.2 * w.std(), m  # normal tails: a uniform init ends at √3 standard deviations
        assert (m.bias == 0).all(), m  # PyTorch's default bias is U(±1/√fan_in)
        # PyTorch's default, kaiming_uniform(a=√5), is U(±1/√fan_in) with fan_in = weight.size(1)·k
        default = 1 / math.sqrt(3 * w.shape[1] * k)
        separable += abs(default / xavier - 1) > 0.25
    assert separable >= len(layers) * 2 // 3  # on most layers the std test alone tells Xavier from the default


def test_the_discriminator_can_keep_pytorchs_default_initialisation():
    """``init="default"`` (the smoke scale's choice) leaves PyTorch's initialisation: non-zero biases, and the same
    weights as a bare construction from the same seed; an unknown init is an error."""
    torch.manual_seed(0)
    default = Discriminator(0.25, init="default")
    torch.manual_seed(0)
    xavier = Discriminator(0.25)
    convs = [m for m in default.modules() if isinstance(m, nn.Conv1d)]
    assert all((m.bias != 0).any() for m in convs)
    assert not torch.equal(convs[0].weight, next(m for m in xavier.modules() if isinstance(m, nn.Conv1d)).weight)
    with pytest.raises(ValueError, match="init must be one of"):
        Discriminator(0.25, init="kaiming")


# ---- discriminator -----------------------------------------------------------------------------------------------
def paper_discriminator_params(length: int = L) -> int:
    total, cin = 0, 1
    for c in PAPER_DISCRIMINATOR:
        total += cin * c * 31 + c  # Conv1d(k31) weights and bias
        total += 2 * c  # BatchNorm1d scale and shift
        cin = c
    total += cin + 1  # 1×1 conv to one channel
    steps = length // 2 ** len(PAPER_DISCRIMINATOR)  # eleven stride-2 convs: 16384 → 8
    return total + steps + 1  # Linear(8, 1)


def test_discriminator_parameter_count():
    with torch.device("meta"):
        d = Discriminator()
    assert n_params(d) == paper_discriminator_params()
    assert round(n_params(d) / 1e6, 1) == 97.5  # dominated by 31 · Σ cin·cout = 31 · 3 143 712 ≈ 97.46 M


def test_discriminator_layout_and_output():
    torch.manual_seed(0)
    d = Discriminator(0.25)
    layers = list(d.features)
    convs = [m for m in layers if isinstance(m, nn.Conv1d)]
    assert [(m.kernel_size, m.stride, m.padding) for m in convs[:-1]] == [((31,), (2,), (15,))] * 11
    assert convs[-1].out_channels == 1 and convs[-1].kernel_size == (1,)
    assert [m.out_channels for m in convs[:-1]] == [round(c / 4) for c in PAPER_DISCRIMINATOR]
    assert all(m.negative_slope == 0.03 for m in layers if isinstance(m, nn.LeakyReLU))
    dropouts = [i for i, m in enumerate(layers) if isinstance(m, nn.Dropout)]
    after = [sum(isinstance(m, nn.Conv1d) for m in layers[:i]) for i in dropouts]
    assert after == [3, 6, 9]
    assert all(isinstance(layers[i - 1], nn.LeakyReLU) and layers[i].p == 0.5 for i in dropouts)
    assert d.classifier.in_features == 8
    x = torch.rand(4, L) * 2 - 1
    assert d(x).shape == (4,)
    assert not torch.equal(d(x), d(x))  # dropout draws anew in training mode
    d.eval()
    with torch.no_grad():
        assert torch.equal(d(x), d(x))


# ---- victims -----------------------------------------------------------------------------------------------------
def wrn_params(depth: int, widen: int, classes: int, in_channels: int = 1) -> int:
    """Parameters of a pre-activation WRN-depth-widen (Zagoruyko & Komodakis): a 3×3 stem conv to 16 channels,
    three groups of n = (depth − 4) / 6 blocks [BN, conv3×3, BN, conv3×3] at 16k, 32k, 64k channels (a 1×1
    shortcut conv where the width or the stride changes), BN, linear; convs without bias."""
    n = (depth - 4) // 6
    widths = [16, 16 * widen, 32 * widen, 64 * widen]
    total = in_channels * 16 * 9
    for group in (1, 2, 3):
        for i in range(n):
            cin, c = widths[group - 1] if i == 0 else widths[group], widths[group]
            total += 2 * cin + cin * c * 9 + 2 * c + c * c * 9
            if i == 0 and (cin != c or group > 1):
                total += cin * c
    return total + 2 * widths[3] + widths[3] * classes + classes


def test_wideresnet_28_10_parameter_count():
    with torch.device("meta"):
        model = WideResNet(10, depth=28, widen=10)
    assert n_params(model) == wrn_params(28, 10, 10)
    # the published 36.5 M is for CIFAR's three input channels; one MFCC channel has 2 · 16 · 9 fewer stem weights
    assert wrn_params(28, 10, 10, in_channels=3) - n_params(model) == 288
    assert abs(wrn_params(28, 10, 10, in_channels=3) - 36.5e6) < 0.05e6


@pytest.mark.parametrize("depth", [27, 29, 30])
def test_wideresnet_depth_must_be_6n_plus_4(depth):
    with pytest.raises(ValueError, match="6n"):
        WideResNet(10, depth=depth, widen=1)


def test_wideresnet_small_forward():
    torch.manual_seed(0)
    model = WideResNet(10, depth=10, widen=2).eval()
    assert n_params(model) == wrn_params(10, 2, 10)
    with torch.no_grad():
        assert model(torch.from_numpy(np.stack([speechlike(7), speechlike(8)])).float()).shape == (2, 10)


def samplecnn_steps(length: int = L) -> int:
    steps = (length - 3) // 2 + 1  # the stem's conv k3 s2 without padding: 16384 → 8191
    for _ in range(9):  # nine maxpool(3, 2): 8191 → 4095 → … → 15
        steps = (steps - 3) // 2 + 1
    return steps


@pytest.mark.parametrize("width", [1.0, 0.25])
def test_samplecnn_length_arithmetic(width):
    assert samplecnn_steps() == 15
    torch.manual_seed(0)
    model = SampleCNN(10, width=width).eval()
    features = round(512 * width) * samplecnn_steps()
    assert model.classifier[-1].in_features == features
    if width == 1.0:
        assert features == 7680  # docs/protocols.md, paper 2: FC 7680 → 10
    shapes = record_shapes(model, torch.rand(2, L) * 2 - 1, {"fc": model.classifier[-1]})
    assert shapes["fc"] == ((2, features), (2, 10))
    assert shapes["output"].shape == (2, 10)


def test_attack_gradient_reaches_the_waveform_through_the_mfcc():
    """d CE(victim(x + δ), target) / dδ at δ = 0 is finite, dense, and a small step against it lowers the loss."""
    torch.manual_seed(0)
    victim = WideResNet(10, depth=10, widen=2).eval()
    for p in victim.parameters():
        p.requires_grad_(False)
    x = torch.from_numpy(np.stack([speechlike(9), speechlike(10, voiced=12000)])).float()
    target = torch.tensor([3, 7])
    delta = torch.zeros_like(x, requires_grad=True)
    loss = F.cross_entropy(victim(x + delta), target)
    (grad,) = torch.autograd.grad(loss, delta)
    assert torch.isfinite(grad).all()
    assert (grad[0] != 0).float().mean() > 0.99  # every frame of the voiced clip reaches the loss
    with torch.no_grad():
        stepped = F.cross_entropy(victim(x - 1e-4 * grad.sign()), target)
    assert stepped < loss
