"""Paper 1, GAN audio-in-audio steganography: train an encoder/decoder/steganalyzer triple per dataset and setting,
evaluate it (Tables 2 and 3), run the security experiment (Table 4) and write the report. Called by the
workflow/scripts of rules/stego.smk.

Data are the prepared int16 clips (results/prep/timit, results/prep/librispeech; 32640 samples), kept in memory
as int16 and scaled by 1/32768 to [-1, 1) like the STFT features. The STFT is computed on the fly on the device,
with the settings of ``features.stego_<dataset>`` (n_fft 510, hop 128: 2 × 256 × 256), rather than read from
the feature shards: the stego spectrogram must be turned back into audio anyway (what is sent is a waveform; the
decoder and the steganalyzer see the STFT of that waveform, and channel noise is added to it), int16 rows are
8 × smaller than the float16 features (10 000 clips fit in memory), and the features' float16 rounding is
avoided. The STFT and ISTFT are a small share of a step (bench/bench_stego.py).

One training step (eqs. 4–8): a secret drawn at random from the training clips for every carrier; the encoder
hides the secret's spectrogram in the carrier's; the stego spectrogram is turned into audio by the ISTFT; the
steganalyzer learns carrier (0) against stego (1) with cross-entropy (eq. 6); the decoder reveals the secret from
the STFT of the stego audio; the encoder minimises λa·d(A_c, A_s) + λb·L_s + λc·L_d (eq. 8) with
L_s = cross-entropy of the steganalyzer's verdict on the stego audio against "carrier" (the usual non-saturating
GAN form), and the decoder minimises L_d = d(A_r, A_i) (eq. 7). ``d`` is the Euclidean distance between
waveforms (``distance: euclidean``, the paper's word), the mean squared error (``mse``), the squared error over
the clip's energy (``nmse``: 1 = revealing silence, whatever the level; :func:`distance`) or its square
(``nmse2``). The Euclidean distance is concave in the squared error and ``nmse`` linear in it; a carrier and a
secret mixed in one signal trade their squared errors along a line (e_c + e_s ≈ 1), so with those the encoder's
best choice is an end of the line (hide nothing, or drop the carrier), as λa < λc; ``nmse2`` is convex, and its
optimum, λa·e_c = λc·e_s, keeps part of both. ``adversary_after``: epochs before λb·L_s enters the encoder's loss
(0: from the first step, the paper; the steganalyzer trains throughout). ``normalise``: the encoder and decoder
see their inputs times 1 / RMS of the training clips (``gain``, avsec.stego.nets). Channel ``an`` adds
Gaussian noise of ``noise_db`` dB SNR during training: to the carrier (``noise_at: carrier``, the paper's text)
or to the stego audio before decoding (``stego``, a simulated channel).
"""

from __future__ import annotations

import json
import math
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from avsec.core.errors import ConfigError, InputError
from avsec.dsp.stft import from_channels, istft, stft, to_channels
from avsec.io.atomic import atomic_path, write_text
from avsec.io.audio import INT16_SCALE, read_audio, to_int16, write_audio
from avsec.io.shards import ShardedArray
from avsec.metrics.audio import mean_snr_db, snr_db
from avsec.stego.names import METHODS, parse_run
from avsec.stego.nets import Decoder, Encoder, Steganalyzer
from avsec.train import TrainSettings, fit, load_checkpoint, load_state, resolve_device, save_checkpoint
from avsec.train.checkpoint import build_from
from avsec.train.trainer import autocast

DISTANCES = ("euclidean", "mse", "nmse", "nmse2")
NOISE_AT = ("carrier", "stego")
NMSE_FLOOR = 0.1  # of a typical clip's energy, added to the reference energy of nmse and nmse2


# ---- data and signal helpers -------------------------------------------------------------------------------------
def load_audio(data: str | Path, split: str, *, clips: int = 0, crop: int = 0) -> torch.Tensor:
    """The int16 rows (N, L) of ``split``: the first ``clips`` (0: all), cut to their middle ``crop`` samples (0: whole;
    the middle, not the start, which is often silence)."""
    shards = ShardedArray(data)
    rows = shards.rows(split)
    if clips:
        rows = rows[:clips]
    if not rows:
        raise InputError(data, f"no {split} rows")
    audio = np.stack([shards[r] for r in rows])
    if audio.dtype != np.int16 or audio.ndim != 2:
        raise InputError(data, f"expected int16 waveform rows, found {audio.dtype} {audio.shape[1:]}")
    if crop:
        if crop > audio.shape[1]:
            raise ConfigError(f"stego crop {crop} is longer than the clips of {data} ({audio.shape[1]} samples)")
        start = (audio.shape[1] - crop) // 2
        audio = audio[:, start : start + crop]
    return torch.from_numpy(np.ascontiguousarray(audio))


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


