"""Paper 4 (audiovisual adversarial detection) speed with randomly initialised networks and random LRW-sized clips
(29 frames of 96×96 crops, 18560 audio samples) kept in memory (no dataset). Prints, last, the attack's speed-up
from computing the video front-end's 3-D convolution as a 2-D one (``SpatioTemporalConv``) against the same
recogniser with PyTorch's ``nn.Conv3d`` (the baseline, same weights, same run).

1. Attack iterations per second per clip: one BIM step (``avsec.avdetect.attacks.bim`` with one iteration: forward,
   input gradient of both modalities, sign step, clipping) on a batch of ``--clips`` clips.
2. Share of an iteration spent in the recogniser (forward + backward) vs the attack's bookkeeping (sign, step,
   clipping to the ε-ball and the valid range), timed apart.
3. SyncNet scoring throughput (``avsec.avdetect.syncnet.sync_scores``: MFCC of the audio, lip and audio embeddings of
   every 5-frame window, distances over ±15 offsets, offset and confidence), clips per second.
4. The baseline: the same BIM step with the front-end as ``nn.Conv3d``.

Every figure is a median over ``--repeat`` runs after a warm-up; the development machine's 2 cores are shared with
other jobs, so expect tens of per cent of noise there.

    .venv/bin/python bench/bench_avdetect.py [--quick] [--device auto|cpu|cuda] [--size smoke|paper]
"""

from __future__ import annotations

import argparse

import torch
import torch.nn.functional as F
from timing import median_seconds
from torch import nn

from avsec.avdetect.attacks import _grads, _valid, bim, input_gradients
from avsec.avdetect.recogniser import AVRecogniser, SpatioTemporalConv
from avsec.avdetect.syncnet import SyncNet, sync_scores
from avsec.train import resolve_device

FRAMES, WORDS = 29, 500
# The recogniser and SyncNet at the paper's size and at the CPU smoke size (config.yaml scales.<scale>.avdetect).
SIZES = {
    "smoke": {"recogniser": {"width": 0.125, "hidden": 32}, "syncnet": {"width": 0.25, "size": 56, "embed": 128}},
    "paper": {"recogniser": {"width": 1.0, "hidden": 256}, "syncnet": {"width": 1.0, "size": 88, "embed": 1024}},
}


def with_conv3d(model: AVRecogniser) -> AVRecogniser:
    """The same recogniser with its video front-end computed by nn.Conv3d (the baseline)."""
    fast = model.video.frontend[0]
    plain = nn.Conv3d(1, fast.out_channels, fast.kernel_size, fast.stride, fast.padding, bias=False)
    plain.weight.data.copy_(fast.weight.data)
    model.video.frontend[0] = plain.to(fast.weight.device)
    return model


def main() -> None:
    parser = argparse.ArgumentParser(allow_abbrev=False, description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--size", choices=SIZES, default="smoke")
    parser.add_argument("--clips", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="2 clips, 2 repeats")
    args = parser.parse_args()
    if args.quick:
        args.clips, args.repeat = 2, 2
    torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    torch.manual_seed(0)
    sizes = SIZES[args.size]
    model = AVRecogniser(WORDS, head="word", **sizes["recogniser"]).to(device).eval()
    assert isinstance(model.video.frontend[0], SpatioTemporalConv)
    video = (torch.rand(args.clips, FRAMES, 96, 96, device=device) * 255).round()
    audio = (torch.randn(args.clips, FRAMES * 640, device=device) * 3000).round()
    labels = torch.randint(0, WORDS, (args.clips,), device=device)
    print(f"device {device}, {args.size} size, {args.clips} clips of {FRAMES} frames, median of {args.repeat}")

    step = lambda m: bim(m, video, audio, labels, eps_video=8, eps_audio=512, iterations=1)  # noqa: E731
    iteration = median_seconds(lambda: step(model), device, args.repeat)
    print(f"1. BIM: {args.clips / iteration:.2f} attack iterations per second per clip ({iteration:.3f} s per batch)")

    def loss(logits):
        return F.cross_entropy(logits, labels, reduction="sum")

    with input_gradients(model):
        recogniser = median_seconds(lambda: _grads(model, loss, video, audio), device, args.repeat)
        gv, ga = _grads(model, loss, video, audio)

    def bookkeeping():
        v = torch.minimum(torch.maximum(video + gv.sign(), video - 8), video + 8)
        a = torch.minimum(torch.maximum(audio + 64 * ga.sign(), audio - 512), audio + 512)
        return _valid(v, a)

    rest = median_seconds(bookkeeping, device, args.repeat)
    share = recogniser / (recogniser + rest)
    print(f"2. recogniser (forward + input gradient) {recogniser:.3f} s, bookkeeping {rest * 1e3:.2f} ms: "
          f"{share:.1%} of an iteration in the recogniser")  # fmt: skip

    sync = SyncNet(channels=1, **sizes["syncnet"]).to(device).eval()
    scoring = median_seconds(lambda: sync_scores(sync, video, audio), device, args.repeat)
    per_clip = scoring / args.clips * 1e3
    print(f"3. SyncNet scoring: {args.clips / scoring:.2f} clips per second ({per_clip:.1f} ms per clip)")

    baseline = median_seconds(lambda: step(with_conv3d(model)), device, args.repeat)
    print(f"4. baseline (nn.Conv3d front-end): {args.clips / baseline:.2f} attack iterations per second per clip")
    print(f"ratio: attack iteration with SpatioTemporalConv is {baseline / iteration:.2f}x faster than with nn.Conv3d")


if __name__ == "__main__":
    main()
