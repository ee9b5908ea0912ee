"""Peak memory of each job at two corpus sizes, N and 4N: does it stay flat as the corpus grows?

Each job is the rule's own script with the paper preset's settings, run in a fresh Python process as the
workflow runs it. Two peaks are taken: the peak RSS from the kernel (``os.wait4``), and the peak anonymous RSS
(``RssAnon`` in /proc, polled every 10 ms), which leaves out the pages of memory-mapped shards a streaming job
has read (file pages the kernel reclaims at will). Both sizes run in this one harness, the same way, so that the
difference between them is the job's growth, not run-to-run noise. For each job it prints the peaks at N and 4N,
the growth of the anonymous peak per item (MB per row, image or clip), the projected peak at the paper's corpus
size against the rule's ``mem_mb``, and last the worst growth per item as a share of one item's prepared size
(target < 0.1: what a job keeps per item is its results, never its inputs).

Jobs measured so far: ``prepare_corpus`` for each audio and image corpus (4N is 0.25-0.5 GB of prepared data per
corpus at the defaults); paper 1's ``train_stego`` and ``security_stego`` (its test split, every clip a
carrier; lsb_matching, the classic baseline); paper 2's ``train_victim`` and ``train_generator`` (int16 training
rows) and its ``evaluate_generator`` and ``attack_baseline`` (int16 test rows; PESQ on 4 clips, the genetic
attack on 4 clips for 2 iterations); paper 3's ``train_imgstego``, ``train_enhancer`` and ``evaluate_imgstego``
(TIMIT carriers and 512 x 513 RGB VOC images, 32 images evaluated); paper 4's ``train_av``, ``train_syncnet``
(LRW-shaped training splits, 1.3 GB of prepared clips at 4N) and ``attack_av`` (FGSM on LRW-shaped validation
and test splits). The training and attack jobs read prepared shards written directly in the project's format,
run the paper preset's batch sizes and settings but the smoke scale's network widths, stop training after 2
steps (``--steps 2``) and attack at one ε setting (paper 1's clips are also cut to 4096 samples, so that its
final passes over the clips stay short): what grows with the corpus is the data path, which is the paper's.

    python bench/bench_memory.py                   # every job, N as in JOBS
    python bench/bench_memory.py --job voc --job train_av --scale 0.5
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np

from avsec.core.config import flags, load_config
from avsec.data.synth.voc import make_voc
from avsec.io.shards import ShardedArray, shard_writer

sys.path.insert(0, str(Path(__file__).parent))
from bench_prep import make_gtzan, make_librispeech, make_speech_commands, make_timit  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Job:
    """A ``prepare_corpus`` job: how to synthesise ``n`` source files and the paper's number of output rows."""

    corpus: str
    n: int  # source files at size N
    make: Callable[[Path, int], Path]  # writes n files under a directory, returns the corpus root
    paper_rows: int
    source: str  # where paper_rows comes from
    extra: dict | None = None  # flags that differ from the paper preset (the synthetic corpus's words)

    @property
    def name(self) -> str:
        return f"prepare_corpus {self.corpus}"

    @property
    def key(self) -> str:  # --job
        return self.corpus

    rule = "prepare_corpus"
    gpu = False

    def measure(self, n: int, tmp: Path) -> tuple[int, tuple[float, float], float]:
        """Rows written, peaks (RSS, anonymous RSS; MB) and one row's size (MB) on ``n`` synthetic files."""
        root = self.make(tmp / f"src{n}", n)
        config = load_config(REPO / "config.yaml")
        paper = config["scales"]["paper"]["prep"].get(self.corpus, {})
        settings = flags({**config["prep"][self.corpus], **paper, **(self.extra or {})})
        out = tmp / f"prep{n}"
        command = [sys.executable, "workflow/scripts/prepare_corpus.py", "--corpus", self.corpus, "--root", str(root)]
        command += ["--out", str(out), "--seed", "0", *settings.split()]
        peaks = peak_memory_mb(command, tmp / f"log{n}.txt")
        data = ShardedArray(out)
        return len(data), peaks, data[0].nbytes / 2**20


