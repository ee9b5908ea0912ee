"""Image and array similarity: SSIM (Wang et al. 2004), mean absolute error, Pearson correlation.

:func:`ssim` is the one SSIM of the project: a differentiable torch function (paper 3 trains with a 1 − SSIM
loss) that also scores images at evaluation. It is Wang et al.'s definition with scikit-image's defaults for
``gaussian_weights=True``: an 11×11 Gaussian window of σ = 1.5, K1 = 0.01, K2 = 0.03, population (not sample)
covariances, the mean taken over the positions where the window fits inside the image; in float64 it equals
``skimage.metrics.structural_similarity(..., gaussian_weights=True, sigma=1.5, use_sample_covariance=False)``
(tested).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from avsec.metrics.audio import as_numpy


def gaussian_window(size: int = 11, sigma: float = 1.5, *, dtype=torch.float32, device=None) -> torch.Tensor:
    """The normalised 1-D Gaussian of ``size`` taps (odd) and standard deviation ``sigma``."""
    if size < 1 or size % 2 == 0:
        raise ValueError(f"SSIM window size must be odd and positive, got {size}")
    x = torch.arange(size, dtype=dtype, device=device) - (size - 1) / 2
    g = torch.exp(-(x**2) / (2 * sigma**2))
    return g / g.sum()


def ssim(
    x: torch.Tensor,
    y: torch.Tensor,
    data_range: float = 1.0,
    *,
    window: int = 11,
    sigma: float = 1.5,
    k1: float = 0.01,
    k2: float = 0.03,
) -> torch.Tensor:
    """Mean SSIM of images ``x`` and ``y`` of shape (..., H, W), one value per leading index (shape ``(...)``).

    Differentiable; H and W must be at least ``window``. ``data_range`` is the span of the values (1 for
    [0, 1] images, 255 for 8-bit ones).
    """
    if x.shape != y.shape:
        raise ValueError(f"ssim: shapes differ, {tuple(x.shape)} and {tuple(y.shape)}")
    if x.ndim < 2 or min(x.shape[-2:]) < window:
        raise ValueError(f"ssim: images of shape {tuple(x.shape)} are smaller than the {window}×{window} window")
    lead, (h, w) = x.shape[:-2], x.shape[-2:]
    dtype = x.dtype if x.dtype in (torch.float32, torch.float64) else torch.float32
    x, y = x.reshape(-1, 1, h, w).to(dtype), y.reshape(-1, 1, h, w).to(dtype)
    g = gaussian_window(window, sigma, dtype=dtype, device=x.device)

    def blur(t: torch.Tensor) -> torch.Tensor:  # separable Gaussian, valid positions only
        return F.conv2d(F.conv2d(t, g.view(1, 1, -1, 1)), g.view(1, 1, 1, -1))

    mu_x, mu_y = blur(x), blur(y)
    var_x = blur(x * x) - mu_x**2
    var_y = blur(y * y) - mu_y**2
    cov = blur(x * y) - mu_x * mu_y
    c1, c2 = (k1 * data_range) ** 2, (k2 * data_range) ** 2
    s = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / ((mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2))
    return s.mean(dim=(1, 2, 3)).reshape(lead)


def image_ssim(a: Any, b: Any, data_range: float = 255.0) -> float:
    """SSIM of two images (H, W) or (H, W, C) (numpy or torch), the mean over channels as scikit-image's
    ``channel_axis=-1`` does; computed in float64."""
    a, b = as_numpy(a).astype(np.float64), as_numpy(b).astype(np.float64)
    if a.shape != b.shape:
        raise ValueError(f"image_ssim: shapes differ, {a.shape} and {b.shape}")
    if a.ndim == 2:
        a, b = a[..., None], b[..., None]
    x, y = torch.from_numpy(np.moveaxis(a, -1, 0)), torch.from_numpy(np.moveaxis(b, -1, 0))
    return float(ssim(x, y, data_range).mean())


def mae(a: Any, b: Any) -> float:
    """Mean absolute error, on the inputs' own scale (computed in float64)."""
    a, b = as_numpy(a).astype(np.float64), as_numpy(b).astype(np.float64)
    if a.shape != b.shape:
        raise ValueError(f"mae: shapes differ, {a.shape} and {b.shape}")
    return float(np.abs(a - b).mean())


def pearson(a: Any, b: Any) -> float:
    """Pearson's correlation coefficient of two equally shaped arrays taken as flat samples; NaN when one of
    them is constant."""
    a, b = as_numpy(a).astype(np.float64).ravel(), as_numpy(b).astype(np.float64).ravel()
    if a.shape != b.shape:
        raise ValueError(f"pearson: sizes differ, {a.size} and {b.size}")
    a, b = a - a.mean(), b - b.mean()
    norm = np.sqrt((a * a).sum() * (b * b).sum())
    return float((a * b).sum() / norm) if norm > 0 else float("nan")
