"""Evaluating one generator on the held-out test clips of its sources (rule evaluate_generator): targeted success
per source (eq. 14), SNR (eq. 15), PESQ, generation time batched and at batch 1, and WAV examples to listen to;
and one generator applied to one audio file (``avsec attack``, :func:`attack_file`).
"""

from __future__ import annotations

import json
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from avsec.advgan.data import CLIP, clip_rows
from avsec.advgan.nets import Generator
from avsec.advgan.train import check_generator, load_attack
from avsec.advgan.victims import predict
from avsec.data.prep import fit_length
from avsec.io.atomic import atomic_path, write_text
from avsec.io.audio import denormalize, normalize, read_audio, write_audio
from avsec.metrics.audio import pesq_score, snr_db
from avsec.train import resolve_device
from avsec.train.trainer import autocast


@dataclass
class GeneratorEvaluation:
    """The settings of rule evaluate_generator (its --key value flags; config.yaml: advgan.evaluate and the
    scale's): the generation ``batch``, the clips generated one at a time for the batch-1 time, the clips per
    source scored by PESQ, the WAV pairs written per source."""

    batch: int = 64
    timing_clips: int = 50
    pesq_clips: int = 100
    examples: int = 2
    device: str = "auto"
    bf16: bool = True


def _timed(fn, device: torch.device):
    """``fn()`` and the seconds it took (the device synchronised before and after)."""
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    value = fn()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return value, time.perf_counter() - start


def generate(generator: Generator, clamp: float, audio: torch.Tensor, batch: int, device, bf16: bool) -> torch.Tensor:
    """Adversarial float waveforms (on the CPU) for int16 clips."""
    out = []
    with torch.inference_mode(), autocast(device, bf16):
        for i in range(0, len(audio), batch):
            x = normalize(audio[i : i + batch].to(device))
            out.append((x + generator(x).float().clamp(-clamp, clamp)).clamp(-1, 1).float().cpu())
    return torch.cat(out)


def evaluate_generator(
    generator_ckpt: str | Path,
    victim_ckpt: str | Path,
    data: str | Path,
    out: str | Path,
    examples_dir: str | Path,
    settings: GeneratorEvaluation,
) -> dict:
    """Targeted success per held-out source, SNR (eq. 15), PESQ, generation time; WAV examples to listen to.

    The test clips are read from the shards ``batch`` at a time: each batch is generated, predicted (adversarial
    and clean) and scored (SNR; PESQ for the first ``pesq_clips`` clips of each source), and the examples among it
    (the first ``examples`` clips of each source, chosen up front) are written; what is kept per clip is its
    predictions and scores."""
    s = settings
    batch, bf16 = s.batch, s.bf16
    dev = resolve_device(s.device)
    generator, gckpt, victim, vckpt = load_attack(generator_ckpt, victim_ckpt)
    labels, rate, name, clamp = list(vckpt["labels"]), int(vckpt["rate"]), gckpt["generator"], gckpt["clamp"]
    sources = check_generator(name, labels, victim_ckpt)
    test = clip_rows(data, "test", sources)  # .labels index the generator's sources, not the victim's labels
    n = len(test)
    victim.to(dev), generator.to(dev)
    target = labels.index(gckpt["target"])
    # each source's clips (in order), and from them the clips PESQ scores and the examples written, up front
    of_source = {label: (test.labels == k).nonzero()[:, 0].tolist() for k, label in enumerate(sources)}
    of_source = {label: idx for label, idx in of_source.items() if idx}
    scored = {i for idx in of_source.values() for i in idx[: s.pesq_clips]}
    chosen = [(label, k, i) for label, idx in of_source.items() for k, i in enumerate(idx[: s.examples])]
    example = {i: (label, k) for label, k, i in chosen}
    generate(generator, clamp, test[:2], batch, dev, bf16)  # warm-up
    seconds, pred, before, snr, pesq, pesq_nb = 0.0, [], [], [], {}, {}
    with atomic_path(examples_dir, directory=True) as tmp:
        for first in range(0, n, batch):
            audio = test[first : first + batch]
            # generator time only (summed over the batches): the batched generator over the whole test set
            adv, took = _timed(lambda audio=audio: generate(generator, clamp, audio, batch, dev, bf16), dev)
            seconds += took
            pred.append(predict(victim, adv, batch))
            before.append(predict(victim, audio, batch))  # the clean clips: how often the target is predicted anyway
            clean = normalize(audio)
            snr.append(np.atleast_1d(snr_db(clean.numpy(), adv.numpy())))
            for j, i in enumerate(range(first, first + len(audio))):
                if i in scored:
                    pair = denormalize(clean[j].numpy()), denormalize(adv[j].numpy())
                    pesq[i], pesq_nb[i] = pesq_score(*pair, rate), pesq_score(*pair, rate, band="nb")
                if i in example:
                    label, k = example[i]
                    write_audio(Path(tmp) / f"{label}_{k}_clean.wav", denormalize(clean[j].numpy()), rate)
                    write_audio(Path(tmp) / f"{label}_{k}_adv.wav", denormalize(adv[j].numpy()), rate)
    pred, before, snr = torch.cat(pred), torch.cat(before), np.concatenate(snr)
    few = [test[i : i + 1] for i in range(min(s.timing_clips, n))]  # the batch-1 time on the first clips
    _, seconds1 = _timed(lambda: [generate(generator, clamp, clip, 1, dev, bf16) for clip in few], dev)
    per_source = {
        label: {
            "clips": len(idx),
            "success": float((pred[idx] == target).float().mean()),
            "clean_rate": float((before[idx] == target).float().mean()),
            "snr_db": _mean(snr[idx]),
            "pesq": _mean([pesq[i] for i in idx[: s.pesq_clips]]),
            "pesq_nb": _mean([pesq_nb[i] for i in idx[: s.pesq_clips]]),
        }
        for label, idx in of_source.items()
    }
    written = [
        {
            "source": label,
            "clean": f"examples/{label}_{k}_clean.wav",
            "adversarial": f"examples/{label}_{k}_adv.wav",
            "predicted": labels[int(pred[i])],
            "rate": rate,
        }
        for label, k, i in chosen
    ]
    cells = list(per_source.values())
    result = {
        "victim": vckpt["victim"],
        "generator": name,
        "source": gckpt["source"],
        "target": gckpt["target"],
        "per_source": per_source,
        "success": float((pred == target).float().mean()),
        "clean_rate": float((before == target).float().mean()),
        "snr_db": _mean(snr),
        "pesq": _mean([c["pesq"] for c in cells]),  # wide-band P.862.2
        "pesq_nb": _mean([c["pesq_nb"] for c in cells]),  # narrow-band P.862, the scale of the paper's Table 2
        "seconds_per_clip_batched": seconds / n,
        "seconds_per_clip_batch1": seconds1 / max(1, len(few)),
        "batch": batch,
        "device": str(dev),
        "clips": n,
        "examples": written,
    }
    write_text(out, json.dumps(result, indent=2, allow_nan=True) + "\n")
    print(
        f"{name}: success {result['success']:.1%}, SNR {result['snr_db']:.2f} dB, PESQ {result['pesq']:.3f} "
        f"(NB {result['pesq_nb']:.3f}), "
        f"{1e3 * result['seconds_per_clip_batched']:.3f} ms per clip batched",
        file=sys.stderr,
    )
    return result


