"""Running a trained DSN (its generator, and its discriminator behind the filter) on whole
images of any size, tile by tile, exactly."""

from __future__ import annotations

import hashlib
from fractions import Fraction

import torch
from torch import nn

from dasr.archs.modes import eval_mode
from dasr.ops.frequency import FrequencyFilter
from dasr.ops.receptive_field import Geometry
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


def map_geometry(freq_filter: FrequencyFilter, discriminator: nn.Module) -> Geometry:
    """Which LR pixels each score sees: the filter's geometry followed by the discriminator's."""
    return freq_filter.geometry().then(discriminator.geometry())


@torch.inference_mode()
def discriminator_logits(
    discriminator: nn.Module, freq_filter: FrequencyFilter, lr: torch.Tensor, *, tile: int
) -> torch.Tensor:
    """The patch logits ``D(H(lr))`` of LR images ``(N, 3, h, w)``: what stage-1 validation and
    the domain-distance maps score. Computed in ``tile``-pixel tiles (memory) with enough context
    that they equal the whole image's. That needs the discriminator in eval mode (normalisation
    layers then use running statistics, not the tile's), so it is evaluated in eval mode whatever
    its mode."""
    geometry = map_geometry(freq_filter, discriminator)
    # Input pixels beyond a block [i*stride, (i+1)*stride) that its scores' windows reach.
    context = max(geometry.padding, geometry.size - geometry.padding - geometry.stride, 0)
    with eval_mode(discriminator):
        return apply_tiled(lambda crop: discriminator(freq_filter(crop)), lr, tile=tile, context=context,
                           alignment=geometry.stride, scale_out=Fraction(1, geometry.stride))
