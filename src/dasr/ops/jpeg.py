"""A differentiable JPEG round trip, so that a degradation model can learn its quality.

Baseline JPEG as libjpeg (hence Pillow) does it: JFIF YCbCr, 4:2:0 chroma subsampling by 2 x 2
means, 8 x 8 orthonormal DCT, quantisation by the standard tables (ITU T.81, Annex K) scaled
by the quality as ``jpeg_set_quality`` does, and on decoding the inverse DCT and a bilinear
("fancy") chroma upsampling.

Quantisation ``T * round(c / T)`` is exact in the forward pass; its gradient is that of
``T * s(c / T)`` with the smooth staircase ``s`` (:func:`smooth_staircase`). What a lower quality
(a larger step ``T``) does to an image is mostly to zero more coefficients, an effect of the
jumps of ``round``. Straight-through rounding alone (identity, or the cubic of Shin & Song,
2017) gives ``d/dT [T * round(c / T)] = round(u) - u * round'(u)``, which misses the jumps:
measured on an image, it says that lowering the quality adds high frequencies, the opposite of
the truth, and a GAN then drives the quality to 1. The smooth staircase's derivative has the
measured sign (within a factor of 2 for steps of 10-40 levels).
Differences from libjpeg: the scaled tables are not rounded to integers (so the quality acts
continuously), and the encoder's integer DCT and chroma filters are replaced by exact ones.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

BLOCK = 8
MCU = 2 * BLOCK
"""4:2:0 codes 16 x 16 pixel units: 8 x 8 chroma blocks cover 16 x 16 pixels."""

_LUMA_TABLE = (
    (16, 11, 10, 16, 24, 40, 51, 61),
    (12, 12, 14, 19, 26, 58, 60, 55),
    (14, 13, 16, 24, 40, 57, 69, 56),
    (14, 17, 22, 29, 51, 87, 80, 62),
    (18, 22, 37, 56, 68, 109, 103, 77),
    (24, 35, 55, 64, 81, 104, 113, 92),
    (49, 64, 78, 87, 103, 121, 120, 101),
    (72, 92, 95, 98, 112, 100, 103, 99),
)
_CHROMA_TABLE = (
    (17, 18, 24, 47, 99, 99, 99, 99),
    (18, 21, 26, 66, 99, 99, 99, 99),
    (24, 26, 56, 99, 99, 99, 99, 99),
    (47, 66, 99, 99, 99, 99, 99, 99),
    *((99,) * 8 for _ in range(4)),
)
_RGB_TO_YCBCR = (
    (0.299, 0.587, 0.114),
    (-0.168735892, -0.331264108, 0.5),
    (0.5, -0.418687589, -0.081312411),
)
_YCBCR_TO_RGB = ((1.0, 0.0, 1.402), (1.0, -0.344136286, -0.714136286), (1.0, 1.772, 0.0))


def _dct_matrix(dtype: torch.dtype, device: torch.device) -> Tensor:
    """The orthonormal 8-point DCT-II; its 2-D form is exactly JPEG's forward DCT."""
    k = torch.arange(BLOCK, dtype=torch.float64)
    matrix = torch.cos(math.pi * (2 * k[None, :] + 1) * k[:, None] / (2 * BLOCK)) * math.sqrt(2 / BLOCK)
    matrix[0] /= math.sqrt(2)
    return matrix.to(dtype=dtype, device=device)


def quality_scale(quality: Tensor) -> Tensor:
    """libjpeg's table scale for a quality in [1, 100]: ``50 / q`` below 50, ``2 - q / 50`` above."""
    return torch.where(quality < 50, 50 / quality, 2 - quality / 50)


def smooth_staircase(u: Tensor) -> Tensor:
    """``s(s(u))`` with ``s(u) = u - sin(2 pi u) / (2 pi)``: equal to ``u`` at integers and half
    integers, flat at integers, steep in between; a smooth stand-in for ``round``."""
    for _ in range(2):
        u = u - torch.sin(2 * math.pi * u) / (2 * math.pi)
    return u


def quantise(coefficients: Tensor, table: Tensor) -> Tensor:
    """``table * round(coefficients / table)``, with the gradient of ``table * smooth_staircase(...)``."""
    steps = coefficients / table
    smooth = table * smooth_staircase(steps)
    return smooth + (table * torch.round(steps) - smooth).detach()


def _straight_through_round(x: Tensor) -> Tensor:
    return x + (torch.round(x) - x).detach()


def _colour(x: Tensor, matrix: tuple[tuple[float, ...], ...]) -> Tensor:
    return torch.einsum("dc,nchw->ndhw", torch.tensor(matrix, dtype=x.dtype, device=x.device), x)


def _quantise_blocks(plane: Tensor, table: Tensor, dct: Tensor) -> Tensor:
    """DCT, quantise and invert every 8 x 8 block of ``(N, 1, H, W)`` (multiples of 8)."""
    batch, _, height, width = plane.shape
    blocks = plane.reshape(batch, height // BLOCK, BLOCK, width // BLOCK, BLOCK).transpose(2, 3)
    coefficients = dct @ blocks @ dct.T
    quantised = quantise(coefficients, table)
    restored = dct.T @ quantised @ dct
    return restored.transpose(2, 3).reshape(batch, 1, height, width)


def jpeg_roundtrip(x: Tensor, quality: Tensor, phase: tuple[int, int] = (0, 0)) -> Tensor:
    """JPEG-encode and decode ``(N, 3, H, W)`` in [0, 1] at ``quality`` (a scalar tensor in [1, 100],
    4:2:0), returning 8-bit values in [0, 1] (rounded straight-through).

    ``phase`` ``(dy, dx)`` in [0, 16) moves the 16 x 16 block grid ``dy`` rows and ``dx`` columns up
    and left of the image origin, as in a crop of a larger JPEG image taken at that offset.
    """
    height, width = x.shape[-2:]
    top, left = phase
    bottom, right = (-(top + height)) % MCU, (-(left + width)) % MCU
    pixels = _straight_through_round(x.clamp(0.0, 1.0) * 255.0)
    padded = F.pad(pixels, (left, right, top, bottom), mode="replicate")
    ycbcr = _colour(padded, _RGB_TO_YCBCR)  # chroma centred on 0, i.e. JPEG's level shift by 128 done
    dct = _dct_matrix(x.dtype, x.device)
    scale = quality_scale(quality.to(x.dtype))
    luma_table = (torch.tensor(_LUMA_TABLE, dtype=x.dtype, device=x.device) * scale).clamp(1.0, 255.0)
    chroma_table = (torch.tensor(_CHROMA_TABLE, dtype=x.dtype, device=x.device) * scale).clamp(1.0, 255.0)
    luma = _quantise_blocks(ycbcr[:, :1] - 128.0, luma_table, dct) + 128.0
    chroma = F.avg_pool2d(ycbcr[:, 1:], 2)
    chroma = torch.cat([_quantise_blocks(chroma[:, c : c + 1], chroma_table, dct) for c in range(2)], dim=1)
    chroma = F.interpolate(chroma, scale_factor=2, mode="bilinear", align_corners=False)
    decoded = _colour(torch.cat([luma, chroma], dim=1), _YCBCR_TO_RGB)
    decoded = decoded[..., top : top + height, left : left + width]
    return _straight_through_round(decoded.clamp(0.0, 255.0)) / 255.0
