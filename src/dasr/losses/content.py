"""Pixel (content) loss with an optional per-pixel weight map.

Stage 2 of DASR (Eq. 6) trusts each generated training pair as much as its domain-distance map
says: ``L_con = mean(w ⊙ |SR(y^g) - x|)``. Stage 1 uses the same loss with no weight.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor


def weighted_mean(values: Tensor, weight: Tensor | None = None) -> Tensor:
    """Mean of ``weight * values`` over all elements (batch, channels and pixels).

    ``weight`` is a map ``(N, 1, h, w)`` shared by all channels. It is resized bilinearly
    (``align_corners=False``) to the spatial size of ``values`` when the two differ, because the
    domain-distance map lives at LR resolution while it weights HR pixels and feature maps.

    The sum is divided by the number of elements of ``values``, not by the sum of the weights:
    this is Eq. 6's ``mean(w ⊙ |.|)`` (and the released code's), so pairs far from the real-LR
    domain (small ``w``) contribute less in absolute terms instead of being renormalised away.
    ``weight=None`` gives the plain mean.
    """
    if weight is None:
        return values.mean()
    if values.dim() != 4:
        raise ValueError(f"a weighted loss needs (N, C, H, W) values, got shape {tuple(values.shape)}")
    if weight.dim() != 4 or weight.shape[1] != 1 or weight.shape[0] != values.shape[0]:
        raise ValueError(
            f"weight map must have shape (N, 1, h, w) with N = {values.shape[0]}, got {tuple(weight.shape)}"
        )
    if weight.shape[-2:] != values.shape[-2:]:
        weight = F.interpolate(weight, size=values.shape[-2:], mode="bilinear", align_corners=False)
    return (weight.to(values.dtype) * values).mean()


def _check_pair(pred: Tensor, target: Tensor) -> None:
    if pred.shape != target.shape:
        raise ValueError(
            f"prediction and target must have the same shape, got {tuple(pred.shape)} "
            f"and {tuple(target.shape)}"
        )


def weighted_l1(pred: Tensor, target: Tensor, weight: Tensor | None = None) -> Tensor:
    """``mean(weight * |pred - target|)``, normalised as described in :func:`weighted_mean`."""
    _check_pair(pred, target)
    return weighted_mean((pred - target).abs(), weight)
