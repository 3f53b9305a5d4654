"""Domain-distance maps: how much each generated LR pixel looks like the real LR domain.

The DSN discriminator scores overlapping patches of the high-frequency part of an LR image; the
map gives every LR pixel the mean probability of the patches that contain it (their exact
receptive fields, not a guessed window). Stage 2 weights its content losses by this map, so
pixels whose degradation the DSN rendered convincingly count more.
"""

from __future__ import annotations

import torch
from torch import nn

from dasr.ops.backproject import backproject_scores
from dasr.ops.frequency import FrequencyFilter
from dasr.stage1_dsn.inference import discriminator_logits, map_geometry


@torch.inference_mode()
def domain_distance_map(
    lr: torch.Tensor, freq_filter: FrequencyFilter, discriminator: nn.Module, *, tile: int
) -> torch.Tensor:
    """``(N, 1, h, w)`` map in [0, 1] for LR images ``(N, 3, h, w)``; high = close to real LR.
    The scores are :func:`~dasr.stage1_dsn.inference.discriminator_logits` (tiled, exact, eval
    mode) through a sigmoid."""
    logits = discriminator_logits(discriminator, freq_filter, lr, tile=tile)
    geometry = map_geometry(freq_filter, discriminator)
    return backproject_scores(torch.sigmoid(logits), geometry, (lr.shape[-2], lr.shape[-1])).clamp_(0.0, 1.0)
