"""Evaluating one generator on the held-out test clips of its sources (rule evaluate_generator): targeted success
per source (eq. 14), SNR (eq. 15), PESQ, generation time batched and at batch 1, and WAV examples to listen to.
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

from avsec.advgan.data import load_clips
from avsec.advgan.nets import Generator
from avsec.advgan.train import check_generator, load_generator
from avsec.advgan.victims import load_victim, predict
from avsec.core.errors import InputError
from avsec.io.atomic import atomic_path, write_text
from avsec.io.audio import denormalize, normalize, write_audio
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


def _timed(fn, device: torch.device) -> float:
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    fn()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start


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
    """Targeted success per held-out source, SNR (eq. 15), PESQ, generation time; WAV examples to listen to."""
    batch, bf16 = settings.batch, settings.bf16
    dev = resolve_device(settings.device)
    victim, vckpt = load_victim(victim_ckpt)
    generator, gckpt = load_generator(generator_ckpt)
    if gckpt["victim"] != vckpt["victim"] or list(gckpt["labels"]) != list(vckpt["labels"]):
        raise InputError(generator_ckpt, f"was trained against {gckpt['victim']}, not the victim in {victim_ckpt}")
    labels, rate, name = list(vckpt["labels"]), int(vckpt["rate"]), gckpt["generator"]
    sources = check_generator(name, labels, victim_ckpt)
    test = load_clips(data, "test", sources)
    victim.to(dev), generator.to(dev)
    target = labels.index(gckpt["target"])
    # warm up, then time the batched generator over the whole test set and at batch 1 on a few clips
    generate(generator, gckpt["clamp"], test.audio[:2], batch, dev, bf16)
    adv: list[torch.Tensor] = []
    seconds = _timed(lambda: adv.append(generate(generator, gckpt["clamp"], test.audio, batch, dev, bf16)), dev)
    adv_audio = adv[0]
    few = test.audio[: settings.timing_clips]
    seconds1 = _timed(
        lambda: [generate(generator, gckpt["clamp"], few[i : i + 1], 1, dev, bf16) for i in range(len(few))], dev
    )
    pred = predict(victim, adv_audio, batch)
    before = predict(victim, test.audio, batch)  # the clean clips: how often the target is predicted anyway
    clean = normalize(test.audio)
    snr = snr_db(clean.numpy(), adv_audio.numpy())
    per_source, chosen = {}, []
    for label in sources:  # test.labels index the generator's sources (load_clips), not the victim's labels
        idx = (test.labels == sources.index(label)).nonzero()[:, 0].tolist()
        if not idx:
            continue
        scores = [
            pesq_score(denormalize(clean[i].numpy()), denormalize(adv_audio[i].numpy()), rate)
            for i in idx[: settings.pesq_clips]
        ]
        per_source[label] = {
            "clips": len(idx),
            "success": float((pred[idx] == target).float().mean()),
            "clean_rate": float((before[idx] == target).float().mean()),
            "snr_db": _mean(snr[idx]),
            "pesq": _mean(scores),
        }
        chosen += [(label, k, i) for k, i in enumerate(idx[: settings.examples])]
    written = []
    with atomic_path(examples_dir, directory=True) as tmp:
        for label, k, i in chosen:
            entry = {
                "source": label,
                "clean": f"examples/{label}_{k}_clean.wav",
                "adversarial": f"examples/{label}_{k}_adv.wav",
                "predicted": labels[int(pred[i])],
                "rate": rate,
            }
            write_audio(Path(tmp) / Path(entry["clean"]).name, denormalize(clean[i].numpy()), rate)
            write_audio(Path(tmp) / Path(entry["adversarial"]).name, denormalize(adv_audio[i].numpy()), rate)
            written.append(entry)
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
        "pesq": _mean([c["pesq"] for c in cells]),
        "seconds_per_clip_batched": seconds / len(test.audio),
        "seconds_per_clip_batch1": seconds1 / max(1, len(few)),
        "batch": batch,
        "device": str(dev),
        "clips": len(test.audio),
        "examples": written,
    }
    write_text(out, json.dumps(result, indent=2, allow_nan=True) + "\n")
    print(
        f"{name}: success {result['success']:.1%}, SNR {result['snr_db']:.2f} dB, PESQ {result['pesq']:.3f}, "
        f"{1e3 * result['seconds_per_clip_batched']:.3f} ms per clip batched",
        file=sys.stderr,
    )
    return result


def _mean(values) -> float:
    values = [float(v) for v in np.asarray(values, dtype=np.float64).ravel() if math.isfinite(v)]
    return float(np.mean(values)) if values else float("nan")
