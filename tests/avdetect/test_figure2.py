"""Figure 2 of paper 4: the noise panel, the perturbed crops pasted back into the face frames, and the figure drawn
from small synthetic arrays (the whole rule, figure2_av, runs in the smoke test)."""

from __future__ import annotations

import matplotlib.image
import numpy as np
import pytest

from avsec.avdetect.figure2 import Figure2Settings, paste_frames
from avsec.avdetect.report import figure2, noise_image, visual_noise
from avsec.core.errors import ConfigError


def test_the_noise_panel_is_64_times_the_perturbation_around_mid_grey():
    benign = np.array([[10, 20, 200], [0, 255, 128]], np.uint8)
    adversarial = np.array([[14, 16, 201], [0, 251, 130]], np.uint8)
    noise = visual_noise(benign, adversarial)
    np.testing.assert_array_equal(noise, [[256, -256, 64], [0, -256, 128]])  # uint8 differences do not wrap
    np.testing.assert_array_equal(visual_noise(benign, adversarial, 2), [[8, -8, 2], [0, -8, 4]])
    np.testing.assert_array_equal(noise_image(noise), [[255, 0, 192], [128, 0, 255]])


def test_paste_frames_puts_each_perturbed_crop_where_its_box_was_and_nowhere_else():
    rng = np.random.default_rng(0)
    faces = rng.integers(20, 230, (2, 64, 80, 3)).astype(np.uint8)
    benign = rng.integers(0, 256, (2, 16, 16)).astype(np.uint8)
    eps = 4
    adversarial = benign + rng.choice([-eps, eps], benign.shape).astype(np.float32)  # ±ε, floats as BIM gives them
    translate = np.array([[1, 0, 0], [0, 1, 0]], np.float32)  # the frame is the aligned face: the box is in it
    transforms = np.stack([translate, translate])
    boxes = np.array([[10, 20, 26, 36], [50, 40, 66, 56]])  # (x0, y0, x1, y1): a mouth at a different place each
    out = paste_frames(faces, benign, adversarial, transforms, boxes)
    assert out.shape == faces.shape and out.dtype == np.uint8
    diff = out.astype(int) - faces.astype(int)
    for k, (x0, y0, x1, y1) in enumerate(boxes):
        inside = np.zeros(faces.shape[1:3], bool)
        inside[y0:y1, x0:x1] = True
        np.testing.assert_array_equal(diff[k][~inside], 0)
        expected = (adversarial[k] - benign[k]).astype(int)[..., None].repeat(3, axis=-1)  # grey δ on R, G and B
        np.testing.assert_array_equal(diff[k][y0:y1, x0:x1], expected)
    assert np.abs(diff).max() == eps


def test_figure2_settings_order_and_bounds():
    s = Figure2Settings(frames=29, eps_video=[8, 4], eps_audio=[512, 256])
    assert s.pairs() == [(4, 256), (4, 512), (8, 256), (8, 512)]  # ε_V, then ε_A, ascending
    with pytest.raises(ConfigError, match="eps_video"):
        Figure2Settings(frames=29, eps_video=[300], eps_audio=[256]).pairs()


def _example(settings: int, rng) -> tuple[dict, dict]:
    """Small arrays shaped as rule figure2_av's examples.npz and its examples.json."""
    k, n = 2, 1600
    eps_v, eps_a = np.array([4, 8, 4, 8][:settings]), np.array([256, 256, 512, 512][:settings])
    faces = rng.integers(0, 256, (k, 24, 32, 3)).astype(np.uint8)
    audio = (3000 * np.sin(np.arange(n) / 5)).astype(np.int16)
    arrays = {
        "eps_video": eps_v,
        "eps_audio": eps_a,
        "shown": np.array([3, 5]),
        "benign_faces": faces,
        "adversarial_faces": np.stack([np.clip(faces.astype(int) + v, 0, 255).astype(np.uint8) for v in eps_v]),
        "benign_audio": audio,
        "adversarial_audio": np.stack([audio + a * np.sign(rng.standard_normal(n)) for a in eps_a]),
        "benign_logspec": rng.standard_normal((9, 11)).astype(np.float32),
        "adversarial_logspec": rng.standard_normal((settings, 9, 11)).astype(np.float32),
        "noise_logspec": rng.standard_normal((settings, 9, 11)).astype(np.float32),
    }
    summary = {
        "label": "ABOUT",
        "rate": 16000,
        "scale": 64,
        "settings": [{"iterations": 5, "predicted": "AGAIN"} for _ in range(settings)],
    }
    return arrays, summary


def test_figure2_draws_one_block_per_setting_two_a_row(tmp_path):
    rng = np.random.default_rng(1)
    sizes = {}
    for settings in (1, 4):
        path = tmp_path / f"figure2_{settings}.png"
        figure2(path, *_example(settings, rng))
        sizes[settings] = matplotlib.image.imread(path).shape[:2]
    (h1, w1), (h4, w4) = sizes[1], sizes[4]
    assert h1 > 300 and w1 > 500  # one block of 3 × 3 panels
    assert 1.7 < w4 / w1 < 2.3 and 1.7 < h4 / h1 < 2.3  # 2 × 2 blocks


def test_the_report_says_what_each_setting_reached_and_where_bims_steps_cap_the_audio():
    from avsec.avdetect.report import _figure2_reach

    rows = [
        {"eps_video": 4, "eps_audio": 512, "iterations": 5, "linf_video_pixels": 4.0, "linf_audio": 320.0},
        {"eps_video": 8, "eps_audio": 512, "iterations": 10, "linf_video_pixels": 8.0, "linf_audio": 512.0},
    ]
    text = _figure2_reach({"settings": rows, "settings_used": {"alpha_audio": 64}})
    assert "4 px / 320 (ε_V = 4, ε_A = 512); 8 px / 512 (ε_V = 8, ε_A = 512)" in text
    assert text.endswith("(ε_A = 512 at ε_V = 4: 5 × α_A = 320).")
    assert "cap" not in _figure2_reach({"settings": rows[1:], "settings_used": {"alpha_audio": 64}})


def test_figure2_examples_name_a_bad_input_before_attacking(av, trained, tmp_path):
    """A clip outside the test split, a mouths folder without crop_mouths' transforms: one clear error each."""
    from avsec.avdetect.figure2 import figure2_examples
    from avsec.core.errors import InputError

    recogniser = trained[0] / "recogniser.pt"
    settings = Figure2Settings(frames=9, shown=[2, 4])
    with pytest.raises(ConfigError, match="clip 99 is not one of the 5 test clips"):
        figure2_examples("lrw", tmp_path, av / "mouths", av / "audio", recogniser, tmp_path / "out",
                         Figure2Settings(frames=9, clip=99))  # fmt: skip
    with pytest.raises(InputError, match="transforms.npy.*crop_mouths keeps each clip's transforms"):
        figure2_examples("lrw", tmp_path, av / "mouths", av / "audio", recogniser, tmp_path / "out", settings)
    assert not (tmp_path / "out").exists()
