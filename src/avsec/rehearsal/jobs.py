"""The rehearsed jobs: every paper-scale job kind that trains or attacks, its command (the rule's own script with
the paper preset's settings, as rules/*.smk build them, stopped after a few steps), the networks it needs first,
and the number of steps the full paper run takes, from the real corpora's sizes (config.yaml ``rehearsal.corpora``).

A job's name is ``<rule>-<instance>`` (``train_generator-wideresnet``); ``rehearsal.jobs`` in config.yaml lists
them for dvc.yaml and the workflow, and :func:`check_rehearsal` holds it to :data:`JOBS`.
"""

from __future__ import annotations

import math
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import NamedTuple

from avsec.avdetect.names import ATTACK_CORPUS, attack_grid
from avsec.core.config import flags
from avsec.core.errors import ConfigError
from avsec.imgstego.names import epochs_to_reach
from avsec.rehearsal.data import write_av, write_images, write_waves

# what `python -m avsec.rehearsal data` writes under its folder, each split at least one paper-size batch of the
# rows its jobs read, in whole batches (the generators' source label: the first 64 rows of each training split, the
# only rows of that label)
SOURCE_ROWS = 64


def write_data(root: Path, config: dict) -> dict[str, float]:
    """The rehearsal's prepared data under ``root``; returns each corpus's size (MB)."""
    paper, av, prep = config["scales"]["paper"], config["av"], config["prep"]
    words = paper["advgan"]["victims"]["wideresnet"]["labels"]
    genres = paper["advgan"]["victims"]["samplecnn"]["labels"]
    image = (prep["voc"]["height"], prep["voc"]["width"], 3)
    lrw_words, sentences = [f"WORD{i}" for i in range(10)], config["avdetect"]["cw"]["sentences"]
    plan = {  # corpus: (split sizes, writer of one corpus → one row's MB)
        "speech_commands": (
            {"train": 128, "val": 8, "test": 8},
            partial(write_waves, length=prep["speech_commands"]["length"], labels=words, first=SOURCE_ROWS),
        ),
        "gtzan": (
            {"train": 128, "val": 8, "test": 8},
            partial(write_waves, length=prep["gtzan"]["clip"], labels=genres, first=SOURCE_ROWS),
        ),
        "timit": ({"train": 16, "test": 64}, partial(write_waves, length=prep["timit"]["segment"], labels=["x"])),
        "librispeech": (
            {"train": 16, "test": 4},
            partial(write_waves, length=prep["librispeech"]["segment"], labels=["x"]),
        ),
        "voc": ({"train": 8, "val": 2}, partial(write_images, shape=image)),
        "av/lrw": (
            {"train": 32, "val": 32, "test": 32},
            partial(write_av, frames=av["lrw"]["frames"], labels=lrw_words),
        ),
        "av/grid": (
            {"train": 16, "val": 32, "test": 32},
            partial(write_av, frames=av["grid"]["frames"], labels=sentences),
        ),
    }
    return {name: write(root / name, counts) * sum(counts.values()) for name, (counts, write) in plan.items()}


@dataclass(frozen=True)
class Context:
    """What a job's command needs: the whole config, the rehearsal data, the job's own folder, steps, threads."""

    config: dict
    data: Path
    work: Path
    steps: int
    threads: int

    @property
    def paper(self) -> dict:
        return self.config["scales"]["paper"]

    def size(self, corpus: str, split: str) -> int:
        try:
            return int(self.config["rehearsal"]["corpora"][corpus][split])
        except KeyError:
            raise ConfigError(f"config.yaml: rehearsal.corpora.{corpus}.{split} is missing") from None


@dataclass(frozen=True)
class Job:
    name: str
    rule: str  # the workflow rule (its runtime and mem_mb in scales.paper.resources)
    paper: str  # advgan | stego | imgstego | avdetect
    command: Callable[[Context, int], list[str]]  # (context, steps) → the script and its arguments
    full: Callable[[Context], Full]  # the full paper run of one job
    count: Callable[[Context], int]  # how many jobs of this kind the paper-scale DAG has
    needs: tuple[str, ...] = ()  # jobs run for 1 step first, untimed (the networks this one loads)
    per_step: Callable[[Context], float] = lambda c: 1.0  # full-run work of a step / the rehearsed step's


