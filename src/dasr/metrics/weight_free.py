"""Full-reference perceptual metrics that need no downloaded weights: HaarPSI, MS-SSIM and GMSD.

LPIPS, the paper's perceptual metric, needs ImageNet weights that an offline machine lacks; these
three are computed from the pixels alone, by ``piq`` with its defaults (the published
parameters), so every ``dasr eval``, validation, ablation and demo reports a perceptual figure:

- **HaarPSI** (Reisenhofer et al. 2018), in [0, 1], higher is better: Haar-wavelet similarity on
  YIQ; its authors report a close agreement with human ratings on the standard IQA data sets.
- **MS-SSIM** (Wang et al. 2003), in [0, 1], higher is better: SSIM over 5 scales (11x11 Gaussian
  window, sigma 1.5, the published scale weights), per RGB channel and averaged. It needs images
  of at least :data:`MS_SSIM_MIN_SIZE` pixels per side; smaller ones get no MS-SSIM rather than
  a variant with fewer scales, whose values would not be comparable with anyone's MS-SSIM.
- **GMSD** (Xue et al. 2013), lower is better (0 = identical): deviation of the gradient
  magnitude similarity on luma.

Inputs are ``(N, 3, H, W)`` tensors in [0, 1], as the protocol scores them: both images
quantised to 8 bits and cropped by the border (:func:`dasr.metrics.protocol.score_sr`).

Precision: float32 on the CPU, float64 on CUDA. piq filters with full 2-D windows, which
in float64 on a CPU take about a minute per megapixel for MS-SSIM (float32: about 3 s), and the
float32 values differ from float64 by under 1e-6 (measured on a noisy 200x190 pair: 3e-7 at
most). On CUDA, float32 convolutions default to TF32 (10-bit mantissa), too coarse for the
variances SSIM computes by subtraction; float64 avoids that and is fast there.
"""

from __future__ import annotations

import piq
import torch
from torch import Tensor

from dasr.metrics.psnr_ssim import SSIM_WINDOW

MS_SSIM_SCALES = 5
MS_SSIM_MIN_SIZE = (SSIM_WINDOW - 1) * 2 ** (MS_SSIM_SCALES - 1) + 1
"""161: the 11x11 window must still fit after 4 halvings (piq's and the original's check)."""

HAARPSI_MIN_SIZE = 2 ** (3 + 1)
"""16: HaarPSI's coarsest (third-scale) Haar filter is 16 pixels wide."""


def ms_ssim_skipped(count: int, total: int) -> str:
    """The note for ``count`` of ``total`` images too small for MS-SSIM."""
    return (
        f"MS-SSIM skipped: {count} of {total} images are smaller than {MS_SSIM_MIN_SIZE}x{MS_SSIM_MIN_SIZE} "
        f"pixels after the border crop ({MS_SSIM_SCALES} scales of an {SSIM_WINDOW}x{SSIM_WINDOW} window)"
    )


def weight_free_scores(sr: Tensor, hr: Tensor) -> dict[str, Tensor]:
    """``haarpsi``, ``ms_ssim`` (only for images of at least :data:`MS_SSIM_MIN_SIZE` pixels per
    side) and ``gmsd`` of each ``sr`` image against its ``hr``, as ``(N,)`` tensors."""
    if sr.shape != hr.shape or sr.ndim != 4 or sr.shape[1] != 3:
        raise ValueError(
            f"expected two RGB batches (N, 3, H, W) of one shape, got {tuple(sr.shape)} and {tuple(hr.shape)}"
        )
    height, width = sr.shape[-2:]
    if min(height, width) < HAARPSI_MIN_SIZE:
        raise ValueError(
            f"HaarPSI needs images of at least {HAARPSI_MIN_SIZE}x{HAARPSI_MIN_SIZE} pixels, got {height}x{width}"
        )
    dtype = torch.float64 if sr.device.type == "cuda" else torch.float32
    sr, hr = sr.to(dtype), hr.to(dtype)
    scores = {"haarpsi": piq.haarpsi(sr, hr, reduction="none", data_range=1.0)}
    if min(height, width) >= MS_SSIM_MIN_SIZE:
        scores["ms_ssim"] = piq.multi_scale_ssim(sr, hr, reduction="none", data_range=1.0)
    scores["gmsd"] = piq.gmsd(sr, hr, reduction="none", data_range=1.0)
    return scores
