"""White-box attacks on both modalities of an audiovisual recogniser at once (paper 4, §3.1 and §5.1).

Video is grey pixel values in [0, 255] and audio int16-scale samples in [-32768, 32767], so ε_V (pixels) and
ε_A (int16 units) bound the perturbations directly, as the paper states them.

- :func:`fgsm`: one signed-gradient step of size ε on each modality (Goodfellow et al.).
- :func:`bim`: eq. (1), steps α_V = 1, α_A = 64, clipped to the ε-ball after every step, for
  ``min(ε_V + 4, 1.25 ε_V)`` iterations (Kurakin et al.).
- :func:`cw_ctc`: the targeted attack of Carlini & Wagner (2018) on a CTC recogniser: Adam on δ minimising
  c·CTC(f(x + δ), target) + ‖δ‖², with δ clamped to ±τ; τ starts at ε and shrinks to ``shrink`` × the current
  max |δ| whenever the transcription equals the target ("reduced during iterative optimisation").
- :func:`distortion`: the paper's §5.2 measures per clip.

Each attack runs on one corpus, as in the paper: FGSM and BIM on LRW's word recogniser, C&W on GRID's sentence
recogniser (:data:`avsec.avdetect.names.ATTACK_CORPUS`). :mod:`avsec.avdetect.attack_jobs` runs them over a
corpus's ε grid, one job per setting.
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from avsec.avdetect.recogniser import encode_text, greedy_decode
from avsec.core.errors import ConfigError
from avsec.metrics.text import wer

PIXEL_MAX = 255.0
INT16_MIN, INT16_MAX = -32768.0, 32767.0


def bim_iterations(eps_video: float) -> int:
    """Kurakin et al.'s iteration count, min(ε_V + 4, 1.25 ε_V), as the paper sets it."""
    return int(math.floor(min(eps_video + 4, 1.25 * eps_video)))


def check_eps(eps_audio: float, eps_video: float) -> None:
    if not 0 < eps_audio <= -INT16_MIN:
        raise ConfigError(f"eps_audio must be in (0, 32768] (int16 scale), got {eps_audio}")
    if not 0 < eps_video <= PIXEL_MAX:
        raise ConfigError(f"eps_video must be in (0, 255] (pixels), got {eps_video}")


