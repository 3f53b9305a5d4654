"""High-frequency energy of an image: the mean absolute finest-level Haar detail.

A noise-amplification figure, read next to the HR's own value: an over-smoothed SR image has
less of it than its HR, one that sharpens the noise and JPEG blocks of real LR has more (the
failure of bicubic-pair SR on real images that DASR addresses). It needs neither weights nor
aligned content, so it also compares LR images of different scenes.

A mean, not a median-based noise estimate (such as ``median(|HH|) / 0.6745``): on smooth 8-bit
outputs most finest-level details are 0 or 1 level, so the median floors there and reads the same
for every method, while the mean still sees the sharpened edges and amplified noise.

Units: 8-bit levels. The orthonormal Haar bands of :func:`dasr.ops.wavelet.haar_dwt`
(``lh``, ``hl``, ``hh``; entries ``+-1/2`` per pixel of a 2x2 block) are taken of the image in
[0, 1], their absolute values averaged over the three bands, the colour channels and all
positions, and multiplied by 255.
"""

from __future__ import annotations

import torch
from torch import Tensor

from dasr.ops.wavelet import haar_dwt

LEVELS_8BIT = 255.0
"""The figure's unit: one 8-bit level of an image in [0, 1]."""


def high_frequency_energy(image: Tensor) -> Tensor:
    """Per image of an ``(N, C, H, W)`` batch in [0, 1], the mean absolute ``lh``, ``hl`` and ``hh``
    Haar detail in 8-bit levels, as float64 ``(N,)``.

    An odd last row or column is dropped first: the transform would pair it with a copy of itself,
    adding blocks with no detail that dilute the mean.
    """
    if image.ndim != 4 or min(image.shape[-2:]) < 2:
        raise ValueError(f"high-frequency energy needs (N, C, H, W) images of at least 2x2, got {tuple(image.shape)}")
    height, width = image.shape[-2:]
    even = image[..., : height - height % 2, : width - width % 2].double()
    _, lh, hl, hh = haar_dwt(even)
    return torch.stack([lh, hl, hh]).abs().mean(dim=(0, 2, 3, 4)) * LEVELS_8BIT
