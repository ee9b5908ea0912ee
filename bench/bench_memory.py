"""Peak memory of each job at two corpus sizes, N and 4N: does it stay flat as the corpus grows?

Each job is the rule's own script with the paper preset's settings, run in a fresh Python process as the
workflow runs it. Two peaks are taken: the peak RSS from the kernel (``os.wait4``), and the peak anonymous RSS
(``RssAnon`` in /proc, polled every 10 ms), which leaves out the pages of memory-mapped shards a streaming job
has read (file pages the kernel reclaims at will). Both sizes run in this one harness, the same way, so that the
difference between them is the job's growth, not run-to-run noise. For each job it prints the peaks at N and 4N,
the growth of the anonymous peak per item (MB per row, image or clip), the projected peak at the paper's corpus
size against the rule's paper-scale ``mem_mb`` (and the ``mem_mb`` config.yaml's rule makes of that projection), then
the worst growth per item as a share of one item's prepared size (target < 0.1: what a job keeps per item is its
results, never its inputs) and last the worst projected peak as a share of its ``mem_mb`` (target <= 1).

Jobs measured so far: ``prepare_corpus`` for each audio and image corpus (4N is 0.25-0.5 GB of prepared data per
corpus at the defaults); paper 1's ``train_stego`` and ``security_baseline_stego`` (its test split, every clip a
carrier; lsb_matching, the classic baseline); paper 2's ``train_victim`` and ``train_generator`` (int16 training
rows) and its ``evaluate_generator`` and ``attack_baseline`` (int16 test rows; PESQ on 4 clips, the genetic attack
on 4 clips for 2 iterations); paper 3's ``train_imgstego``, ``train_enhancer``, ``evaluate_imgstego`` and
``evaluate_enhanced`` (TIMIT carriers and 512 x 513 RGB VOC images, 32 images evaluated); paper 4's ``train_av``,
``train_syncnet`` (LRW-shaped training splits, 1.3 GB of prepared clips at 4N) and ``attack_av`` (FGSM on LRW-shaped
validation and test splits). The training and attack jobs read prepared shards written directly in the project's
format, run the paper preset's batch sizes and settings but the smoke scale's network widths, stop training after 2
steps (``--steps 2``) and attack at one ε setting (paper 1's clips are also cut to 4096 samples, so that its final
passes over the clips stay short): what grows with the corpus is the data path, which is the paper's.

Also measured: ``extract_stft`` (feature stego_timit: TIMIT-shaped train and test rows, 0.5 GB of prepared rows at
4N, 2 GB of float16 features written); paper 1's ``evaluate_stego`` (a model trained for 1 step, smoke width, crop
4096, which the checkpoint carries to the evaluation; its test split growing, 2000 clips at 4N = 0.13 GB at the
default N: the evaluation's time per clip keeps it there); paper 4's preparation steps ``detect_landmarks`` (opencv
backend), ``mean_face``, ``crop_mouths`` and ``extract_av_audio`` on synthetic LRW videos (avsec.data.synth: H.264 +
AAC MP4s; 40 and 160 clips at the default N, ~50 MB of prepared clips at 4N: synthesis and opencv landmarks take
about 1 s a clip on 2 cores, so 1 GB, some 3500 clips, is out of reach; the steps before each one run unmeasured and
are shared by the entries of one run); ``detect_av`` on FGSM attack JSONs of 2N val and test clips (they hold
per-clip confidences); and the reports ``report_stego``, ``report_advgan``, ``report_imgstego`` and
``report_avdetect``, which read per-run summary JSONs (lists per step or per example, not per clip; only
detection.json's per-test-clip confidences grow, measured through detect_av), measured once on a finished smoke run
(``--smoke-run``: a folder where the smoke workflow ran) with no growth ("-", "n/a").

    python bench/bench_memory.py                   # every job, N as in JOBS
    python bench/bench_memory.py --job voc --job train_av --scale 0.5
    python bench/bench_memory.py --job detect_landmarks --job mean_face --job crop_mouths --job extract_av_audio
    python bench/bench_memory.py --job crop_mouths --scale 2.5   # BENCHMARKS.md's AV figures: 100 and 400 clips
    python bench/bench_memory.py --job report_stego --smoke-run /tmp/wf   # after snakemake --cores 2 all there
"""

