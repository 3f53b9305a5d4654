"""Running a trained DSN on whole images of any size, tile by tile, exactly."""

from __future__ import annotations

import hashlib
from fractions import Fraction

import torch
from torch import nn

from dasr.archs.modes import eval_mode
from dasr.ops.tiling import apply_tiled


def noise_seed(name: str) -> int:
    """The noise seed of the image called ``name`` (its file stem): a stochastic DSN writes the
    same LR image for it in every run, whatever the other images or their order."""
    return int.from_bytes(hashlib.sha256(name.encode("utf-8", "surrogateescape")).digest()[:8], "little")


@torch.inference_mode()
def downscale_with_dsn(
    generator: nn.Module, hr: torch.Tensor, *, scale: int, tile: int, seed: int = 0
) -> torch.Tensor:
    """DSN(HR) for an (N, 3, H, W) batch; equal to the untiled result because in eval mode the
    generator is a local operator and each tile gets ``generator.context()`` pixels of context.

    A stochastic generator (one with ``noise_free`` and ``corrupt``, :class:`~dasr.archs.
    physical_dsn.PhysicalDSN`) has only its noise-free part tiled; its noise is drawn for the
    whole LR batch from a generator seeded by ``seed``, so the result is deterministic and does
    not depend on the tile size either.
    """
    noise_free = getattr(generator, "noise_free", None)
    with eval_mode(generator):
        lr = apply_tiled(
            generator if noise_free is None else noise_free,
            hr,
            tile=tile,
            context=generator.context(),
            alignment=generator.tile_alignment(),
            scale_out=Fraction(1, scale),
        )
        if noise_free is None:
            return lr
        return generator.corrupt(lr, torch.Generator(device=lr.device).manual_seed(seed))
