"""Hiding and revealing with a trained paper 1 model: the STFT front-end, loading the checkpoint, hide / reveal on
waveforms, int16 quantisation (what is sent), and the same on audio files.

The STFT is computed on the fly on the device, with the settings of ``features.stego_<dataset>`` (n_fft 510,
hop 128: 2 × 256 × 256 for a 32640-sample clip), rather than read from the feature shards: the stego spectrogram
must be turned back into audio anyway (what is sent is a waveform; the decoder and the steganalyzer see the STFT
of that waveform, and channel noise is added to it). The STFT and ISTFT are a small share of a training step
(bench/bench_stego.py).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from avsec.core.errors import ConfigError, InputError
from avsec.dsp.stft import from_channels, istft, stft, to_channels
from avsec.io.audio import INT16_SCALE, read_audio, to_int16, write_audio
from avsec.stego.nets import Decoder, Encoder
from avsec.train import load_checkpoint, load_state, resolve_device
from avsec.train.checkpoint import build_from
from avsec.train.trainer import autocast


@dataclass(frozen=True)
class Spectrogram:
    """STFT settings (features.stego_<dataset>.stft) and the real/imaginary-channel transform pair."""

    n_fft: int
    hop: int
    win_length: int | None = None
    window: str = "hann"
    center: bool = True

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """Waveforms (B, L) → (B, 2, F, T)."""
        return to_channels(stft(x.float(), **asdict(self)))

    def inverse(self, spec: torch.Tensor, length: int) -> torch.Tensor:
        """(B, 2, F, T) → waveforms (B, ``length``)."""
        return istft(from_channels(spec), **asdict(self), length=length)


def spectrogram(
    n_fft: int,
    hop: int,
    win_length: int | None = None,
    window: str = "hann",
    kind: str = "complex",
    center: bool = True,
) -> Spectrogram:
    if kind != "complex":
        raise ConfigError(f"paper 1 hides real/imaginary spectrograms: the STFT kind must be 'complex', not {kind!r}")
    return Spectrogram(n_fft, hop, win_length, window, center)


def load_stego(path: str | Path) -> tuple[Encoder, Decoder, Spectrogram, dict]:
    """A trained encoder and decoder in eval mode, their STFT settings and the checkpoint's description."""
    ckpt = load_checkpoint(path, "stego", require=("run", "analyzer", "channel", "width", "stft", "modules"))
    try:
        spec = Spectrogram(**ckpt["stft"])
    except TypeError as exc:
        raise InputError(path, f"its STFT settings are not understood ({exc})") from None
    encoder = build_from(path, Encoder, ckpt["width"])
    decoder = build_from(path, Decoder, ckpt["width"])
    load_state(path, encoder, ckpt["modules"].get("encoder", {})).eval()
    load_state(path, decoder, ckpt["modules"].get("decoder", {})).eval()
    return encoder, decoder, spec, ckpt


def hide(
    encoder: Encoder,
    spec: Spectrogram,
    carrier: torch.Tensor,
    secret: torch.Tensor,
    batch: int,
    device,
    bf16: bool = True,
) -> torch.Tensor:
    """Stego waveforms (float, on the CPU) for float carriers and secrets (N, L) in [-1, 1)."""
    if carrier.shape != secret.shape:
        raise ConfigError(f"hide: carriers {tuple(carrier.shape)} and secrets {tuple(secret.shape)} differ in shape")
    out = []
    with torch.inference_mode(), autocast(device, bf16):
        for i in range(0, len(carrier), batch):
            c, s = carrier[i : i + batch].to(device), secret[i : i + batch].to(device)
            out.append(spec.inverse(encoder(spec(c), spec(s)), c.shape[-1]).float().cpu())
    return torch.cat(out)


def reveal(
    decoder: Decoder, spec: Spectrogram, stego: torch.Tensor, batch: int, device, bf16: bool = True
) -> torch.Tensor:
    """Revealed secret waveforms (float, on the CPU) for float stego waveforms (N, L)."""
    out = []
    with torch.inference_mode(), autocast(device, bf16):
        for i in range(0, len(stego), batch):
            s = stego[i : i + batch].to(device)
            out.append(spec.inverse(decoder(spec(s)), s.shape[-1]).float().cpu())
    return torch.cat(out)


def quantize(x: torch.Tensor) -> torch.Tensor:
    """Float waveforms as they are sent: int16 samples (clipped), as int16."""
    return torch.from_numpy(to_int16(x.numpy()))


def check_pair(
    carrier: np.ndarray, carrier_rate: int, secret: np.ndarray, secret_rate: int, names=("carrier", "secret")
):
    """A carrier and a secret must have the same length and sample rate; InputError naming the secret otherwise."""
    if carrier_rate != secret_rate:
        raise InputError(
            names[1], f"sample rate {secret_rate} Hz differs from the carrier's ({names[0]}: {carrier_rate} Hz)"
        )
    if len(carrier) != len(secret):
        raise InputError(names[1], f"{len(secret)} samples, the carrier ({names[0]}) has {len(carrier)}")


def hide_files(
    model: str | Path, carrier: str | Path, secret: str | Path, out: str | Path, *, device: str = "auto"
) -> None:
    """Hide the audio file ``secret`` in ``carrier``; write the stego audio (int16, the carrier's rate) to ``out``.
    Files of different lengths or sample rates are one line naming the secret."""
    encoder, _, spec, _ = load_stego(model)
    c, c_rate = read_audio(carrier)
    s, s_rate = read_audio(secret)
    check_pair(c, c_rate, s, s_rate, (str(carrier), str(secret)))
    dev = resolve_device(device)
    stego = hide(encoder.to(dev), spec, _float(c[None]), _float(s[None]), 1, dev)
    write_audio(out, quantize(stego)[0].numpy(), c_rate)


def reveal_file(model: str | Path, stego: str | Path, out: str | Path, *, device: str = "auto") -> None:
    """Reveal the secret hidden in the audio file ``stego``; write it (int16) to ``out``."""
    _, decoder, spec, _ = load_stego(model)
    x, rate = read_audio(stego)
    dev = resolve_device(device)
    write_audio(out, quantize(reveal(decoder.to(dev), spec, _float(x[None]), 1, dev))[0].numpy(), rate)


def _float(x: np.ndarray | torch.Tensor) -> torch.Tensor:
    return torch.as_tensor(np.asarray(x)).float() / INT16_SCALE