from __future__ import annotations

import argparse
import atexit
import os
import re
import shutil
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
from avsec.data.synth import make_corpus
from avsec.data.synth.voc import make_voc
from avsec.io.shards import ShardedArray
from avsec.rehearsal.data import write_av as write_av_clips
from avsec.rehearsal.data import write_images, write_waves

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


def peak_memory_mb(command: list[str], log: Path, cwd: Path = REPO) -> tuple[float, float]:
    """Run ``command`` in a fresh process (in ``cwd``): its peak resident set size and peak anonymous RSS (MB)."""
    with open(log, "w") as out:
        env = {**os.environ, "PYTHONPATH": str(REPO / "src")}  # this checkout's library, wherever avsec is installed
        child = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, cwd=cwd, env=env)
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
CLIP_MB = (LRW_FRAMES * 96 * 96 + LRW_FRAMES * 640 * 2 + 13 * 4 * LRW_FRAMES * 2) / 2**20  # crops, wave, MFCC
WORDS10 = ("yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go")
SMOKE_WIDTHS = {
    "recogniser": {"width": 0.125, "hidden": 32},
    "syncnet": {"width": 0.25, "size": 56, "embed": 128},
}


def write_av(root: Path, counts: dict[str, int], seed: int = 0) -> float:
    """results/av/<corpus>/{mouths, audio/wave, audio/mfcc} with ``counts[split]`` random LRW-shaped clips;
    returns one clip's prepared size (MB)."""
    return write_av_clips(root, counts, LRW_FRAMES, [f"w{i}" for i in range(WORDS)], seed)


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


FGSM_SETTING = {"eps_audio": 256, "eps_video": 4, "examples": 3}  # one setting: one attack_av job


def _attack_fgsm(av: Path, out: Path, setting: str = "fgsm_a256_v4") -> list[str]:
    if not (out / "syncnet.pt").exists():
        for make in (_train_av, _train_syncnet):  # the networks attacked: 1 step on the same clips
            _run_unmeasured(make(av, out, steps=1))
    return ["workflow/scripts/attack_av.py", "--method", "fgsm", "--setting", setting, "--mouths", str(av / "mouths"),
            "--audio", str(av / "audio"), "--recogniser", str(out / "recogniser.pt"), "--syncnet",
            str(out / "syncnet.pt"), "--out", str(out / "settings" / setting), "--seed", "0", "--threads", "2",
            *_avdetect_flags("fgsm", None, **FGSM_SETTING)]  # fmt: skip


def _gather_fgsm(av: Path, out: Path) -> list[str]:
    """gather_attack_av on FGSM's benign and one-setting jobs over the val and test clips; they run first, not
    measured."""
    for setting in ("benign", "fgsm_a256_v4"):
        _run_unmeasured(_attack_fgsm(av, out, setting))
    return ["workflow/scripts/gather_attack_av.py", "--method", "fgsm", "--settings", str(out / "settings"), "--out",
            str(out / "attack.json"), "--examples-dir", str(out / "examples"),
            *_avdetect_flags("fgsm", None, **FGSM_SETTING)]  # fmt: skip


# ---- papers 1 and 2: prepared int16 clips written directly, the training jobs run on them ------------------------
def _paper(*keys: str) -> dict:
    config = load_config(REPO / "config.yaml")
    node = config["scales"]["paper"]
    for key in keys:
        node = node[key]
    return node


def _train_stego(data: Path, out: Path, steps: int = 2) -> list[str]:
    """train_stego's flags as rules/common.smk's stego_train_settings builds them for TIMIT, smoke width."""
    config = load_config(REPO / "config.yaml")
    # smoke width, and clips cut to 4096 samples: the job ends with a pass over every training clip (BatchNorm
    # recalibration), which at the paper's whole clips and half width takes 0.5 s a clip on 2 cores
    sizes = {"epochs": _paper("stego", "epochs")["timit"], "crop": 4096, "width": 0.5, "steps": steps}
    settings = flags(config["stego"]["datasets"]["timit"], config["features"]["stego_timit"]["stft"],
                     config["stego"]["train"], {**_paper("stego", "train"), **sizes})  # fmt: skip
    return ["workflow/scripts/train_stego.py", "--run", "hpf_nor", "--data", str(data), "--out",
            str(out / "model.pt"), "--seed", "0", "--threads", "2", *settings.split()]  # fmt: skip


