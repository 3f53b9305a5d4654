"""A physically constrained degradation model for stage 1 (``dsn.arch=physical``).

HR -> blur with a learned anisotropic Gaussian -> bicubic downscale -> Poisson-Gaussian sensor
noise with learned per-channel levels and a learned channel correlation -> clip and 8-bit
rounding (straight-through) -> optionally JPEG at a learned quality (:mod:`dasr.ops.jpeg`): the
chain of :mod:`dasr.degradations` with learned parameters (as PDM, CVPR 2022, and the blur and
noise models of BSRGAN and Real-ESRGAN). Trained by the wavelet GAN of stage 1 like the paper's
free-form DSN, it cannot explain real LR images by changing or blurring away the scenes: it can
only blur, downscale and add noise, so with few real-LR photos of other scenes the
discriminator's scene cues have nothing to push but those few parameters (docs/stage1.md).

Tiling and determinism: :meth:`PhysicalDSN.noise_free` (blur and downscale) is a local operator
with the tiling contract of every DSN (:meth:`~dasr.archs.dsn.DownsamplingNetwork.context`);
:meth:`PhysicalDSN.corrupt` (noise and JPEG) is applied to the whole LR image, with noise from an
explicit ``torch.Generator`` and the JPEG grid at the image origin, so that stage 1.5 writes the
same LR image for an image whatever the tile size (``dasr.stage1_dsn.inference.
downscale_with_dsn``). ``forward`` (training) draws fresh noise, and a random JPEG grid offset
(real-LR patches are crops at any offset of their JPEG grid), from torch's global generator on
every call: the reparameterisation ``x + sqrt(a x + b) z`` lets the adversarial loss reach ``a``
and ``b``.

Parameter scale: Adam moves each parameter by about ``lr`` per step whatever its gradient's
size. The parameters here are logarithms (of sigmas and noise levels) that have to move by
several units (noise variance 1e-5 -> 1e-3 is 4.6), which at the CPU presets' 2e-4 would take
tens of thousands of steps. They are therefore stored divided by ``PARAMETER_GAIN``: an Adam
step of ``lr`` moves them by ``PARAMETER_GAIN * lr``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from dasr.archs.dsn import DownsamplingNetwork
from dasr.archs.registry import register_arch
from dasr.errors import DasrError
from dasr.ops.gaussian import gaussian_kernel
from dasr.ops.jpeg import MCU, jpeg_roundtrip
from dasr.ops.receptive_field import Geometry
from dasr.ops.resize import bicubic_downscale, bicubic_geometry

PARAMETER_GAIN = 100.0
"""Stored parameters times this are the physical ones (see the module docstring)."""

INITIAL_SIGMA = 0.4
"""HR pixels: nearly no blur (centre weight 0.85), so the untrained output is near the bicubic LR."""

INITIAL_NOISE = (1e-4, 1e-5)
"""``(a, b)``: a standard deviation of about 2 levels of 255 at mid grey, barely visible."""

INITIAL_CORRELATION = 0.1

INITIAL_QUALITY = 90.0
"""JPEG quality to start from: mild compression."""


def _logit(p: float) -> float:
    return math.log(p / (1 - p))


class _Scaled(nn.Module):
    """One tensor of physical parameters, stored divided by :data:`PARAMETER_GAIN`."""

    def __init__(self, value: Tensor) -> None:
        super().__init__()
        self.stored = nn.Parameter(value / PARAMETER_GAIN)

    def forward(self) -> Tensor:
        return self.stored * PARAMETER_GAIN


@register_arch("dsn_physical")
class PhysicalDSN(DownsamplingNetwork):
    """Learned blur, bicubic downscale by ``scale``, learned Poisson-Gaussian noise, 8-bit output.

    Parameters (all learned): ``log_sigma`` (2: the Gaussian's sigmas along and across its axis,
    HR pixels) and ``angle`` (radians) of the blur, applied with mirrored borders on a fixed
    ``kernel_size`` x ``kernel_size`` support (sigmas beyond about ``kernel_size / 6`` are
    truncated); ``log_a`` and ``log_b`` (3 each): per channel, the noise variance is
    ``a * x + b`` for the noise-free LR value ``x``; ``correlation_logit``: the noise of any two
    channels has correlation ``sigmoid(correlation_logit)`` (a shared component, as after
    demosaicking); with ``jpeg``, ``quality_logit``: JPEG 4:2:0 at quality
    ``1 + 99 * sigmoid(quality_logit)``. Output ``(N, 3, H/scale, W/scale)`` in [0, 1],
    multiples of 1/255.
    """

    def __init__(
        self, scale: int, kernel_size: int = 13, jpeg: bool = False, jpeg_quality: float | None = None
    ) -> None:
        super().__init__(scale)
        if kernel_size < 1 or kernel_size % 2 == 0:
            raise DasrError(f"dsn.kernel_size must be a positive odd number of HR pixels, got {kernel_size}")
        if jpeg_quality is not None and not 1 <= jpeg_quality <= 100:
            raise DasrError(f"dsn.jpeg_quality must be a JPEG quality from 1 to 100, got {jpeg_quality}")
        self.kernel_size = kernel_size
        self.log_sigma = _Scaled(torch.full((2,), math.log(INITIAL_SIGMA)))
        self.angle = _Scaled(torch.zeros(()))
        self.log_a = _Scaled(torch.full((3,), math.log(INITIAL_NOISE[0])))
        self.log_b = _Scaled(torch.full((3,), math.log(INITIAL_NOISE[1])))
        self.correlation_logit = _Scaled(torch.tensor(_logit(INITIAL_CORRELATION)))
        learned = jpeg and jpeg_quality is None
        self.quality_logit = _Scaled(torch.tensor(_logit((INITIAL_QUALITY - 1) / 99))) if learned else None
        fixed = torch.tensor(float(jpeg_quality)) if jpeg_quality is not None else None
        self.register_buffer("fixed_quality", fixed)

    def kernel(self) -> Tensor:
        """The blur kernel ``(kernel_size, kernel_size)``, summing to 1."""
        sigma = self.log_sigma().exp()
        return gaussian_kernel(
            self.kernel_size, sigma[0], sigma[1], self.angle(), dtype=sigma.dtype, device=sigma.device
        )

    def noise_levels(self) -> tuple[Tensor, Tensor, Tensor]:
        """``(a, b, correlation)``: per-channel shot and read noise variances, and the correlation."""
        return self.log_a().exp(), self.log_b().exp(), torch.sigmoid(self.correlation_logit())

    def quality(self) -> Tensor | None:
        """The JPEG quality in [1, 100] (learned, or fixed by ``jpeg_quality``), or ``None``
        without JPEG."""
        if self.fixed_quality is not None:
            return self.fixed_quality
        return None if self.quality_logit is None else 1 + 99 * torch.sigmoid(self.quality_logit())

    def noise_free(self, x: Tensor) -> Tensor:
        """Blur and downscale: the LR image before noise, a local operator (tiling contract)."""
        self._check_input(x)
        radius = self.kernel_size // 2
        weight = self.kernel().to(x.dtype).expand(x.shape[1], 1, self.kernel_size, self.kernel_size)
        blurred = F.conv2d(F.pad(x, (radius,) * 4, mode="reflect"), weight, groups=x.shape[1]) if radius else x
        return bicubic_downscale(blurred, self.scale)

    def corrupt(self, clean: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """``clean + sqrt(a * clean + b) * z``, clipped to [0, 1], rounded to 8 bit, JPEG.

        ``z`` comes from ``generator`` (torch's global one when ``None``, which also draws the
        JPEG grid's offset; with a ``generator`` the grid starts at the image origin, as when
        the image is saved). The rounding is straight-through: it shows the discriminator
        8-bit images like the real ones while the gradient passes as if it were not there.
        """
        a, b, correlation = (value.to(clean.dtype) for value in self.noise_levels())
        batch, channels, height, width = clean.shape
        draws = torch.randn(
            (batch, channels + 1, height, width), generator=generator, device=clean.device, dtype=clean.dtype
        )
        shared, own = draws[:, :1], draws[:, 1:]
        z = correlation.sqrt() * shared + (1 - correlation).sqrt() * own
        variance = a.view(1, -1, 1, 1) * clean.clamp(0.0, 1.0) + b.view(1, -1, 1, 1)
        noisy = (clean + variance.sqrt() * z).clamp(0.0, 1.0)
        noisy = noisy + (torch.round(noisy * 255.0) / 255.0 - noisy).detach()
        quality = self.quality()
        if quality is None:
            return noisy
        phase = (0, 0) if generator is not None else tuple(torch.randint(MCU, (2,)).tolist())
        return jpeg_roundtrip(noisy, quality, phase)

    def forward(self, x: Tensor) -> Tensor:
        return self.corrupt(self.noise_free(x))

    def _paths(self) -> list[Geometry]:
        blur = Geometry(size=self.kernel_size, stride=1, padding=self.kernel_size // 2)
        return [blur.then(bicubic_geometry(self.scale))]

    def extra_repr(self) -> str:
        quality = "learned" if self.quality_logit is not None else self.fixed_quality
        return f"scale={self.scale}, kernel_size={self.kernel_size}, jpeg={quality}"
