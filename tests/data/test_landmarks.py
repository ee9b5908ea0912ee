"""Landmark detection on real pictures: the opencv backend against the synthetic faces' ground truth (mouth centre
within a bounded pixel error, the mouth refinement correcting a misplaced shape, NaN rows without a face), and the
face_alignment glue end to end with locally built networks (random weights saved in the cache's file names and
formats; nothing is downloaded), its geometry, and its one-line error for a cache without the weights."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from avsec.core.errors import ConfigError, InputError
from avsec.data.av.landmarks import BACKENDS, detect, fan, opencv
from avsec.data.av.landmarks.precomputed import LANDMARK_DIRS, landmark_path, read_landmarks
from avsec.data.synth import make_corpus
from avsec.io.video import read_video

MOUTH = slice(48, 68)
CORPORA = {  # a few clips of each synthetic corpus: (sizes, video pattern)
    "lrw": ({"words": ["ABOUT"], "train": 2, "val": 0, "test": 0}, "lipread_mp4/*/*/*.mp4"),
    "grid": ({"speakers": 2, "sentences_per_speaker": 1}, "s*/video/mpg_6000/*.mpg"),
}


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(name, decoded frames, ground-truth landmarks) of every synthetic video."""
    out = []
    for corpus, (sizes, pattern) in CORPORA.items():
        root = tmp_path_factory.mktemp("landmarks") / corpus
        make_corpus(corpus, root, seed=1, sizes=sizes)
        for video in sorted(root.glob(pattern)):
            truth = read_landmarks(landmark_path(root, video.relative_to(root), LANDMARK_DIRS[corpus]))
            out.append((video.name, read_video(video)[0], truth))
    return out


