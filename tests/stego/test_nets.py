"""Paper 1's networks (Table 1): shapes, block widths, the HPF/random first layer, the size the paper states."""

from __future__ import annotations

import pytest
import torch

from avsec.stego.nets import (
    K3,
    K5,
    Convblock,
    Decoder,
    Encoder,
    InceptionBlock,
    Steganalyzer,
    parameter_count,
)


def test_encoder_and_decoder_keep_the_spectrogram_shape():
    torch.manual_seed(0)
    carrier, secret = torch.randn(2, 2, 256, 16), torch.randn(2, 2, 256, 16)
    encoder, decoder = Encoder(0.25), Decoder(0.25)
    stego = encoder(carrier, secret)
    assert stego.shape == carrier.shape
    assert decoder(stego).shape == carrier.shape
    # the output layer is linear: a spectrogram's real and imaginary parts are signed
    assert (stego < 0).any() and (stego > 0).any()


def test_encoder_follows_table1():
    encoder = Encoder(1.0)
    layers = list(encoder.layers)
    assert isinstance(layers[0], Convblock) and layers[0][0].in_channels == 4  # carrier + secret, real + imag
    widths = [layer.norm[0].num_features for layer in layers[1:6]]
    assert all(isinstance(layer, InceptionBlock) for layer in layers[1:6]) and widths == [32, 64, 128, 64, 32]
    assert [layer[0].out_channels for layer in layers[6:9]] == [32, 16, 16]
    assert layers[-1].out_channels == 2
    decoder = Decoder(1.0)
    assert [layer[0].out_channels for layer in list(decoder.layers)[:-1]] == [16, 32, 64, 128, 64, 32]


def test_inception_block_concatenates_its_branches_to_n_channels():
    block = InceptionBlock(8, 30)
    assert block(torch.randn(1, 8, 12, 12)).shape == (1, 30, 12, 12)


def test_hpf_first_layer_holds_the_srm_kernels_and_ran_does_not():
    hpf, ran = Steganalyzer("hpf", 0.25), Steganalyzer("ran", 0.25)
    weights = hpf.hpf.weight.detach()
    assert torch.equal(weights[0, 0, 1:4, 1:4], K3) and torch.equal(weights[1, 0], K5)
    assert torch.equal(weights[2, 0, 1:4, 1:4], K3) and torch.equal(weights[3, 0], K5)  # the imaginary channel
    assert abs(float(K3.sum())) < 1e-6 and abs(float(K5.sum())) < 1e-6  # high-pass: zero response to constants
    assert not torch.allclose(ran.hpf.weight, hpf.hpf.weight)
    assert hpf.hpf.weight.requires_grad  # initialised, then trained


def test_steganalyzer_gives_two_logits_for_any_clip_length():
    model = Steganalyzer("hpf", 0.25).eval()
    for frames in (17, 256):
        assert model(torch.randn(3, 2, 256, frames)).shape == (3, 2)


def test_unknown_first_layer_is_refused():
    with pytest.raises(ValueError, match="ran, hpf"):
        Steganalyzer("srm")


def test_the_three_networks_weigh_about_what_the_paper_says():
    # "The cost of sending the model information is low, with an average of 10MB" (section 3.3): float32 weights
    total = sum(parameter_count(m) for m in (Encoder(1.0), Decoder(1.0), Steganalyzer("hpf", 1.0)))
    assert 5e6 < 4 * total < 15e6
    # the smoke width scales every layer down
    assert parameter_count(Encoder(0.25)) < parameter_count(Encoder(1.0)) / 8


def test_the_gain_scales_the_networks_input_and_output_and_is_saved():
    """gain g: the networks see their input times g and their output is divided by g (unit-scale signals inside)."""
    torch.manual_seed(0)
    x, y = torch.randn(2, 2, 16, 8) * 0.01, torch.randn(2, 2, 16, 8) * 0.01
    encoder, decoder = Encoder(0.125).eval(), Decoder(0.125).eval()
    plain = encoder(x * 40, y * 40) / 40, decoder(x * 40) / 40
    encoder.gain.fill_(40.0), decoder.gain.fill_(40.0)
    assert torch.allclose(encoder(x, y), plain[0], atol=1e-6) and torch.allclose(decoder(x), plain[1], atol=1e-6)
    assert float(Encoder(0.125).gain) == 1.0 and float(encoder.state_dict()["gain"]) == 40.0
