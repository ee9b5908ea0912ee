"""Fault injection across the DAG (issue 8): bad input planted into copies of small synthetic corpora, into
checkpoints and into config.yaml, run through the real workflow scripts and Snakemake.

Each fault must end either in a recorded reject (a ``rejects.tsv`` line naming the planted file with a reason
that names the problem, while every other file of the corpus is still prepared) or in one clear line
``error: <file or key>: <problem>`` with exit status 1, no traceback and no output. One table, one test per
fault; BENCHMARKS.md ("Reliability") lists the same cases.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from avsec.io.shards import read_tsv
from conftest import REPO, VENV_ENV, copy_workflow, tool

pytestmark = pytest.mark.slow

UNICODE_DIR = "données 日本"  # non-ASCII and a space: where the Unicode cases put their copy


def run(cmd: list, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(c) for c in cmd], cwd=cwd, capture_output=True, text=True, encoding="utf-8", errors="replace", env=VENV_ENV
    )


def script(name: str, *args, log: Path) -> subprocess.CompletedProcess:
    """A workflow script as the rules call it, logging to ``log``."""
    return run([sys.executable, REPO / "workflow/scripts" / name, *args, "--log", log])


def synth(corpus: str, root: Path, seed: int, *sizes: str) -> Path:
    done = run([tool("avsec"), "synth", corpus, root, "--seed", seed, *sizes])
    assert done.returncode == 0, done.stderr
    return root


def rows_of(out: Path) -> list[tuple[str, str]]:
    """(source, offset) of every prepared row."""
    return sorted((m["source"], m["offset"]) for m in read_tsv(out / "manifest.tsv"))


def rejects_of(out: Path) -> dict[str, str]:
    return {r["source"]: r["reason"] for r in read_tsv(out / "rejects.tsv")}


# --- steps: how each kind of input is run; each returns the finished process and its outputs -----------------

Ran = tuple[subprocess.CompletedProcess, list[Path]]


def prep_step(corpus: str, *settings) -> Callable:
    def step(root: Path, work: Path, inputs: Clean) -> Ran:
        out = work / "prep"
        args = ("--corpus", corpus, "--root", root, "--out", out, "--seed", 1, *settings)
        return script("prepare_corpus.py", *args, log=work / "prep.log"), [out]

    return step


def landmarks_step(corpus: str, *settings) -> Callable:
    def step(root: Path, work: Path, inputs: Clean) -> Ran:
        out = work / "landmarks"
        args = ("landmarks", "--corpus", corpus, "--root", root, "--out", out, "--max_missing", 0.5, *settings)
        return script("prepare_av.py", *args, log=work / "landmarks.log"), [out]

    return step


GRID_LANDMARKS = ("--frames", 75, "--backend", "precomputed", "--train", "s1", "--val", "s2")


def grid_dag(root: Path, work: Path, inputs: Clean) -> Ran:
    """GRID through landmarks (precomputed: the videos are not decoded), mean face, mouth crops and audio; the
    mouth and audio steps decode the videos."""
    landmarks, face, mouths, audio = work / "landmarks", work / "mean_face.npy", work / "mouths", work / "audio"
    steps = [
        ("landmarks", "--corpus", "grid", "--root", root, "--out", landmarks, "--max_missing", 0.5, *GRID_LANDMARKS),
        ("mean_face", "--landmarks", landmarks, "--out", face, "--size", 256),
        ("mouths", "--corpus", "grid", "--root", root, "--landmarks", landmarks, "--mean_face", face)
        + ("--out", mouths, "--frames", 75, "--size", 96, "--face_size", 256, "--smooth_window", 6),
        ("audio", "--corpus", "grid", "--root", root, "--landmarks", landmarks, "--out", audio, "--frames", 75),
    ]
    for args in steps:
        done = script("prepare_av.py", *args, log=work / f"{args[0]}.log")
        if done.returncode:
            break
    return done, [mouths, audio / "wave"]


# --- the clean inputs, one per kind, prepared once: the reference every planted copy is compared with -----------


@dataclass
class Clean:
    root: Path
    step: Callable
    rows: list[tuple[str, str]]
    rejects: dict[str, str]
    outputs: list[Path] = field(default_factory=list)


def clean(tmp_path_factory, corpus: str, root: Path, step: Callable) -> Clean:
    inputs = Clean(root, step, [], {})
    done, inputs.outputs = step(root, tmp_path_factory.mktemp(f"{corpus}-clean"), inputs)
    assert done.returncode == 0, done.stderr
    inputs.rows, inputs.rejects = rows_of(inputs.outputs[0]), rejects_of(inputs.outputs[0])
    return inputs


@pytest.fixture(scope="module")
def speech_commands(tmp_path_factory):
    sizes = ("--speakers", 3, "--words", "yes", "no", "--background", 0)
    root = synth("speech_commands", tmp_path_factory.mktemp("sc") / "sc", 7, *sizes)
    return clean(tmp_path_factory, "speech_commands", root, prep_step("speech_commands", "--words", "yes", "no"))


@pytest.fixture(scope="module")
def timit(tmp_path_factory):
    sizes = ("--train_speakers_per_dialect", 1, "--test_speakers_per_dialect", 0)
    root = synth("timit", tmp_path_factory.mktemp("timit") / "timit", 3, *sizes)
    return clean(tmp_path_factory, "timit", root, prep_step("timit", "--segment", 16000, "--count", 100000))


@pytest.fixture(scope="module")
def librispeech(tmp_path_factory):
    sizes = ("--speakers", 1, "--chapters_per_speaker", 1, "--utterances_per_chapter", 4)
    root = synth("librispeech", tmp_path_factory.mktemp("libri") / "libri", 3, *sizes)
    settings = ("--subsets", "train-clean-100", "--segment", 16000, "--count", 100)
    return clean(tmp_path_factory, "librispeech", root, prep_step("librispeech", *settings))


@pytest.fixture(scope="module")
def lrw(tmp_path_factory):
    root = synth("lrw", tmp_path_factory.mktemp("lrw") / "lrw", 5, "--words", "ABOUT", "--train", 1, "--val", 0)
    step = landmarks_step("lrw", "--frames", 29, "--backend", "opencv")
    return clean(tmp_path_factory, "lrw", root, step)


@pytest.fixture(scope="module")
def grid(tmp_path_factory):
    root = synth("grid", tmp_path_factory.mktemp("grid") / "grid", 2, "--speakers", 2, "--sentences_per_speaker", 1)
    return clean(tmp_path_factory, "grid", root, landmarks_step("grid", *GRID_LANDMARKS))


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory, speech_commands):
    """A victim trained one epoch on the clean Speech Commands prep, a generator against it, and one evaluation
    that works: the faults below are then the only thing wrong."""
    root = tmp_path_factory.mktemp("ckpt")
    data = speech_commands.outputs[0]
    inputs = Clean(root, evaluate_step, [], {}, [data])
    victim = ("--victim", "wideresnet", "--labels", "yes", "no", "--rate", 16000, "--depth", 10, "--widen", 1)
    done = script(
        "train_victim.py",
        *victim,
        *("--data", data, "--out", root / "victim.pt", "--metrics", root / "victim.json", "--seed", 1),
        *("--epochs", 1, "--batch", 8, "--lr", 0.001, "--device", "cpu"),
        log=root / "victim.log",
    )
    assert done.returncode == 0, done.stderr
    (root / "victim.json").unlink()
    work = tmp_path_factory.mktemp("ckpt-control")
    done, _ = train_step(root, work, inputs)
    assert done.returncode == 0, done.stderr
    shutil.move(work / "new.pt", root / "generator.pt")
    done, outputs = evaluate_step(root, work, inputs)
    assert done.returncode == 0 and all(p.exists() for p in outputs), done.stderr
    return inputs


def train_step(root: Path, work: Path, inputs: Clean) -> Ran:
    out, data = work / "new.pt", inputs.outputs[0]
    args = ("--generator", "all_to_yes", "--victim", root / "victim.pt", "--data", data, "--out", out)
    settings = ("--seed", 1, "--epochs", 1, "--batch", 8, "--width", 0.25, "--discriminator_width", 0.125)
    done = script("train_generator.py", *args, *settings, "--device", "cpu", log=work / "train.log")
    return done, [out, Path(f"{out}.resume")]


def evaluate_step(root: Path, work: Path, inputs: Clean) -> Ran:
    out, examples, data = work / "eval.json", work / "examples", inputs.outputs[0]
    args = ("--generator", root / "generator.pt", "--victim", root / "victim.pt", "--data", data)
    settings = ("--out", out, "--examples-dir", examples, "--batch", 8, "--pesq_clips", 1, "--timing_clips", 1)
    done = script("evaluate_generator.py", *args, *settings, "--device", "cpu", log=work / "evaluate.log")
    return done, [out, examples]


def dry_run(root: Path, work: Path, inputs: Clean) -> Ran:
    return run([tool("snakemake"), "-n", "all"], cwd=root), [root / "results"]


@pytest.fixture(scope="module")
def workflow(tmp_path_factory):
    inputs = Clean(copy_workflow(tmp_path_factory.mktemp("wf") / "wf"), dry_run, [], {})
    done, _ = dry_run(inputs.root, inputs.root, inputs)
    assert done.returncode == 0, done.stderr
    return inputs


# --- the faults ----------------------------------------------------------------------------------------------


@dataclass
class Planted:
    """What a plant did: ``name`` is the planted file as the step names it (its rejects.tsv source, or the file or
    key the error line names); ``gone`` the clean rows' sources that must now be missing; ``renamed`` clean
    sources moved to a new name that must be prepared normally."""

    name: str
    gone: tuple[str, ...] = ()
    renamed: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Fault:
    id: str
    inputs: str  # the fixture with the clean inputs
    plant: Callable[[Path, Clean], Planted]
    outcome: str  # "reject", "prepared" or "error"
    message: str  # regex: the reject reason, or the problem after "error: <name>: "
    where: str = "copy"  # directory name of the planted copy
    step: Callable | None = None  # instead of the inputs' own step


def first(clean: Clean, prefix: str = "") -> str:
    return next(source for source, _ in clean.rows if source.startswith(prefix))


def replace_file(write: Callable[[Path], None], prefix: str = "") -> Callable[[Path, Clean], Planted]:
    """Damage the first prepared file (under ``prefix``) in place with ``write``."""

    def plant(root: Path, clean: Clean) -> Planted:
        source = first(clean, prefix)
        write(root / source)
        return Planted(source, gone=(source,))

    return plant


def samples(path: Path) -> np.ndarray:
    return sf.read(str(path), dtype="int16")[0]


def truncate(fraction: float) -> Callable[[Path], None]:
    def cut(path: Path) -> None:
        data = path.read_bytes()
        path.write_bytes(data[: int(len(data) * fraction)])

    return cut


def empty_wav(path: Path) -> None:
    sf.write(str(path), np.zeros(0, np.int16), 16000, subtype="PCM_16")


def stereo_wav(path: Path) -> None:
    x = samples(path)
    sf.write(str(path), np.stack([x, x], axis=1), 16000, subtype="PCM_16")


def wrong_rate_wav(path: Path) -> None:
    sf.write(str(path), samples(path), 8000, subtype="PCM_16")


def nan_wav(path: Path) -> None:
    x = samples(path).astype(np.float32) / 32768
    x[100:200] = np.nan
    sf.write(str(path), x, 16000, subtype="FLOAT")


def text_bytes(path: Path) -> None:
    path.write_bytes(b"this is a text file, not audio\n" * 40)


def jpeg_bytes(path: Path) -> None:
    from PIL import Image

    Image.new("RGB", (16, 16), (200, 30, 30)).save(path, format="JPEG")


def grey_video(path: Path) -> None:
    """The clip re-encoded with flat grey frames (no face to find), its speech kept."""
    from avsec.io.video import read_clip, write_video

    frames, fps, audio = read_clip(path, 16000)
    write_video(path, np.full_like(frames, 128), fps, audio, 16000)


def latin1_name(root: Path, clean: Clean) -> Planted:
    """A copy of a good clip under a name that is not UTF-8 (``café`` in Latin-1, as old archives have them)."""
    source = first(clean, "yes/")
    shutil.copy(root / source, os.fsencode(root / "yes") + b"/caf\xe9_nohash_0.wav")
    return Planted("yes/caf\\xe9_nohash_0.wav")


def unicode_clip(root: Path, clean: Clean) -> Planted:
    """A training clip renamed to a non-ASCII name (in a copy under a non-ASCII directory with a space)."""
    source, new = first(clean, "yes/"), "yes/日本ü_nohash_0.wav"
    (root / source).rename(root / new)
    return Planted(new, renamed={source: new})


def unicode_word(root: Path, clean: Clean) -> Planted:
    """LRW's word folder and files renamed ABOUT → ÜBER (in a copy under a non-ASCII directory)."""
    old, new = "lipread_mp4/ABOUT", "lipread_mp4/ÜBER"
    for path in sorted((root / old).rglob("*"), reverse=True):
        if path.is_file():
            target = root / new / path.relative_to(root / old).as_posix().replace("ABOUT_", "ÜBER_")
            target.parent.mkdir(parents=True, exist_ok=True)
            path.rename(target)
    renamed = {s: s.replace("ABOUT", "ÜBER") for s, _ in clean.rows}
    return Planted(next(iter(renamed.values())), renamed=renamed)


