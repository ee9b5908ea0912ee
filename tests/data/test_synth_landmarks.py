"""The synthetic GRID and LRW faces' ground-truth landmarks: written beside the videos in the precomputed-landmarks
format for every video, right for the decoded pictures (the mouth points on the dark open mouth, the lip gap
following the audio, the face's layout, mirrored speakers), deterministic; and the precomputed-landmarks reader
on the community formats, on ours, and on bad files."""

from __future__ import annotations

import dataclasses
import os
import pickle
from pathlib import Path

import cv2
import numpy as np
import pytest

from avsec.core.errors import InputError
from avsec.data.av.landmarks.precomputed import LANDMARK_DIRS, landmark_path, read_landmarks, write_landmarks
from avsec.data.synth import make_corpus
from avsec.data.synth.face import MIRROR_68, TalkingFace, random_look
from avsec.io.video import read_video, read_video_audio

GRID_SIZES = {"speakers": 2, "sentences_per_speaker": 2}
LRW_SIZES = {"words": ("ABOUT", "AGAIN"), "train": 2, "val": 1, "test": 1}
CORPORA = {"grid": ("s*/video/mpg_6000/*.mpg", 75, (360, 288)), "lrw": ("lipread_mp4/*/*/*.mp4", 29, (256, 256))}


