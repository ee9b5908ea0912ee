"""White-box attacks on both modalities of an audiovisual recogniser at once (paper 4, §3.1 and §5.1), and
:func:`attack_corpus` (rule attack_av), which runs one of them over a corpus's ε grid.

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
recogniser (:data:`avsec.avdetect.names.ATTACK_CORPUS`). :func:`attack_corpus` attacks the validation clips (where
the detector's threshold is chosen) and the test clips (where it is measured), and records every clip's
prediction, distortion and SyncNet offset and confidence, benign and adversarial.
"""

from __future__ import annotations

import contextlib
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from avsec.avdetect.data import flushing_denormals, load_av
from avsec.avdetect.names import ATTACK_CORPUS, HEADS, config_name
from avsec.avdetect.recogniser import encode_text, greedy_decode, load_recogniser, recognise, score_transcripts
from avsec.avdetect.syncnet import VSHIFT, load_syncnet, sync_scores
from avsec.core.errors import ConfigError, InputError
from avsec.io.atomic import atomic_path, write_text
from avsec.io.video import write_video
from avsec.metrics.text import wer
from avsec.train import resolve_device

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
    """Eval mode, frozen weights, and cuDNN off (its RNN backward refuses eval mode) while an attack runs."""
    was = model.training
    flags = [p.requires_grad for p in model.parameters()]
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    try:
        with torch.backends.cudnn.flags(enabled=False), torch.enable_grad():
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


# ---- a corpus's ε grid -------------------------------------------------------------------------------------------
@dataclass(kw_only=True)
class AttackSettings(CWSettings):
    """Settings of :func:`attack_corpus` (rule attack_av's flags: config.yaml avdetect.<method> and
    scales.<scale>.avdetect.<method>, and --seed); C&W's optimisation settings are those of :class:`CWSettings`.

    ``eps_audio``, ``eps_video``, ``splits`` and ``targets`` take one value or a list (a one-value flag such as
    ``--eps_video 4`` arrives as a number)."""

    eps_audio: int | list[int]
    eps_video: int | list[int]
    splits: str | list[str] | tuple[str, ...] = ("val", "test")
    clips: int = 0  # the first clips of each split (0: all)
    batch: int = 16
    examples: int = 1  # adversarial test videos written per setting
    vshift: int = VSHIFT
    alpha_audio: float = 64.0  # BIM's steps
    alpha_video: float = 1.0
    targets: str | list[str] | tuple[str, ...] = ()  # C&W's target sentences
    num_targets: int = 0  # the first num_targets of them (0: all)
    seed: int = 1024
    device: str = "auto"


def _as_list(value) -> list:
    return list(value) if isinstance(value, (list, tuple)) else [value]