def _merged(*mappings: dict, **changes) -> list[str]:
    """The mappings merged (later keys win) as the script's --key value arguments, as the rules render them."""
    out: dict = {}
    for mapping in (*mappings, changes):
        out.update(mapping)
    return shlex.split(flags(out))


def _common(c: Context, steps: int) -> list[str]:
    return ["--seed", str(c.config["seed"]), "--threads", str(c.threads), "--steps", str(steps)]


class Full(NamedTuple):
    """The full paper run of one job: its steps (attacks: batches), the rows they cover, and how it is counted."""

    steps: int
    rows: int
    how: str


def _epochs_of(epochs: int, rows: int, batch: int, what: str) -> Full:
    return Full(epochs * math.ceil(rows / batch), rows, f"{epochs} epochs x ceil({rows} {what} / {batch})")


# ---- paper 2 -------------------------------------------------------------------------------------------------------
def _victim_corpus(c: Context, victim: str) -> str:
    return c.config["advgan"]["victims"][victim]["corpus"]


def _victim(victim: str) -> Job:
    def command(c: Context, steps: int) -> list[str]:
        settings = _merged(c.config["advgan"]["victims"][victim], c.paper["advgan"]["victims"][victim])
        return ["workflow/scripts/train_victim.py", "--victim", victim, "--data",
                str(c.data / _victim_corpus(c, victim)), "--out", str(c.work / "victim.pt"), "--metrics",
                str(c.work / "victim.json"), *_common(c, steps), *settings]  # fmt: skip

    def full(c: Context) -> Full:
        v = c.paper["advgan"]["victims"][victim]
        return _epochs_of(v["epochs"], c.size(_victim_corpus(c, victim), "train"), v["batch"], "training clips")

    return Job(f"train_victim-{victim}", "train_victim", "advgan", command, full, lambda c: 1)


def _first_generator(c: Context, victim: str) -> str:
    return c.paper["advgan"]["generators"][victim][0]


def _generator(victim: str) -> Job:
    def command(c: Context, steps: int) -> list[str]:
        settings = _merged(c.config["advgan"]["generator"], c.paper["advgan"]["generator"])
        return ["workflow/scripts/train_generator.py", "--generator", _first_generator(c, victim), "--victim",
                str(c.work / "victim.pt"), "--data", str(c.data / _victim_corpus(c, victim)), "--out",
                str(c.work / "generator.pt"), *_common(c, steps), *settings]  # fmt: skip

    def full(c: Context) -> Full:
        g, labels = c.paper["advgan"]["generator"], c.paper["advgan"]["victims"][victim]["labels"]
        train = c.size(_victim_corpus(c, victim), "train")
        per_target = _first_generator(c, victim).startswith("all_to_")
        rows = train * (len(labels) - 1) // len(labels) if per_target else train // len(labels)
        return _epochs_of(g["epochs"], rows, g["batch"], "clips of the source label(s)")

    return Job(f"train_generator-{victim}", "train_generator", "advgan", command, full,
               lambda c: len(c.paper["advgan"]["generators"][victim]), needs=(f"train_victim-{victim}",))  # fmt: skip


