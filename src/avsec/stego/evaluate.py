"""Evaluating a trained paper 1 model on the test split: Table 2 (carrier vs stego, secret vs revealed), Table 3
(the same with Gaussian noise on the stego audio before decoding), a chance level and the hide + reveal time."""

from __future__ import annotations

import json
import math
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from avsec.io.atomic import atomic_path, write_text
from avsec.io.audio import INT16_SCALE, to_int16, write_audio
from avsec.metrics.audio import snr_db
from avsec.stego.clips import add_noise, derangement, load_audio
from avsec.stego.codec import hide, load_stego, quantize, reveal
from avsec.train import resolve_device


@dataclass(frozen=True, kw_only=True)
class StegoEvaluation:
    """The settings of :func:`evaluate_stego`: the script's --key value flags (stego.evaluate,
    scales.<scale>.stego.evaluate)."""

    clips: int = 0  # the first clips of the test split (0: all)
    batch: int = 16
    noise_db: float = 60.0  # Table 3's channel noise, dB below the stego audio's power
    examples: int = 2  # WAV quadruples (carrier, secret, stego, revealed)
    rate: int = 16000  # the examples' sampling rate
    seed: int = 1024
    device: str = "auto"
    bf16: bool = True


def audio_metrics(clean: torch.Tensor, other: torch.Tensor) -> dict[str, float]:
    """Mean MSE and SNR (dB) of ``other`` against ``clean`` (float waveforms (N, L))."""
    a, b = clean.double().numpy(), other.double().numpy()
    return {"mse": float(np.mean((a - b) ** 2)), "snr_db": finite_mean(snr_db(a, b))}


def evaluate_stego(
    model: str | Path, data: str | Path, out: str | Path, examples_dir: str | Path, settings: StegoEvaluation
) -> dict:
    """MSE and SNR of carrier vs stego and secret vs revealed on the test split (Table 2), the same with Gaussian
    noise of ``noise_db`` dB added to the stego audio before decoding (Table 3), a chance level for the secret
    (the revealed secret of another pair), hide + reveal time; WAV examples to listen to."""
    s = settings
    dev = resolve_device(s.device)
    encoder, decoder, spec, ckpt = load_stego(model)
    encoder.to(dev), decoder.to(dev)
    test = load_audio(data, "test", clips=s.clips, crop=int(ckpt.get("crop", 0)))
    partner = derangement(len(test), np.random.default_rng(s.seed))
    carrier = test.float() / INT16_SCALE
    secret = carrier[torch.from_numpy(partner)]
    hide(encoder, spec, carrier[:2], secret[:2], s.batch, dev, s.bf16)  # warm-up before timing
    start = _sync_time(dev)
    stego = hide(encoder, spec, carrier, secret, s.batch, dev, s.bf16)
    sent = quantize(stego).float() / INT16_SCALE  # what is transmitted: int16 audio
    revealed = reveal(decoder, spec, sent, s.batch, dev, s.bf16)
    seconds = _sync_time(dev) - start
    noisy = add_noise(sent, s.noise_db, torch.Generator().manual_seed(s.seed))
    revealed_noisy = reveal(decoder, spec, noisy, s.batch, dev, s.bf16)
    shifted = torch.roll(revealed, 1, dims=0)  # another pair's revealed secret: what chance looks like
    result = {
        "dataset": ckpt.get("dataset", Path(data).name),
        "run": ckpt["run"],
        "analyzer": ckpt["analyzer"],
        "channel": ckpt["channel"],
        "clips": len(test),
        "samples": test.shape[1],
        "stft": asdict(spec),
        "clean": _table_row(carrier, sent, secret, revealed),
        "noisy": {**_table_row(carrier, noisy, secret, revealed_noisy), "noise_db": s.noise_db},
        "chance_secret_snr_db": audio_metrics(secret, shifted)["snr_db"],
        "seconds_per_clip_hide_reveal": seconds / len(test),
        "device": str(dev),
        "history": ckpt.get("history", []),
    }
    written = []
    with atomic_path(examples_dir, directory=True) as tmp:
        for k in range(min(s.examples, len(test))):
            entry = {}
            for name, wave in (("carrier", carrier), ("secret", secret), ("stego", sent), ("revealed", revealed)):
                entry[name] = f"examples/{k}_{name}.wav"
                write_audio(Path(tmp) / f"{k}_{name}.wav", to_int16(wave[k].numpy()), s.rate)
            written.append({**entry, "rate": s.rate})
    result["examples"] = written
    write_text(out, json.dumps(result, indent=2, allow_nan=True) + "\n")
    clean = result["clean"]
    print(
        f"{result['dataset']} {result['run']}: carrier SNR {clean['carrier_snr_db']:.2f} dB, secret SNR "
        f"{clean['secret_snr_db']:.2f} dB (chance {result['chance_secret_snr_db']:.2f}), with noise "
        f"{result['noisy']['secret_snr_db']:.2f} dB",
        file=sys.stderr,
    )
    return result


def _table_row(carrier, stego, secret, revealed) -> dict[str, float]:
    c, s = audio_metrics(carrier, stego), audio_metrics(secret, revealed)
    return {
        "carrier_mse": c["mse"],
        "secret_mse": s["mse"],
        "carrier_snr_db": c["snr_db"],
        "secret_snr_db": s["snr_db"],
    }


def _sync_time(device) -> float:
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter()


def finite_mean(values) -> float:
    """The mean of the finite ``values`` (NaN when there is none): a clip whose SNR is infinite or undefined is left
    out."""
    values = [float(v) for v in np.asarray(values, dtype=np.float64).ravel() if math.isfinite(v)]
    return float(np.mean(values)) if values else float("nan")
