"""Paper 4's preparation end to end on a small synthetic LRW: mouth crops land on the true mouth with the
`precomputed` and `opencv` landmark backends, and every output lines up with the landmarks manifest."""

from __future__ import annotations

import numpy as np
import pytest

from avsec.core.errors import ConfigError, InputError
from avsec.data.av import prep as av_prep
from avsec.data.av.landmarks.precomputed import LANDMARK_DIRS, landmark_path, read_landmarks
from avsec.data.av.mouth import apply_transform
from avsec.data.synth import make_corpus
from avsec.io.shards import ShardedArray, read_tsv


@pytest.fixture(scope="module")
def lrw(tmp_path_factory):
    root = tmp_path_factory.mktemp("lrw") / "lrw"
    make_corpus("lrw", root, seed=5, sizes={"words": ["ABOUT", "AGAIN"], "train": 2, "val": 1, "test": 1})
    return root


# Crops are centred on the ±6-frame smoothed mouth, so even true landmarks are off by a pixel or two per frame.
@pytest.mark.parametrize("backend, median_px, max_px", [("precomputed", 2.0, 5.0), ("opencv", 4.0, 16.0)])
def test_crops_land_on_the_true_mouth(lrw, tmp_path, backend, median_px, max_px):
    landmarks, face, mouths = tmp_path / "landmarks", tmp_path / "mean_face.npy", tmp_path / "mouths"
    summary = av_prep.detect_corpus_landmarks("lrw", lrw, landmarks, frames=29, backend=backend, max_missing=0.5)
    assert summary["rejects"] == 0 and summary["train"] == 4
    av_prep.compute_mean_face(landmarks, face, size=256)
    av_prep.crop_corpus_mouths("lrw", lrw, landmarks, face, mouths, frames=29)
    rows = ShardedArray(mouths)
    transforms, boxes = np.load(mouths / "transforms.npy"), np.load(mouths / "boxes.npy")
    assert len(rows) == len(ShardedArray(landmarks)) == len(transforms) == len(boxes) == 8
    errors = []
    for i, meta in enumerate(rows.manifest):
        truth = read_landmarks(landmark_path(lrw, meta["source"], LANDMARK_DIRS["lrw"]))[:, 48:68].mean(axis=1)
        for t in range(29):
            centre = apply_transform(transforms[i, t], truth[t][None])[0]  # the true mouth in aligned-face pixels
            box = boxes[i, t]
            errors.append(np.hypot(*(centre - [(box[0] + box[2]) / 2, (box[1] + box[3]) / 2])))
    assert np.median(errors) <= median_px and np.max(errors) <= max_px, (np.median(errors), np.max(errors))


def test_audio_features_follow_the_landmarks_manifest(lrw, tmp_path):
    landmarks, audio = tmp_path / "landmarks", tmp_path / "audio"
    av_prep.detect_corpus_landmarks("lrw", lrw, landmarks, frames=29, backend="precomputed", max_missing=0.5)
    av_prep.extract_corpus_audio("lrw", lrw, landmarks, audio, frames=29)
    sources = [m["source"] for m in read_tsv(landmarks / "manifest.tsv")]
    for kind, shape in (("wave", (29 * 640,)), ("mfcc", (13, 116))):
        rows = ShardedArray(audio / kind)
        assert [m["source"] for m in rows.manifest] == sources and rows[0].shape == shape


def test_grid_speakers_outside_every_split_are_recorded(tmp_path):
    root = tmp_path / "grid"
    make_corpus("grid", root, seed=2, sizes={"speakers": 2, "sentences_per_speaker": 1})
    out = tmp_path / "landmarks"
    av_prep.detect_corpus_landmarks(
        "grid", root, out, frames=75, backend="precomputed", max_missing=0.5, train="s1", val=[], test=[]
    )
    rejects = read_tsv(out / "rejects.tsv")
    assert [r["reason"] for r in rejects] == ["speaker s2 is in no split of av.grid_speakers"]
    assert {m["split"] for m in read_tsv(out / "manifest.tsv")} == {"train"}


