"""Running a trained DSN on whole images of any size, tile by tile, exactly."""

from __future__ import annotations

from fractions import Fraction

import torch
from torch import nn

from dasr.ops.tiling import apply_tiled


@torch.inference_mode()
def downscale_with_dsn(generator: nn.Module, hr: torch.Tensor, *, scale: int, tile: int) -> torch.Tensor:
    """DSN(HR) for an (N, 3, H, W) batch; equal to the untiled result because in eval mode the
    generator is a local operator and each tile gets ``generator.context()`` pixels of context."""
    was_training = generator.training
    generator.eval()
    try:
        return apply_tiled(
            generator,
            hr,
            tile=tile,
            context=generator.context(),
            alignment=generator.tile_alignment(),
            scale_out=Fraction(1, scale),
        )
    finally:
        generator.train(was_training)