def missing_align(root: Path, clean: Clean) -> Planted:
    source = first(clean, "s2/")
    (root / "s2/align" / f"{Path(source).stem}.align").unlink()
    return Planted(source, gone=(source,))


def edit_config(old: str, new: str) -> Callable[[Path, Clean], Planted]:
    def plant(root: Path, clean: Clean) -> Planted:
        text = (root / "config.yaml").read_text(encoding="utf-8")
        assert old in text, old
        (root / "config.yaml").write_text(text.replace(old, new, 1), encoding="utf-8")
        return Planted("config.yaml")

    return plant


def checkpoint(name: str, change: Callable[[Path, Path], None]) -> Callable[[Path, Clean], Planted]:
    """``change(path of the checkpoint ``name``, the other checkpoint's path)`` in the planted copy."""

    def plant(root: Path, clean: Clean) -> Planted:
        other = root / ("victim.pt" if name == "generator.pt" else "generator.pt")
        change(root / name, other)
        return Planted(str(root / name))

    return plant


def copy_other(path: Path, other: Path) -> None:
    shutil.copy(other, path)


def edit_payload(edit: Callable[[dict], None]) -> Callable[[Path, Path], None]:
    def change(path: Path, other: Path) -> None:
        import torch

        payload = torch.load(path, weights_only=True)
        edit(payload)
        torch.save(payload, path)

    return change


