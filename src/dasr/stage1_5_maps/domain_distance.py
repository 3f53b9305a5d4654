"""Domain-distance maps: how much each generated LR pixel looks like the real LR domain.

The DSN discriminator scores overlapping patches of the high-frequency part of an LR image; the
map gives every LR pixel the mean probability of the patches that contain it (their exact
receptive fields, not a guessed window). Stage 2 weights its content losses by this map, so
pixels whose degradation the DSN rendered convincingly count more.
"""

from __future__ import annotations

from fractions import Fraction

import torch
from torch import nn

from dasr.archs.modes import eval_mode
from dasr.ops.backproject import backproject_scores
from dasr.ops.frequency import FrequencyFilter
from dasr.ops.receptive_field import Geometry
from dasr.ops.tiling import apply_tiled


def _score_context(geometry: Geometry) -> int:
    """Input pixels beyond a block ``[i*stride, (i+1)*stride)`` that its scores' windows reach."""
    return max(geometry.padding, geometry.size - geometry.padding - geometry.stride, 0)


def map_geometry(freq_filter: FrequencyFilter, discriminator: nn.Module) -> Geometry:
    """Which LR pixels each score sees: the filter's geometry followed by the discriminator's."""
    return freq_filter.geometry().then(discriminator.geometry())


@torch.inference_mode()
def domain_distance_map(
    lr: torch.Tensor, freq_filter: FrequencyFilter, discriminator: nn.Module, *, tile: int
) -> torch.Tensor:
    """``(N, 1, h, w)`` map in [0, 1] for LR images ``(N, 3, h, w)``; high = close to real LR.

    Scores are computed in ``tile``-pixel tiles (memory) with enough context that they equal the
    whole image's. That needs the discriminator in eval mode (normalisation layers then use
    running statistics, not the tile's), so it is evaluated in eval mode whatever its mode.
    """
    geometry = map_geometry(freq_filter, discriminator)
    with eval_mode(discriminator):
        logits = apply_tiled(
            lambda crop: discriminator(freq_filter(crop)),
            lr,
            tile=tile,
            context=_score_context(geometry),
            alignment=geometry.stride,
            scale_out=Fraction(1, geometry.stride),
        )
    return backproject_scores(torch.sigmoid(logits), geometry, (lr.shape[-2], lr.shape[-1])).clamp_(0.0, 1.0)
