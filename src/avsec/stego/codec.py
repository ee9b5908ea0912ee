"""Hiding and revealing with a trained paper 1 model: the STFT front-end, loading the checkpoint, hide / reveal on
waveforms, int16 quantisation (what is sent), and the same on audio files of any length (``avsec hide``,
``avsec reveal``).

The STFT is computed on the fly on the device, with the settings of ``features.stego_<dataset>`` (n_fft 510,
hop 128: 2 × 256 × 256 for a 32640-sample clip), rather than read from the feature shards: the stego spectrogram
must be turned back into audio anyway (what is sent is a waveform; the decoder and the steganalyzer see the STFT
of that waveform, and channel noise is added to it). The STFT and ISTFT are a small share of a training step
(bench/bench_stego.py).
"""

from __future__ import annotations

import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from avsec.core.errors import ConfigError, InputError
from avsec.dsp.stft import from_channels, istft, stft, to_channels
from avsec.io.audio import INT16_SCALE, read_audio, to_int16, write_audio
from avsec.metrics.audio import snr_db
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


RATE = 16000  # TIMIT's and LibriSpeech's rate: the models' audio
SEGMENT = 32640  # the paper's clip (prep.timit.segment): 2 × 256 × 256 spectrograms


def segment_length(ckpt: dict) -> int:
    """The samples a model hides in at a time: the crop it was trained and evaluated on, else the paper's clip."""
    return int(ckpt.get("crop", 0)) or SEGMENT


def _segments(x: np.ndarray, length: int, count: int) -> torch.Tensor:
    """int16 samples as ``count`` float segments (count, length) in [-1, 1), zero-padded at the end."""
    padded = np.zeros(count * length, dtype=np.int16)
    padded[: len(x)] = x
    return _float(padded.reshape(count, length))


def _per_segment(what: str, fn, *inputs: torch.Tensor) -> torch.Tensor:
    """``fn`` on each segment (row) of ``inputs`` with a progress bar; the results joined into one waveform."""
    bar = tqdm(range(len(inputs[0])), desc=what, unit="segment", file=sys.stderr, mininterval=1.0)
    return torch.cat([fn(*(x[i : i + 1] for x in inputs))[0] for i in bar])


def hide_files(
    model: str | Path, carrier: str | Path, secret: str | Path, out: str | Path, *, device: str = "auto"
) -> dict:
    """``avsec hide``: hide the audio file ``secret`` in ``carrier``; write the stego audio (int16, 16 kHz, the
    carrier's length) to ``out``.

    Both files must be mono at 16 kHz. The model hides :func:`segment_length` samples at a time (the paper's 32640,
    or the crop a smoke model was trained on): longer audio is cut into consecutive segments, each carrier segment
    carrying the secret's segment at the same place, the last one zero-padded for the networks and cut back
    afterwards. A secret shorter than the carrier is padded with silence (a note says so); a longer one is one line
    naming it. Returns the segments, their length and the stego audio's SNR against the carrier (dB)."""
    encoder, _, spec, ckpt = load_stego(model)
    c, _ = read_audio(carrier, expect_rate=RATE)
    s, _ = read_audio(secret, expect_rate=RATE)
    if len(s) > len(c):
        raise InputError(secret, f"{len(s)} samples, longer than the carrier ({carrier}: {len(c)}): it cannot fit")
    if len(s) < len(c):
        print(f"note: {secret}: {len(s)} samples, padded with silence to the carrier's {len(c)}", file=sys.stderr)
    length = segment_length(ckpt)
    count = -(-len(c) // length)
    dev = resolve_device(device)
    encoder.to(dev)
    stego = _per_segment(
        "hide", lambda a, b: quantize(hide(encoder, spec, a, b, 1, dev)), *(_segments(x, length, count) for x in (c, s))
    )[: len(c)].numpy()
    write_audio(out, stego, RATE)
    return {"segments": count, "segment": length, "carrier_snr_db": float(snr_db(c, stego))}


def reveal_file(model: str | Path, stego: str | Path, out: str | Path, *, device: str = "auto") -> dict:
    """``avsec reveal``: reveal the secret hidden in the audio file ``stego`` (mono, 16 kHz), segment by segment as
    :func:`hide_files` hid it; write it (int16, 16 kHz, the stego audio's length) to ``out``."""
    _, decoder, spec, ckpt = load_stego(model)
    x, _ = read_audio(stego, expect_rate=RATE)
    length = segment_length(ckpt)
    count = -(-len(x) // length)
    dev = resolve_device(device)
    decoder.to(dev)
    revealed = _per_segment("reveal", lambda a: quantize(reveal(decoder, spec, a, 1, dev)), _segments(x, length, count))
    write_audio(out, revealed[: len(x)].numpy(), RATE)
    return {"segments": count, "segment": length}


def _float(x: np.ndarray | torch.Tensor) -> torch.Tensor:
    return torch.as_tensor(np.asarray(x)).float() / INT16_SCALE