@pytest.fixture(scope="module")
def corpora(tmp_path_factory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("synth_landmarks")
    make_corpus("grid", base / "GRID", seed=7, sizes=GRID_SIZES)
    make_corpus("lrw", base / "LRW", seed=7, sizes=LRW_SIZES)
    return {"grid": base / "GRID", "lrw": base / "LRW"}


def _videos(corpora: dict[str, Path]) -> list[tuple[str, Path, Path]]:
    """(corpus, root, video) for every synthetic video."""
    return [
        (name, corpora[name], v) for name, (pattern, *_) in CORPORA.items() for v in sorted(corpora[name].glob(pattern))
    ]


def _landmarks(name: str, root: Path, video: Path) -> np.ndarray:
    return read_landmarks(landmark_path(root, video.relative_to(root), LANDMARK_DIRS[name]))


@pytest.fixture(scope="module")
def decoded(corpora) -> list[tuple[str, np.ndarray, np.ndarray, np.ndarray]]:
    """(video name, frames, landmarks, audio level per frame in dB) for every synthetic video."""
    out = []
    for name, root, video in _videos(corpora):
        frames, fps = read_video(video)
        audio = read_video_audio(video, 16000).astype(np.float64)
        hop = round(16000 / fps)
        level = [np.sqrt(np.mean(audio[i * hop : (i + 1) * hop] ** 2)) for i in range(len(frames))]
        out.append((video.name, frames, _landmarks(name, root, video), 20 * np.log10(np.asarray(level) + 1.0)))
    return out


def _grey_at(frames: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Grey level of each frame at its point (T, 2), bilinear."""
    grey = frames.astype(np.float32).mean(axis=3)
    return np.array(
        [cv2.getRectSubPix(g, (1, 1), (float(x), float(y)))[0, 0] for g, (x, y) in zip(grey, points, strict=True)]
    )


def _gap(landmarks: np.ndarray) -> np.ndarray:
    """Inner-lip opening (66 below 62) per frame, in units of the outer eye corners' distance (36-45)."""
    return (landmarks[:, 66, 1] - landmarks[:, 62, 1]) / np.linalg.norm(landmarks[:, 45] - landmarks[:, 36], axis=1)


# --- files ---------------------------------------------------------------------------------------------------


def test_a_landmark_file_for_every_video(corpora):
    for name, (pattern, frames, (width, height)) in CORPORA.items():
        root = corpora[name]
        videos = sorted(root.glob(pattern))
        assert len(videos) == (4 if name == "grid" else 8)
        expected = {landmark_path(root, v.relative_to(root), LANDMARK_DIRS[name]) for v in videos}
        assert set((root / LANDMARK_DIRS[name]).rglob("*.npz")) == expected  # one per video, nothing else
        for video in videos:
            landmarks = _landmarks(name, root, video)
            assert landmarks.shape == (frames, 68, 2) and landmarks.dtype == np.float32
            assert np.isfinite(landmarks).all()  # a face in every frame
            assert (landmarks >= 0).all() and (landmarks[..., 0] < width).all() and (landmarks[..., 1] < height).all()
    # the public loaders' layout: LRW_landmarks/<WORD>/<split>/<WORD>_NNNNN.npz with the array under "data"
    path = corpora["lrw"] / "LRW_landmarks" / "ABOUT" / "test" / "ABOUT_00001.npz"
    with np.load(path) as npz:  # no pickle needed
        assert npz.files == ["data"] and npz["data"].shape == (29, 68, 2)
    assert (corpora["grid"] / "GRID_landmarks" / "s1" / "video" / "mpg_6000").is_dir()


def test_same_seed_same_landmark_files(corpora, tmp_path):
    make_corpus("lrw", tmp_path / "l", seed=7, sizes={"words": ("ABOUT",), "train": 1, "val": 0, "test": 1})
    files = sorted(p.relative_to(tmp_path / "l") for p in (tmp_path / "l").rglob("*.npz"))
    assert len(files) == 2
    assert all((tmp_path / "l" / f).read_bytes() == (corpora["lrw"] / f).read_bytes() for f in files)


# --- the landmarks are right for the decoded pictures ---------------------------------------------------------


def test_mouth_points_lie_on_the_open_mouth(decoded):
    """Where the lips are apart, the mean of points 48-67 and of the inner lip 60-67 is on the dark inside of the
    mouth, the face's dark pixels around the mouth lie within the outer lip contour, and their centre is the inner
    lip's."""
    for name, frames, landmarks, _ in decoded:
        gap = _gap(landmarks)
        open_frames = np.flatnonzero(gap >= gap.min() + 0.6 * (gap.max() - gap.min()))
        assert len(open_frames) >= 3, name
        nose = _grey_at(frames, landmarks[:, 30])
        for points in (slice(48, 68), slice(60, 68)):
            centre = landmarks[:, points].mean(axis=1)
            assert (_grey_at(frames, centre)[open_frames] < 0.3 * nose[open_frames]).all(), name
        for t in open_frames:
            grey = frames[t].astype(np.float32).mean(axis=2)
            outer = landmarks[t, 48:60]
            width = outer[6, 0] - outer[0, 0]  # 48 to 54
            (x0, y0), (x1, y1) = outer.min(axis=0) - 0.4 * width, outer.max(axis=0) + 0.4 * width
            ys, xs = np.nonzero(grey[int(y0) : int(y1), int(x0) : int(x1)] < 50)
            dark = np.stack([xs + int(x0), ys + int(y0)], axis=1).astype(np.float32)
            face = landmarks[t, :17].reshape(-1, 1, 2)  # the jaw line: leaves out the collar under the chin
            dark = dark[[cv2.pointPolygonTest(face, (float(x), float(y)), False) > 0 for x, y in dark]]
            assert len(dark) > 20, (name, t)
            contour = outer.reshape(-1, 1, 2)
            inside = [cv2.pointPolygonTest(contour, (float(x), float(y)), True) > -2.0 for x, y in dark]
            assert np.mean(inside) > 0.98, (name, t, np.mean(inside))
            error = np.linalg.norm(dark.mean(axis=0) - landmarks[t, 60:68].mean(axis=0))
            assert error < 0.08 * width, (name, t, error, width)


def test_lip_gap_follows_the_audio(decoded):
    """The inner lips' gap (62 to 66) rises and falls with the audio level, in step (no frame shift does better)."""
    for name, _, landmarks, level in decoded:
        gap = _gap(landmarks)
        assert gap.max() - gap.min() > 0.1, name  # the mouth opens by a tenth of the eye span or more
        n = len(gap)
        corr = {
            k: np.corrcoef(gap[max(k, 0) : n + min(k, 0)], level[max(-k, 0) : n - max(k, 0)])[0, 1]
            for k in range(-4, 5)
        }
        assert corr[0] > 0.85 and max(corr, key=corr.get) == 0, (name, corr)


def test_face_layout_and_eyes(decoded):
    """Brows above eyes above the nose tip above the mouth above the chin; 36 (the subject's right eye's outer
    corner) on the image's left, whatever the speaker's mirror image; the eyes' centres on the dark irises."""
    for name, frames, lm, _ in decoded:
        y = lm[..., 1]
        eyes, brows = y[:, 36:48].mean(axis=1), y[:, 17:27].mean(axis=1)
        assert (brows < eyes).all() and (eyes < y[:, 30]).all() and (y[:, 30] < y[:, 33]).all(), name
        assert (y[:, 33] < y[:, 51]).all() and (y[:, 51] < y[:, 62]).all() and (y[:, 66] < y[:, 57]).all(), name
        assert (y[:, 57] < y[:, 8]).all(), name
        x = lm[..., 0]
        assert ((x[:, 36] < x[:, 39]) & (x[:, 39] < x[:, 42]) & (x[:, 42] < x[:, 45])).all(), name
        assert ((x[:, 0] < x[:, 30]) & (x[:, 30] < x[:, 16]) & (x[:, 48] < x[:, 54])).all(), name
        skin = _grey_at(frames, lm[:, 30])  # the nose tip
        for eye in (slice(36, 42), slice(42, 48)):
            assert (_grey_at(frames, lm[:, eye].mean(axis=1)) < 0.6 * skin).all(), name


def test_mirrored_speaker_mirrors_the_points():
    """A mirror-image look gives the mirror image of every point, with left and right indices swapped (the
    subject's right eye becomes the image-right eye): exact, with the jaw lowered as well."""
    look = random_look(np.random.default_rng(3), (256, 256), (105.0, 135.0))
    look = dataclasses.replace(look, motion=(0.0,) * 9)  # no head motion: the reflection is about the centre x
    openings = np.linspace(0.0, 1.0, 6)
    plain = TalkingFace(dataclasses.replace(look, mirror=False), (256, 256)).landmarks(openings, 25)
    mirrored = TalkingFace(dataclasses.replace(look, mirror=True), (256, 256)).landmarks(openings, 25)
    reflected = mirrored[:, MIRROR_68].copy()
    reflected[..., 0] = 2 * look.center[0] - reflected[..., 0]
    np.testing.assert_allclose(reflected, plain, atol=1e-3)
    assert (mirrored[:, 36, 0] < mirrored[:, 45, 0]).all() and (plain[:, 36, 0] < plain[:, 45, 0]).all()
    assert sorted(MIRROR_68) == list(range(68)) and (MIRROR_68[MIRROR_68] == np.arange(68)).all()


def test_points_follow_the_rendered_picture():
    """Rendered without compression: the inner lips' gap grows with the opening by the jaw drop the picture shows
    (the dark rows at the mouth's centre column); points above the lips' parting line and the jaw's upper ends
    (beyond the lowered jaw) never move, and the chin moves down."""
    look = dataclasses.replace(random_look(np.random.default_rng(5), (256, 256), (120.0, 120.0)), motion=(0.0,) * 9)
    face = TalkingFace(look, (256, 256))
    openings = np.array([0.0, 0.5, 1.0])
    frames, landmarks = face.render(openings, 25), face.landmarks(openings, 25)
    fixed = np.r_[0:5, 12:55, 60:65]  # jaw ends, brows, nose, eyes, upper lip (outer 48-54, inner 60-64)
    np.testing.assert_allclose(landmarks[:, fixed], landmarks[[0]][:, fixed].repeat(3, axis=0), atol=1e-6)
    assert (np.diff(landmarks[:, 8, 1]) > 3).all() and (np.diff(landmarks[:, 57, 1]) > 3).all()
    x = int(round(landmarks[0, 62, 0]))
    for frame, points, opening in zip(frames, landmarks, openings, strict=True):
        top, bottom = int(points[62, 1]) - 2, int(np.ceil(points[66, 1])) + 3  # the inner lips, and a margin
        dark_rows = (frame[top:bottom, x].astype(np.float32).mean(axis=1) < 100).sum()  # throat and tongue
        growth = points[66, 1] - landmarks[0, 66, 1]
        assert abs(growth - dark_rows) <= 2.0 and (growth > 5 * opening or opening == 0), (opening, growth, dark_rows)


# --- the precomputed-landmarks reader -------------------------------------------------------------------------


def _points(t: int) -> list[np.ndarray]:
    rng = np.random.default_rng(t)
    return [rng.uniform(0, 256, (68, 2)) for _ in range(t)]


def test_reads_the_community_lrw_files(tmp_path):
    """The legacy LRW_landmarks .npz: per frame a list of face dicts (empty without a face), read for a person."""
    points = _points(5)
    faces = [[{"facial_landmarks": p, "bbox": np.zeros(4)}] if i != 2 else [] for i, p in enumerate(points)]
    data = np.empty(len(faces), dtype=object)
    data[:] = faces
    path = tmp_path / "LRW_landmarks" / "ABOUT" / "test" / "ABOUT_00001.npz"
    path.parent.mkdir(parents=True)
    np.savez_compressed(path, data=data)
    assert landmark_path(tmp_path, "lipread_mp4/ABOUT/test/ABOUT_00001.mp4", "LRW_landmarks") == path
    landmarks = read_landmarks(path)
    assert landmarks.shape == (5, 68, 2) and landmarks.dtype == np.float32
    assert np.isnan(landmarks[2]).all() and np.isfinite(landmarks[[0, 1, 3, 4]]).all()
    np.testing.assert_allclose(landmarks[4], points[4], rtol=1e-6)
    assert np.isnan(read_landmarks(path, person=1)).all()  # nobody second in any frame
    same_count = np.empty((5, 1), dtype=object)  # equal face counts make numpy build a (frames, faces) array
    for i, p in enumerate(points):
        same_count[i, 0] = {"facial_landmarks": p}
    np.savez_compressed(tmp_path / "square.npz", data=same_count)
    np.testing.assert_allclose(read_landmarks(tmp_path / "square.npz"), np.stack(points), rtol=1e-6)


@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
def test_reads_pickled_frame_lists(tmp_path, protocol):
    """The current preprocessing's .pkl (a list of (68, 2) arrays or None), and an .npz object array of them."""
    frames = [p if i != 1 else None for i, p in enumerate(_points(4))]
    (tmp_path / "s1" / "video" / "mpg_6000").mkdir(parents=True)
    pkl = tmp_path / "GRID_landmarks" / "s1" / "video" / "mpg_6000" / "bbaf2n.pkl"
    pkl.parent.mkdir(parents=True)
    pkl.write_bytes(pickle.dumps(frames, protocol=protocol))
    assert landmark_path(tmp_path, "s1/video/mpg_6000/bbaf2n.mpg", "GRID_landmarks") == pkl  # only the .pkl exists
    landmarks = read_landmarks(pkl)
    assert np.isnan(landmarks[1]).all() and np.allclose(landmarks[3], frames[3])
    data = np.empty(len(frames), dtype=object)
    data[:] = frames
    np.savez(tmp_path / "objects.npz", data=data)
    np.testing.assert_array_equal(read_landmarks(tmp_path / "objects.npz"), landmarks)


def test_write_read_round_trip(tmp_path):
    landmarks = np.stack(_points(6)).astype(np.float32)
    landmarks[[0, 4]] = np.nan
    path = tmp_path / "deep" / "x.npz"
    write_landmarks(path, landmarks)
    np.testing.assert_array_equal(read_landmarks(path), landmarks)
    first = path.read_bytes()
    write_landmarks(path, [None if np.isnan(f).all() else f for f in landmarks])  # the per-frame form, same file
    assert path.read_bytes() == first
    assert [p.name for p in path.parent.iterdir()] == ["x.npz"]  # no temporary left behind
    with pytest.raises(InputError, match="shape"):
        write_landmarks(tmp_path / "bad.npz", np.zeros((3, 20, 2)))


def test_landmark_paths():
    assert landmark_path("/c", "lipread_mp4/AGAIN/val/AGAIN_00003.mp4", "LRW_landmarks") == Path(
        "/c/LRW_landmarks/AGAIN/val/AGAIN_00003.npz"
    )
    assert landmark_path("/c", "/c/LRW/lipread_mp4/AGAIN/val/AGAIN_00003.mp4", "/x/lm") == Path(
        "/x/lm/AGAIN/val/AGAIN_00003.npz"
    )  # root above the layout, landmarks elsewhere
    assert landmark_path("/c", "GRID/s12/video/mpg_6000/lwae8n.mpg", "GRID_landmarks") == Path(
        "/c/GRID_landmarks/s12/video/mpg_6000/lwae8n.npz"
    )
    with pytest.raises(ValueError, match="not inside"):
        landmark_path("/c", "/elsewhere/s1/x.mpg", "GRID_landmarks")


class _Payload:
    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.mkdir, (str(self.marker),))


def test_bad_landmark_files_raise_input_error(tmp_path):
    marker = tmp_path / "code-ran"
    bad = {
        "missing.npz": None,
        "junk.npz": b"not a zip file",
        "truncated.npz": "truncated",
        "wrong_shape.npz": "shape",
        "no_data_key.npz": "key",
        "partial_nan.npz": "partial",
        "evil.pkl": pickle.dumps([_Payload(marker)]),
        "evil.npz": "evil",
        "not_a_list.pkl": pickle.dumps({"frames": 3}),
        "bad_frame.pkl": pickle.dumps([np.zeros((68, 3))]),
        "landmarks.txt": b"1 2\n",
    }
    write_landmarks(tmp_path / "good.npz", np.stack(_points(3)))
    for name, content in bad.items():
        path = tmp_path / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        elif content == "truncated":
            path.write_bytes((tmp_path / "good.npz").read_bytes()[:150])
        elif content == "shape":
            np.savez(path, data=np.zeros((3, 5, 2)))
        elif content == "key":
            np.savez(path, landmarks=np.zeros((3, 68, 2)))
        elif content == "partial":
            data = np.zeros((2, 68, 2))
            data[1, 7] = np.nan
            np.savez(path, data=data)
        elif content == "evil":
            data = np.empty(1, dtype=object)
            data[0] = _Payload(marker)
            np.savez(path, data=data)
        with pytest.raises(InputError) as err:
            read_landmarks(path)
        assert str(path) in str(err.value), name
    assert not marker.exists()  # the pickled call was refused, not run
