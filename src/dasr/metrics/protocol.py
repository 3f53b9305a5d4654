"""The paper's evaluation protocol on image files: aligned (HR, LR) pairs read from disk, the
prediction quantised to 8 bits, PSNR/SSIM on RGB with a border of ``scale`` pixels cropped.

Shared by the validation of both stages (stage 1 compares DSN(HR) with the real LR, stage 2
SR(real LR) with the HR), so that their numbers are measured the same way.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor

from dasr.data.image_io import image_to_tensor, read_image, to_rgb
from dasr.errors import DasrError
from dasr.metrics.psnr_ssim import psnr, ssim


def read_rgb_tensor(path: Path) -> Tensor:
    """An image file as a ``(1, 3, H, W)`` float tensor in [0, 1] (grey repeated, alpha dropped)."""
    return image_to_tensor(to_rgb(read_image(path).pixels)).unsqueeze(0)


def read_aligned_pair(
    hr_path: Path, lr_path: Path, scale: int, *, hr_option: str = "--val-hr"
) -> tuple[Tensor, Tensor]:
    """``(HR, LR)`` of one scene, HR cropped (bottom/right) to ``scale`` times the LR size, which
    tolerates the off-by-a-few-pixels sizes of real paired data sets; a smaller HR is an error
    naming ``hr_option``."""
    lr = read_rgb_tensor(lr_path)
    height, width = lr.shape[-2:]
    hr = read_rgb_tensor(hr_path)[..., : height * scale, : width * scale]
    if hr.shape[-2:] != (height * scale, width * scale):
        raise DasrError(
            f"{hr_option}: '{hr_path}' is {hr.shape[-1]}x{hr.shape[-2]}, smaller than {scale}x its "
            f"LR partner '{lr_path}' ({width}x{height})"
        )
    return hr, lr


def quantize_8bit(image: Tensor) -> Tensor:
    """What saving ``image`` as an 8-bit PNG and reading it back gives: clamped, rounded."""
    return torch.round(image.clamp(0, 1) * 255) / 255


def psnr_ssim(prediction: Tensor, target: Tensor, *, crop_border: int) -> dict[str, float]:
    """PSNR and SSIM (RGB) of a ``(1, 3, H, W)`` prediction, quantised to 8 bits first, against
    its target, with ``crop_border`` (the protocol: the scale) pixels cropped on every side."""
    prediction = quantize_8bit(prediction)
    return {
        "psnr": float(psnr(prediction, target, crop_border=crop_border)[0]),
        "ssim": float(ssim(prediction, target, crop_border=crop_border)[0]),
    }