def _security_baseline_stego(data: Path, out: Path) -> list[str]:
    """Paper 1's security experiment (Table 4) for the classic baseline lsb_matching (no trained model needed; the
    GAN's, security_stego, is the same script and data path with a trained encoder making the stego audio),
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
    image = write_images(root / "voc", {"train": counts["train"], "val": counts["val"]}, shape, seed)
    return carrier + image


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


def _evaluate_imgstego(data: Path, out: Path, enhanced: bool = False) -> list[str]:
    """evaluate_imgstego's command (evaluate_enhanced's with ``enhanced``: the enhancer, trained first, added)."""
    if enhanced:
        _run_unmeasured(_train_enhancer(data, out))  # which trains the hiding networks first
    else:
        _run_unmeasured(_train_imgstego(data, out, steps=1))
    config = load_config(REPO / "config.yaml")
    # 32 images: the job's time is per image; what must not grow with the split is what it reads up front
    settings = flags(config["imgstego"]["evaluate"], {**_paper("imgstego", "evaluate"), "images": 32})
    enhancer = ["--enhancer", str(out / "enhancer.pt")] if enhanced else []
    return ["workflow/scripts/evaluate_imgstego.py", "--model", str(out / "model.pt"), *enhancer, "--timit",
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


def _extract_stft(data: Path, out: Path) -> list[str]:
    """extract_stft's flags for the feature stego_timit (rules/data.smk: features.stego_timit.stft)."""
    config = load_config(REPO / "config.yaml")
    settings = flags(config["features"]["stego_timit"]["stft"])
    return ["workflow/scripts/extract_stft.py", "--data", str(data), "--out", str(out / "features"),
            *settings.split()]  # fmt: skip


def _evaluate_stego(data: Path, out: Path) -> list[str]:
    """Paper 1's evaluation of a model trained for 1 step (smoke width, crop 4096: the checkpoint carries the crop
    to the evaluation, which cuts its test clips the same way), with the paper preset's evaluation flags."""
    _run_unmeasured(_train_stego(data, out, steps=1))
    config = load_config(REPO / "config.yaml")
    settings = flags(config["stego"]["evaluate"], _paper("stego", "evaluate"))
    return ["workflow/scripts/evaluate_stego.py", "--model", str(out / "model.pt"), "--data", str(data), "--out",
            str(out / "eval.json"), "--examples-dir", str(out / "examples"), "--seed", "0", "--threads", "2",
            *settings.split()]  # fmt: skip


def _detect_av(av: Path, out: Path) -> list[str]:
    """detect_av on the FGSM attack's JSON (its per-clip confidences of the val and test clips: the input that
    grows with the clips); the attack and the gather run first, not measured."""
    _run_unmeasured(_gather_fgsm(av, out))
    return ["workflow/scripts/detect_av.py", "--corpus", "lrw", "--attacks", str(out / "attack.json"), "--out",
            str(out / "detection.json")]  # fmt: skip


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
    gpu: bool = True  # the training, evaluation and attack rules run on a GPU at paper scale (not extract_stft)

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


# ---- paper 4's audiovisual preparation: synthetic LRW videos (avsec.data.synth), the steps of rules/av_data.smk --
LRW_BENCH_WORDS = ("ABOUT", "ABSOLUTELY", "ACCESS", "AGAIN")
_AV_CACHE: dict[int, Path] = {}  # clips → a folder of the synthetic corpus and its landmarks, for this process