def _mouth_errors(found: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Per frame, the distance in pixels between the centres (means of points 48-67) of two mouths."""
    return np.linalg.norm(found[:, MOUTH].mean(axis=1) - truth[:, MOUTH].mean(axis=1), axis=1)


# --- opencv ----------------------------------------------------------------------------------------------------


def test_opencv_finds_the_mouth(clips):
    errors = []
    for name, frames, truth in clips:
        found = detect(frames, backend="opencv")
        assert found.shape == (len(frames), 68, 2) and found.dtype == np.float32
        assert np.isfinite(found).all(), f"{name}: no face in some frames"
        error = _mouth_errors(found, truth)
        assert error.max() <= 5.0, f"{name}: mouth centre {error.max():.1f} px off"
        assert np.linalg.norm(found - truth, axis=2).mean() <= 6.0, f"{name}: the face's layout is off"
        errors.append(error)
    assert np.concatenate(errors).mean() <= 2.0


@pytest.mark.parametrize("shift", [0.07, -0.07])
def test_opencv_mouth_refinement_finds_the_mouth_of_a_vertically_misplaced_shape(clips, monkeypatch, shift):
    """A mean shape placed 7 % of the face box too low or too high (a face of other proportions) still gets its
    mouth on the mouth: the refinement finds the mouth's height in the image."""
    left, top, width, height = opencv.SHAPE_IN_BOX
    monkeypatch.setattr(opencv, "SHAPE_IN_BOX", (left, top + shift, width, height))
    for name, frames, truth in clips:
        placed = _mouth_errors(opencv.detect(frames, refine_mouth=False), truth)
        refined = _mouth_errors(opencv.detect(frames), truth)
        assert placed.mean() >= 4.0  # the misplacement shows without the refinement
        assert refined.max() <= 6.0 and refined.mean() <= 3.0, f"{name}: {refined.max():.1f} px"


def test_opencv_mouth_refinement_corrects_a_sideways_shape_partly(clips, monkeypatch):
    """Across, the correction is bounded (the Haar box is centred on a frontal face): a shape 7 % of the box to the
    side gets its mouth closer, by up to a tenth of a mouth width."""
    left, top, width, height = opencv.SHAPE_IN_BOX
    monkeypatch.setattr(opencv, "SHAPE_IN_BOX", (left + 0.07, top, width, height))
    name, frames, truth = clips[0]
    placed = _mouth_errors(opencv.detect(frames, refine_mouth=False), truth)
    refined = _mouth_errors(opencv.detect(frames), truth)
    assert refined.mean() <= 0.6 * placed.mean(), f"{name}: {refined.mean():.1f} px vs {placed.mean():.1f} px"


def test_opencv_frames_without_a_face_get_nan_rows(clips):
    frames = clips[0][1][:6].copy()
    frames[[1, 4]] = 128  # flat grey: no face
    found = detect(frames, backend="opencv")
    missing = np.isnan(found).all(axis=(1, 2))
    assert missing.tolist() == [False, True, False, False, True, False]
    assert np.isfinite(found[~missing]).all()
    assert np.isnan(detect(np.full((3, 64, 64, 3), 128, np.uint8), backend="opencv")).all()


def test_opencv_options_and_bad_input():
    grey = np.full((2, 64, 64, 3), 128, np.uint8)
    with pytest.raises(ConfigError, match="scale_factor"):
        detect(grey, backend="opencv", scale_factor=1.0)
    with pytest.raises(ConfigError, match="min_size"):
        detect(grey, backend="opencv", min_size=0)
    with pytest.raises(ConfigError, match="cascade"):
        detect(grey, backend="opencv", cascade="no_such_cascade.xml")
    with pytest.raises(ValueError, match="uint8"):
        detect(grey.astype(np.float32), backend="opencv")


def test_backends():
    grey = np.full((1, 32, 32, 3), 128, np.uint8)
    assert BACKENDS == ("face_alignment", "precomputed", "opencv")
    with pytest.raises(ConfigError, match="read_landmarks"):
        detect(grey, backend="precomputed")
    with pytest.raises(ConfigError, match="dlib"):
        detect(grey, backend="dlib")


# --- face_alignment --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    """A weight cache filled with face_alignment's own networks, randomly initialised, in the real file names and
    formats (plain state dicts, as torch.save writes them): the glue runs without the real weights."""
    from face_alignment.detection.sfd.net_s3fd import s3fd
    from face_alignment.models import FAN

    folder = tmp_path_factory.mktemp("fa_cache")
    torch.manual_seed(0)
    torch.save(FAN(4).state_dict(), folder / fan.FAN_FILE)
    (folder / "checkpoints").mkdir()  # torch hub's layout is found too
    torch.save(s3fd().state_dict(), folder / "checkpoints" / "s3fd-619a316812.pth")
    return folder


@pytest.fixture
def no_download(monkeypatch):
    """Any attempt to fetch a file fails the test."""

    def refuse(*args, **kwargs):
        raise AssertionError(f"attempted a download: {args[:1]}")

    monkeypatch.setattr(torch.hub, "download_url_to_file", refuse)
    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", refuse)


def test_face_alignment_runs_from_the_cache_with_the_opencv_box(clips, cache, no_download):
    frames = clips[0][1][:3].copy()
    frames[1] = 128
    found = detect(frames, backend="face_alignment", cache_dir=cache, detector="opencv", device="cpu")
    assert found.shape == (3, 68, 2) and found.dtype == np.float32
    assert np.isnan(found[1]).all() and np.isfinite(found[[0, 2]]).all()
    # Random weights put the points anywhere in FAN's crop (about twice the face box around it), not further.
    box = opencv.landmark_boxes(frames)[0]
    size = box[2] - box[0]
    assert (found[0] >= box[:2] - 1.2 * size).all() and (found[0] <= box[2:] + 1.2 * size).all()


def test_face_alignment_runs_from_the_cache_with_sfd(clips, cache, no_download):
    frames = clips[0][1][:2]
    found = detect(frames, backend="face_alignment", cache_dir=cache, device="cpu", flip_input=False)
    assert found.shape == (2, 68, 2) and found.dtype == np.float32
    for row in found:  # random S3FD weights may or may not see a face; a row is whole or NaN
        assert np.isfinite(row).all() or np.isnan(row).all()


def test_face_alignment_geometry(clips):
    """Heatmap peaks map back to the frame through FAN's crop: a peak at the heatmap's centre lands at the crop
    centre (the box centre, raised by 12 % of its height), and one at a corner cell half a crop away."""

    class Peaks(torch.nn.Module):
        def forward(self, x):
            heat = torch.zeros(len(x), 68, 64, 64)
            heat[:, :34, 32, 32] = 1.0
            heat[:, 34:, 8, 56] = 1.0
            return [heat]

    model = fan.Landmarker(Peaks(), None, "cpu", 195.0)
    frames = clips[0][1][:2]
    boxes = np.array([[60, 70, 160, 170], [np.nan] * 4], np.float32)
    found = model.landmarks(frames, boxes, flip_input=False, batch_size=4)
    assert np.isnan(found[1]).all()
    scale = 200 / 195  # crop side in box sides: 200 * (w + h) / 195 / w / 2
    centre = np.array([110.0, 120.0 - 0.12 * 100])
    cell = 2 * 100 * scale / 64
    assert np.abs(found[0, :34] - centre).max() <= cell
    corner = centre + (np.array([56.0, 8.0]) - 31.5) * cell
    assert np.abs(found[0, 34:] - corner).max() <= cell


def test_face_alignment_missing_cache_is_one_clear_line(tmp_path, no_download):
    frames = np.full((1, 32, 32, 3), 128, np.uint8)
    with pytest.raises(ConfigError) as err:
        detect(frames, backend="face_alignment", cache_dir=tmp_path / "empty")
    message = str(err.value)
    assert "\n" not in message
    for name in ("2DFAN4-11f355bf06.pth.tar", "s3fd-619a316812.pth", str(tmp_path / "empty")):
        assert name in message
    assert "curl -fL -o" in message and fan.URLS[fan.FAN_FILE] in message
    assert not (tmp_path / "empty").exists()  # nothing created, nothing fetched
    with pytest.raises(ConfigError, match="blazeface.pth, anchors.npy"):
        detect(frames, backend="face_alignment", cache_dir=tmp_path, detector="blazeface")
    with pytest.raises(ConfigError, match="needs cache_dir"):
        detect(frames, backend="face_alignment")
    with pytest.raises(ConfigError, match="detector"):
        detect(frames, backend="face_alignment", cache_dir=tmp_path, detector="dlib")
    with pytest.raises(ConfigError, match="device"):
        detect(frames, backend="face_alignment", cache_dir=tmp_path, device="tpu")


def test_face_alignment_corrupt_weights_name_the_file(tmp_path, no_download):
    (tmp_path / fan.FAN_FILE).write_bytes(b"not a checkpoint")
    frames = np.full((1, 32, 32, 3), 128, np.uint8)
    with pytest.raises(InputError) as err:
        detect(frames, backend="face_alignment", cache_dir=tmp_path, detector="opencv", device="cpu")
    assert err.value.path == str(tmp_path / fan.FAN_FILE) and "FAN" in err.value.problem