@flushing_denormals
def attack_corpus(
    method: str,
    mouths: str | Path,
    audio: str | Path,
    recogniser: str | Path,
    syncnet: str | Path,
    out: str | Path,
    examples_dir: str | Path,
    settings: AttackSettings,
) -> dict:
    """Run ``method`` (fgsm, bim: LRW; cw: GRID) for every ε_A × ε_V (× target sentence for cw) on the first
    ``clips`` clips (0: all) of each split; record predictions, distortions and the SyncNet offset/confidence of
    the benign and adversarial clips; write ``examples`` adversarial test videos (with audio) per setting."""
    if method not in ATTACK_CORPUS:
        raise ConfigError(f"unknown attack {method!r}; choose one of {', '.join(ATTACK_CORPUS)}")
    s = settings
    dev = resolve_device(s.device)
    model, ckpt = load_recogniser(recogniser, dev)
    expected = HEADS[ATTACK_CORPUS[method]]
    if model.head != expected:
        raise InputError(recogniser, f"{method} attacks a {expected!r} recogniser, this one has a {model.head!r} head")
    sync, _ = load_syncnet(syncnet, dev)
    classes = ckpt["classes"]
    targets = [str(t) for t in _as_list(s.targets)]
    if method == "cw":
        if not targets:
            raise ConfigError("avdetect.cw.targets: no target sentences")
        targets = targets[: s.num_targets or len(targets)]
    grid = [(int(a), int(v)) for v in _as_list(s.eps_video) for a in _as_list(s.eps_audio)]
    grid.sort(key=lambda av_: (-av_[1], -av_[0]))  # the paper's row order: ε_V, then ε_A, descending
    torch.manual_seed(s.seed)
    data, benign = {}, {}
    for split in _as_list(s.splits):
        data[split] = load_av(mouths, audio, split).take(s.clips)
        d = data[split]
        parts = [
            {"predicted": recognise(model, v, a, classes, s.batch), **sync_scores(sync, v, a, s.vshift)}
            for _, (v, a, _) in d.batches(s.batch)
        ]
        benign[split] = {"sources": d.sources, "labels": d.labels, **_merge_parts(parts)}
        benign[split].update(score_transcripts(model.head, d.labels, benign[split]["predicted"]))
    entries = []
    examples_dir = Path(examples_dir)
    with atomic_path(examples_dir, directory=True) as tmp_examples:
        for eps_a, eps_v in grid:
            for target in targets or [""]:
                name = config_name(method, eps_a, eps_v, target)
                entry = {"name": name, "eps_audio": eps_a, "eps_video": eps_v, "splits": {}}
                if method == "bim":
                    entry["iterations"] = bim_iterations(eps_v)
                if target:
                    entry.update(target=target, iterations=s.iterations)
                start = time.perf_counter()
                for split, d in data.items():
                    labels = torch.tensor([classes.index(y) for y in d.labels]) if model.head == "word" else None
                    parts = []
                    for i, (v, a, _) in d.batches(s.batch):
                        v, a = v.to(dev), a.to(dev)
                        keep = max(0, s.examples - i) if split == "test" else 0  # the clips written as examples
                        if method == "cw":
                            parts.append(_cw_part(model, sync, v, a, target, eps_a, eps_v, s, keep))
                            continue
                        y = labels[i : i + s.batch].to(dev)
                        if method == "fgsm":
                            adv_v, adv_a = fgsm(model, v, a, y, eps_video=eps_v, eps_audio=eps_a)
                        else:
                            adv_v, adv_a = bim(model, v, a, y, eps_video=eps_v, eps_audio=eps_a,
                                               alpha_video=s.alpha_video, alpha_audio=s.alpha_audio)  # fmt: skip
                        predicted = recognise(model, adv_v, adv_a, classes, s.batch)
                        parts.append({
                            "predicted": predicted,
                            **distortion(v, adv_v, a, adv_a),
                            **sync_scores(sync, adv_v, adv_a, s.vshift),
                            "_examples": _first(keep, adv_v, adv_a),
                        })  # fmt: skip
                    entry["splits"][split] = _merge_parts(parts)
                    if split == "test":
                        _write_examples(Path(tmp_examples), name, entry["splits"][split].pop("_examples"), s.examples)
                    entry["splits"][split].pop("_examples", None)
                    if method != "cw":
                        entry["splits"][split].update(
                            score_transcripts(model.head, d.labels, entry["splits"][split]["predicted"])
                        )
                entry["attack_seconds"] = time.perf_counter() - start
                entries.append(entry)
                print(f"{name}: {_summary(entry)}", flush=True)
    result = {
        "method": method,
        "corpus": ATTACK_CORPUS[method],
        "head": model.head,
        "targets": targets,
        "benign": benign,
        "skipped": [row for d in data.values() for row in d.skipped],
        "settings": entries,
    }
    write_text(out, json.dumps(result, indent=1) + "\n")
    return result


def _cw_part(model, sync, v, a, target: str, eps_a: int, eps_v: int, settings: AttackSettings, keep: int) -> dict:
    """C&W on one batch: both kept examples (partial, full) with their WER, text, distortion and SyncNet scores,
    and the first ``keep`` partial examples to write."""
    res = cw_ctc(model, v, a, target, eps_video=eps_v, eps_audio=eps_a, settings=settings)
    part = {}
    for goal in ("partial", "full"):
        adv_v, adv_a = getattr(res, f"{goal}_video"), getattr(res, f"{goal}_audio")
        part[goal] = {
            "wer": getattr(res, f"{goal}_wer"),
            "text": getattr(res, f"{goal}_text"),
            **distortion(v, adv_v, a, adv_a),
            **sync_scores(sync, adv_v, adv_a, settings.vshift),
        }
    part["_examples"] = _first(keep, res.partial_video, res.partial_audio)
    return part


def _first(keep: int, *batches: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """The first ``keep`` clips of each batch, copied to the CPU: only the clips written as examples are held,
    never every adversarial clip of a split (a slice alone would keep its whole batch alive)."""
    return tuple(batch[:keep].detach().cpu().clone() for batch in batches)


def _merge_parts(parts: list[dict]) -> dict:
    merged: dict = {}
    for key in parts[0]:
        if key == "_examples":
            merged[key] = tuple(torch.cat([p[key][i] for p in parts]) for i in range(2))
        elif isinstance(parts[0][key], dict):
            merged[key] = _merge_parts([p[key] for p in parts])
        else:
            merged[key] = [x for p in parts for x in p[key]]
    return merged


def _summary(entry: dict) -> str:
    test = entry["splits"].get("test", {})
    if "partial" in test:
        ok = [w <= 0.5 for w in test["partial"]["wer"]]
        return f"partial success {np.mean(ok):.0%} on {len(ok)} test clips"
    return f"test accuracy {test.get('accuracy', float('nan')):.2%}"


def _write_examples(folder: Path, name: str, adversarial: tuple[torch.Tensor, torch.Tensor], count: int) -> None:
    """The first ``count`` adversarial test clips as MP4 (grey mouth crops with the adversarial audio)."""
    video, audio = adversarial
    for i in range(min(count, len(video))):
        frames = video[i].round().clamp(0, 255).to(torch.uint8).numpy()
        sound = audio[i].round().clamp(-32768, 32767).to(torch.int16).numpy()
        write_video(folder / f"{name}_{i}.mp4", np.repeat(frames[..., None], 3, axis=-1), 25, sound, 16000)