def add_noise(x: torch.Tensor, snr: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """``x`` (B, L) plus white Gaussian noise ``snr`` dB below each clip's power."""
    power = x.float().square().mean(dim=-1, keepdim=True)
    noise = torch.randn(x.shape, generator=generator, device=x.device, dtype=torch.float32)
    return x + noise * (power / 10 ** (snr / 10)).sqrt()


def mean_power(clips: torch.Tensor) -> float:
    """Mean power per sample of int16 ``clips`` on the [-1, 1) scale (at least 1e-12): the scale of the nmse floor
    and, as 1 / sqrt, the ``normalise`` gain."""
    return float((clips.float() / INT16_SCALE).square().mean().clamp_min(1e-12))


def distance(a: torch.Tensor, b: torch.Tensor, kind: str, power: float = 1.0) -> torch.Tensor:
    """d(a, b) of eqs. (7)–(8), averaged over the batch: per clip, the Euclidean distance, the mean squared error,
    ``nmse``: the squared error over the energy of ``b`` plus a tenth of a typical clip's (``power``: the training
    clips' mean power per sample; 1 = ``a`` silent, ≈ 10^(-SNR/10); the floor keeps near-silent clips from ruling
    the batch), or ``nmse2``: its square."""
    diff = (a.float() - b.float()).flatten(1)
    if kind == "euclidean":
        return diff.norm(dim=1).mean()
    if kind == "mse":
        return diff.square().mean()
    floor = NMSE_FLOOR * power * diff.shape[1]
    nmse = diff.square().sum(1) / (b.float().flatten(1).square().sum(1) + floor)
    return (nmse.square() if kind == "nmse2" else nmse).mean()


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


# ---- training ----------------------------------------------------------------------------------------------------
class StegoTask:
    """The three-network game of section 3.3 (see the module docstring)."""

    def __init__(
        self,
        encoder,
        decoder,
        steganalyzer,
        secrets: torch.Tensor,
        spec: Spectrogram,
        *,
        lambdas,
        lr,
        betas,
        distance: str,
        channel: str,
        noise_db: float,
        noise_at: str,
        adversary_after: int = 0,
    ):
        if distance not in DISTANCES:
            raise ConfigError(f"stego distance must be one of {', '.join(DISTANCES)}, not {distance!r}")
        if noise_at not in NOISE_AT:
            raise ConfigError(f"stego noise_at must be one of {', '.join(NOISE_AT)}, not {noise_at!r}")
        if len(lambdas) != 3 or lambdas[2] <= 0:
            raise ConfigError(f"stego lambdas must be three weights (λa, λb, λc) with λc > 0, got {lambdas}")
        self.e, self.d, self.s = encoder, decoder, steganalyzer
        self.secrets, self.spec = secrets, spec
        self.lambdas, self.distance, self.adversary_after = [float(v) for v in lambdas], distance, adversary_after
        self.power = mean_power(secrets)  # the nmse floor's scale
        self.channel, self.noise_db, self.noise_at = channel, noise_db, noise_at
        self.modules = {"encoder": encoder, "decoder": decoder, "steganalyzer": steganalyzer}
        self.optimizers = {
            k: torch.optim.Adam(m.parameters(), lr=lr, betas=tuple(betas)) for k, m in self.modules.items()
        }
        self.schedulers = {}

    def step(self, batch, epoch):
        carrier = batch[0].float() / INT16_SCALE
        length, device = carrier.shape[-1], carrier.device
        secret = self.secrets[torch.randint(len(self.secrets), (len(carrier),))].to(device).float() / INT16_SCALE
        noisy = self.channel == "an"
        source = add_noise(carrier, self.noise_db) if noisy and self.noise_at == "carrier" else carrier
        stego = self.spec.inverse(self.e(self.spec(source), self.spec(secret)), length)
        sent = add_noise(stego, self.noise_db) if noisy and self.noise_at == "stego" else stego
        carrier_spec, stego_spec = self.spec(carrier), self.spec(stego)
        # steganalyzer: carrier → 0, stego → 1 (eq. 6)
        logits = self.s(torch.cat([carrier_spec, stego_spec.detach()])).float()
        labels = torch.cat([torch.zeros(len(carrier)), torch.ones(len(carrier))]).long().to(device)
        loss_s = F.cross_entropy(logits, labels)
        self.optimizers["steganalyzer"].zero_grad(set_to_none=True)
        loss_s.backward()
        self.optimizers["steganalyzer"].step()
        # encoder (eq. 8) and decoder (eq. 7)
        revealed = self.spec.inverse(self.d(self.spec(sent)), length)
        loss_d = distance(revealed, secret, self.distance, self.power)
        loss_c = distance(stego, carrier, self.distance, self.power)
        la, lb, lc = self.lambdas
        lb = lb if epoch >= self.adversary_after else 0.0
        with torch.set_grad_enabled(lb > 0):  # without the adversary, its loss is only reported
            as_carrier = torch.zeros(len(carrier), dtype=torch.long, device=device)
            fool = F.cross_entropy(self.s(stego_spec).float(), as_carrier)
        loss_e = la * loss_c + lb * fool + lc * loss_d
        for name in ("encoder", "decoder"):
            self.optimizers[name].zero_grad(set_to_none=True)
        loss_e.backward()
        for p in self.d.parameters():  # L_e reaches the decoder only through λc·L_d: its gradient is ∇L_d
            if p.grad is not None:
                p.grad.div_(lc)
        self.optimizers["encoder"].step()
        self.optimizers["decoder"].step()
        with torch.no_grad():
            return {
                "loss_s": loss_s.item(),
                "loss_e": loss_e.item(),
                "loss_d": loss_d.item(),
                "loss_c": loss_c.item(),
                "fool": fool.item(),
                "detect": (logits.argmax(1) == labels).float().mean().item(),
                "carrier_snr": mean_snr_db(carrier, stego),
                "secret_snr": mean_snr_db(secret, revealed),
            }

    def end_epoch(self, epoch):
        return {}


def train_stego(
    run: str,
    data: str | Path,
    out: str | Path,
    *,
    lambdas: list[float],
    n_fft: int,
    hop: int,
    win_length: int | None = None,
    window: str = "hann",
    kind: str = "complex",
    lr: float = 1e-4,
    betas: tuple[float, float] = (0.9, 0.999),
    distance: str = "euclidean",
    noise_db: float = 60.0,
    noise_at: str = "carrier",
    adversary_after: int = 0,
    normalise: bool = False,
    epochs: int = 75,
    batch: int = 16,
    width: float = 1.0,
    clips: int = 0,
    crop: int = 0,
    seed: int = 1024,
    device: str = "auto",
    bf16: bool = True,
    checkpoint_every: int = 200,
) -> list:
    """Train the ``<analyzer>_<channel>`` triple on the train split of ``data``; write its checkpoint to ``out``."""
    analyzer, channel = parse_run(run)
    spec = spectrogram(n_fft, hop, win_length, window, kind)
    train = load_audio(data, "train", clips=clips, crop=crop)
    torch.manual_seed(seed)
    encoder, decoder, steganalyzer = Encoder(width), Decoder(width), Steganalyzer(analyzer, width)
    if normalise:  # unit-scale network inputs (avsec.stego.nets)
        gain = 1.0 / math.sqrt(mean_power(train))
        encoder.gain.fill_(gain)
        decoder.gain.fill_(gain)
    hyper = dict(
        lambdas=[float(v) for v in lambdas],
        lr=lr,
        betas=[float(b) for b in betas],
        distance=distance,
        channel=channel,
        noise_db=noise_db,
        noise_at=noise_at,
        adversary_after=adversary_after,
    )
    settings = TrainSettings(
        epochs,
        batch,
        seed,
        device,
        bf16,
        checkpoint_every,
        fingerprint={
            "run": run,
            "data": str(data),
            "width": width,
            "clips": clips,
            "crop": crop,
            "normalise": normalise,
            "stft": asdict(spec),
            **hyper,
        },
    )
    task = StegoTask(encoder, decoder, steganalyzer, train, spec, **hyper)
    resume = Path(f"{out}.resume")
    history = fit(task, (train,), settings, resume, desc=f"{Path(data).name} {run}")
    recalibrate(task, train, batch, resolve_device(device), seed)
    save_checkpoint(
        out,
        {
            "kind": "stego",
            "run": run,
            "dataset": Path(data).name,
            "analyzer": analyzer,
            "channel": channel,
            "width": width,
            "crop": crop,
            "stft": asdict(spec),
            "hyper": hyper,
            "history": history,
            "modules": {name: m.cpu().state_dict() for name, m in task.modules.items()},
        },
    )
    resume.unlink(missing_ok=True)
    return history


def recalibrate(task: StegoTask, train: torch.Tensor, batch: int, device, seed: int) -> None:
    """Recompute the encoder's and decoder's BatchNorm statistics as plain averages over the training clips (with
    fresh random secrets), for the final weights: the running averages of a short run lag behind its weights."""
    norms = [m for net in (task.e, task.d) for m in net.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # a cumulative average
    generator = torch.Generator().manual_seed(seed)
    task.e.train(), task.d.train()
    with torch.no_grad():
        for i in range(0, len(train), batch):
            carrier = train[i : i + batch].to(device).float() / INT16_SCALE
            pick = torch.randint(len(train), (len(carrier),), generator=generator)
            secret = train[pick].to(device).float() / INT16_SCALE
            stego = task.spec.inverse(task.e(task.spec(carrier), task.spec(secret)), carrier.shape[-1])
            task.d(task.spec(stego))
    for m in norms:
        m.momentum = 0.1
    task.e.eval(), task.d.eval()


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


# ---- hiding and revealing ----------------------------------------------------------------------------------------
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


def derangement(n: int, rng: np.random.Generator) -> np.ndarray:
    """``partner[i] != i`` for every i (n ≥ 2): the secret of carrier i is clip ``partner[i]``."""
    if n < 2:
        raise ConfigError(f"need at least 2 clips to pair carriers with other clips as secrets, got {n}")
    order = rng.permutation(n)
    partner = np.empty(n, dtype=np.int64)
    partner[order] = np.roll(order, -1)
    return partner


# ---- evaluation (Tables 2 and 3) ---------------------------------------------------------------------------------
def audio_metrics(clean: torch.Tensor, other: torch.Tensor) -> dict[str, float]:
    """Mean MSE and SNR (dB) of ``other`` against ``clean`` (float waveforms (N, L))."""
    a, b = clean.double().numpy(), other.double().numpy()
    return {"mse": float(np.mean((a - b) ** 2)), "snr_db": _mean(snr_db(a, b))}


def evaluate_stego(
    model: str | Path,
    data: str | Path,
    out: str | Path,
    examples_dir: str | Path,
    *,
    clips: int = 0,
    batch: int = 16,
    noise_db: float = 60.0,
    examples: int = 2,
    rate: int = 16000,
    seed: int = 1024,
    device: str = "auto",
    bf16: bool = True,
) -> dict:
    """MSE and SNR of carrier vs stego and secret vs revealed on the test split (Table 2), the same with Gaussian
    noise of ``noise_db`` dB added to the stego audio before decoding (Table 3), a chance level for the secret
    (the revealed secret of another pair), hide + reveal time; WAV examples to listen to."""
    dev = resolve_device(device)
    encoder, decoder, spec, ckpt = load_stego(model)
    encoder.to(dev), decoder.to(dev)
    test = load_audio(data, "test", clips=clips, crop=int(ckpt.get("crop", 0)))
    partner = derangement(len(test), np.random.default_rng(seed))
    carrier = test.float() / INT16_SCALE
    secret = carrier[torch.from_numpy(partner)]
    hide(encoder, spec, carrier[:2], secret[:2], batch, dev, bf16)  # warm-up before timing
    start = _sync_time(dev)
    stego = hide(encoder, spec, carrier, secret, batch, dev, bf16)
    sent = quantize(stego).float() / INT16_SCALE  # what is transmitted: int16 audio
    revealed = reveal(decoder, spec, sent, batch, dev, bf16)
    seconds = _sync_time(dev) - start
    noisy = add_noise(sent, noise_db, torch.Generator().manual_seed(seed))
    revealed_noisy = reveal(decoder, spec, noisy, batch, dev, bf16)
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
        "noisy": {**_table_row(carrier, noisy, secret, revealed_noisy), "noise_db": noise_db},
        "chance_secret_snr_db": audio_metrics(secret, shifted)["snr_db"],
        "seconds_per_clip_hide_reveal": seconds / len(test),
        "device": str(dev),
        "history": ckpt.get("history", []),
    }
    written = []
    with atomic_path(examples_dir, directory=True) as tmp:
        for k in range(min(examples, len(test))):
            entry = {}
            for name, wave in (("carrier", carrier), ("secret", secret), ("stego", sent), ("revealed", revealed)):
                entry[name] = f"examples/{k}_{name}.wav"
                write_audio(Path(tmp) / f"{k}_{name}.wav", to_int16(wave[k].numpy()), rate)
            written.append({**entry, "rate": rate})
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


def _mean(values) -> float:
    values = [float(v) for v in np.asarray(values, dtype=np.float64).ravel() if math.isfinite(v)]
    return float(np.mean(values)) if values else float("nan")


# ---- security experiment (Table 4) -------------------------------------------------------------------------------
class DetectorTask:
    """Cross-entropy training of a CNN steganalyzer on the spectrograms of int16 clips (carrier 0, stego 1)."""

    def __init__(self, model: Steganalyzer, spec: Spectrogram, *, lr: float):
        self.model, self.spec = model, spec
        self.modules = {"steganalyzer": model}
        self.optimizers = {"steganalyzer": torch.optim.Adam(model.parameters(), lr=lr)}
        self.schedulers = {}

    def step(self, batch, epoch):
        x, y = batch
        logits = self.model(self.spec(x.float() / INT16_SCALE)).float()
        loss = F.cross_entropy(logits, y)
        self.optimizers["steganalyzer"].zero_grad(set_to_none=True)
        loss.backward()
        self.optimizers["steganalyzer"].step()
        return {"loss": loss.item(), "acc": (logits.argmax(1) == y).float().mean().item()}

    def end_epoch(self, epoch):
        return {}


def detect(
    model: Steganalyzer, spec: Spectrogram, audio: torch.Tensor, batch: int, device, bf16: bool = True
) -> torch.Tensor:
    """Predicted labels (0 carrier, 1 stego) of int16 clips."""
    model.eval()
    out = []
    with torch.inference_mode(), autocast(device, bf16):
        for i in range(0, len(audio), batch):
            out.append(model(spec(audio[i : i + batch].to(device).float() / INT16_SCALE)).argmax(1).cpu())
    return torch.cat(out)


def steganalysis(
    method: str,
    data: str | Path,
    out: str | Path,
    *,
    model: str | Path | None = None,
    n_fft: int,
    hop: int,
    win_length: int | None = None,
    window: str = "hann",
    kind: str = "complex",
    clips: int = 0,
    crop: int = 0,
    epochs: int = 10,
    batch: int = 16,
    width: float = 1.0,
    analyzer: str = "hpf",
    lr: float = 1e-4,
    orders=(1, 2, 3, 4),
    quantization=(1, 2),
    truncation: int = 2,
    classifier: str = "ensemble",
    estimators: int = 51,
    subspace: float = 0.25,
    seed: int = 1024,
    device: str = "auto",
    bf16: bool = True,
    checkpoint_every: int = 200,
    **embedding,
) -> dict:
    """Section 4.5: stego audio by ``method`` (``gan``: the trained model ``model``; or a classic baseline) for
    ``clips`` test carriers, each with another test clip as its secret; carriers and stego audio merged and split
    in half by carrier; a rich-model and a CNN steganalyzer trained on one half, their accuracy on the other."""
    from avsec.stego.classic import embed
    from avsec.stego.rich_model import rich_model_accuracy

    if method not in METHODS:
        raise ConfigError(f"unknown steganography method {method!r}; choose one of {', '.join(METHODS)}")
    if (method == "gan") != (model is not None):
        raise ConfigError("--model (the trained stego checkpoint) is needed for method gan and only for it")
    dev = resolve_device(device)
    spec = spectrogram(n_fft, hop, win_length, window, kind)
    rng = np.random.default_rng(seed)
    ckpt = None
    if method == "gan":
        encoder, _, gan_spec, ckpt = load_stego(model)
        if int(ckpt.get("crop", 0)) != crop:
            raise InputError(model, f"was trained on clips cut to {ckpt.get('crop', 0)} samples, not {crop}")
    audio = load_audio(data, "test", crop=crop)
    pick = np.sort(rng.permutation(len(audio))[: clips or len(audio)])
    covers = audio[torch.from_numpy(pick)]
    n = len(covers)
    partner = derangement(n, rng)
    start = time.perf_counter()
    if method == "gan":
        carrier = covers.float() / INT16_SCALE
        stegos = quantize(
            hide(encoder.to(dev), gan_spec, carrier, carrier[torch.from_numpy(partner)], batch, dev, bf16)
        )
        payload = 16.0  # a whole secret clip: 16 bits per carrier sample
    else:
        unknown = set(embedding) - set(_BASELINE_KEYS[method])
        if unknown:
            raise ConfigError(f"{method}: unknown setting(s) {', '.join(sorted(unknown))}")
        stegos = torch.from_numpy(
            np.stack([embed(method, covers[i].numpy(), covers[partner[i]].numpy(), rng, **embedding) for i in range(n)])
        )
        payload = (
            1.0 / embedding["segment"] if method == "echo_hiding" else float(embedding.get("bits_per_sample", 1.0))
        )
    embed_seconds = time.perf_counter() - start
    # merge and split in half by carrier: a carrier and its stego version are always in the same half
    order = rng.permutation(n)
    halves = (order[: n // 2], order[n // 2 :])
    sets = []
    for half in halves:
        idx = torch.from_numpy(np.sort(half))
        x = torch.cat([covers[idx], stegos[idx]])
        y = torch.cat([torch.zeros(len(idx), dtype=torch.long), torch.ones(len(idx), dtype=torch.long)])
        sets.append((x, y))
    (x_train, y_train), (x_val, y_val) = sets
    if len(y_train) < 2 or len(y_val) < 2:
        raise ConfigError(f"security experiment: {n} carriers are too few to split in half")
    rich = rich_model_accuracy(
        x_train.numpy(),
        y_train.numpy(),
        x_val.numpy(),
        y_val.numpy(),
        orders=orders,
        quantization=quantization,
        truncation=truncation,
        classifier=classifier,
        estimators=estimators,
        subspace=subspace,
        seed=seed,
    )
    torch.manual_seed(seed)
    cnn = Steganalyzer(analyzer, width)
    settings = TrainSettings(
        epochs,
        batch,
        seed,
        device,
        bf16,
        checkpoint_every,
        fingerprint={
            "method": method,
            "model": str(model),
            "data": str(data),
            "clips": n,
            "crop": crop,
            "analyzer": analyzer,
            "width": width,
            "lr": lr,
            "stft": asdict(spec),
            **embedding,
        },
    )
    resume = Path(f"{out}.resume")
    history = fit(DetectorTask(cnn, spec, lr=lr), (x_train, y_train), settings, resume, desc=f"{method} steganalyzer")
    cnn_acc = float((detect(cnn, spec, x_val, batch, dev, bf16) == y_val).float().mean())
    snr = snr_db(covers.double().numpy(), stegos.double().numpy())
    result = {
        "dataset": Path(data).name,
        "method": method,
        "run": ckpt["run"] if ckpt else None,
        "carriers": n,
        "train_clips": len(y_train),
        "val_clips": len(y_val),
        "rich_model_accuracy": rich,
        "cnn_accuracy": cnn_acc,
        "stego_snr_db": _mean(snr),
        "payload_bits_per_sample": payload,
        "embed_seconds": embed_seconds,
        "cnn_history": history,
        "settings": {
            "rich": {"orders": list(np.atleast_1d(orders).tolist()), "classifier": classifier},
            "cnn": {"analyzer": analyzer, "width": width, "epochs": epochs},
            "embedding": embedding,
        },
    }
    write_text(out, json.dumps(result, indent=2, allow_nan=True) + "\n")
    resume.unlink(missing_ok=True)
    print(
        f"{result['dataset']} {method}: rich model {rich:.1%}, CNN {cnn_acc:.1%} on {len(y_val)} clips", file=sys.stderr
    )
    return result


_BASELINE_KEYS = {"lsb_matching": ("bits_per_sample",), "echo_hiding": ("segment", "delays", "amplitude", "ramp")}


# ---- report ------------------------------------------------------------------------------------------------------
def write_report(results: str | Path, out: str | Path, runs: dict) -> None:
    """Read the evaluations and security results under ``results`` (results/stego) for the runs of each dataset
    and write the tables and figures (avsec.stego.report) to ``out``."""
    from avsec.stego.report import write_report as render

    def load(file: Path, **extra) -> dict:
        try:
            return {**json.loads(file.read_text(encoding="utf-8")), **extra}
        except (OSError, ValueError) as exc:
            raise InputError(file, f"unreadable results JSON ({exc})") from None

    root = Path(results)
    evaluations = [
        load(root / dataset / name / "eval.json", path=str(root / dataset / name))
        for dataset, names in runs.items()
        for name in ([names] if isinstance(names, str) else names)
    ]
    security = [load(root / dataset / "security" / f"{method}.json") for dataset in runs for method in METHODS]
    render(out, evaluations, security)
