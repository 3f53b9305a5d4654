"""PSNR and SSIM with the evaluation protocol of the paper's released test code (BasicSR style).

Inputs are ``(N, C, H, W)`` tensors in ``[0, data_range]``; values are used as given, so a
caller that reports numbers comparable to published ones quantises both images to 8 bits first
(as saved PNGs are). ``crop_border`` pixels are removed on every side (the protocol crops
``scale``), ``y_channel=True`` compares the BT.601 luma instead of RGB. Results are per-image
float64 tensors of shape ``(N,)``, computed in float64 whatever the input dtype.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from dasr.ops.gaussian import gaussian_kernel

SSIM_WINDOW = 11
SSIM_SIGMA = 1.5
SSIM_K1 = 0.01
SSIM_K2 = 0.03


def rgb_to_y(img: Tensor) -> Tensor:
    """BT.601 luma of RGB in [0, 1], ``(16 + 65.481 R + 128.553 G + 24.966 B) / 255``, as
    MATLAB's ``rgb2ycbcr`` and BasicSR compute it (studio range: Y lies in [16, 235] / 255)."""
    if img.dim() != 4 or img.shape[1] != 3:
        raise ValueError(f"the Y channel needs RGB images (N, 3, H, W), got shape {tuple(img.shape)}")
    coefficients = img.new_tensor([65.481, 128.553, 24.966]).view(1, 3, 1, 1)
    return (16.0 + (img * coefficients).sum(dim=1, keepdim=True)) / 255.0


def _prepare(
    a: Tensor, b: Tensor, crop_border: int, y_channel: bool, data_range: float
) -> tuple[Tensor, Tensor]:
    """Both images checked, in float64, scaled to [0, 1], cropped and optionally reduced to Y."""
    if a.shape != b.shape:
        raise ValueError(
            f"images to compare must have the same shape, got {tuple(a.shape)} and {tuple(b.shape)}"
        )
    if a.dim() != 4:
        raise ValueError(f"images must be (N, C, H, W) tensors, got shape {tuple(a.shape)}")
    height, width = a.shape[-2:]
    if crop_border < 0 or 2 * crop_border >= min(height, width):
        raise ValueError(f"crop_border={crop_border} leaves nothing of a {height}x{width} image")
    if data_range <= 0:
        raise ValueError(f"data_range must be positive, got {data_range}")
    a, b = a.double() / data_range, b.double() / data_range
    if crop_border:
        a = a[..., crop_border:-crop_border, crop_border:-crop_border]
        b = b[..., crop_border:-crop_border, crop_border:-crop_border]
    if y_channel:
        a, b = rgb_to_y(a), rgb_to_y(b)
    return a, b


def psnr(
    a: Tensor, b: Tensor, *, crop_border: int = 0, y_channel: bool = False, data_range: float = 1.0
) -> Tensor:
    """Peak signal-to-noise ratio in dB of each image pair, ``10 log10(data_range^2 / MSE)``.

    Identical images have MSE 0 and PSNR ``+inf`` (as in scikit-image); the value is returned
    as such rather than capped, so that averaging code has to decide how to treat it.
    """
    a, b = _prepare(a, b, crop_border, y_channel, data_range)
    mse = (a - b).pow(2).mean(dim=(1, 2, 3))
    return 10.0 * torch.log10(1.0 / mse)  # 1 / 0 = inf for identical images


def ssim(
    a: Tensor, b: Tensor, *, crop_border: int = 0, y_channel: bool = False, data_range: float = 1.0
) -> Tensor:
    """Structural similarity (Wang et al. 2004) of each image pair, averaged over channels.

    11x11 Gaussian window (sigma 1.5), K1 = 0.01, K2 = 0.03, population statistics. Filtering
    is 'valid' (no padding): only windows lying wholly inside the (cropped) image count, as in
    the original MATLAB code and BasicSR. This equals scikit-image's
    ``structural_similarity(gaussian_weights=True, sigma=1.5, use_sample_covariance=False)``,
    which pads but then discards the same 5-pixel border before averaging.
    """
    a, b = _prepare(a, b, crop_border, y_channel, data_range)
    channels, height, width = a.shape[1:]
    if min(height, width) < SSIM_WINDOW:
        raise ValueError(
            f"SSIM needs images of at least {SSIM_WINDOW}x{SSIM_WINDOW} pixels, got {height}x{width}"
        )
    # The Gaussian window is separable: filter rows, then columns, each statistic per channel.
    stacked = torch.cat([a, b, a * a, b * b, a * b], dim=1)
    groups = stacked.shape[1]
    kernel = gaussian_kernel(SSIM_WINDOW, SSIM_SIGMA, dtype=stacked.dtype, device=stacked.device)
    stacked = F.conv2d(stacked, kernel.view(1, 1, -1, 1).expand(groups, 1, -1, 1), groups=groups)
    stacked = F.conv2d(stacked, kernel.view(1, 1, 1, -1).expand(groups, 1, 1, -1), groups=groups)
    mu_a, mu_b, mean_aa, mean_bb, mean_ab = stacked.split(channels, dim=1)
    var_a, var_b, cov = mean_aa - mu_a**2, mean_bb - mu_b**2, mean_ab - mu_a * mu_b
    c1, c2 = SSIM_K1**2, SSIM_K2**2
    ssim_map = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2))
    return ssim_map.mean(dim=(1, 2, 3))