def test_grid_split_by_sentences_is_the_same_in_every_part(tmp_path):
    root = tmp_path / "grid"
    make_corpus("grid", root, seed=2, sizes={"speakers": 2, "sentences_per_speaker": 4})
    options = {"frames": 75, "backend": "precomputed", "max_missing": 0.5, "train": ["s1", "s2"], "val": [], "test": []}
    split = {"split_by": "sentences", "sentence_fractions": [2, 1, 1], "split_seed": 3}
    av_prep.detect_corpus_landmarks("grid", root, tmp_path / "whole", **options, **split)
    whole = {m["source"]: m["split"] for m in read_tsv(tmp_path / "whole" / "manifest.tsv")}
    assert sorted(whole.values()) == ["test", "test", "train", "train", "train", "train", "val", "val"]
    assert {(source.split("/")[0], s) for source, s in whole.items()} == {
        (spk, s) for spk in ("s1", "s2") for s in ("train", "val", "test")
    }
    parts = {}
    for part in (0, 1):
        av_prep.detect_corpus_landmarks("grid", root, tmp_path / str(part), **options, **split, part=part, parts=2)
        parts.update((m["source"], m["split"]) for m in read_tsv(tmp_path / str(part) / "manifest.tsv"))
    assert parts == whole


def _files(folder) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_two_workers_write_what_one_writes(tmp_path):
    """Each step's clips through 2 worker processes: the same files, byte for byte (opencv landmarks, the crops,
    the audio features), and a clip that cannot be read is recorded as a reject either way."""
    lrw = tmp_path / "lrw"
    make_corpus("lrw", lrw, seed=5, sizes={"words": ["ABOUT", "AGAIN"], "train": 2, "val": 1, "test": 1})
    sorted(lrw.rglob("*.mp4"))[0].write_bytes(b"not a video")
    out = {}
    for workers in (1, 2):
        folder = tmp_path / f"w{workers}"
        landmarks = folder / "landmarks"
        av_prep.detect_corpus_landmarks("lrw", lrw, landmarks, frames=29, backend="opencv", max_missing=0.5,
                                        workers=workers)  # fmt: skip
        av_prep.compute_mean_face(landmarks, folder / "face.npy")
        av_prep.crop_corpus_mouths("lrw", lrw, landmarks, folder / "face.npy", folder / "mouths", frames=29,
                                   workers=workers)  # fmt: skip
        av_prep.extract_corpus_audio("lrw", lrw, landmarks, folder / "audio", frames=29, workers=workers)
        out[workers] = _files(folder)
    assert out[1].keys() == out[2].keys() and len(out[1]) > 10
    assert [name for name in out[1] if out[1][name] != out[2][name]] == []
    assert len(ShardedArray(tmp_path / "w2" / "mouths")) == 7
    assert "unreadable" in (tmp_path / "w2" / "landmarks" / "rejects.tsv").read_text().lower()


def test_one_video_is_prepared_as_the_corpus_steps_prepare_it(lrw, tmp_path):
    """prepare_clip (avsec sync / detect) gives a clip's crops and audio byte for byte as the landmark, mouth and
    audio steps do; a backend that cannot see a lone video, or a missing mean face, is one line."""
    landmarks, face = tmp_path / "landmarks", tmp_path / "face.npy"
    av_prep.detect_corpus_landmarks("lrw", lrw, landmarks, frames=29, backend="opencv", max_missing=0.5)
    av_prep.compute_mean_face(landmarks, face)
    av_prep.crop_corpus_mouths("lrw", lrw, landmarks, face, tmp_path / "mouths", frames=29)
    av_prep.extract_corpus_audio("lrw", lrw, landmarks, tmp_path / "audio", frames=29)
    mouths, wave = ShardedArray(tmp_path / "mouths"), ShardedArray(tmp_path / "audio/wave")
    for row in (0, len(mouths) - 1):
        source = mouths.manifest[row]["source"]
        assert wave.manifest[row]["source"] == source
        crops, audio = av_prep.prepare_clip(lrw / source, face, frames=29, backend="opencv", max_missing=0.5)
        assert np.array_equal(crops, mouths[row]) and np.array_equal(audio, wave[row]), source
    with pytest.raises(ConfigError, match="precomputed reads a corpus's landmark files"):
        av_prep.prepare_clip(lrw / source, face, frames=29, backend="precomputed", max_missing=0.5)
    with pytest.raises(InputError, match=r"nowhere\.npy: mean face not found"):
        av_prep.prepare_clip(lrw / source, tmp_path / "nowhere.npy", frames=29, backend="opencv", max_missing=0.5)
