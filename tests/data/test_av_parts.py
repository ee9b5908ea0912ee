"""Paper 4's partitioned preparation: the stable hash split, and the gathered corpus the same rows in the same
order as one part gives, whatever the number of parts."""

from __future__ import annotations

import hashlib
import subprocess
import sys

import numpy as np
import pytest

from avsec.avdetect.data import load_av
from avsec.data.av import prep as av_prep
from avsec.data.av.corpora import lrw_items
from avsec.data.av.parts import in_part, part_dirs, part_of, stable_hash
from avsec.data.synth import make_corpus
from avsec.io.shards import ShardedArray


def test_stable_hash_is_sha1_and_the_same_in_every_process():
    sources = [f"lipread_mp4/ABOUT/train/ABOUT_{i:05d}.mp4" for i in range(200)] + ["s1/video/mpg_6000/bbaf2n.mpg"]
    here = [stable_hash(s) for s in sources]
    # another interpreter with another PYTHONHASHSEED gives the same numbers (Python's hash() would not)
    code = "import sys; from avsec.data.av.parts import stable_hash; print([stable_hash(s) for s in sys.argv[1:]])"
    env = {"PYTHONHASHSEED": "12345", "PYTHONPATH": ":".join(sys.path)}
    there = subprocess.run([sys.executable, "-c", code, *sources], capture_output=True, text=True, env=env, check=True)
    assert eval(there.stdout) == here
    assert here[0] == int.from_bytes(hashlib.sha1(sources[0].encode()).digest()[:8], "big")
    assert stable_hash("caf\udce9.mp4") == int.from_bytes(hashlib.sha1(b"caf\xe9.mp4").digest()[:8], "big")


@pytest.mark.parametrize("parts", [1, 2, 3, 64])
def test_every_clip_is_in_exactly_one_part(parts):
    sources = [f"lipread_mp4/W{i % 7}/test/W_{i:05d}.mp4" for i in range(1000)]
    owners = [[k for k in range(parts) if in_part(s, k, parts)] for s in sources]
    assert all(len(o) == 1 for o in owners)
    assert [o[0] for o in owners] == [part_of(s, parts) for s in sources]
    if parts > 1:  # roughly balanced
        counts = np.bincount([o[0] for o in owners], minlength=parts)
        assert counts.min() > 0 and counts.max() < 3 * len(sources) / parts


def test_adding_clips_moves_none_of_the_others():
    old = [f"s{i % 5}/{i}.mpg" for i in range(500)]
    new = old + [f"s9/{i}.mpg" for i in range(100)]
    assert [part_of(s, 8) for s in old] == [part_of(s, 8) for s in new[: len(old)]]


def test_bad_part_numbers_are_refused():
    with pytest.raises(ValueError):
        part_of("x", 0)
    with pytest.raises(ValueError):
        in_part("x", 2, 2)


@pytest.fixture(scope="module")
def lrw(tmp_path_factory):
    root = tmp_path_factory.mktemp("lrw") / "lrw"
    sizes = {"words": ["ABOUT", "AGAIN"], "train": 3, "val": 1, "test": 2, "defects": True}
    make_corpus("lrw", root, seed=7, sizes=sizes)
    return root


def prepare(lrw, out, parts):
    """The corpus in ``parts`` parts, as the rules run it; returns the gathered corpus and its mean face."""
    for k, landmarks in enumerate(part_dirs(out / "parts", "landmarks", parts)):
        av_prep.detect_corpus_landmarks(
            "lrw", lrw, landmarks, frames=29, backend="precomputed", max_missing=0.5, part=k, parts=parts
        )
    face = out / "mean_face.npy"
    av_prep.compute_mean_face(part_dirs(out / "parts", "landmarks", parts), face)
    for k, landmarks in enumerate(part_dirs(out / "parts", "landmarks", parts)):
        av_prep.crop_corpus_mouths("lrw", lrw, landmarks, face, out / f"parts/mouths/{k}", frames=29)
        av_prep.extract_corpus_audio("lrw", lrw, landmarks, out / f"parts/audio/{k}", frames=29)
    av_prep.gather_corpus(out / "parts", parts, out / "landmarks", out / "mouths", out / "audio")
    return out


@pytest.mark.parametrize("parts", [3, 16])  # 16 parts of 12 clips: some parts are empty
def test_gathered_parts_equal_one_part_and_the_unpartitioned_run(lrw, tmp_path, parts):
    whole = tmp_path / "whole"  # the steps as they ran before partitioning: one directory each
    av_prep.detect_corpus_landmarks("lrw", lrw, whole / "landmarks", frames=29, backend="precomputed", max_missing=0.5)
    av_prep.compute_mean_face(whole / "landmarks", whole / "mean_face.npy")
    av_prep.crop_corpus_mouths("lrw", lrw, whole / "landmarks", whole / "mean_face.npy", whole / "mouths", frames=29)
    av_prep.extract_corpus_audio("lrw", lrw, whole / "landmarks", whole / "audio", frames=29)
    one, three = prepare(lrw, tmp_path / "one", 1), prepare(lrw, tmp_path / "three", parts)
    sizes = [len(ShardedArray(p)) for p in part_dirs(three / "parts", "landmarks", parts)]
    assert sum(sizes) == len(ShardedArray(one / "landmarks")) and max(sizes) < sum(sizes)
    for out in (one, three):
        assert (out / "mean_face.npy").read_bytes() == (whole / "mean_face.npy").read_bytes()
        for name in ("transforms.npy", "boxes.npy"):
            assert (out / "mouths" / name).read_bytes() == (whole / "mouths" / name).read_bytes()
        for kind in ("landmarks", "mouths", "audio/wave", "audio/mfcc", "audio/logspec"):
            got, want = ShardedArray(out / kind), ShardedArray(whole / kind)
            assert [dict(m, shard="", index="") for m in got.manifest] == [
                dict(m, shard="", index="") for m in want.manifest
            ], kind
            assert all(np.array_equal(got[i], want[i], equal_nan=True) for i in range(len(want))), kind
            assert sorted((out / kind / "rejects.tsv").read_text().splitlines()) == sorted(
                (whole / kind / "rejects.tsv").read_text().splitlines()
            )
            assert (out / kind / "rejects.tsv").read_bytes() == (one / kind / "rejects.tsv").read_bytes()
    rejects = [(three / kind / "rejects.tsv").read_text().count("\n") - 1 for kind in ("landmarks", "mouths")]
    assert sum(rejects) > 0, rejects  # the planted defects are gathered
    for split in ("train", "val", "test"):
        a, b = load_av(one / "mouths", one / "audio", split), load_av(three / "mouths", three / "audio", split)
        assert a.sources == b.sources and a.labels == b.labels and a.skipped == b.skipped
        for kind in ("mouths", "audio/wave", "audio/mfcc"):
            assert a.read(range(len(a)), kind).numpy().tobytes() == b.read(range(len(b)), kind).numpy().tobytes()


def test_lrw_reader_reads_only_the_selected_clips(lrw):
    """A part's job reads the metadata of its own clips only; the result is the whole corpus's, filtered."""
    every, _ = lrw_items(lrw)
    for part in range(3):
        items, _ = lrw_items(lrw, lambda source, part=part: in_part(source, part, 3))
        assert items == [item for item in every if in_part(item.source, part, 3)]
    assert lrw_items(lrw, lambda source: False)[0] == []  # a part without clips is no error
