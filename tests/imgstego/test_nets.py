"""Paper 3's networks: shapes on the paper's 512×513 and on crops, gating, output ranges, skips, parameters."""

from __future__ import annotations

import pytest
import torch

from avsec.imgstego.nets import (
    Enhancer,
    GatedConv2d,
    HidingBlock,
    ImageStego,
    ResidualCoder,
    RevealBlock,
    parameter_count,
)


def test_gated_convolution_is_conv_times_sigmoid_gate():
    layer = GatedConv2d(1, 2)
    x = torch.randn(1, 1, 5, 6)
    expected = layer.conv(x) * torch.sigmoid(layer.gate(x))
    assert torch.allclose(layer(x), expected)
    with torch.no_grad():  # a gate driven far negative closes: no output whatever the value path says
        layer.gate.bias.fill_(-50.0)
        layer.gate.weight.zero_()
    assert layer(x).abs().max() < 1e-12


@pytest.mark.parametrize("shape", [(512, 513), (32, 32), (37, 50)])
def test_hide_and_reveal_keep_any_shape(shape):
    model = ImageStego(width=2, layers=2, levels=4).eval()
    carrier, image = torch.rand(2, 1, *shape), torch.rand(2, 1, *shape)
    with torch.no_grad():
        embedded, revealed = model(carrier, image)
    assert embedded.shape == revealed.shape == (2, 1, *shape)
    assert revealed.min() >= 0 and revealed.max() <= 1  # the Reveal block ends in a sigmoid


def test_hiding_block_predicts_a_change_of_the_carrier():
    block = HidingBlock(width=2, layers=1, levels=2)
    with torch.no_grad():
        block.out.weight.zero_()
        block.out.bias.zero_()
    carrier = torch.rand(1, 1, 16, 16)
    assert torch.equal(block(carrier, torch.rand(1, 1, 16, 16)), carrier)


def test_residual_coder_adds_the_encoder_features_at_each_scale():
    coder = ResidualCoder(4, levels=2)
    assert [m[0].out_channels for m in coder.down] == [8, 16]
    assert [m[0].out_channels for m in coder.up] == [8, 4]
    with torch.no_grad():  # with the decoder silenced, the full-scale skip passes the input through
        for up in coder.up:
            up[0].weight.zero_()
            up[0].bias.zero_()
    x = torch.rand(1, 4, 12, 10)
    assert torch.equal(coder(x), x)


def test_reveal_uses_relu_and_the_enhancer_concatenates_skips():
    reveal = RevealBlock(width=4, layers=2, levels=3)
    assert any(isinstance(m, torch.nn.ReLU) for m in reveal.modules())
    enhancer = Enhancer(width=4, levels=2)
    assert [d[0][0].in_channels for d in enhancer.dec] == [16, 8]  # upsampled + skip, concatenated
    x = torch.rand(1, 3, 40, 41)
    assert torch.equal(enhancer(x), x)  # untrained, the enhancer changes nothing (it learns a correction)


def test_parameter_counts_scale_with_width():
    small, large = parameter_count(ImageStego(8, 2, 3)), parameter_count(ImageStego(16, 2, 3))
    assert 3.5 < large / small < 4.1  # convolutions dominate: parameters grow with width²
    assert parameter_count(GatedConv2d(1, 8)) == 2 * (8 * 9 + 8)  # value and gate 3×3 convolutions
