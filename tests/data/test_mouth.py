"""Mouth-region crops: landmark interpolation and smoothing, the mean face, similarity alignment, crops that land
on the mouth under rotation/scale/translation, rejection, paste-back, greyscale and normalisation."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from skimage.transform import SimilarityTransform

from avsec.data.av import mouth
from avsec.data.av.mouth import (
    STABLE_POINTS,
    align_transforms,
    apply_transform,
    centre_crop,
    crop_mouths,
    footprint,
    interpolate_missing,
    mean_face,
    mouth_roi,
    normalise,
    paste_back,
    similarity,
    smooth,
    stack_landmarks,
)


def template_face() -> np.ndarray:
    """A plausible 68-point face (iBUG numbering) in a unit box, x right, y down."""
    pts = np.zeros((68, 2))
    th = np.linspace(0, np.pi, 17)
    pts[0:17] = np.stack([0.5 - 0.45 * np.cos(th), 0.3 + 0.7 * np.sin(th)], 1)  # jaw, ear to ear via chin
    for start, (x0, x1) in ((17, (0.15, 0.42)), (22, (0.58, 0.85))):  # eyebrows
        x = np.linspace(x0, x1, 5)
        pts[start : start + 5] = np.stack([x, 0.15 + 4 * (x - (x0 + x1) / 2) ** 2], 1)
    pts[27:31] = np.stack([np.full(4, 0.5), np.linspace(0.3, 0.55, 4)], 1)  # nose bridge
    pts[31:36] = np.stack([np.linspace(0.4, 0.6, 5), [0.6, 0.61, 0.62, 0.61, 0.6]], 1)  # nose bottom
    for start, cx in ((36, 0.3), (42, 0.7)):  # eyes: corner, top, top, corner, bottom, bottom
        a = np.array([np.pi, 2 * np.pi / 3, np.pi / 3, 0, -np.pi / 3, -2 * np.pi / 3])
        pts[start : start + 6] = np.stack([cx + 0.08 * np.cos(a), 0.32 - 0.03 * np.sin(a)], 1)
    k = np.arange(12)  # outer lips from the left corner over the top
    pts[48:60] = np.stack([0.5 - 0.17 * np.cos(2 * np.pi * k / 12), 0.78 - 0.07 * np.sin(2 * np.pi * k / 12)], 1)
    k = np.arange(8)
    pts[60:68] = np.stack([0.5 - 0.1 * np.cos(2 * np.pi * k / 8), 0.78 - 0.03 * np.sin(2 * np.pi * k / 8)], 1)
    return pts


def sim_matrix(scale: float, angle_deg: float, tx: float, ty: float) -> np.ndarray:
    """(2, 3) similarity: rotate by ``angle_deg`` and scale about the origin, then translate."""
    a = np.deg2rad(angle_deg)
    c, s = scale * np.cos(a), scale * np.sin(a)
    return np.array([[c, -s, tx], [s, c, ty]])


def invert(m: np.ndarray) -> np.ndarray:
    return cv2.invertAffineTransform(np.asarray(m, dtype=np.float64))


@pytest.fixture(scope="module")
def mf() -> np.ndarray:
    return mean_face([template_face()[None] * 100.0])


def face_image(mf: np.ndarray, mouth_shift: float = 8.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A colour 256×256 face drawn in the mean face's frame: skin ellipse, dark eyes, and a bright mouth blob
    ``mouth_shift`` px below the mean face's mouth; returns (image, its landmarks, the blob centre)."""
    lm = mf.copy()
    lm[48:68, 1] += mouth_shift
    img = np.zeros((256, 256, 3), np.uint8)
    img[:] = (40, 60, 90)
    yy, xx = np.mgrid[0:256, 0:256]
    img[..., 1] = np.clip(60 + xx // 4 + yy // 8, 0, 255)  # a gentle texture so the background is not flat
    centre = tuple(int(v) for v in lm.mean(axis=0))
    cv2.ellipse(img, centre, (75, 90), 0, 0, 360, (180, 140, 120), -1)
    for eye in (lm[36:42].mean(axis=0), lm[42:48].mean(axis=0)):
        cv2.circle(img, tuple(int(round(v)) for v in eye), 7, (20, 20, 20), -1)
    blob = lm[48:68].mean(axis=0)
    cv2.ellipse(img, tuple(int(round(v)) for v in blob), (20, 9), 0, 0, 360, (250, 250, 250), -1)
    return img, lm, blob


def blob_centre(crop: np.ndarray) -> np.ndarray:
    ys, xs = np.nonzero(crop > 230)
    assert len(xs) > 50, "mouth blob not in the crop"
    return np.array([xs.mean(), ys.mean()])


# -- interpolation and smoothing -------------------------------------------------------------------------------


def test_interpolate_gaps_and_edges():
    rng = np.random.default_rng(0)
    lm = rng.normal(size=(12, 68, 2)) * 10 + 100
    holes = [0, 1, 4, 5, 6, 11]
    gappy = lm.copy()
    gappy[holes] = np.nan
    out = interpolate_missing(gappy)
    assert out.shape == (12, 68, 2) and not np.isnan(out).any()
    keep = [i for i in range(12) if i not in holes]
    np.testing.assert_array_equal(out[keep], lm[keep])
    np.testing.assert_allclose(out[0], lm[2])  # leading gap copies the first detected frame
    np.testing.assert_allclose(out[1], lm[2])
    np.testing.assert_allclose(out[11], lm[10])  # trailing gap copies the last
    for t, w in ((4, 1 / 4), (5, 2 / 4), (6, 3 / 4)):  # between frames 3 and 7
        np.testing.assert_allclose(out[t], (1 - w) * lm[3] + w * lm[7])
    assert np.isnan(gappy).any()  # the input is not modified


def test_interpolate_no_face_and_stack():
    with pytest.raises(ValueError, match="no face"):
        interpolate_missing(np.full((5, 68, 2), np.nan))
    lm = stack_landmarks([None, np.ones((68, 2)), np.array([]), np.zeros((68, 2))])
    assert lm.shape == (4, 68, 2)
    assert mouth.missing_frames(lm).tolist() == [True, False, True, False]


def test_smooth_window():
    t = np.arange(29, dtype=np.float64)
    lm = np.broadcast_to(t[:, None, None], (29, 68, 2)).copy()
    out = smooth(lm, window=6)
    np.testing.assert_allclose(out[6:-6], lm[6:-6])  # a linear trajectory is unchanged where the window fits
    np.testing.assert_allclose(out[0, 0, 0], np.mean(t[0:7]))  # truncated at the start: frames 0..6
    np.testing.assert_allclose(out[-1, 0, 0], np.mean(t[-7:]))
    np.testing.assert_allclose(out[3, 0, 0], np.mean(t[0:10]))
    impulse = np.zeros((29, 68, 2))
    impulse[14] = 13.0
    spread = smooth(impulse, 6)[:, 0, 0]
    np.testing.assert_allclose(spread[8:21], 1.0)  # ±6 frames → 13-frame mean
    assert spread[7] == 0 and spread[21] == 0
    np.testing.assert_array_equal(smooth(lm, 0), lm)
    with pytest.raises(ValueError, match="interpolate"):
        smooth(np.full((3, 68, 2), np.nan))


# -- mean face and alignment ------------------------------------------------------------------------------------


def test_mean_face_recovers_shape_and_placement():
    rng = np.random.default_rng(1)
    base = template_face()
    sets = []
    for _ in range(6):
        frames = []
        for _ in range(10):
            m = sim_matrix(rng.uniform(80, 200), rng.uniform(-30, 30), *rng.uniform(0, 300, 2))
            frames.append(apply_transform(m, base + rng.normal(scale=0.005, size=base.shape)))
        seq = np.stack(frames)
        seq[0] = np.nan  # faceless frames are skipped
        sets.append(seq)
    mf = mean_face(iter(sets), size=256)
    assert mf.shape == (68, 2)
    fit = apply_transform(similarity(base, mf), base)
    assert np.abs(fit - mf).max() < 1.0  # the template's shape up to a similarity (pixels in 256)
    eyes_dy = mf[42:48, 1].mean() - mf[36:42, 1].mean()
    assert abs(eyes_dy) < 1e-6 and mf[36:42, 0].mean() < mf[42:48, 0].mean()  # upright, not mirrored
    width = mf[:, 0].max() - mf[:, 0].min()
    assert width == pytest.approx(mouth.FACE_WIDTH * 256)
    assert (mf[:, 0].max() + mf[:, 0].min()) / 2 == pytest.approx(128)
    mouth_y = mf[48:68, 1].mean()
    assert 150 < mouth_y < 256 - 48  # lower part, with room for a 96-pixel crop
    assert mf.min() > 0 and mf.max() < 256
    # subsampling keeps the answer
    small = mean_face(sets, size=256, max_frames=20)
    assert np.abs(small - mf).max() < 1.0
    with pytest.raises(ValueError, match="no frame"):
        mean_face([np.full((3, 68, 2), np.nan)])


def test_align_transforms_recover_similarity(mf):
    rng = np.random.default_rng(2)
    truths = [sim_matrix(s, a, tx, ty) for s, a, tx, ty in [(1.0, 0, 0, 0), (0.7, 20, -30, 10), (1.6, -35, 60, -5)]]
    # frame landmarks = inverse truth applied to the mean face, so the frame→face transform is the truth
    lm = np.stack([apply_transform(invert(m), mf) for m in truths])
    got = align_transforms(lm, mf)
    assert got.shape == (3, 2, 3) and got.dtype == np.float32
    for g, m in zip(got, truths, strict=True):
        np.testing.assert_allclose(g, m, atol=2e-3)
    noisy = lm + rng.normal(scale=1.5, size=lm.shape)
    got = align_transforms(noisy, mf)
    for g, frame_lm in zip(got, noisy, strict=True):
        idx = list(STABLE_POINTS)
        ref = SimilarityTransform.from_estimate(frame_lm[idx], mf[idx])
        np.testing.assert_allclose(g, ref.params[:2], rtol=1e-4, atol=1e-3)  # same least-squares fit as skimage
    with pytest.raises(ValueError, match="NaN"):
        align_transforms(np.full((1, 68, 2), np.nan), mf)


# -- crops ------------------------------------------------------------------------------------------------------


POSES = [(1.0, 0.0, 0.0, 0.0), (1.3, 18.0, 20.0, -40.0), (0.75, -25.0, 60.0, 30.0), (1.1, 40.0, -50.0, -30.0)]


def posed_frames(mf: np.ndarray, shape: tuple[int, int] = (288, 360)) -> tuple[np.ndarray, np.ndarray]:
    """The synthetic face under each of POSES (face→frame similarity), with the matching landmarks."""
    img, lm, _ = face_image(mf)
    frames, lms = [], []
    for s, a, tx, ty in POSES:
        m = sim_matrix(s, a, 0, 0)  # the face's centre goes to the frame's centre + (tx, ty)
        m[:, 2] = np.array([shape[1] / 2 + tx, shape[0] / 2 + ty]) - apply_transform(m, [[128.0, 128.0]])[0]
        frames.append(cv2.warpAffine(img, m, (shape[1], shape[0]), flags=cv2.INTER_LINEAR))
        lms.append(apply_transform(m, lm))
    return np.stack(frames), np.stack(lms)


def test_crop_centred_on_mouth_under_pose(mf):
    frames, lm = posed_frames(mf)
    crops, transforms, boxes = crop_mouths(frames, lm, mf)
    assert crops.shape == (len(POSES), 96, 96) and crops.dtype == np.uint8
    assert transforms.shape == (len(POSES), 2, 3) and transforms.dtype == np.float32
    assert boxes.shape == (len(POSES), 4) and np.issubdtype(boxes.dtype, np.integer)
    assert np.all(boxes[:, 2:] - boxes[:, :2] == 96)
    for crop in crops:
        err = np.linalg.norm(blob_centre(crop) - 47.5)
        assert err < 1.5, f"mouth blob {err:.2f} px off the crop centre"
    colour, _, _ = crop_mouths(frames, lm, mf, grey=False)
    assert colour.shape == (len(POSES), 96, 96, 3)
    assert np.abs(mouth.luma(colour).astype(int) - crops.astype(int)).max() <= 1


def test_direct_crop_equals_full_warp_then_cut(mf):
    frames, lm = posed_frames(mf)
    crops, transforms, boxes = crop_mouths(frames, lm, mf, grey=False)
    for frame, crop, m, (x0, y0, x1, y1) in zip(frames, crops, transforms, boxes, strict=True):
        face = cv2.warpAffine(frame, m.astype(np.float64), (256, 256), flags=cv2.INTER_LINEAR)
        err = np.abs(face[y0:y1, x0:x1].astype(int) - crop.astype(int))
        assert err.max() <= 3 and err.mean() < 0.05  # OpenCV's 1/32-pixel fixed point, at the blob's sharp edge


def test_box_clamped_inside_face(mf):
    img, lm, _ = face_image(mf)
    lm2 = lm.copy()
    lm2[48:68, 1] += 60  # mouth landmarks far down: the box must stop at the face's edge
    lm2[48:68, 0] -= 150
    _, _, boxes = crop_mouths(img[None], lm2[None], mf, stable=mouth.PUBLIC_STABLE_POINTS)
    x0, y0, x1, y1 = boxes[0]
    assert x0 == 0 and y1 == 256


def test_mouth_roi_interpolates_and_rejects(mf):
    img, lm, _ = face_image(mf)
    m = sim_matrix(1.2, 12, 0, 0)
    m[:, 2] = [40, -30]
    frame = cv2.warpAffine(img, m, (360, 288), flags=cv2.INTER_LINEAR)
    frames = np.repeat(frame[None], 29, axis=0)
    lms = np.repeat(apply_transform(m, lm)[None], 29, axis=0)
    lms[[0, 1, 10, 11, 12, 28]] = np.nan
    crops, transforms, boxes = mouth_roi(frames, lms, mf)
    assert crops.shape == (29, 96, 96)
    for crop in crops:
        assert np.linalg.norm(blob_centre(crop) - 47.5) < 1.5
    lms[:15] = np.nan
    with pytest.raises(ValueError, match=r"no face in 16 of 29 frames \(> max_missing"):
        mouth_roi(frames, lms, mf, max_missing=0.5)
    mouth_roi(frames, lms, mf, max_missing=0.6)
    with pytest.raises(ValueError, match="no face in 29 of 29"):
        mouth_roi(frames, np.full((29, 68, 2), np.nan), mf, max_missing=1.0)
    with pytest.raises(ValueError, match="frames"):
        mouth_roi(frames[:5], lms, mf, max_missing=1.0)


# -- paste back -------------------------------------------------------------------------------------------------


def smooth_frame(h: int = 288, w: int = 360) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    r = 128 + 60 * np.sin(xx / 23.0) * np.cos(yy / 31.0)
    g = 100 + 50 * np.cos((xx + yy) / 40.0)
    b = 90 + 0.3 * xx - 0.2 * yy
    return np.clip(np.stack([r, g, b], -1), 0, 255).astype(np.uint8)


@pytest.mark.parametrize("colour", [True, False])
def test_paste_back_round_trip(mf, colour):
    frame = smooth_frame()
    if not colour:
        frame = mouth.luma(frame)
    m = sim_matrix(1.1, 15, 0, 0)
    m[:, 2] = [60, -20]
    lm = apply_transform(m, face_image(mf)[1])
    crops, transforms, boxes = crop_mouths(frame[None], lm[None], mf)
    out = paste_back(frame, crops[0], transforms[0], boxes[0])
    assert out.shape == frame.shape and out.dtype == np.uint8
    mask = footprint(frame.shape, transforms[0], boxes[0])
    assert mask.sum() > 0.9 * (96 / 1.1) ** 2  # the box's footprint: 96 px in the face is 96 / 1.1 in the frame
    np.testing.assert_array_equal(out[~mask], frame[~mask])  # exactly unchanged outside the box
    err = np.abs(out[mask].astype(int) - frame[mask].astype(int))
    assert err.mean() < 1.5 and err.max() <= 8  # two bilinear resamplings of a smooth image
    # with the reference crop, an unchanged crop changes nothing
    np.testing.assert_array_equal(paste_back(frame, crops[0], transforms[0], boxes[0], reference=crops[0]), frame)


def test_paste_back_perturbation_lands_in_box(mf):
    frame = smooth_frame()
    m = sim_matrix(0.9, -20, 0, 0)
    m[:, 2] = [80, 10]
    lm = apply_transform(m, face_image(mf)[1])
    crops, transforms, boxes = crop_mouths(frame[None], lm[None], mf)
    crop, t, box = crops[0], transforms[0], boxes[0]
    perturbed = crop.astype(int)
    perturbed[30:60, 30:60] += 20
    perturbed = np.clip(perturbed, 0, 255).astype(np.uint8)
    out = paste_back(frame, perturbed, t, box, reference=crop)
    changed = np.any(out != frame, axis=-1)
    assert changed.any() and not np.any(changed & ~footprint(frame.shape, t, box))
    # the square's centre, mapped back into the frame, got +20 luma with its chroma kept
    centre = apply_transform(invert(t), [[box[0] + 45.0, box[1] + 45.0]])[0]
    x, y = (int(round(v)) for v in centre)
    dy = mouth.luma(out)[y, x].astype(int) - mouth.luma(frame)[y, x].astype(int)
    assert 18 <= dy <= 22
    diff = out[y, x].astype(int) - frame[y, x].astype(int)
    assert np.ptp(diff) <= 1  # the same step in R, G and B: luma only
    # and re-cropping the pasted frame shows the perturbation
    again, _, _ = crop_mouths(out[None], lm[None], mf)
    assert abs(int(again[0, 45, 45]) - int(crop[45, 45]) - 20) <= 2


# -- grey, test crop, normalisation -----------------------------------------------------------------------------


def test_greyscale_bt601(mf):
    frame = np.zeros((200, 220, 3), np.uint8)
    frame[:] = (200, 100, 50)
    lm = apply_transform(sim_matrix(0.8, 0, 10, 5), mf)
    crops, _, _ = crop_mouths(frame[None], lm[None], mf)
    expected = round(0.299 * 200 + 0.587 * 100 + 0.114 * 50)
    inner = crops[0][10:-10, 10:-10]  # inside the frame: no black border
    assert np.all(np.abs(inner.astype(int) - expected) <= 1)
    grey_in, _, _ = crop_mouths(mouth.luma(frame)[None], lm[None], mf)
    assert grey_in.shape == (1, 96, 96)


def test_centre_crop_and_normalise():
    crops = np.arange(2 * 96 * 96, dtype=np.int64).reshape(2, 96, 96) % 256
    crops = crops.astype(np.uint8)
    cc = centre_crop(crops)
    assert cc.shape == (2, 88, 88)
    np.testing.assert_array_equal(cc, crops[:, 4:92, 4:92])
    x = normalise(np.array([0, 255, 107], np.uint8))
    assert x.dtype == np.float32
    np.testing.assert_allclose(x, [(0 - 0.421) / 0.165, (1 - 0.421) / 0.165, (107 / 255 - 0.421) / 0.165], rtol=1e-6)
    assert normalise(cc).shape == (2, 88, 88)
    with pytest.raises(ValueError):
        centre_crop(crops, 100)
