"""Paper 1's security experiment (section 4.5, Table 4): stego audio by our trained model or a classic baseline,
and the accuracy of two steganalyzers trained to tell it from the carriers: a rich model (avsec.stego.rich_model)
and the CNN steganalyzer of Table 1 (avsec.stego.nets), trained here on its own.

Nothing here holds a split: the carriers are read from the memory-mapped shards batch by batch
(:class:`avsec.data.rows.ShardRows`), the stego audio is written batch by batch to an int16 ``.npy`` next to the
output (``<out>.stego.npy``, removed at the end) and read back memory-mapped, and both steganalyzers read the
halves through :class:`Carriers`; what the job keeps per carrier is its results (rich-model features, SNR)."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from avsec.core.config import settings as settings_from
from avsec.core.errors import ConfigError, InputError
from avsec.data.rows import ShardRows
from avsec.io.atomic import write_text
from avsec.io.audio import INT16_SCALE
from avsec.metrics.audio import snr_db
from avsec.stego.clips import audio_rows, derangement
from avsec.stego.codec import Spectrogram, hide, load_stego, quantize, spectrogram
from avsec.stego.evaluate import finite_mean
from avsec.stego.names import METHODS
from avsec.stego.nets import Steganalyzer
from avsec.train import TrainSettings, fit, resolve_device
from avsec.train.trainer import autocast

BASELINE_KEYS = {"lsb_matching": ("bits_per_sample",), "echo_hiding": ("segment", "delays", "amplitude", "ramp")}


@dataclass(frozen=True, kw_only=True)
class Steganalysis:
    """The settings of :func:`steganalysis`: the script's --key value flags (features.stego_<dataset>.stft,
    stego.security.rich and .cnn, scales.<scale>.stego.security, the crop). ``embedding``: every other flag, the
    classic baseline's embedding settings (stego.baselines.<method>, avsec.stego.classic), in the order given."""

    n_fft: int
    hop: int
    win_length: int | None = None
    window: str = "hann"
    kind: str = "complex"
    clips: int = 0  # test carriers (0: all)
    crop: int = 0  # samples from the middle of each clip; must be the model's
    epochs: int = 10  # the CNN steganalyzer's
    batch: int = 16
    width: float = 1.0
    analyzer: str = "hpf"
    lr: float = 1e-4
    orders: tuple[int, ...] = (1, 2, 3, 4)  # the rich model's
    quantization: tuple[int, ...] = (1, 2)
    truncation: int = 2
    classifier: str = "ensemble"
    estimators: int = 51
    subspace: float = 0.25
    seed: int = 1024
    device: str = "auto"
    bf16: bool = True
    checkpoint_every: int = 200
    steps: int = 0  # stop the CNN's training after this many steps (0: every epoch; benches and rehearsals)
    embedding: dict = field(default_factory=dict)

    @classmethod
    def from_flags(cls, given: Mapping, what: str) -> Steganalysis:
        """The settings from parsed flags (avsec.core.config.parse_flags): the flags this class knows, and the rest
        as ``embedding``."""
        known = {f.name for f in fields(cls)} - {"embedding"}
        embedding = {k: v for k, v in given.items() if k not in known}
        return settings_from(cls, {**{k: v for k, v in given.items() if k in known}, "embedding": embedding}, what)


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


