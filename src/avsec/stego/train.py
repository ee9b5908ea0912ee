"""Training paper 1's encoder/decoder/steganalyzer triple (section 3.3) through the shared trainer (avsec.train).

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
or to the stego audio before decoding (``stego``, a simulated channel). After training, the encoder's and
decoder's BatchNorm statistics are recomputed over the training clips (:func:`recalibrate`).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from avsec.core.errors import ConfigError
from avsec.data.rows import ShardRows
from avsec.io.audio import INT16_SCALE
from avsec.metrics.audio import mean_snr_db
from avsec.stego.clips import add_noise, audio_rows
from avsec.stego.codec import Spectrogram, spectrogram
from avsec.stego.names import parse_run
from avsec.stego.nets import Decoder, Encoder, Steganalyzer
from avsec.train import TrainSettings, fit, frozen, resolve_device, save_checkpoint

DISTANCES = ("euclidean", "mse", "nmse", "nmse2")
NOISE_AT = ("carrier", "stego")
NMSE_FLOOR = 0.1  # of a typical clip's energy, added to the reference energy of nmse and nmse2


@dataclass(frozen=True, kw_only=True)
class StegoTraining:
    """The settings of :func:`train_stego`: the script's --key value flags (rule train_stego: the dataset's λ,
    features.stego_<dataset>.stft, stego.train, scales.<scale>.stego.train, its epochs and crop)."""

    lambdas: list[float]  # λa, λb, λc of eq. (8)
    n_fft: int
    hop: int
    win_length: int | None = None
    window: str = "hann"
    kind: str = "complex"
    lr: float = 1e-4
    betas: tuple[float, float] = (0.9, 0.999)
    distance: str = "euclidean"
    noise_db: float = 60.0
    noise_at: str = "carrier"
    adversary_after: int = 0
    normalise: bool = False
    epochs: int = 75
    batch: int = 16
    width: float = 1.0
    clips: int = 0  # the first clips of the train split (0: all)
    crop: int = 0  # samples from the middle of each clip (0: whole)
    seed: int = 1024
    device: str = "auto"
    bf16: bool = True
    checkpoint_every: int = 200
    steps: int = 0  # stop training after this many steps (0: every epoch; benches and rehearsals)


@dataclass(frozen=True)
class StegoHyper:
    """What the three-network game of :class:`StegoTask` is played with; saved as the checkpoint's ``"hyper"``."""

    lambdas: list[float]
    lr: float
    betas: list[float]
    distance: str
    channel: str  # nor | an
    noise_db: float
    noise_at: str
    adversary_after: int = 0


def mean_power(clips: torch.Tensor | ShardRows, batch: int = 256) -> float:
    """Mean power per sample of int16 ``clips`` (in memory or read from the shards, ``batch`` rows at a time) on
    the [-1, 1) scale (at least 1e-12): the scale of the nmse floor and, as 1 / sqrt, the ``normalise`` gain."""
    total, count = 0.0, 0
    for i in range(0, len(clips), batch):
        part = clips[i : i + batch].double() / INT16_SCALE
        total, count = total + float(part.square().sum()), count + part.numel()
    return max(total / max(count, 1), 1e-12)


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


class StegoTask:
    """The three-network game of section 3.3 (see the module docstring)."""

    def __init__(
        self,
        encoder: Encoder,
        decoder: Decoder,
        steganalyzer: Steganalyzer,
        secrets: torch.Tensor | ShardRows,
        spec: Spectrogram,
        hyper: StegoHyper,
    ):
        lambdas = hyper.lambdas
        if hyper.distance not in DISTANCES:
            raise ConfigError(f"stego distance must be one of {', '.join(DISTANCES)}, not {hyper.distance!r}")
        if hyper.noise_at not in NOISE_AT:
            raise ConfigError(f"stego noise_at must be one of {', '.join(NOISE_AT)}, not {hyper.noise_at!r}")
        if len(lambdas) != 3 or lambdas[2] <= 0:
            raise ConfigError(f"stego lambdas must be three weights (λa, λb, λc) with λc > 0, got {lambdas}")
        self.e, self.d, self.s = encoder, decoder, steganalyzer
        self.secrets, self.spec = secrets, spec
        self.lambdas, self.distance = [float(v) for v in lambdas], hyper.distance
        self.adversary_after = hyper.adversary_after
        self.power = mean_power(secrets)  # the nmse floor's scale
        self.channel, self.noise_db, self.noise_at = hyper.channel, hyper.noise_db, hyper.noise_at
        self.modules = {"encoder": encoder, "decoder": decoder, "steganalyzer": steganalyzer}
        self.optimizers = {
            k: torch.optim.Adam(m.parameters(), lr=hyper.lr, betas=tuple(hyper.betas)) for k, m in self.modules.items()
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
        with torch.set_grad_enabled(lb > 0), frozen(self.s):  # without the adversary, its loss is only reported
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
    run: str, data: str | Path, out: str | Path, settings: StegoTraining, history_csv: str | Path | None = None
) -> list:
    """Train the ``<analyzer>_<channel>`` triple on the train split of ``data``; write its checkpoint to ``out``
    and, when given, its history CSV to ``history_csv``."""
    s = settings
    analyzer, channel = parse_run(run)
    spec = spectrogram(s.n_fft, s.hop, s.win_length, s.window, s.kind)
    train = audio_rows(data, "train", clips=s.clips, crop=s.crop)
    torch.manual_seed(s.seed)
    encoder, decoder, steganalyzer = Encoder(s.width), Decoder(s.width), Steganalyzer(analyzer, s.width)
    if s.normalise:  # unit-scale network inputs (avsec.stego.nets)
        gain = 1.0 / math.sqrt(mean_power(train))
        encoder.gain.fill_(gain)
        decoder.gain.fill_(gain)
    hyper = StegoHyper(
        lambdas=[float(v) for v in s.lambdas],
        lr=s.lr,
        betas=[float(b) for b in s.betas],
        distance=s.distance,
        channel=channel,
        noise_db=s.noise_db,
        noise_at=s.noise_at,
        adversary_after=s.adversary_after,
    )
    trainer = TrainSettings(
        s.epochs,
        s.batch,
        s.seed,
        s.device,
        s.bf16,
        s.checkpoint_every,
        steps=s.steps,
        fingerprint={
            "run": run,
            "data": str(data),
            "width": s.width,
            "clips": s.clips,
            "crop": s.crop,
            "normalise": s.normalise,
            "stft": asdict(spec),
            **asdict(hyper),
        },
    )
    task = StegoTask(encoder, decoder, steganalyzer, train, spec, hyper)
    resume = Path(f"{out}.resume")
    history = fit(task, train, trainer, resume, desc=f"{Path(data).name} {run}", history_csv=history_csv)
    recalibrate(task, train, s.batch, resolve_device(s.device), s.seed)
    save_checkpoint(
        out,
        {
            "kind": "stego",
            "run": run,
            "dataset": Path(data).name,
            "analyzer": analyzer,
            "channel": channel,
            "width": s.width,
            "crop": s.crop,
            "train_clips": len(train),  # the clips trained on (evaluate_stego copies it to eval.json for the report)
            "stft": asdict(spec),
            "hyper": asdict(hyper),
            "history": history,
            "modules": {name: m.cpu().state_dict() for name, m in task.modules.items()},
        },
    )
    resume.unlink(missing_ok=True)
    return history


def recalibrate(task: StegoTask, train: ShardRows, batch: int, device, seed: int) -> None:
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
