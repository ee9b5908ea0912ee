"""Paper 4's recogniser: the network (video 3-D conv + ResNet-18 + BGRU, audio CNN + BGRU, fusion BGRU; word and
CTC heads) checked against the architecture rather than against numbers read off the code, its text encoding,
and its training on tiny shards (loss falls, resumption through the shared trainer is exact, wrong head)."""

from __future__ import annotations

import os
import signal

import pytest
import torch
from torch import nn

from avsec.avdetect.recogniser import (
    AudioStream,
    AVRecogniser,
    BasicBlock,
    RecogniserTask,
    ResNet18,
    SpatioTemporalConv,
    encode_text,
    greedy_decode,
    load_recogniser,
    train_recogniser,
)
from avsec.core.errors import ConfigError
from avsec.train import Interrupted, load_checkpoint

# torchvision's resnet18 has 11,689,512 parameters: minus conv1 (64·3·7·7 = 9,408), bn1 (128) and fc (512·1000 +
# 1000 = 513,000) its four stages hold 11,166,976; ours take the front-end's 64 channels, so they must match.
RESNET18_STAGES = 11_689_512 - 9_408 - 128 - 513_000


def n_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_resnet18_trunk_has_the_paper_size_and_eight_basic_blocks():
    trunk = ResNet18(64, width=1.0)
    assert n_params(trunk) == RESNET18_STAGES
    assert sum(isinstance(m, BasicBlock) for m in trunk.modules()) == 8
    assert trunk(torch.zeros(2, 64, 22, 22)).shape == (2, 512)


def test_spatiotemporal_conv_equals_conv3d():
    torch.manual_seed(0)
    fast = SpatioTemporalConv(1, 6, (5, 7, 7), (1, 2, 2), (2, 3, 3), bias=False)
    plain = nn.Conv3d(1, 6, (5, 7, 7), (1, 2, 2), (2, 3, 3), bias=False)
    plain.weight.data.copy_(fast.weight.data)
    x = torch.randn(2, 1, 9, 24, 24, requires_grad=True)
    y = fast(x)
    assert y.shape == plain(x).shape == (2, 6, 9, 12, 12)
    torch.testing.assert_close(y, plain(x), atol=1e-5, rtol=1e-5)
    (g_fast,) = torch.autograd.grad(y.square().sum(), x)
    (g_plain,) = torch.autograd.grad(plain(x).square().sum(), x)
    torch.testing.assert_close(g_fast, g_plain, atol=1e-4, rtol=1e-4)


def test_audio_stream_gives_one_step_per_video_frame():
    stream = AudioStream(width=0.125, hidden=8)
    convs = [m for m in stream.frontend if isinstance(m, nn.Conv1d)]
    assert len(convs) == 5  # the paper's 5-layer CNN
    assert stream(torch.zeros(2, 29 * 640)).shape == (2, 29, 16)


@pytest.mark.parametrize(("head", "classes", "shape"), [("word", 4, (2, 4)), ("ctc", 28, (2, 7, 28))])
def test_recogniser_heads(head, classes, shape):
    torch.manual_seed(0)
    model = AVRecogniser(classes, head=head, width=0.125, hidden=8).eval()
    video = torch.rand(2, 7, 96, 96) * 255
    audio = torch.randn(2, 7 * 640) * 1000
    out = model(video, audio)
    assert out.shape == shape
    if head == "ctc":
        torch.testing.assert_close(out.exp().sum(-1), torch.ones(2, 7))  # log-probabilities per frame


def test_recogniser_input_gradient_reaches_both_modalities():
    model = AVRecogniser(4, width=0.125, hidden=8).eval()
    video = (torch.rand(1, 5, 96, 96) * 255).requires_grad_()
    audio = (torch.randn(1, 5 * 640) * 1000).requires_grad_()
    model(video, audio)[0, 1].backward()
    assert video.grad.abs().sum() > 0 and audio.grad.abs().sum() > 0
    # the 96×96 crop's border outside the 88×88 centre is never seen
    assert video.grad[..., :4, :].abs().sum() == 0 and video.grad[..., 4:92, 4:92].abs().sum() > 0


def test_recogniser_rejects_misaligned_audio():
    with pytest.raises(ValueError, match="does not match"):
        AVRecogniser(4, width=0.125, hidden=8)(torch.zeros(1, 5, 96, 96), torch.zeros(1, 5 * 640 - 1))


def test_text_encoding_and_greedy_decoding():
    assert encode_text("Bin blue!") == [3, 10, 15, 1, 3, 13, 22, 6]  # 0 blank, 1 space, 2.. letters a..
    # frames b b _ i n _ n ␣ ␣ c: adjacent repeats merge, the blank keeps the two n's apart
    path = [3, 3, 0, 10, 15, 0, 15, 1, 1, 4]
    log_probs = torch.full((1, len(path), 28), -10.0)
    log_probs[0, torch.arange(len(path)), torch.tensor(path)] = 0.0
    assert greedy_decode(log_probs) == ["binn c"]


# ---- training ----------------------------------------------------------------------------------------------------
def test_recogniser_checkpoint(trained, tiny):
    out, rec, _ = trained
    assert rec["clips"] == {"train": 12, "val": 3, "test": 5}
    assert rec["skipped"][0]["source"] == "test/high/1"
    assert rec["history"][-1]["loss"] < rec["history"][0]["loss"]
    model, ckpt = load_recogniser(out / "recogniser.pt")
    assert ckpt["classes"] == sorted(tiny.words) and model.head == "word"
    assert not (out / "recogniser.pt.resume").exists()


def test_recogniser_resumes_after_a_signal_to_the_same_weights(av, trained, tiny, tmp_path, monkeypatch):
    out, _, _ = trained
    step = RecogniserTask.step
    calls = []

    def interrupted(self, batch, epoch):
        calls.append(epoch)
        if len(calls) == 4:  # during epoch 2
            os.kill(os.getpid(), signal.SIGUSR1)
        return step(self, batch, epoch)

    monkeypatch.setattr(RecogniserTask, "step", interrupted)
    args = ("lrw", av / "mouths", av / "audio", tmp_path / "r.pt", tmp_path / "r.json")
    with pytest.raises(Interrupted):
        train_recogniser(*args, tiny.recogniser())
    assert (tmp_path / "r.pt.resume").exists() and not (tmp_path / "r.pt").exists()
    monkeypatch.setattr(RecogniserTask, "step", step)
    train_recogniser(*args, tiny.recogniser())
    resumed = load_checkpoint(tmp_path / "r.pt", "av_recogniser")["modules"]["model"]
    reference = load_checkpoint(out / "recogniser.pt", "av_recogniser")["modules"]["model"]
    for key, value in reference.items():
        assert torch.equal(resumed[key], value), key


def test_wrong_head_for_the_corpus_is_one_line(av, tiny, tmp_path):
    with pytest.raises(ConfigError, match="lrw needs the 'word' head"):
        train_recogniser("lrw", av / "mouths", av / "audio", tmp_path / "r.pt", tmp_path / "r.json",
                         tiny.recogniser(head="ctc"))  # fmt: skip
