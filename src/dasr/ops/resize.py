"""MATLAB-style antialiased bicubic downscaling, differentiable.

The bicubic LR ``y^b`` that the DSN's content loss compares against, and the global residual of
the paper DSN, must be the bicubic of SR data sets and of the released code (BasicSR's port of
MATLAB ``imresize``): Keys cubic with ``a = -0.5``, kernel widened by the scale factor
(antialiasing), mirror ("symmetric") extension at the border.

``F.interpolate(mode="bicubic", antialias=True)`` implements the same kernel (it was written to
match Pillow) but handles the border by dropping the taps outside the image and renormalising,
as Pillow does. Extending the image by ``2 * scale`` mirrored pixels first (the kernel's
half-width) and cropping the result makes every kept output see only real or mirrored pixels,
which is exactly MATLAB's border rule; the interior is unchanged.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from dasr.ops.receptive_field import IDENTITY, Geometry

_MARGIN = 2
"""LR pixels of mirrored border computed and cropped: the kernel's half-width is 2 * scale."""


def _check_scale(scale: int) -> None:
    if isinstance(scale, bool) or not isinstance(scale, int) or scale < 1:
        raise ValueError(f"the downscale factor must be a positive integer, got {scale!r}")


def mirror_indices(
    length: int, before: int, after: int, *, repeat_edge: bool, device: torch.device | None = None
) -> Tensor:
    """The positions ``-before .. length + after - 1`` folded into ``range(length)`` by mirroring
    at both ends, periodically, so that any padding works on any size (unlike ``F.pad``).

    ``repeat_edge``: MATLAB's symmetric extension, period ``2 * length`` (``aux = [1:n, n:-1:1]``);
    otherwise reflection about the edge pixel (a single pixel is repeated).
    """
    period = 2 * length if repeat_edge else max(2 * length - 2, 1)
    index = torch.arange(-before, length + after, device=device) % period
    return torch.where(index < length, index, period - int(repeat_edge) - index)


def _symmetric_pad(x: Tensor, pad: int) -> Tensor:
    """Mirror ``x`` by ``pad`` pixels on each side of H and W, edge pixel repeated, as MATLAB does
    (images smaller than ``pad`` included)."""
    for dim in (-2, -1):
        x = x.index_select(dim, mirror_indices(x.shape[dim], pad, pad, repeat_edge=True, device=x.device))
    return x


def bicubic_downscale(x: Tensor, scale: int) -> Tensor:
    """Downscale ``x`` ``(N, C, H, W)`` by the integer ``scale`` like MATLAB ``imresize``.

    ``H`` and ``W`` must be divisible by ``scale`` (the LR grid must tile the HR grid exactly for
    LR pixels to correspond to HR blocks). ``scale == 1`` returns ``x`` itself. No clamping: the
    result may overshoot [0, 1] slightly, as the unrounded MATLAB result does.
    """
    _check_scale(scale)
    if x.ndim != 4:
        raise ValueError(f"bicubic_downscale expects a (N, C, H, W) tensor, got shape {tuple(x.shape)}")
    if not x.is_floating_point():
        raise TypeError(f"bicubic_downscale expects a floating-point tensor, got {x.dtype}")
    height, width = x.shape[-2:]
    if height % scale or width % scale:
        raise ValueError(f"image size {height}x{width} is not divisible by the downscale factor {scale}")
    if scale == 1:
        return x
    padded = _symmetric_pad(x, _MARGIN * scale)
    size = (height // scale + 2 * _MARGIN, width // scale + 2 * _MARGIN)
    out = F.interpolate(padded, size=size, mode="bicubic", antialias=True, align_corners=False)
    return out[..., _MARGIN:-_MARGIN, _MARGIN:-_MARGIN]


def bicubic_upscale(x: Tensor, scale: int) -> Tensor:
    """Plain bicubic interpolation by ``scale`` (PyTorch's, ``align_corners=False``, no clamping):
    the no-learning reference every SR method must beat, and the LR shown next to SR. Not the
    inverse of :func:`bicubic_downscale`, which antialiases; ``scale == 1`` returns ``x``."""
    _check_scale(scale)
    if scale == 1:
        return x
    return F.interpolate(x, scale_factor=scale, mode="bicubic", align_corners=False)


def bicubic_geometry(scale: int) -> Geometry:
    """The input pixels with a non-zero weight in an output pixel of :func:`bicubic_downscale`.

    Output ``j`` is centred at input coordinate ``u = j * scale + (scale - 1) / 2`` and weighs
    the pixels ``i`` with ``|i - u| < 2 * scale`` (the cubic vanishes at its support's edge).
    For odd scales ``u`` is a pixel centre and the pixels at distance ``scale`` get weight zero
    too; the geometry is the window around them.
    """
    _check_scale(scale)
    if scale == 1:
        return IDENTITY
    first = (scale - 1) // 2 - 2 * scale + 1
    last = -(-(scale - 1) // 2) + 2 * scale - 1
    return Geometry(size=last - first + 1, stride=scale, padding=-first)