def _valid(video: torch.Tensor, audio: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    return video.clamp(0.0, PIXEL_MAX), audio.clamp(INT16_MIN, INT16_MAX)


@contextlib.contextmanager
def input_gradients(model: nn.Module):
    """Eval mode and frozen weights while an attack runs (the recogniser's GRUs leave cuDNN for the backward
    through eval mode themselves: :class:`avsec.avdetect.recogniser.BGRU`)."""
    was = model.training
    flags = [p.requires_grad for p in model.parameters()]
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    try:
        with torch.enable_grad():
            yield model
    finally:
        model.train(was)
        for p, flag in zip(model.parameters(), flags, strict=True):
            p.requires_grad_(flag)


def _grads(model, loss_fn, video, audio):
    v = video.detach().requires_grad_(True)
    a = audio.detach().requires_grad_(True)
    loss = loss_fn(model(v, a))
    gv, ga = torch.autograd.grad(loss, (v, a))
    return gv, ga


def fgsm(model: nn.Module, video: torch.Tensor, audio: torch.Tensor, labels: torch.Tensor, *, eps_video: float,
         eps_audio: float) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
    """Untargeted FGSM on a word classifier: x + ε·sign(∇ CE(f(x), y)) on both modalities."""
    check_eps(eps_audio, eps_video)
    video, audio = video.float(), audio.float()
    with input_gradients(model):
        gv, ga = _grads(model, lambda logits: F.cross_entropy(logits, labels, reduction="sum"), video, audio)
    return _valid(video + eps_video * gv.sign(), audio + eps_audio * ga.sign())


def bim(model: nn.Module, video: torch.Tensor, audio: torch.Tensor, labels: torch.Tensor, *, eps_video: float,
        eps_audio: float, alpha_video: float = 1.0, alpha_audio: float = 64.0,
        iterations: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
    """Eq. (1) on both modalities: ``iterations`` (default min(ε_V + 4, 1.25 ε_V)) steps of α·sign(∇), each
    clipped to [x − ε, x + ε] and the valid range."""
    check_eps(eps_audio, eps_video)
    steps = bim_iterations(eps_video) if iterations is None else int(iterations)
    video, audio = video.float(), audio.float()
    adv_v, adv_a = video.clone(), audio.clone()
    with input_gradients(model):
        for _ in range(steps):
            gv, ga = _grads(model, lambda logits: F.cross_entropy(logits, labels, reduction="sum"), adv_v, adv_a)
            adv_v = torch.minimum(torch.maximum(adv_v + alpha_video * gv.sign(), video - eps_video), video + eps_video)
            adv_a = torch.minimum(torch.maximum(adv_a + alpha_audio * ga.sign(), audio - eps_audio), audio + eps_audio)
            adv_v, adv_a = _valid(adv_v, adv_a)
    return adv_v, adv_a


@dataclass
class CWResult:
    """The kept adversarial examples of a batch: ``partial`` (last iterate with WER ≤ ``partial_wer``, else the
    final one) and ``full`` (last iterate with WER 0, else the final one), with their WERs and transcriptions."""

    partial_video: torch.Tensor
    partial_audio: torch.Tensor
    partial_wer: list[float]
    partial_text: list[str]
    full_video: torch.Tensor
    full_audio: torch.Tensor
    full_wer: list[float]
    full_text: list[str]
    iterations: int


@dataclass(kw_only=True)
class CWSettings:
    """Carlini & Wagner's optimisation (:func:`cw_ctc`): Adam's step sizes per modality, the weight ``c`` of the
    CTC term, the bound's shrink factor, how often the transcription is checked, and the WER counted as a partial
    success (config.yaml avdetect.cw)."""

    iterations: int = 800
    lr_video: float = 0.5
    lr_audio: float = 10.0
    c: float = 1.0
    shrink: float = 0.8
    check_every: int = 10
    partial_wer: float = 0.5


def cw_ctc(model: nn.Module, video: torch.Tensor, audio: torch.Tensor, target: str, *, eps_video: float,
           eps_audio: float, settings: CWSettings) -> CWResult:  # fmt: skip
    """Targeted C&W attack with the CTC loss towards the sentence ``target`` on every clip of the batch."""
    check_eps(eps_audio, eps_video)
    iterations, lr_video, lr_audio = settings.iterations, settings.lr_video, settings.lr_audio
    c, shrink, check_every, partial_wer = settings.c, settings.shrink, settings.check_every, settings.partial_wer
    if iterations < 1:
        raise ConfigError(f"C&W iterations must be at least 1, got {iterations}")
    video, audio = video.float(), audio.float()
    n, t = video.shape[:2]
    labels = torch.tensor(encode_text(target), device=video.device)
    if not len(labels):
        raise ConfigError(f"C&W target sentence {target!r} has no characters")
    targets = labels.repeat(n, 1)
    input_lengths = torch.full((n,), t, dtype=torch.long)
    target_lengths = torch.full((n,), len(labels), dtype=torch.long)
    delta_v = torch.zeros_like(video, requires_grad=True)
    delta_a = torch.zeros_like(audio, requires_grad=True)
    tau_v = torch.full((n,), float(eps_video), device=video.device)
    tau_a = torch.full((n,), float(eps_audio), device=video.device)
    opt = torch.optim.Adam([{"params": [delta_v], "lr": lr_video}, {"params": [delta_a], "lr": lr_audio}])
    kept = {
        "partial": [video.clone(), audio.clone(), [math.inf] * n, [""] * n],
        "full": [video.clone(), audio.clone(), [math.inf] * n, [""] * n],
    }
    with input_gradients(model):
        for step in range(iterations):
            dv = torch.maximum(torch.minimum(delta_v, tau_v.view(-1, 1, 1, 1)), -tau_v.view(-1, 1, 1, 1))
            da = torch.maximum(torch.minimum(delta_a, tau_a.view(-1, 1)), -tau_a.view(-1, 1))
            adv_v, adv_a = _valid(video + dv, audio + da)
            log_probs = model(adv_v, adv_a)
            ctc = F.ctc_loss(
                log_probs.float().transpose(0, 1), targets, input_lengths, target_lengths, reduction="none",
                zero_infinity=True,
            )  # fmt: skip
            size = (dv / PIXEL_MAX).square().flatten(1).sum(1) + (da / -INT16_MIN).square().sum(1)
            loss = (c * ctc + size).sum()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            last = step == iterations - 1
            if (step + 1) % check_every and not last:
                continue
            texts = greedy_decode(log_probs.detach())
            errors = [wer(target, text) for text in texts]
            for i, (err, text) in enumerate(zip(errors, texts, strict=True)):
                for goal, ok in (("partial", err <= partial_wer), ("full", err == 0)):
                    if ok or (last and math.isinf(kept[goal][2][i])):
                        kept[goal][0][i], kept[goal][1][i] = adv_v[i].detach(), adv_a[i].detach()
                        kept[goal][2][i], kept[goal][3][i] = err, text
                if err == 0:  # Carlini & Wagner: shrink the bound below the distortion that succeeded
                    tau_v[i] = shrink * dv[i].detach().abs().max().clamp_min(1e-3)
                    tau_a[i] = shrink * da[i].detach().abs().max().clamp_min(1e-3)
    return CWResult(*kept["partial"], *kept["full"], iterations=iterations)


def distortion(video: torch.Tensor, adv_video: torch.Tensor, audio: torch.Tensor, adv_audio: torch.Tensor) -> dict:
    """Paper §5.2 per clip: L2^V (per frame on the [0, 1] grey scale, averaged over frames), L∞^V ([0, 1] scale
    and in pixels), and L∞^A in dB relative to the clip: dB(δ) − dB(x), dB(x) = max_i 20·log10 |x_i|."""
    dv = (adv_video.float() - video.float()) / PIXEL_MAX
    da = adv_audio.float() - audio.float()
    peak = audio.float().abs().flatten(1).amax(1).clamp_min(1.0)
    delta_peak = da.abs().flatten(1).amax(1)
    db = 20 * torch.log10(delta_peak.clamp_min(1e-12)) - 20 * torch.log10(peak)
    return {
        "l2_video": dv.flatten(2).norm(dim=2).mean(1).tolist(),
        "linf_video": dv.flatten(1).abs().amax(1).tolist(),
        "linf_video_pixels": (dv.flatten(1).abs().amax(1) * PIXEL_MAX).tolist(),
        "linf_audio_db": db.tolist(),
    }