# ---- paper 1 -------------------------------------------------------------------------------------------------------
def _ablation(victim: str = "wideresnet") -> Job:
    """Section D's loss ablation (rule train_ablation): train_generator.py with the generator's settings, then after
    --ablation the first variant's weights, ``advgan.ablation.train`` and the paper preset's ablation sizes (the
    rehearsal's --steps last, so the preset's step count does not replace it)."""

    def command(c: Context, steps: int) -> list[str]:
        a = c.config["advgan"]["ablation"]
        if a["victim"] != victim:
            raise ConfigError(f"rehearsal: job train_ablation-{victim} rehearses advgan.ablation.victim {victim}, "
                              f"not {a['victim']!r}")  # fmt: skip
        variant = a["variants"][next(iter(a["variants"]))]
        settings = _merged(c.config["advgan"]["generator"], c.paper["advgan"]["generator"])
        return ["workflow/scripts/train_generator.py", "--generator", a["generator"], "--victim",
                str(c.work / "victim.pt"), "--data", str(c.data / _victim_corpus(c, a["victim"])), "--out",
                str(c.work / "generator.pt"), *_common(c, steps), *settings, "--ablation",
                *_merged(variant, a["train"], c.paper["advgan"]["ablation"], steps=steps)]  # fmt: skip

    def full(c: Context) -> Full:
        a, g = c.config["advgan"]["ablation"], c.paper["advgan"]["generator"]
        ablation = c.paper["advgan"]["ablation"]
        labels = c.paper["advgan"]["victims"][a["victim"]]["labels"]
        rows = c.size(_victim_corpus(c, a["victim"]), "train") // len(labels)  # the source label's clips
        full = _epochs_of(ablation["epochs"], rows, g["batch"], f"{a['generator'].split('_to_')[0]!r} clips")
        if ablation.get("steps") and ablation["steps"] < full.steps:
            return Full(ablation["steps"], rows, f"{ablation['steps']} steps (the preset's), within {full.how}")
        return full

    variants = lambda c: len(c.config["advgan"]["ablation"]["variants"])  # noqa: E731
    return Job(f"train_ablation-{victim}", "train_ablation", "advgan", command, full, variants,
               needs=(f"train_victim-{victim}",))  # fmt: skip


def _stego_settings(c: Context, dataset: str, **changes) -> list[str]:
    cfg = c.config
    sizes = {"epochs": c.paper["stego"]["epochs"][dataset], "crop": c.paper["stego"]["crop"]}
    return _merged(cfg["stego"]["datasets"][dataset], cfg["features"][f"stego_{dataset}"]["stft"],
                   cfg["stego"]["train"], c.paper["stego"]["train"], sizes, **changes)  # fmt: skip


def _stego(dataset: str) -> Job:
    def command(c: Context, steps: int) -> list[str]:
        run = c.paper["stego"]["runs"][dataset][0]
        return ["workflow/scripts/train_stego.py", "--run", run, "--data", str(c.data / dataset), "--out",
                str(c.work / "model.pt"), *_common(c, steps), *_stego_settings(c, dataset)]  # fmt: skip

    def full(c: Context) -> Full:
        t, train = c.paper["stego"]["train"], c.size(dataset, "train")
        rows = min(t["clips"], train) if t["clips"] else train
        return _epochs_of(c.paper["stego"]["epochs"][dataset], rows, t["batch"], "training clips")

    return Job(f"train_stego-{dataset}", "train_stego", "stego", command, full,
               lambda c: len(c.paper["stego"]["runs"][dataset]))  # fmt: skip


def _security(dataset: str) -> Job:
    def command(c: Context, steps: int) -> list[str]:
        cfg, security = c.config, c.config["stego"]["security"]
        settings = _merged(cfg["features"][f"stego_{dataset}"]["stft"], security["rich"], security["cnn"],
                           c.paper["stego"]["security"], {"crop": c.paper["stego"]["crop"]})  # fmt: skip
        return ["workflow/scripts/steganalysis_stego.py", "--method", "gan", "--model", str(c.work / "model.pt"),
                "--data", str(c.data / dataset), "--out", str(c.work / "security.json"), *_common(c, steps),
                *settings]  # fmt: skip

    def full(c: Context) -> Full:
        s, test = c.paper["stego"]["security"], c.size(dataset, "test")
        rows = min(s["clips"], test) if s["clips"] else test  # carriers; the CNN trains on half of 2 x rows
        return _epochs_of(s["epochs"], rows, s["batch"], "carriers + stego clips, half of them")

    return Job(f"security_stego-{dataset}", "security_stego", "stego", command, full,
               lambda c: len(c.config["stego"]["datasets"]), needs=(f"train_stego-{dataset}",))  # fmt: skip