def wider_generator(payload: dict) -> None:
    """The weights of a width-0.5 generator in a checkpoint that says width 0.25."""
    from avsec.advgan.nets import Generator

    payload["modules"]["generator"] = Generator(0.5).state_dict()


def unsafe_object(path: Path, other: Path) -> None:
    """A checkpoint holding a class instance: the safe loader must refuse it, not run it."""
    import torch

    torch.save({"kind": "generator", "extra": Path("x")}, path)


FAULTS = [
    # audio files (prepare_corpus.py)
    Fault(
        "timit-truncated-sphere",
        "timit",
        replace_file(truncate(0.5)),
        "reject",
        r"^truncated audio \(the header declares \d+ samples, the file holds \d+\)$",
    ),
    Fault("sc-empty-wav", "speech_commands", replace_file(empty_wav), "reject", r"^empty audio \(0 samples\)$"),
    Fault(
        "sc-stereo-wav",
        "speech_commands",
        replace_file(stereo_wav),
        "reject",
        r"^expected mono audio, found 2 channels$",
    ),
    Fault(
        "sc-wrong-rate-wav",
        "speech_commands",
        replace_file(wrong_rate_wav),
        "reject",
        r"^sample rate 8000 Hz, expected 16000 Hz$",
    ),
    Fault(
        "sc-nan-float-wav",
        "speech_commands",
        replace_file(nan_wav),
        "reject",
        r"^audio contains NaN or infinite samples$",
    ),
    Fault(
        "sc-truncated-wav",
        "speech_commands",
        replace_file(truncate(0.5)),
        "reject",
        r"^truncated audio \(the header declares \d+ samples, the file holds \d+\)$",
    ),
    Fault(
        "sc-text-named-wav",
        "speech_commands",
        replace_file(text_bytes),
        "reject",
        r"^unreadable audio \(.*Format not recognised",
    ),
    Fault(
        "librispeech-jpeg-named-flac",
        "librispeech",
        replace_file(jpeg_bytes),
        "reject",
        r"^unreadable audio \(.*Format not recognised",
    ),
    Fault(
        "sc-unicode-file-name",
        "speech_commands",
        unicode_clip,
        "prepared",
        "",
        where=f"{UNICODE_DIR}/copy",
    ),
    Fault(
        "sc-latin1-file-name",
        "speech_commands",
        latin1_name,
        "reject",
        r"^file name is not valid UTF-8 \(rename it",
    ),
    # audiovisual clips (prepare_av.py)
    Fault(
        "lrw-corrupt-mp4",
        "lrw",
        replace_file(truncate(1 / 3)),
        "reject",
        r"^unreadable video \(Invalid data found when processing input\)$",
    ),
    Fault(
        "lrw-video-without-face",
        "lrw",
        replace_file(grey_video),
        "reject",
        r"^no face in 29 of 29 frames \(> max_missing=0\.5\)$",
    ),
    Fault("lrw-unicode-word", "lrw", unicode_word, "prepared", "", where=f"{UNICODE_DIR}/copy"),
    Fault(
        "grid-missing-align",
        "grid",
        missing_align,
        "reject",
        r"^no alignment file \(s2/align/\w+\.align or alignments/s2/\w+\.align not found\)$",
    ),
    Fault(
        "grid-corrupt-mpg-downstream",
        "grid",
        replace_file(truncate(1 / 3), "s2/"),
        "reject",
        r"^\d+ frames, expected 75 \(more than 5 off\)$",  # MPEG-PS decodes up to the cut
        step=grid_dag,
    ),
    # config.yaml (snakemake -n all)
    Fault(
        "config-unknown-key",
        "workflow",
        edit_config("    segment: 32640\n", "    segment: 32640\n    segmnet: 1\n"),
        "error",
        r"^prep\.timit: unknown key\(s\) 'segmnet'$",
    ),
    Fault(
        "config-unknown-synth-size",
        "workflow",
        edit_config("timit: {train_speakers_per_dialect:", "timit: {speakrs: 2, train_speakers_per_dialect:"),
        "error",
        r"^scales\.smoke\.synthesize\.timit: unknown key\(s\) 'speakrs' \(the timit generator takes ",
    ),
    Fault(
        "config-dotdot-feature",
        "workflow",
        edit_config("  stego_timit:", "  ../x:"),
        "error",
        r"^features: '\.\./x' is not a valid name",
    ),
    Fault(
        "config-dotdot-generator",
        "workflow",
        edit_config("[all_to_yes, all_to_no]", "[all_to_yes, ../all_to_no]"),
        "error",
        r"^\S*generator\S*\.wideresnet\.1: '\.\./all_to_no' is not a valid name",
    ),
    # checkpoints (train_generator.py, evaluate_generator.py)
    Fault(
        "ckpt-victim-as-generator",
        "checkpoints",
        checkpoint("generator.pt", copy_other),
        "error",
        r"^is a 'victim' checkpoint, expected 'generator'$",
    ),
    Fault(
        "ckpt-generator-as-victim",
        "checkpoints",
        checkpoint("victim.pt", copy_other),
        "error",
        r"^is a 'generator' checkpoint, expected 'victim'$",
        step=train_step,
    ),
    Fault(
        "ckpt-generator-width-relabelled",
        "checkpoints",
        checkpoint("generator.pt", edit_payload(wider_generator)),
        "error",
        r"^does not match the Generator architecture \(size mismatch for ",
    ),
    Fault(
        "ckpt-victim-relabelled-samplecnn",
        "checkpoints",
        checkpoint("victim.pt", edit_payload(lambda p: p.update(victim="samplecnn"))),
        "error",
        r"^its settings do not build the network \(.*unexpected keyword argument 'depth'\)$",
        step=train_step,
    ),
    Fault(
        "ckpt-truncated-generator",
        "checkpoints",
        checkpoint("generator.pt", lambda path, other: truncate(0.5)(path)),
        "error",
        r"^corrupt or unreadable checkpoint \(no zip directory: truncated, or not a PyTorch file\)$",
    ),
    Fault(
        "ckpt-unsafe-object",
        "checkpoints",
        checkpoint("generator.pt", unsafe_object),
        "error",
        r"^corrupt or unreadable checkpoint \(refused by the safe loader: Unsupported global: .*PosixPath",
    ),
]


