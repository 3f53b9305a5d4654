"""Pictures written during training for people to look at: images side by side in one PNG."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch

from dasr.data.image_io import tensor_to_pixels, write_image


@torch.no_grad()
def save_side_by_side(path: Path, images: Sequence[torch.Tensor]) -> None:
    """The first image of each ``(N, 3, H, W)`` batch (all of one height), left to right,
    clamped to [0, 1], as an 8-bit image file. NaN (a batch whose step was skipped) shows black."""
    row = torch.cat([image[:1].detach().nan_to_num(0.0).clamp(0, 1).cpu() for image in images], dim=-1)
    write_image(path, tensor_to_pixels(row))