def _timit(tmp: Path, n: int) -> Path:
    make_timit(tmp, n, np.random.default_rng(0))
    return tmp / "TIMIT"


def _librispeech(tmp: Path, n: int) -> Path:
    make_librispeech(tmp, n, np.random.default_rng(0))
    return tmp / "LibriSpeech"


def _gtzan(tmp: Path, n: int) -> Path:
    make_gtzan(tmp, n, np.random.default_rng(0))
    return tmp


def _speech_commands(tmp: Path, n: int) -> Path:
    make_speech_commands(tmp, n, np.random.default_rng(0))
    return tmp / "sc"


def _voc(tmp: Path, n: int) -> Path:
    make_voc(tmp, seed=0, images=n)
    return tmp


def rule_mem_mb(rule: str) -> int | None:
    """The paper preset's ``mem_mb`` of a rule (config.yaml, scales.paper.resources.mem_mb)."""
    return load_config(REPO / "config.yaml")["scales"]["paper"]["resources"]["mem_mb"].get(rule)


GPU_ALLOWANCE_MB = 5000  # what a CPU bench cannot see on a GPU node: the CUDA context and the DataLoader's workers


def mem_mb_from(projected: float, gpu: bool) -> int:
    """config.yaml's rule for a paper-scale ``mem_mb``: 1.5 x the projected peak (+ the GPU allowance on GPU
    rules), rounded up to 1000 MB, at least 2000."""
    return max(2000, -(-(1.5 * projected + GPU_ALLOWANCE_MB * gpu) // 1000) * 1000)


def peak_memory_mb(command: list[str], log: Path) -> tuple[float, float]:
    """Run ``command`` in a fresh process: its peak resident set size and peak anonymous RSS (MB)."""
    with open(log, "w") as out:
        env = {**os.environ, "PYTHONPATH": str(REPO / "src")}  # this checkout's library, wherever avsec is installed
        child = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, cwd=REPO, env=env)
        anon = 0
        while True:
            pid, status, usage = os.wait4(child.pid, os.WNOHANG)
            if pid:
                break
            try:
                status_text = Path(f"/proc/{child.pid}/status").read_text()
                anon = max(anon, int(re.search(r"^RssAnon:\s+(\d+)", status_text, re.M).group(1)))
            except (OSError, AttributeError):  # exiting between the two calls
                pass
            time.sleep(0.01)
    if os.waitstatus_to_exitcode(status) != 0:
        tail = "".join(log.read_text(errors="replace").splitlines(keepends=True)[-20:])
        raise SystemExit(f"{' '.join(command)} failed; the end of its output:\n{tail}")
    return usage.ru_maxrss / 1024, anon / 1024  # KB on Linux


def _run_unmeasured(command: list[str]) -> None:
    """Run a job that makes a bench job's input (a network trained for a step), not measured."""
    subprocess.run([sys.executable, *command], cwd=REPO, check=True, capture_output=True,
                   env={**os.environ, "PYTHONPATH": str(REPO / "src")})  # fmt: skip


# ---- paper 4: prepared LRW-shaped clips written directly, the jobs run on them -------------------------------------
LRW_FRAMES, WORDS, FIXED = 29, 10, 32  # frames per clip, labels, clips of each split that does not grow
WORDS10 = ("yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go")
SMOKE_WIDTHS = {
    "recogniser": {"width": 0.125, "hidden": 32},
    "syncnet": {"width": 0.25, "size": 56, "embed": 128},
}


def write_av(root: Path, counts: dict[str, int], seed: int = 0) -> float:
    """results/av/<corpus>/{mouths, audio/wave, audio/mfcc} with ``counts[split]`` random LRW-shaped clips;
    returns one clip's prepared size (MB)."""
    rng = np.random.default_rng(seed)
    with shard_writer(root / "mouths") as mouths, shard_writer(root / "audio" / "wave") as wave:
        with shard_writer(root / "audio" / "mfcc") as coeffs:
            for split, n in counts.items():
                for i in range(n):
                    meta = {"split": split, "label": f"w{i % WORDS}", "source": f"{split}/{i}"}
                    video = rng.integers(0, 256, (LRW_FRAMES, 96, 96), dtype=np.uint8)
                    audio = rng.integers(-3000, 3000, LRW_FRAMES * 640, dtype=np.int16)
                    mouths.add(video, **meta)
                    wave.add(audio, **meta)
                    coeffs.add(rng.standard_normal((13, 4 * LRW_FRAMES)).astype(np.float16), **meta)
    return (video.nbytes + audio.nbytes + 13 * 4 * LRW_FRAMES * 2) / 2**20


def _avdetect_flags(section: str, corpus: str | None, **changes) -> list[str]:
    config = load_config(REPO / "config.yaml")
    shared, paper = config["avdetect"], config["scales"]["paper"]["avdetect"]
    if corpus:
        shared, paper = shared[corpus], paper[corpus]
    return flags({**shared[section], **paper[section], **changes}).split()


def _train_av(av: Path, out: Path, steps: int = 2) -> list[str]:
    widths = SMOKE_WIDTHS["recogniser"]
    return ["workflow/scripts/train_av.py", "--corpus", "lrw", "--mouths", str(av / "mouths"), "--audio",
            str(av / "audio"), "--out", str(out / "recogniser.pt"), "--metrics", str(out / "recogniser.json"),
            "--seed", "0", "--threads", "2", *_avdetect_flags("recogniser", "lrw", **widths, steps=steps)]  # fmt: skip


def _train_syncnet(av: Path, out: Path, steps: int = 2) -> list[str]:
    widths = SMOKE_WIDTHS["syncnet"]
    return ["workflow/scripts/train_syncnet.py", "--corpus", "lrw", "--mouths", str(av / "mouths"), "--audio",
            str(av / "audio"), "--out", str(out / "syncnet.pt"), "--metrics", str(out / "syncnet.json"),
            "--seed", "0", "--threads", "2", *_avdetect_flags("syncnet", None, **widths, steps=steps)]  # fmt: skip


def _attack_fgsm(av: Path, out: Path) -> list[str]:
    for make in (_train_av, _train_syncnet):  # the networks attacked: 1 step on the same clips
        _run_unmeasured(make(av, out, steps=1))
    one_setting = {"eps_audio": 256, "eps_video": 4, "examples": 3}
    return ["workflow/scripts/attack_av.py", "--method", "fgsm", "--mouths", str(av / "mouths"), "--audio",
            str(av / "audio"), "--recogniser", str(out / "recogniser.pt"), "--syncnet", str(out / "syncnet.pt"),
            "--out", str(out / "attack.json"), "--examples-dir", str(out / "examples"), "--seed", "0",
            "--threads", "2", *_avdetect_flags("fgsm", None, **one_setting)]  # fmt: skip


# ---- papers 1 and 2: prepared int16 clips written directly, the training jobs run on them ------------------------
def write_waves(root: Path, counts: dict[str, int], length: int, labels: tuple[str, ...], seed: int = 0) -> float:
    """A prepared corpus (results/prep/<corpus>) of ``counts[split]`` random int16 rows of ``length`` samples,
    labels taken in turn; returns one row's size (MB)."""
    rng = np.random.default_rng(seed)
    with shard_writer(root) as writer:
        for split, n in counts.items():
            for i in range(n):
                row = rng.integers(-3000, 3000, length, dtype=np.int16)
                writer.add(row, split=split, label=labels[i % len(labels)], source=f"{split}/{i}.wav")
    return length * 2 / 2**20


def _paper(*keys: str) -> dict:
    config = load_config(REPO / "config.yaml")
    node = config["scales"]["paper"]
    for key in keys:
        node = node[key]
    return node


def _train_stego(data: Path, out: Path) -> list[str]:
    """train_stego's flags as rules/common.smk's stego_train_settings builds them for TIMIT, smoke width."""
    config = load_config(REPO / "config.yaml")
    # smoke width, and clips cut to 4096 samples: the job ends with a pass over every training clip (BatchNorm
    # recalibration), which at the paper's whole clips and half width takes 0.5 s a clip on 2 cores
    sizes = {"epochs": _paper("stego", "epochs")["timit"], "crop": 4096, "width": 0.5, "steps": 2}
    settings = flags(config["stego"]["datasets"]["timit"], config["features"]["stego_timit"]["stft"],
                     config["stego"]["train"], {**_paper("stego", "train"), **sizes})  # fmt: skip
    return ["workflow/scripts/train_stego.py", "--run", "hpf_nor", "--data", str(data), "--out",
            str(out / "model.pt"), "--seed", "0", "--threads", "2", *settings.split()]  # fmt: skip


def _security_stego(data: Path, out: Path) -> list[str]:
    """Paper 1's security experiment (Table 4) for the classic baseline lsb_matching (no trained model needed),
    with the flags rules/common.smk's stego_security_settings builds for TIMIT: every test clip a carrier (the
    paper's 5000 is more than its 2500 test clips), smoke width, clips cut to 4096 samples and the CNN stopped
    after 2 steps, so that the work stays short (its final pass scores every validation clip)."""
    config = load_config(REPO / "config.yaml")
    security, lsb = config["stego"]["security"], config["stego"]["baselines"]["lsb_matching"]
    sizes = {"clips": 0, "crop": 4096, "width": 0.25, "steps": 2}
    settings = flags(config["features"]["stego_timit"]["stft"], security["rich"], security["cnn"],
                     {**_paper("stego", "security"), **sizes}, lsb)  # fmt: skip
    return ["workflow/scripts/steganalysis_stego.py", "--method", "lsb_matching", "--data", str(data), "--out",
            str(out / "lsb_matching.json"), "--seed", "0", "--threads", "2", *settings.split()]  # fmt: skip


VICTIM_SMOKE = {"depth": 10, "widen": 2}  # the smoke scale's WideResNet


def _train_victim(data: Path, out: Path, steps: int = 2) -> list[str]:
    config = load_config(REPO / "config.yaml")
    settings = flags(config["advgan"]["victims"]["wideresnet"],
                     {**_paper("advgan", "victims", "wideresnet"), **VICTIM_SMOKE, "steps": steps})  # fmt: skip
    return ["workflow/scripts/train_victim.py", "--victim", "wideresnet", "--data", str(data), "--out",
            str(out / "victim.pt"), "--metrics", str(out / "victim.json"), "--seed", "0", "--threads", "2",
            *settings.split()]  # fmt: skip


def _train_generator(data: Path, out: Path, steps: int = 2) -> list[str]:
    if not (out / "victim.pt").exists():
        _run_unmeasured(_train_victim(data, out, steps=1))  # the victim: 1 step
    config = load_config(REPO / "config.yaml")
    smoke = {"width": 0.25, "discriminator_width": 0.125, "steps": steps}
    settings = flags(config["advgan"]["generator"], {**_paper("advgan", "generator"), **smoke})
    return ["workflow/scripts/train_generator.py", "--generator", "yes_to_no", "--victim", str(out / "victim.pt"),
            "--data", str(data), "--out", str(out / "generator.pt"), "--seed", "0", "--threads", "2",
            *settings.split()]  # fmt: skip


# ---- paper 3: prepared TIMIT rows and VOC images written directly ---------------------------------------------------
def write_imgstego(root: Path, counts: dict[str, int], seed: int = 0) -> float:
    """``root``/timit (int16 rows of 32 640 samples: train and test carriers) and ``root``/voc (512 x 513 RGB uint8
    images: train and val), ``counts[split]`` of each; returns one carrier's and one image's size together (MB)."""
    config = load_config(REPO / "config.yaml")
    shape = (config["prep"]["voc"]["height"], config["prep"]["voc"]["width"], 3)
    carrier = write_waves(root / "timit", {"train": counts["train"], "test": counts["test"]}, 32640, ("x",), seed)
    rng = np.random.default_rng(seed)
    with shard_writer(root / "voc") as writer:
        for split in ("train", "val"):
            for i in range(counts[split]):
                image = rng.integers(0, 256, shape, dtype=np.uint8)
                writer.add(image, split=split, label="image", source=f"{split}/{i}.jpg")
    return carrier + np.prod(shape) / 2**20


IMGSTEGO_SMOKE = {"width": 8, "layers": 2, "levels": 3}  # the smoke scale's networks, at the paper's whole 512x513


def _imgstego_flags(*sections: dict, **changes) -> list[str]:
    config = load_config(REPO / "config.yaml")
    merged = {key: value for section in (*sections, changes) for key, value in section.items()}
    return flags(config["imgstego"]["spectrogram"], merged).split()


def _train_imgstego(data: Path, out: Path, steps: int = 2) -> list[str]:
    config = load_config(REPO / "config.yaml")
    img = config["imgstego"]
    settings = _imgstego_flags(img["train"], img["variants"]["ssim"], _paper("imgstego", "train"), **IMGSTEGO_SMOKE,
                               steps=steps)  # fmt: skip
    return ["workflow/scripts/train_imgstego.py", "--variant", "ssim", "--timit", str(data / "timit"), "--voc",
            str(data / "voc"), "--out", str(out / "model.pt"), "--seed", "0", "--threads", "2", *settings]  # fmt: skip


def _train_enhancer(data: Path, out: Path) -> list[str]:
    _run_unmeasured(_train_imgstego(data, out, steps=1))
    config = load_config(REPO / "config.yaml")
    widths = {"width": IMGSTEGO_SMOKE["width"], "levels": IMGSTEGO_SMOKE["levels"]}
    settings = flags(config["imgstego"]["enhancer"], {**_paper("imgstego", "enhancer"), **widths, "steps": 2})
    return ["workflow/scripts/train_enhancer.py", "--model", str(out / "model.pt"), "--timit", str(data / "timit"),
            "--voc", str(data / "voc"), "--out", str(out / "enhancer.pt"), "--seed", "0", "--threads", "2",
            *settings.split()]  # fmt: skip


def _evaluate_imgstego(data: Path, out: Path) -> list[str]:
    _run_unmeasured(_train_imgstego(data, out, steps=1))
    config = load_config(REPO / "config.yaml")
    # 32 images: the job's time is per image; what must not grow with the split is what it reads up front
    settings = flags(config["imgstego"]["evaluate"], {**_paper("imgstego", "evaluate"), "images": 32})
    return ["workflow/scripts/evaluate_imgstego.py", "--model", str(out / "model.pt"), "--timit",
            str(data / "timit"), "--voc", str(data / "voc"), "--out", str(out / "eval.json"), "--examples-dir",
            str(out / "examples"), "--threads", "2", *settings.split()]  # fmt: skip


def _networks(out: Path) -> Path:
    """A victim (WideResNet) and a yes_to_no generator at the smoke widths, trained for 2 steps each on a small
    corpus of their own (FIXED rows a split) under ``out``, not measured: what paper 2's evaluation and baselines
    attack. Returns the folder of victim.pt and generator.pt."""
    nets = out / "nets"
    nets.mkdir()
    write_waves(nets / "data", dict.fromkeys(("train", "val", "test"), FIXED), 16384, WORDS10, seed=1)
    for make in (_train_victim, partial(_train_generator, steps=2)):  # the victim first: the generator attacks it
        _run_unmeasured(make(nets / "data", nets))
    return nets


def _evaluate_generator(data: Path, out: Path) -> list[str]:
    nets = _networks(out)
    config = load_config(REPO / "config.yaml")
    settings = flags(config["advgan"]["evaluate"], {**_paper("advgan", "evaluate"), "pesq_clips": 4})
    return ["workflow/scripts/evaluate_generator.py", "--generator", str(nets / "generator.pt"), "--victim",
            str(nets / "victim.pt"), "--data", str(data), "--out", str(out / "eval.json"), "--examples-dir",
            str(out / "examples"), "--threads", "2", *settings.split()]  # fmt: skip


def _attack_baseline(data: Path, out: Path) -> list[str]:
    nets = _networks(out)
    config = load_config(REPO / "config.yaml")
    budget = {**_paper("advgan", "baselines"), "clips": 4, "iterations": 2}
    settings = flags(config["advgan"]["baselines"]["genetic"], budget)
    return ["workflow/scripts/attack_baseline.py", "--method", "genetic", "--victim", str(nets / "victim.pt"),
            "--data", str(data), "--out", str(out / "genetic.json"), "--seed", "0", "--threads", "2",
            *settings.split()]  # fmt: skip


@dataclass(frozen=True)
class DataJob:
    """A training or attack job on prepared data that ``write`` puts under a folder: ``n`` items in each of the
    splits that grow, FIXED in the others."""

    name: str
    rule: str
    grows: tuple[str, ...]  # the splits whose size is n
    n: int
    write: Callable[[Path, dict[str, int]], float]  # writes the splits' items, returns one item's size (MB)
    command: Callable[[Path, Path], list[str]]  # (prepared data, output folder) → the job's command line
    paper_rows: int
    source: str

    gpu = True  # the training, evaluation and attack rules run on a GPU at paper scale

    @property
    def key(self) -> str:  # --job
        return self.rule

    def measure(self, n: int, tmp: Path) -> tuple[int, tuple[float, float], float]:
        """Items in the growing splits, peaks (RSS, anonymous RSS; MB) and one item's prepared size (MB)."""
        data, out = tmp / f"data{n}", tmp / f"out{n}"
        out.mkdir(parents=True)
        item_mb = self.write(data, {split: n if split in self.grows else FIXED for split in ("train", "val", "test")})
        command = [sys.executable, *self.command(data, out)]
        return n * len(self.grows), peak_memory_mb(command, tmp / f"log{n}.txt"), item_mb


JOBS = (
    Job("timit", 1000, _timit, 10000, "config: scales.paper.prep.timit.count"),
    Job("librispeech", 1000, _librispeech, 10000, "config: scales.paper.prep.librispeech.count"),
    Job("gtzan", 96, _gtzan, 29000, "GTZAN: 1000 tracks x 29 clips"),
    Job(
        "speech_commands",
        4000,
        _speech_commands,
        38546,
        "Speech Commands v0.02: clips of the ten command words",
        {"words": ["yes", "no", "up", "down"]},
    ),
    Job("voc", 96, _voc, 11540, "config: scales.paper.prep.voc.count"),
    DataJob(
        "train_stego timit",
        "train_stego",
        ("train",),
        1000,
        partial(write_waves, length=32640, labels=("x",)),
        _train_stego,
        10000,
        "config: scales.paper.prep.timit.count (all of them train)",
    ),
    DataJob(
        "security_stego timit",
        "security_stego",
        ("test",),
        1000,
        partial(write_waves, length=32640, labels=("x",)),
        _security_stego,
        2500,
        "config: scales.paper.prep.timit.count (a quarter of them test; security: every test clip)",
    ),
    DataJob(
        "train_victim wideresnet",
        "train_victim",
        ("train",),
        4000,
        partial(write_waves, length=16384, labels=WORDS10),
        _train_victim,
        38546,
        "Speech Commands: clips of the ten words",
    ),
    DataJob(
        "train_generator yes_to_no",
        "train_generator",
        ("train",),
        4000,
        partial(write_waves, length=16384, labels=WORDS10),
        _train_generator,
        38546,
        "the same (a generator reads its source word's rows)",
    ),
    DataJob(
        "train_imgstego ssim",
        "train_imgstego",
        ("train",),
        250,
        write_imgstego,
        _train_imgstego,
        7500,
        "TIMIT: 3/4 of 10 000 rows are training carriers (VOC: 5717 training images)",
    ),
    DataJob("train_enhancer", "train_enhancer", ("train",), 250, write_imgstego, _train_enhancer, 7500, "the same"),
    DataJob(
        "evaluate_imgstego ssim",
        "evaluate_imgstego",
        ("test", "val"),
        250,
        write_imgstego,
        _evaluate_imgstego,
        8323,
        "TIMIT: 2500 test carriers; VOC: 5823 val images",
    ),
    DataJob(
        "evaluate_generator yes_to_no",
        "evaluate_generator",
        ("test",),
        4000,
        partial(write_waves, length=16384, labels=("yes", "no")),  # half the test rows are the generator's source
        _evaluate_generator,
        9637,
        "Speech Commands: a quarter of the 38 546 clips are test (all_to_<target> generators read 9/10 of them)",
    ),
    DataJob(
        "attack_baseline genetic",
        "attack_baseline",
        ("test",),
        4000,
        partial(write_waves, length=16384, labels=WORDS10),
        _attack_baseline,
        9637,
        "the same (the attack draws config's clips of them)",
    ),
    DataJob("train_av lrw", "train_av", ("train",), 1000, write_av, _train_av, 488766, "LRW: 488 766 training clips"),
    DataJob("train_syncnet lrw", "train_syncnet", ("train",), 1000, write_av, _train_syncnet, 488766, "the same"),
    DataJob(
        "attack_av fgsm",
        "attack_av",
        ("val", "test"),
        250,
        write_av,
        _attack_fgsm,
        50000,
        "LRW: 25 000 val, 25 000 test",
    ),
)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--job", choices=sorted({job.key for job in JOBS} | {job.rule for job in JOBS}),
                        action="append", help="a corpus (its preparation) or a rule; default: all")  # fmt: skip
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every N by this")
    args = parser.parse_args(argv)
    print(f"{'job':24s} {'items N':>7s} {'RSS N':>6s} {'anon N':>6s} {'items 4N':>8s} {'RSS 4N':>6s} "
          f"{'anon 4N':>7s} {'MB/item':>7s} {'item MB':>7s} {'paper':>7s} {'projected':>9s} {'mem_mb':>7s} "
          f"{'from this':>9s}",
          flush=True)  # fmt: skip
    shares = []
    for job in JOBS:
        if args.job and not {job.key, job.rule} & set(args.job):
            continue
        n = max(2, round(job.n * args.scale))
        with tempfile.TemporaryDirectory(prefix=f"bench-memory-{job.rule}-") as tmp:
            items1, (rss1, anon1), item_mb = job.measure(n, Path(tmp) / "n")
            items4, (rss4, anon4), _ = job.measure(4 * n, Path(tmp) / "4n")
        growth = max(0.0, (anon4 - anon1) / (items4 - items1))
        projected = rss1 + growth * max(0, job.paper_rows - items1)
        shares.append((growth / item_mb, job.name))
        print(f"{job.name:24s} {items1:7d} {rss1:6.0f} {anon1:6.0f} {items4:8d} {rss4:6.0f} {anon4:7.0f} "
              f"{growth:7.4f} {item_mb:7.3f} {job.paper_rows:7d} {projected:9.0f} {rule_mem_mb(job.rule) or '?':>7} "
              f"{mem_mb_from(projected, job.gpu):9.0f}",
              flush=True)  # fmt: skip
    print("paper items: " + "; ".join(f"{job.name} {job.source}" for job in JOBS))
    worst, name = max(shares)
    print(f"worst growth per item / one item's size: {worst:.3f} ({name}; target < 0.1)")


if __name__ == "__main__":
    sys.exit(main())
