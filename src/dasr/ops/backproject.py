"""Spreading per-patch scores back onto the input pixels each patch saw.

A patch discriminator scores overlapping windows of its input; a dense, pixel-level map is the
average score of all windows that cover a pixel. Summing box-shaped footprints at the window
positions is exactly a transposed convolution with a ones kernel. That kernel is a box, hence
separable, and a box sum is a difference of two running sums: along each axis the scores are
placed at their windows' first pixels and summed cumulatively, so each pixel costs two lookups
instead of the kernel's size² multiply-adds (the 46x46 windows of the paper's discriminator made
PyTorch's transposed convolution take 0.7 s for a 512² map; ``benchmarks/maps_speed.py``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from dasr.ops.receptive_field import Geometry


def _box_sum(values: torch.Tensor, geometry: Geometry, out_size: tuple[int, int]) -> torch.Tensor:
    """Sum of ``values`` over every window that covers each input pixel, in input coordinates
    (pixels no window reaches get 0)."""
    return _axis_sum(_axis_sum(values, -2, geometry, out_size[0]), -1, geometry, out_size[1])


def _axis_sum(values: torch.Tensor, dim: int, geometry: Geometry, length: int) -> torch.Tensor:
    """Along ``dim``, for each of ``length`` input pixels, the sum of the values whose windows
    ``[i * stride - padding, + size)`` contain it: window starts in ``(pixel - size, pixel]``.

    Running sums in float64, so that the difference of two large sums keeps float32 precision."""
    count = values.shape[dim]
    positions = max((count - 1) * geometry.stride + 1, geometry.padding + length)
    shape = list(values.shape)
    shape[dim] = positions + 1
    # Slot j + 1 holds the value whose window starts at input pixel j - padding; slot 0 stays 0,
    # so that after the cumulative sum slot j holds the sum of the windows starting before it.
    starts = values.new_zeros(shape, dtype=torch.float64)
    slots = torch.arange(count, device=values.device) * geometry.stride + 1
    running = starts.index_copy_(dim, slots, values.double()).cumsum(dim)
    pixels = torch.arange(length, device=values.device) + geometry.padding
    summed = running.index_select(dim, pixels + 1) - running.index_select(dim, (pixels + 1 - geometry.size).clamp(min=0))
    return summed.to(values.dtype)


def _covered_end(windows: int, length: int, geometry: Geometry) -> int:
    """One past the last input pixel along an axis that a window covers (the first is pixel 0)."""
    return min(length, (windows - 1) * geometry.stride - geometry.padding + geometry.size)


def backproject_scores(scores: torch.Tensor, geometry: Geometry, out_size: tuple[int, int]) -> torch.Tensor:
    """Dense ``(N, 1, H, W)`` map: each pixel gets the mean score of the windows that cover it.

    ``scores`` is ``(N, 1, h, w)``; score ``(i, j)`` belongs to the input window
    ``[i * stride - padding, + size)`` per axis, clipped to the ``out_size`` image. Pixels that no
    window reaches (strides that drop an odd last row or column) copy the nearest covered pixel,
    so the map has no artificial zeros at the border.
    """
    if scores.dim() != 4 or scores.shape[1] != 1:
        raise ValueError(f"expected scores of shape (N, 1, h, w), got {tuple(scores.shape)}")
    if geometry.size < geometry.stride or geometry.size <= geometry.padding:
        # Windows would leave gaps between them or miss pixel 0: not a convolution stack's geometry.
        raise ValueError(f"{geometry} does not tile its input")
    summed = _box_sum(scores, geometry, out_size)
    count = _box_sum(scores.new_ones(1, 1, *scores.shape[-2:]), geometry, out_size)
    rows = _covered_end(scores.shape[-2], out_size[0], geometry)
    cols = _covered_end(scores.shape[-1], out_size[1], geometry)
    mean = summed[..., :rows, :cols] / count[..., :rows, :cols]
    return F.pad(mean, (0, out_size[1] - cols, 0, out_size[0] - rows), mode="replicate")
