"""Benchmark the audio prep functions against plain decoding of the same files.

For each corpus: (a) soundfile decoding every file the prep reads (``sf.read(path, dtype="int16")``, the
least any prep must do) and (b) the prep function itself, writing its shards, each timed over several
repetitions after one warm-up (so both see a warm page cache). Prints the best times per corpus and, as
its last line, the ratio prep/decode over all corpora benchmarked (target ≤ 1.5).

    python bench/bench_prep.py                         # synthetic tones in the real layouts, all corpora
    python bench/bench_prep.py --corpus gtzan --root /data/gtzan --reps 3
"""

from __future__ import annotations

import argparse
import contextlib
import io
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import soundfile as sf

from avsec.data import corpora, prep
from avsec.io.audio import write_audio

CORPORA = ("timit", "librispeech", "gtzan", "speech_commands")


def make_timit(root: Path, n: int, rng: np.random.Generator) -> None:
    """``n`` utterances of 2-4 s, NIST SPHERE at 16 kHz, over 8 dialect regions."""
    for i in range(n):
        path = root / "TIMIT/TRAIN" / f"DR{i % 8 + 1}" / f"MSPK{i // 10}" / f"SX{i}.WAV"
        write_audio(path, noise(rng, int(rng.integers(32000, 64000))), 16000, format="NIST")


def make_librispeech(root: Path, n: int, rng: np.random.Generator) -> None:
    """``n`` FLAC utterances of 5-15 s at 16 kHz, ten per chapter."""
    for i in range(n):
        spk, chap = 100 + i // 20, 1000 + i // 10
        path = root / "LibriSpeech/train-clean-100" / f"{spk}/{chap}/{spk}-{chap}-{i % 10:04d}.flac"
        write_audio(path, noise(rng, int(rng.integers(80000, 240000))), 16000)


def make_gtzan(root: Path, n: int, rng: np.random.Generator) -> None:
    """``n`` AU tracks of 30 s at 22050 Hz over four genres."""
    for i in range(n):
        genre = ("blues", "jazz", "metal", "pop")[i % 4]
        write_audio(root / "genres" / genre / f"{genre}.{i // 4:05d}.au", noise(rng, 661794), 22050)


def make_speech_commands(root: Path, n: int, rng: np.random.Generator) -> None:
    """``n`` WAV clips of 0.5-1 s at 16 kHz over four words, a tenth in each official list."""
    listed = {"validation_list.txt": [], "testing_list.txt": []}
    for i in range(n):
        rel = f"{('yes', 'no', 'up', 'down')[i % 4]}/{i:08x}_nohash_0.wav"
        write_audio(root / "sc" / rel, noise(rng, int(rng.integers(8000, 16001))), 16000)
        if i % 10 in (1, 2):
            listed["validation_list.txt" if i % 10 == 1 else "testing_list.txt"].append(rel)
    for name, rels in listed.items():
        (root / "sc" / name).write_text("".join(f"{r}\n" for r in rels))


def noise(rng: np.random.Generator, n: int) -> np.ndarray:
    """Band-limited-ish noise (so FLAC compresses like speech would, roughly)."""
    x = np.cumsum(rng.standard_normal(n)) * 50
    return np.clip(x - np.convolve(x, np.ones(64) / 64, mode="same"), -32768, 32767).astype(np.int16)


def setup(corpus: str, root: Path | None, tmp: Path, size: int) -> tuple[list[Path], Callable[[Path], dict]]:
    """The files the prep reads and a function running the prep into a given directory."""
    rng = np.random.default_rng(0)
    if corpus == "timit":
        if root is None:
            make_timit(tmp, size, rng)
        root = root or tmp / "TIMIT"
        files = [i.path for i in corpora.timit_items(root)]
        return files, lambda out: prep.prep_timit(root, out, count=10**9, seed=0)
    if corpus == "librispeech":
        if root is None:
            make_librispeech(tmp, size, rng)
        root = root or tmp / "LibriSpeech"
        files = [i.path for i in corpora.librispeech_items(root, ["train-clean-100"])]
        return files, lambda out: prep.prep_librispeech(root, out, subsets=["train-clean-100"], count=10**9, seed=0)
    if corpus == "gtzan":
        if root is None:
            make_gtzan(tmp, max(1, size // 10), rng)
        root = root or tmp
        files = [i.path for i in corpora.gtzan_items(root)]
        return files, lambda out: prep.prep_gtzan(root, out, seed=0)
    if root is None:
        make_speech_commands(tmp, size * 4, rng)
    root = root or tmp / "sc"
    words = ["yes", "no", "up", "down"]
    files = [i.path for i in corpora.speech_commands_items(root, words)]
    return files, lambda out: prep.prep_speech_commands(root, out, words=words)


def decode_all(files: list[Path]) -> None:
    for path in files:
        sf.read(str(path), dtype="int16")


def timed(fn: Callable[[], object], reps: int) -> float:
    """Best wall time of ``reps`` runs after one warm-up run (the least disturbed by other processes)."""
    fn()
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def bench(corpus: str, root: Path | None, reps: int, size: int) -> tuple[float, float]:
    with tempfile.TemporaryDirectory(prefix=f"bench-{corpus}-") as tmp:
        files, run_prep = setup(corpus, root, Path(tmp), size)
        out = Path(tmp) / "prepared"

        def prep_once() -> None:
            shutil.rmtree(out, ignore_errors=True)
            with contextlib.redirect_stderr(io.StringIO()):  # no progress bars in the figures
                run_prep(out)

        decode = timed(lambda: decode_all(files), reps)
        prepare = timed(prep_once, reps)
    print(f"{corpus:16s} files {len(files):5d}  decode {decode:8.3f} s  prep {prepare:8.3f} s  "
          f"ratio {prepare / decode:6.2f}", flush=True)  # fmt: skip
    return decode, prepare


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", choices=(*CORPORA, "all"), default="all")
    parser.add_argument("--root", type=Path, help="an existing corpus root (with one --corpus)")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--size", type=int, default=200, help="synthetic corpus size (files; gtzan: size/10)")
    args = parser.parse_args(argv)
    if args.root is not None and args.corpus == "all":
        parser.error("--root needs one --corpus")
    names = CORPORA if args.corpus == "all" else (args.corpus,)
    results = [bench(name, args.root, args.reps, args.size) for name in names]
    decode, prepare = (sum(r[i] for r in results) for i in (0, 1))
    print(f"prep/decode ratio: {prepare / decode:.2f}")


if __name__ == "__main__":
    sys.exit(main())
