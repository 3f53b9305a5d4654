"""Gaussian kernels, defined once: SSIM's window, the ``gaussian`` frequency filter, the blur of
``dasr degrade`` and stage-1 validation, and the learned blur of the physical DSN."""

from __future__ import annotations

import torch
from torch import Tensor


def gaussian_kernel(
    size: int,
    sigma: float | Tensor,
    across: float | Tensor | None = None,
    angle: float | Tensor = 0.0,
    *,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str | None = None,
) -> Tensor:
    """Weights ``exp(-d^2 / (2 sigma^2))`` on ``size`` taps centred on the middle one (``size``
    odd), normalised to sum 1.

    Without ``across``: the 1-D kernel ``(size,)``; the isotropic 2-D Gaussian is its outer
    product with itself, and filtering with it along rows, then columns, is separable (SSIM).
    With ``across``: the 2-D kernel ``(size, size)`` of an anisotropic Gaussian, ``sigma`` along
    the direction ``angle`` (radians, from the x axis towards y, i.e. down), ``across``
    perpendicular to it. Tensor sigmas and angle keep their gradient (the physical DSN learns
    them); the centre tap is ``exp(0)``, so the sum never underflows, however small sigma.
    """
    taps = torch.arange(size, dtype=dtype, device=device) - size // 2
    if across is None:
        weights = torch.exp(-(taps**2) / (2 * sigma**2))
        return weights / weights.sum()
    y, x = torch.meshgrid(taps, taps, indexing="ij")
    angle = torch.as_tensor(angle, dtype=dtype, device=device)
    along_axis = x * angle.cos() + y * angle.sin()
    across_axis = -x * angle.sin() + y * angle.cos()
    weights = torch.exp(-(along_axis**2) / (2 * sigma**2) - across_axis**2 / (2 * across**2))
    return weights / weights.sum()