def _lrw_corpus(n: int) -> Path:
    """A synthetic LRW corpus (H.264 + AAC MP4s, lipread_mp4/<WORD>/{train,val,test}/<WORD>_NNNNN.mp4) of ``n``
    clips: 4 words, 1 val and 1 test clip a word, the rest training clips; made once per process and size, so
    that the four steps of one run share it (its landmarks too). Returns the folder (corpus under ``lrw``)."""
    if n not in _AV_CACHE:
        folder = Path(tempfile.mkdtemp(prefix=f"bench-memory-lrw{n}-"))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        sizes = {"words": list(LRW_BENCH_WORDS), "train": n // len(LRW_BENCH_WORDS) - 2, "val": 1, "test": 1}
        make_corpus("lrw", folder / "lrw", seed=0, sizes={**sizes, "speakers": 4})
        _AV_CACHE[n] = folder
    return _AV_CACHE[n]


def _av_flags(step: str) -> list[str]:
    """rules/common.smk's av_settings for LRW (config av.<step> and av.lrw; the opencv landmark backend)."""
    config = load_config(REPO / "config.yaml")
    return flags(config["av"][step], config["av"]["lrw"]).split()


def _av_command(step: str, folder: Path, out: Path) -> list[str]:
    """prepare_av.py's command line for ``step`` as rules/av_data.smk runs it, on the corpus in ``folder``."""
    face_size = load_config(REPO / "config.yaml")["av"]["mouth"]["face_size"]
    corpus = ["--corpus", "lrw", "--root", str(folder / "lrw")]
    landmarks = ["--landmarks", str(folder / "landmarks")]
    return {
        "landmarks": ["landmarks", *corpus, *_av_flags("landmarks")],
        "mean_face": ["mean_face", *landmarks, "--size", str(face_size)],
        "mouths": ["mouths", *corpus, *landmarks, "--mean_face", str(folder / "mean_face.npy"), *_av_flags("mouth")],
        "audio": ["audio", *corpus, *landmarks, *_av_flags("audio")],
    }[step] + ["--out", str(out)]


@dataclass(frozen=True)
class AVPrepJob:
    """A step of paper 4's audiovisual preparation on ``n`` synthetic LRW clips (the item: a clip). The steps
    before it (landmarks, then the mean face) run first, not measured, and are kept for the next steps."""

    name: str
    rule: str
    step: str  # prepare_av.py's step
    n: int
    paper_rows: int
    source: str

    gpu = False  # detect_landmarks asks for a GPU only with the face_alignment backend; the bench runs opencv

    @property
    def key(self) -> str:  # --job
        return self.rule

    def measure(self, n: int, tmp: Path) -> tuple[int, tuple[float, float], float]:
        """Clips, peaks (RSS, anonymous RSS; MB) and one clip's prepared size (mouths and audio; MB)."""
        folder = _lrw_corpus(n)
        tmp.mkdir(parents=True)
        script = "workflow/scripts/prepare_av.py"
        before = {"landmarks": (), "mean_face": ("landmarks",), "mouths": ("landmarks", "mean_face"),
                  "audio": ("landmarks",)}[self.step]  # fmt: skip
        made = {"landmarks": folder / "landmarks", "mean_face": folder / "mean_face.npy"}
        for step in before:
            if not made[step].exists():
                _run_unmeasured([script, *_av_command(step, folder, made[step])])
        out = made.get(self.step, tmp / self.step)
        if out.exists():  # made unmeasured by an earlier entry: measure the step again, into tmp
            out = tmp / out.name
        peaks = peak_memory_mb([sys.executable, script, *_av_command(self.step, folder, out)], tmp / "log.txt")
        clips = sum(1 for _ in (folder / "lrw" / "lipread_mp4").glob("*/*/*.mp4"))
        return clips, peaks, CLIP_MB


# ---- the reports: per-run summary JSONs of a finished smoke run, measured once ------------------------------------


@dataclass(frozen=True)
class ReportJob:
    """A report rule on a finished smoke run's results (``--smoke-run``), run in that folder as the workflow runs it.
    Reports read per-run summaries (eval.json, metrics, detection.json) whose size does not grow with the corpus
    (their lists are per step or per example, not per clip), so they are measured once: items and growth are
    not applicable ("-"). report_avdetect is the exception in kind: detection.json keeps each attack setting's
    test-clip confidences (2 lists of the test clips' floats per setting), which grow with the test split; at
    the paper's 25 000 LRW test clips and 6 settings that is 300 000 floats, a few MB of JSON and ~10-30 MB as
    Python floats (detect_av, which writes them, is measured at N and 4N clips)."""

    name: str
    rule: str
    arguments: tuple[str, ...]  # the script's arguments after its name, as the smoke run's snakemake -n -p gives
    source: str

    n = 1
    gpu = False

    @property
    def key(self) -> str:  # --job
        return self.rule

    def measure_on(self, run: Path, tmp: Path) -> tuple[float, float]:
        """Peaks (RSS, anonymous RSS; MB) of the report on the results in ``run``, written under ``tmp``."""
        if not (run / "results").is_dir():
            raise SystemExit(f"{run}/results not found: the reports are measured on a finished smoke run")
        command = [sys.executable, str(REPO / "workflow" / "scripts" / f"{self.rule}.py"), *self.arguments]
        return peak_memory_mb([*command, "--out", str(tmp / "report")], tmp / "log.txt", cwd=run)


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
        "security_baseline_stego lsb_matching",
        "security_baseline_stego",
        ("test",),
        1000,
        partial(write_waves, length=32640, labels=("x",)),
        _security_baseline_stego,
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
        "evaluate_enhanced",
        "evaluate_enhanced",
        ("test", "val"),
        250,
        write_imgstego,
        partial(_evaluate_imgstego, enhanced=True),
        8323,
        "the same",
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
    DataJob(
        "gather_attack_av fgsm",
        "gather_attack_av",
        ("val", "test"),
        100,
        write_av,
        _gather_fgsm,
        50000,
        "the same (the jobs' JSON: per-clip values of both)",
        gpu=False,
    ),
    DataJob(
        "extract_stft stego_timit",
        "extract_stft",
        ("train", "test"),
        1000,
        partial(write_waves, length=32640, labels=("x",)),
        _extract_stft,
        10000,
        "config: scales.paper.prep.timit.count (every row, train and test)",
        gpu=False,
    ),
    AVPrepJob("detect_landmarks lrw", "detect_landmarks", "landmarks", 40, 538766, "LRW: 488 766 + 25 000 + 25 000"),
    AVPrepJob(
        "mean_face lrw",
        "mean_face",
        "mean_face",
        40,
        200_000 // LRW_FRAMES,
        "the clips whose frames fill avsec.data.av.mouth.mean_face's reservoir (max_frames 200 000 shapes): what it "
        "holds, the shapes and their Procrustes temporaries, stops growing there, whatever the corpus's size",
    ),
    AVPrepJob("crop_mouths lrw", "crop_mouths", "mouths", 40, 538766, "the same"),
    AVPrepJob("extract_av_audio lrw", "extract_av_audio", "audio", 40, 538766, "the same"),
    DataJob(
        "evaluate_stego hpf_nor",
        "evaluate_stego",
        ("test",),
        500,
        partial(write_waves, length=32640, labels=("x",)),
        _evaluate_stego,
        2500,
        "config: scales.paper.prep.timit.count (a quarter of them test; evaluate: clips 0, every test clip)",
    ),
    DataJob(
        "detect_av lrw",
        "detect_av",
        ("val", "test"),
        100,
        write_av,
        _detect_av,
        50000,
        "LRW: 25 000 val, 25 000 test (each attack JSON: per-clip values of both)",
        gpu=False,
    ),
    ReportJob(
        "report_stego",
        "report_stego",
        ("--timit", "ran_nor", "hpf_nor", "ran_an", "--librispeech", "ran_nor"),
        "per-run summaries",
    ),  # fmt: skip
    ReportJob(
        "report_advgan",
        "report_advgan",
        ("--wideresnet", "all_to_yes", "all_to_no", "--samplecnn", "all_to_jazz", "all_to_pop"),
        "per-run summaries",
    ),  # fmt: skip
    ReportJob(
        "report_imgstego",
        "report_imgstego",
        (
            "--evaluations",
            *(f"results/imgstego/{c}/eval.json" for c in ("base", "ssim", "enhanced")),
            "--examples",
            *(f"results/imgstego/{c}/examples" for c in ("base", "ssim", "enhanced")),
        ),
        "per-run summaries",
    ),  # fmt: skip
    ReportJob(
        "report_avdetect",
        "report_avdetect",
        (
            "--recognisers",
            *(f"results/avdetect/{c}/recogniser.json" for c in ("grid", "lrw")),
            "--syncnets",
            *(f"results/avdetect/{c}/syncnet.json" for c in ("grid", "lrw")),
            "--detections",
            *(f"results/avdetect/{c}/detection.json" for c in ("grid", "lrw")),
            "--examples",
            "results/avdetect/grid/attacks/cw/examples",
            "results/avdetect/lrw/attacks/fgsm/examples",
            "results/avdetect/lrw/attacks/bim/examples",
        ),
        "per-run summaries (detection.json: per-test-clip confidences)",
    ),  # fmt: skip
)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--job", choices=sorted({job.key for job in JOBS} | {job.rule for job in JOBS}),
                        action="append", help="a corpus (its preparation) or a rule; default: all")  # fmt: skip
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every N by this")
    parser.add_argument("--smoke-run", type=Path, help="a folder where the smoke workflow ran: the reports' inputs")
    args = parser.parse_args(argv)
    print(f"{'job':24s} {'items N':>7s} {'RSS N':>6s} {'anon N':>6s} {'items 4N':>8s} {'RSS 4N':>6s} "
          f"{'anon 4N':>7s} {'MB/item':>7s} {'item MB':>7s} {'paper':>7s} {'projected':>9s} {'mem_mb':>7s} "
          f"{'from this':>9s}",
          flush=True)  # fmt: skip
    shares, ratios = [], []  # (growth per item / item size, job), (projected / mem_mb, job)

    def row(job, n1: str, rss1: float, anon1: float, n4: str, rss4: str, anon4: str, growth: str, item: str,
            paper: str, projected: float) -> None:  # fmt: skip
        limit = rule_mem_mb(job.rule)
        if limit:
            ratios.append((projected / limit, job.name))
        print(f"{job.name:24s} {n1:>7s} {rss1:6.0f} {anon1:6.0f} {n4:>8s} {rss4:>6s} {anon4:>7s} {growth:>7s} "
              f"{item:>7s} {paper:>7s} {projected:9.0f} {limit or '?':>7} {mem_mb_from(projected, job.gpu):9.0f}",
              flush=True)  # fmt: skip

    for job in JOBS:
        if args.job and not {job.key, job.rule} & set(args.job):
            continue
        n = max(2, round(job.n * args.scale))
        if isinstance(job, ReportJob):  # per-run summaries, measured once, growth not applicable
            if args.smoke_run is None:
                print(f"{job.name:24s} not measured: give --smoke-run, a folder where the smoke workflow ran")
                continue
            with tempfile.TemporaryDirectory(prefix=f"bench-memory-{job.rule}-") as tmp:
                rss, anon = job.measure_on(args.smoke_run.resolve(), Path(tmp))
            row(job, "-", rss, anon, "-", "-", "-", "n/a", "-", "-", rss)
            continue
        with tempfile.TemporaryDirectory(prefix=f"bench-memory-{job.rule}-") as tmp:
            items1, (rss1, anon1), item_mb = job.measure(n, Path(tmp) / "n")
            items4, (rss4, anon4), _ = job.measure(4 * n, Path(tmp) / "4n")
        growth = max(0.0, (anon4 - anon1) / (items4 - items1))
        projected = rss1 + growth * max(0, job.paper_rows - items1)
        shares.append((growth / item_mb, job.name))
        row(job, str(items1), rss1, anon1, str(items4), f"{rss4:.0f}", f"{anon4:.0f}", f"{growth:.4f}",
            f"{item_mb:.3f}", str(job.paper_rows), projected)  # fmt: skip
    print("paper items: " + "; ".join(f"{job.name} {job.source}" for job in JOBS))
    if shares:
        worst, name = max(shares)
        print(f"worst growth per item / one item's size: {worst:.3f} ({name}; target < 0.1)")
    if ratios:
        worst, name = max(ratios)
        print(f"worst projected peak / mem_mb: {worst:.2f} ({name}; target <= 1)")


if __name__ == "__main__":
    sys.exit(main())
