"""Frequency separation: the space the DSN's adversarial loss works in (``dsn.filter``).

The degradation the DSN must learn (noise, compression, blur) lives mostly in the high
frequencies, while the colours must stay those of the bicubic downscale. So the discriminator
sees only a high-pass part of its input (paper Table 1) and, in the released code, the content
loss compares only the complementary low-pass part.

Kinds:
- ``wavelet`` (paper, "WFS"): Haar LH, HL, HH bands concatenated to ``3 * C`` channels at half
  resolution; low pass: the LL band divided by 2, i.e. the 2x2 mean (as the released code).
- ``gaussian`` (FSSR, "GBFS"): ``x - blur(x)`` with a 5x5 Gaussian of sigma 5/6 (FSSR's
  ``kernel_size / 6``); low pass: the blur.
- ``avgpool``: ``x - mean5x5(x)``; low pass: the 5x5 mean.
- ``rgb``: identity (no separation); low pass: identity too.

Deviations from the released code, on purpose: blurs use reflect padding (the released Gaussian
zero-pads, which darkens the border and shows the discriminator a fake edge; its content loss
crops the border instead), and the high-pass output is not mapped through ``0.5 * b + 0.5``
(an affine map the discriminator's first convolution absorbs).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from dasr.errors import DasrError
from dasr.ops.filter_kinds import FILTER_KINDS
from dasr.ops.gaussian import gaussian_kernel
from dasr.ops.receptive_field import IDENTITY, Geometry
from dasr.ops.wavelet import HAAR_GEOMETRY, haar_dwt

BLUR_SIZE = 5
GAUSSIAN_SIGMA = BLUR_SIZE / 6
"""FSSR's (and the released DASR code's) ``variance = (kernel_size / 6) ** 2``: about 0.83."""

_GEOMETRIES = {
    "wavelet": HAAR_GEOMETRY,
    "gaussian": Geometry(size=BLUR_SIZE, stride=1, padding=BLUR_SIZE // 2),
    "avgpool": Geometry(size=BLUR_SIZE, stride=1, padding=BLUR_SIZE // 2),
    "rgb": IDENTITY,
}


def _check_kind(kind: str) -> None:
    if kind not in FILTER_KINDS:
        raise DasrError(f"unknown frequency filter {kind!r}; valid kinds: {', '.join(FILTER_KINDS)}")


def _check(x: Tensor, kind: str) -> None:
    _check_kind(kind)
    if x.ndim != 4:
        raise ValueError(f"frequency filters expect a (N, C, H, W) tensor, got shape {tuple(x.shape)}")
    if not x.is_floating_point():
        raise TypeError(f"frequency filters expect a floating-point tensor, got {x.dtype}")
    if kind in ("gaussian", "avgpool") and min(x.shape[-2:]) <= BLUR_SIZE // 2:
        raise ValueError(
            f"the {kind} filter reflect-pads by {BLUR_SIZE // 2} pixels and needs images of at "
            f"least {BLUR_SIZE // 2 + 1}x{BLUR_SIZE // 2 + 1}, got {tuple(x.shape[-2:])}"
        )


def _blur(x: Tensor, kind: str) -> Tensor:
    """The 5x5 low pass of ``gaussian`` / ``avgpool``, same size as ``x``."""
    x = F.pad(x, (BLUR_SIZE // 2,) * 4, mode="reflect")
    if kind == "avgpool":
        return F.avg_pool2d(x, BLUR_SIZE, stride=1)
    kernel = gaussian_kernel(BLUR_SIZE, GAUSSIAN_SIGMA, dtype=x.dtype, device=x.device)
    channels = x.shape[1]
    weight = torch.outer(kernel, kernel).expand(channels, 1, BLUR_SIZE, BLUR_SIZE)
    return F.conv2d(x, weight, groups=channels)


def low_frequency(x: Tensor, kind: str) -> Tensor:
    """The low-pass part of ``x`` ``(N, C, H, W)``, in the same value range as ``x``.

    ``wavelet`` gives ``(N, C, ceil(H/2), ceil(W/2))``, the other kinds keep the size.
    """
    _check(x, kind)
    if kind == "wavelet":
        return 0.5 * haar_dwt(x)[0]
    if kind == "rgb":
        return x
    return _blur(x, kind)


def high_frequency(x: Tensor, kind: str) -> Tensor:
    """The high-pass part of ``x`` ``(N, C, H, W)`` that the discriminator judges.

    ``wavelet`` gives ``(N, 3C, ceil(H/2), ceil(W/2))`` ordered ``[LH, HL, HH]`` (each ``C``
    channels, as the released code's ``torch.cat((LH, HL, HH), 1)``); the other kinds keep
    shape.
    """
    _check(x, kind)
    if kind == "wavelet":
        _, lh, hl, hh = haar_dwt(x)
        return torch.cat((lh, hl, hh), dim=1)
    if kind == "rgb":
        return x
    return x - _blur(x, kind)


class FrequencyFilter(nn.Module):
    """The high-pass filter of one kind; ``forward`` is :func:`high_frequency`.

    Carries its output channel count and geometry so that a discriminator can be sized and its
    receptive field mapped back to image pixels (``filter.geometry().then(disc.geometry())``).
    """

    def __init__(self, kind: str) -> None:
        super().__init__()
        _check_kind(kind)
        self.kind = kind

    def forward(self, x: Tensor) -> Tensor:
        return high_frequency(x, self.kind)

    def out_channels(self, in_channels: int) -> int:
        return 3 * in_channels if self.kind == "wavelet" else in_channels

    def geometry(self) -> Geometry:
        """The geometry of both the high- and the low-pass output."""
        return _GEOMETRIES[self.kind]

    def extra_repr(self) -> str:
        return f"kind={self.kind!r}"