@pytest.mark.parametrize("fault", FAULTS, ids=[f.id for f in FAULTS])
def test_fault_is_handled(fault: Fault, request, tmp_path: Path) -> None:
    clean: Clean = request.getfixturevalue(fault.inputs)
    root = tmp_path / fault.where
    shutil.copytree(clean.root, root, symlinks=True)
    planted = fault.plant(root, clean)
    work = tmp_path / "work"
    work.mkdir()
    done, outputs = (fault.step or clean.step)(root, work, clean)
    logs = "".join(p.read_text(encoding="utf-8", errors="replace") for p in work.glob("*.log"))
    assert "Traceback" not in done.stderr + logs, done.stderr + logs

    if fault.outcome == "error":
        assert done.returncode == 1, done.stderr
        assert done.stderr.count("\n") == 1, done.stderr  # one line, whatever else the step printed to its log
        line = done.stderr.strip()
        prefix = f"error: {planted.name}: "
        assert line.startswith(prefix), line
        problem = re.sub(r" \(log: [^()]*\)$", "", line[len(prefix) :])
        assert re.search(fault.message, problem), problem
        assert not any(p.exists() for p in outputs)
        assert not [p.name for p in [*work.iterdir(), *root.iterdir()] if p.name.startswith(".") and "tmp" in p.name]
        return

    assert done.returncode == 0, done.stderr + logs
    for out in outputs:
        want = sorted(
            (planted.renamed.get(source, source), offset) for source, offset in clean.rows if source not in planted.gone
        )
        assert rows_of(out) == want  # every other file still prepared, the renamed ones under their new names
        new = {s: r for s, r in rejects_of(out).items() if s not in clean.rejects}
        if fault.outcome == "prepared":
            assert new == {} and planted.name in dict(rows_of(out))
        else:
            assert list(new) == [planted.name], new
            assert re.search(fault.message, new[planted.name]), new[planted.name]
