"""avsec.metrics.image: the one SSIM (torch, differentiable) equals scikit-image's; MAE and Pearson on known inputs."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from skimage.metrics import structural_similarity

from avsec.metrics.image import image_ssim, mae, pearson, ssim

SKIMAGE = dict(gaussian_weights=True, sigma=1.5, use_sample_covariance=False)


@pytest.mark.parametrize("shape", [(40, 50), (33, 21, 3)])
def test_ssim_equals_scikit_image(shape):
    rng = np.random.default_rng(0)
    a = rng.integers(0, 256, shape).astype(np.uint8)
    b = np.clip(a + rng.normal(0, 25, shape), 0, 255).astype(np.uint8)
    expected = structural_similarity(a, b, data_range=255, channel_axis=-1 if len(shape) == 3 else None, **SKIMAGE)
    assert image_ssim(a, b) == pytest.approx(expected, abs=1e-9)
    x, y = torch.from_numpy(a / 255.0), torch.from_numpy(b / 255.0)
    if len(shape) == 3:
        x, y = x.permute(2, 0, 1), y.permute(2, 0, 1)
    assert float(ssim(x, y).mean()) == pytest.approx(expected, abs=1e-9)  # [0, 1] images, data_range 1


def test_ssim_is_one_for_equal_images_and_differentiable():
    x = torch.rand(2, 1, 24, 24)
    assert torch.allclose(ssim(x, x), torch.ones(2, 1))
    y = torch.rand(2, 1, 24, 24, requires_grad=True)
    loss = (1 - ssim(y, x)).mean()
    loss.backward()
    assert y.grad is not None and y.grad.abs().sum() > 0
    with torch.no_grad():  # a small step against the gradient raises the SSIM
        better = ssim(y - 50 * y.grad, x).mean()
    assert better > 1 - loss.item()


def test_ssim_rejects_mismatched_or_tiny_images():
    with pytest.raises(ValueError, match="shapes differ"):
        ssim(torch.rand(1, 12, 12), torch.rand(1, 12, 13))
    with pytest.raises(ValueError, match="smaller than the 11×11 window"):
        ssim(torch.rand(1, 8, 12), torch.rand(1, 8, 12))


def test_mae_and_pearson_on_known_values():
    assert mae([0, 2, 4], [1, 2, 1]) == pytest.approx(4 / 3)
    x = np.arange(10.0)
    assert pearson(x, 3 * x + 1) == pytest.approx(1.0)
    assert pearson(x, -x) == pytest.approx(-1.0)
    assert pearson([1, 2, 3, 4], [1, 3, 2, 4]) == pytest.approx(0.8)
    assert np.isnan(pearson([1, 1, 1], [1, 2, 3]))
    with pytest.raises(ValueError, match="shapes differ"):
        mae([1, 2], [1, 2, 3])