# ---- paper 3 -------------------------------------------------------------------------------------------------------
def _imgstego(variant: str) -> Job:
    def command(c: Context, steps: int) -> list[str]:
        img = c.config["imgstego"]
        settings = _merged(img["spectrogram"], img["train"], img["variants"][variant], c.paper["imgstego"]["train"])
        return ["workflow/scripts/train_imgstego.py", "--variant", variant, "--timit", str(c.data / "timit"),
                "--voc", str(c.data / "voc"), "--out", str(c.work / "model.pt"), *_common(c, steps),
                *settings]  # fmt: skip

    def full(c: Context) -> Full:
        t, planes = c.paper["imgstego"]["train"], 3 * c.size("voc", "train")
        if t.get("train_steps"):  # the epochs that reach the steps, as training counts them
            epochs = epochs_to_reach(t["train_steps"], planes, t["batch"], t.get("epochs", 0))
            full = _epochs_of(epochs, planes, t["batch"], "colour planes of the training images")
            return full._replace(how=f"{full.how}, the epochs that reach {t['train_steps']} steps")
        return _epochs_of(t["epochs"], planes, t["batch"], "colour planes of the training images")

    return Job(f"train_imgstego-{variant}", "train_imgstego", "imgstego", command, full,
               lambda c: len(c.config["imgstego"]["variants"]))  # fmt: skip


def _enhancer() -> Job:
    def command(c: Context, steps: int) -> list[str]:
        settings = _merged(c.config["imgstego"]["enhancer"], c.paper["imgstego"]["enhancer"])
        return ["workflow/scripts/train_enhancer.py", "--model", str(c.work / "model.pt"), "--timit",
                str(c.data / "timit"), "--voc", str(c.data / "voc"), "--out", str(c.work / "enhancer.pt"),
                *_common(c, steps), *settings]  # fmt: skip

    def full(c: Context) -> Full:
        e = c.paper["imgstego"]["enhancer"]
        return _epochs_of(e["epochs"], c.size("voc", "train"), e["batch"], "training images")

    return Job("train_enhancer", "train_enhancer", "imgstego", command, full, lambda c: 1,
               needs=("train_imgstego-ssim",))  # fmt: skip


# ---- paper 4 -------------------------------------------------------------------------------------------------------
def _av(c: Context, corpus: str) -> list[str]:
    folder = c.data / "av" / corpus
    return ["--mouths", str(folder / "mouths"), "--audio", str(folder / "audio")]


def _recogniser(corpus: str) -> Job:
    def command(c: Context, steps: int) -> list[str]:
        settings = _merged(c.config["avdetect"][corpus]["recogniser"], c.paper["avdetect"][corpus]["recogniser"])
        return ["workflow/scripts/train_av.py", "--corpus", corpus, *_av(c, corpus), "--out",
                str(c.work / "recogniser.pt"), "--metrics", str(c.work / "recogniser.json"), *_common(c, steps),
                *settings]  # fmt: skip

    def full(c: Context) -> Full:
        r = c.paper["avdetect"][corpus]["recogniser"]
        return _epochs_of(r["epochs"], c.size(corpus, "train"), r["batch"], "training clips")

    return Job(f"train_av-{corpus}", "train_av", "avdetect", command, full, lambda c: 1)


def _syncnet(corpus: str) -> Job:
    def command(c: Context, steps: int) -> list[str]:
        settings = _merged(c.config["avdetect"]["syncnet"], c.paper["avdetect"]["syncnet"])
        return ["workflow/scripts/train_syncnet.py", "--corpus", corpus, *_av(c, corpus), "--out",
                str(c.work / "syncnet.pt"), "--metrics", str(c.work / "syncnet.json"), *_common(c, steps),
                *settings]  # fmt: skip

    def full(c: Context) -> Full:
        from avsec.avdetect.syncnet import sync_rows_per_clip

        s = {**c.config["avdetect"]["syncnet"], **c.paper["avdetect"]["syncnet"]}
        per_clip = sync_rows_per_clip(c.config["av"][corpus]["frames"], s["min_shift"], s["vshift"])
        rows = c.size(corpus, "train") * per_clip
        return _epochs_of(s["epochs"], rows, s["batch"], f"windows ({per_clip} a clip)")

    return Job(f"train_syncnet-{corpus}", "train_syncnet", "avdetect", command, full, lambda c: 1)


REHEARSED_EPS = {"eps_audio": 256, "eps_video": 4}  # the setting rehearsed (BIM: its fewest iterations)