def attack_file(
    generator_ckpt: str | Path,
    audio: str | Path,
    out: str | Path,
    *,
    victim_ckpt: str | Path | None = None,
    device: str = "auto",
) -> dict:
    """``avsec attack``: the generator's adversarial version of the audio file ``audio``, written to ``out`` (int16
    WAV at the victim's rate), and what the victim makes of it.

    The victim is ``victim_ckpt``, by default ``victim.pt`` beside the generator's folder (the workflow's layout,
    results/advgan/<victim>/<generator>/generator.pt). The file must be mono at the victim's rate (16000 Hz for
    WideResNet, 16384 Hz for SampleCNN); it is cropped to its first 16384 samples or zero-padded at the end to them,
    as the preparation does (a note says so), and ``out`` holds those 16384 samples. Returns (and the CLI prints)
    the victim's label for the clip before and after, the target and the SNR (eq. 15) of ``out`` against the clip,
    both as int16 samples, so both are what a listener and the victim get from the files."""
    generator, gckpt, victim, vckpt = load_attack(generator_ckpt, victim_ckpt)
    labels, rate = list(vckpt["labels"]), int(vckpt["rate"])
    samples, _ = read_audio(audio, expect_rate=rate)
    if len(samples) != CLIP:
        change = "cropped to its first" if len(samples) > CLIP else "zero-padded at the end to"
        print(f"note: {audio}: {len(samples)} samples, {change} {CLIP} (the victim's input)", file=sys.stderr)
    clip = torch.from_numpy(fit_length(samples, CLIP))[None]
    dev = resolve_device(device)
    victim.to(dev), generator.to(dev)
    adversarial = torch.from_numpy(denormalize(generate(generator, gckpt["clamp"], clip, 1, dev, False).numpy()))
    write_audio(out, adversarial[0].numpy(), rate)
    before, after = (labels[int(predict(victim, x, 1)[0])] for x in (clip, adversarial))
    return {
        "victim": vckpt["victim"],
        "generator": gckpt["generator"],
        "target": gckpt["target"],
        "before": before,
        "after": after,
        "snr_db": float(snr_db(clip[0].numpy(), adversarial[0].numpy())),
    }


def _mean(values) -> float:
    values = [float(v) for v in np.asarray(values, dtype=np.float64).ravel() if math.isfinite(v)]
    return float(np.mean(values)) if values else float("nan")
