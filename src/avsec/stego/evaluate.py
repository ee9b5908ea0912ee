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
from avsec.stego.clips import add_noise, audio_rows, derangement
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


class AudioMetrics:
    """MSE and mean SNR (dB) of ``other`` against ``clean`` accumulated batch by batch (float waveforms (B, L)):
    the squared error's running sum, and one SNR per clip (a result, a few bytes a clip)."""

    def __init__(self):
        self.squared, self.count, self.snrs = 0.0, 0, []

    def add(self, clean: torch.Tensor, other: torch.Tensor) -> None:
        a, b = clean.double().numpy(), other.double().numpy()
        self.squared += float(np.square(a - b).sum())
        self.count += a.size
        self.snrs += np.atleast_1d(snr_db(a, b)).tolist()

    def result(self) -> dict[str, float]:
        return {"mse": self.squared / max(self.count, 1), "snr_db": finite_mean(self.snrs)}


def evaluate_stego(
    model: str | Path, data: str | Path, out: str | Path, examples_dir: str | Path, settings: StegoEvaluation
) -> dict:
    """MSE and SNR of carrier vs stego and secret vs revealed on the test split (Table 2), the same with Gaussian
    noise of ``noise_db`` dB added to the stego audio before decoding (Table 3), a chance level for the secret
    (the revealed secret of another pair), hide + reveal time; WAV examples to listen to. The test split is read
    ``batch`` clips at a time; what is kept per clip is its SNRs."""
    s = settings
    dev = resolve_device(s.device)
    encoder, decoder, spec, ckpt = load_stego(model)
    encoder.to(dev), decoder.to(dev)
    test = audio_rows(data, "test", clips=s.clips, crop=int(ckpt.get("crop", 0)))
    n = len(test)
    partner = torch.from_numpy(derangement(n, np.random.default_rng(s.seed)))
    hide(encoder, spec, test[:2].float() / INT16_SCALE, test[partner[:2]].float() / INT16_SCALE, s.batch, dev, s.bf16)
    noise = torch.Generator().manual_seed(s.seed)
    metrics = {name: AudioMetrics() for name in ("carrier", "secret", "noisy_carrier", "noisy_secret", "chance")}
    seconds, previous, first_secret, kept = 0.0, None, None, []
    for i in range(0, n, s.batch):
        carrier = test[i : i + s.batch].float() / INT16_SCALE
        secret = test[partner[i : i + s.batch]].float() / INT16_SCALE
        start = _sync_time(dev)
        sent = quantize(hide(encoder, spec, carrier, secret, s.batch, dev, s.bf16)).float() / INT16_SCALE
        revealed = reveal(decoder, spec, sent, s.batch, dev, s.bf16)
        seconds += _sync_time(dev) - start
        noisy = add_noise(sent, s.noise_db, noise)
        revealed_noisy = reveal(decoder, spec, noisy, s.batch, dev, s.bf16)
        for name, (clean, other) in {"carrier": (carrier, sent), "secret": (secret, revealed),
                                     "noisy_carrier": (carrier, noisy),
                                     "noisy_secret": (secret, revealed_noisy)}.items():  # fmt: skip
            metrics[name].add(clean, other)
        # chance: each secret against the previous pair's revealed secret (the first one's is the last pair's)
        if previous is not None:
            metrics["chance"].add(secret[:1], previous)
        else:
            first_secret = secret[:1]
        if len(secret) > 1:
            metrics["chance"].add(secret[1:], revealed[:-1])
        previous = revealed[-1:]
        for k in range(min(s.examples - len(kept), len(carrier))):  # the examples: the first clips, copied out
            kept.append(tuple(wave[k].clone() for wave in (carrier, secret, sent, revealed)))
    metrics["chance"].add(first_secret, previous)
    result = {
        "dataset": ckpt.get("dataset", Path(data).name),
        "run": ckpt["run"],
        "analyzer": ckpt["analyzer"],
        "channel": ckpt["channel"],
        "clips": n,
        "train_clips": ckpt.get("train_clips"),  # the clips the model was trained on (None: an older checkpoint)
        "samples": test.shape[1],
        "stft": asdict(spec),
        "clean": _table_row(metrics["carrier"].result(), metrics["secret"].result()),
        "noisy": {
            **_table_row(metrics["noisy_carrier"].result(), metrics["noisy_secret"].result()),
            "noise_db": s.noise_db,
        },
        "chance_secret_snr_db": metrics["chance"].result()["snr_db"],
        "seconds_per_clip_hide_reveal": seconds / n,
        "device": str(dev),
        "history": ckpt.get("history", []),
    }
    written = []
    with atomic_path(examples_dir, directory=True) as tmp:
        for k, waves in enumerate(kept):
            entry = {}
            for name, wave in zip(("carrier", "secret", "stego", "revealed"), waves, strict=True):
                entry[name] = f"examples/{k}_{name}.wav"
                write_audio(Path(tmp) / f"{k}_{name}.wav", to_int16(wave.numpy()), s.rate)
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


def _table_row(carrier: dict, secret: dict) -> dict[str, float]:
    return {
        "carrier_mse": carrier["mse"],
        "secret_mse": secret["mse"],
        "carrier_snr_db": carrier["snr_db"],
        "secret_snr_db": secret["snr_db"],
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