def _attack_cfg(c: Context, method: str) -> dict:
    return {**c.config["avdetect"][method], **c.paper["avdetect"][method]}


def _attack(method: str) -> Job:
    corpus = ATTACK_CORPUS[method]

    def command(c: Context, steps: int) -> list[str]:
        cfg = _attack_cfg(c, method)
        target = f"_{cfg['targets'][0]}" if method == "cw" else ""
        setting = f"{method}_a{REHEARSED_EPS['eps_audio']}_v{REHEARSED_EPS['eps_video']}{target}"
        # examples 0: no MP4s (no ffmpeg needed); C&W: `steps` iterations, scaled to the paper's in per_step
        changes = {"examples": 0, **({"iterations": steps} if method == "cw" else {})}
        settings = _merged(c.config["avdetect"][method], c.paper["avdetect"][method], **changes)
        return ["workflow/scripts/attack_av.py", "--method", method, "--setting", setting, *_av(c, corpus),
                "--recogniser", str(c.work / "recogniser.pt"), "--syncnet", str(c.work / "syncnet.pt"), "--out",
                str(c.work / "attack"), "--seed", str(c.config["seed"]), "--threads", str(c.threads),
                "--vshift", str(c.config["avdetect"]["syncnet"]["vshift"]), *settings]  # fmt: skip

    def full(c: Context) -> Full:
        cfg = _attack_cfg(c, method)
        sizes = {split: c.size(corpus, split) for split in cfg["splits"]}
        clips = {split: min(cfg["clips"], n) if cfg["clips"] else n for split, n in sizes.items()}
        batches = sum(math.ceil(n / cfg["batch"]) for n in clips.values())
        told = " + ".join(f"ceil({n} {split} / {cfg['batch']})" for split, n in clips.items())
        return Full(batches, sum(clips.values()), f"batches: {told}")

    def per_step(c: Context) -> float:
        """A batch's work at the job's most costly setting over the rehearsed one's."""
        from avsec.avdetect.attacks import bim_iterations

        cfg = _attack_cfg(c, method)
        if method == "bim":
            return max(bim_iterations(v) for v in cfg["eps_video"]) / bim_iterations(REHEARSED_EPS["eps_video"])
        if method == "cw":
            return cfg["iterations"] / c.steps
        return 1.0

    def count(c: Context) -> int:
        cfg = _attack_cfg(c, method)
        return len(attack_grid(method, cfg["eps_audio"], cfg["eps_video"], cfg.get("targets", ())))

    return Job(f"attack_av-{method}", "attack_av", "avdetect", command, full, count,
               needs=(f"train_av-{corpus}", f"train_syncnet-{corpus}"), per_step=per_step)  # fmt: skip


JOBS: dict[str, Job] = {
    job.name: job
    for job in (
        _victim("wideresnet"), _victim("samplecnn"), _generator("wideresnet"), _generator("samplecnn"), _ablation(),
        _stego("timit"), _stego("librispeech"), _security("timit"),
        _imgstego("ssim"), _enhancer(),
        _recogniser("lrw"), _recogniser("grid"), _syncnet("lrw"), _syncnet("grid"),
        _attack("fgsm"), _attack("bim"), _attack("cw"),
    )
}  # fmt: skip


def check_rehearsal(config: dict) -> None:
    """``rehearsal.jobs`` (written out for dvc.yaml) must be the rehearsed jobs, each corpus's sizes present."""
    listed = list(config["rehearsal"]["jobs"])
    if sorted(listed) != sorted(JOBS):
        missing, unknown = sorted(set(JOBS) - set(listed)), sorted(set(listed) - set(JOBS))
        raise ConfigError(
            "config.yaml: rehearsal.jobs must list every rehearsed job (avsec.rehearsal.jobs.JOBS); "
            f"missing: {', '.join(missing) or 'none'}; unknown: {', '.join(unknown) or 'none'}"
        )
    for name, sizes in config["rehearsal"]["corpora"].items():
        for split in ("train", "val", "test"):
            if split in sizes and (not isinstance(sizes[split], int) or sizes[split] <= 0):
                raise ConfigError(f"config.yaml: rehearsal.corpora.{name}.{split} must be a positive count")
