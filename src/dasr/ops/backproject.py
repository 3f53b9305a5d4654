"""Spreading per-patch scores back onto the input pixels each patch saw.

A patch discriminator scores overlapping windows of its input; a dense, pixel-level map is the
average score of all windows that cover a pixel. Summing box-shaped footprints at the window
positions is exactly a transposed convolution with a ones kernel, so the whole map (and the
per-pixel window count used for the average) takes one call each instead of a per-pixel loop.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from dasr.ops.receptive_field import Geometry


def _box_sum(values: torch.Tensor, geometry: Geometry, out_size: tuple[int, int]) -> torch.Tensor:
    """Sum of ``values`` over every window that covers each input pixel, in input coordinates."""
    kernel = values.new_ones(1, 1, geometry.size, geometry.size)
    summed = F.conv_transpose2d(values, kernel, stride=geometry.stride)
    # Transposed-conv position 0 is input pixel -padding; negative F.pad amounts crop, positive
    # amounts append pixels no window reaches (they get a zero sum and a zero count).
    pad = geometry.padding
    height, width = out_size
    return F.pad(summed, (-pad, pad + width - summed.shape[-1], -pad, pad + height - summed.shape[-2]))


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