class Carriers(Dataset):
    """Carriers ``clips`` (positions in ``covers``; label 0), then their stego versions (the same rows of
    ``stegos``; label 1): the rows ``torch.cat([covers[clips], stegos[clips]])`` would stack, read as indexed
    (an int, a slice, a list, an array or a tensor of positions). ``__getitems__`` gives the trainer a batch
    (x, y); ``labels`` are all the labels."""

    def __init__(self, covers: ShardRows, stegos: np.ndarray, clips: np.ndarray):
        self.covers, self.stegos, self.clips = covers, stegos, np.asarray(clips, dtype=np.int64)
        k = len(self.clips)
        self.labels = torch.cat([torch.zeros(k, dtype=torch.long), torch.ones(k, dtype=torch.long)])

    def __len__(self) -> int:
        return 2 * len(self.clips)

    def __getitem__(self, index) -> torch.Tensor:
        if isinstance(index, (int, np.integer)):
            return self[[int(index)]][0]
        if isinstance(index, slice):
            positions = np.arange(*index.indices(len(self)))
        else:
            positions = np.asarray(index.cpu().numpy() if isinstance(index, torch.Tensor) else index, np.int64)
        k = len(self.clips)
        stego = positions >= k
        clip = self.clips[np.where(stego, positions - k, positions)]
        out = np.empty((len(positions), self.stegos.shape[1]), dtype=np.int16)
        if (~stego).any():
            out[~stego] = self.covers[clip[~stego]].numpy()
        if stego.any():
            out[stego] = self.stegos[clip[stego]]
        return torch.from_numpy(out)

    def __getitems__(self, indices: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
        return self[list(indices)], self.labels[list(indices)]


def predict_stego(
    model: Steganalyzer, spec: Spectrogram, audio: torch.Tensor | Dataset, batch: int, device, bf16: bool = True
) -> torch.Tensor:
    """The steganalyzer's verdict on int16 clips (a tensor, or anything whose slices read them, such as
    :class:`Carriers`), ``batch`` at a time: predicted labels (0 carrier, 1 stego)."""
    model.eval()
    out = []
    with torch.inference_mode(), autocast(device, bf16):
        for i in range(0, len(audio), batch):
            out.append(model(spec(audio[i : i + batch].to(device).float() / INT16_SCALE)).argmax(1).cpu())
    return torch.cat(out)


def steganalysis(
    method: str, data: str | Path, out: str | Path, settings: Steganalysis, model: str | Path | None = None
) -> dict:
    """Section 4.5: stego audio by ``method`` (``gan``: the trained model ``model``; or a classic baseline) for
    ``clips`` test carriers, each with another test clip as its secret; carriers and stego audio merged and split
    in half by carrier; a rich-model and a CNN steganalyzer trained on one half, their accuracy on the other."""
    from avsec.stego.classic import embed
    from avsec.stego.rich_model import rich_model_accuracy

    s, embedding = settings, settings.embedding
    if method not in METHODS:
        raise ConfigError(f"unknown steganography method {method!r}; choose one of {', '.join(METHODS)}")
    if (method == "gan") != (model is not None):
        raise ConfigError("--model (the trained stego checkpoint) is needed for method gan and only for it")
    dev = resolve_device(s.device)
    spec = spectrogram(s.n_fft, s.hop, s.win_length, s.window, s.kind)
    rng = np.random.default_rng(s.seed)
    ckpt = None
    if method == "gan":
        encoder, _, gan_spec, ckpt = load_stego(model)
        if int(ckpt.get("crop", 0)) != s.crop:
            raise InputError(model, f"was trained on clips cut to {ckpt.get('crop', 0)} samples, not {s.crop}")
    test = audio_rows(data, "test", crop=s.crop)
    # the same draws as from the stacked split: a permutation of the test rows, then the pairing
    pick = np.sort(rng.permutation(len(test))[: s.clips or len(test)])
    covers = ShardRows(test.shards, test.rows[pick], window=test.window)
    n = len(covers)
    partner = derangement(n, rng)
    if method == "gan":
        encoder = encoder.to(dev)
        payload = 16.0  # a whole secret clip: 16 bits per carrier sample

        def make(cover: torch.Tensor, secret: torch.Tensor) -> torch.Tensor:
            carrier = cover.float() / INT16_SCALE
            return quantize(hide(encoder, gan_spec, carrier, secret.float() / INT16_SCALE, s.batch, dev, s.bf16))
    else:
        unknown = set(embedding) - set(BASELINE_KEYS[method])
        if unknown:
            raise ConfigError(f"{method}: unknown setting(s) {', '.join(sorted(unknown))}")
        bits = float(embedding.get("bits_per_sample", 1.0))
        payload = 1.0 / embedding["segment"] if method == "echo_hiding" else bits

        def make(cover: torch.Tensor, secret: torch.Tensor) -> torch.Tensor:  # a clip at a time, in carrier order
            parts = [embed(method, c.numpy(), m.numpy(), rng, **embedding) for c, m in zip(cover, secret, strict=True)]
            return torch.from_numpy(np.stack(parts))

    Path(out).parent.mkdir(parents=True, exist_ok=True)
    stego_file = Path(f"{out}.stego.npy")
    try:
        start = time.perf_counter()
        stegos, snr = write_stego(stego_file, covers, partner, make, s.batch)
        embed_seconds = time.perf_counter() - start
        # merge and split in half by carrier: a carrier and its stego version are always in the same half
        order = rng.permutation(n)
        train, val = (Carriers(covers, stegos, np.sort(half)) for half in (order[: n // 2], order[n // 2 :]))
        if len(train) < 2 or len(val) < 2:
            raise ConfigError(f"security experiment: {n} carriers are too few to split in half")
        rich = rich_model_accuracy(
            train,
            train.labels.numpy(),
            val,
            val.labels.numpy(),
            orders=s.orders,
            quantization=s.quantization,
            truncation=s.truncation,
            classifier=s.classifier,
            estimators=s.estimators,
            subspace=s.subspace,
            seed=s.seed,
            batch=s.batch,
        )
        torch.manual_seed(s.seed)
        cnn = Steganalyzer(s.analyzer, s.width)
        trainer = TrainSettings(
            s.epochs,
            s.batch,
            s.seed,
            s.device,
            s.bf16,
            s.checkpoint_every,
            fingerprint={
                "method": method,
                "model": str(model),
                "data": str(data),
                "clips": n,
                "crop": s.crop,
                "analyzer": s.analyzer,
                "width": s.width,
                "lr": s.lr,
                "stft": asdict(spec),
                **embedding,
            },
            steps=s.steps,
        )
        resume = Path(f"{out}.resume")
        history = fit(DetectorTask(cnn, spec, lr=s.lr), train, trainer, resume, desc=f"{method} steganalyzer")
        cnn_acc = float((predict_stego(cnn, spec, val, s.batch, dev, s.bf16) == val.labels).float().mean())
        result = {
            "dataset": Path(data).name,
            "method": method,
            "run": ckpt["run"] if ckpt else None,
            "carriers": n,
            "train_clips": len(train),
            "val_clips": len(val),
            "rich_model_accuracy": rich,
            "cnn_accuracy": cnn_acc,
            "stego_snr_db": finite_mean(snr),
            "payload_bits_per_sample": payload,
            "embed_seconds": embed_seconds,
            "cnn_history": history,
            "settings": {
                "rich": {"orders": list(np.atleast_1d(s.orders).tolist()), "classifier": s.classifier},
                "cnn": {"analyzer": s.analyzer, "width": s.width, "epochs": s.epochs},
                "embedding": embedding,
            },
        }
        write_text(out, json.dumps(result, indent=2, allow_nan=True) + "\n")
        resume.unlink(missing_ok=True)
        summary = f"rich model {rich:.1%}, CNN {cnn_acc:.1%} on {len(val)} clips"
        print(f"{result['dataset']} {method}: {summary}", file=sys.stderr)
        return result
    finally:
        stego_file.unlink(missing_ok=True)


def write_stego(path: Path, covers: ShardRows, partner: np.ndarray, make, batch: int) -> tuple[np.ndarray, np.ndarray]:
    """The stego audio of every carrier (``make(carriers, secrets)``: int16 stego clips of int16 carriers and
    their secrets, ``covers[partner]``), ``batch`` carriers at a time, written to the int16 ``.npy`` ``path`` as
    it is made and returned memory-mapped from it (read-only), with the stego SNR of each carrier (dB)."""
    n = len(covers)
    stegos = np.lib.format.open_memmap(path, mode="w+", dtype=np.int16, shape=(n, covers[0].shape[-1]))
    snr = []
    for i in range(0, n, batch):
        cover = covers[i : i + batch]
        part = make(cover, covers[partner[i : i + batch]])
        stegos[i : i + len(part)] = part.numpy()
        snr.append(snr_db(cover.double().numpy(), part.double().numpy()))
    stegos.flush()
    del stegos
    return np.load(path, mmap_mode="r"), np.concatenate(snr)
