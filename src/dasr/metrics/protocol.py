"""The paper's evaluation protocol on image files: aligned (HR, LR) pairs read from disk, the
prediction quantised to 8 bits, PSNR/SSIM on RGB with a border of ``scale`` pixels cropped.

Shared by the validation of both stages (stage 1 compares DSN(HR) with the real LR, stage 2
SR(real LR) with the HR), so that their numbers are measured the same way. :func:`score_sr` is
the one scoring path of ``dasr eval`` and stage-2 validation: the same quantisation, alignment,
crop and metrics, so that the ``best.pth`` validation picks is the checkpoint ``dasr eval`` ranks
first, with the same PSNR.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch
from torch import Tensor

from dasr.data.image_io import image_to_tensor, read_image, to_rgb
from dasr.errors import DasrError
from dasr.metrics.high_frequency import high_frequency_energy
from dasr.metrics.psnr_ssim import psnr, ssim
from dasr.metrics.weight_free import weight_free_scores


def read_rgb_tensor(path: Path) -> Tensor:
    """An image file as a ``(1, 3, H, W)`` float tensor in [0, 1] (grey repeated, alpha dropped)."""
    return image_to_tensor(to_rgb(read_image(path).pixels)).unsqueeze(0)


def read_aligned_pair(hr_path: Path, lr_path: Path, scale: int) -> tuple[Tensor, Tensor]:
    """``(HR, LR)`` of one validation scene, HR cropped (bottom/right) to ``scale`` times the LR
    size, which tolerates the off-by-a-few-pixels sizes of real paired data sets; a smaller HR is
    an error naming ``--val-hr``."""
    lr = read_rgb_tensor(lr_path)
    height, width = lr.shape[-2:]
    hr = read_rgb_tensor(hr_path)[..., : height * scale, : width * scale]
    if hr.shape[-2:] != (height * scale, width * scale):
        raise DasrError(
            f"--val-hr: '{hr_path}' is {hr.shape[-1]}x{hr.shape[-2]}, smaller than {scale}x its "
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


def align_to_reference(sr: Tensor, hr: Tensor, scale: int, *, labels: tuple[str, str]) -> tuple[Tensor, Tensor, bool]:
    """``(sr, hr, cropped)``: both cropped bottom/right to their common size when they differ by
    less than ``scale`` pixels per side, as when an HR that is not a multiple of the scale was
    downscaled (the paper's data sets); a larger difference means the wrong files or scale, an
    error naming the two images by their ``labels`` (SR, HR)."""
    (sr_height, sr_width), (hr_height, hr_width) = sr.shape[-2:], hr.shape[-2:]
    if (sr_height, sr_width) == (hr_height, hr_width):
        return sr, hr, False
    if abs(sr_height - hr_height) >= scale or abs(sr_width - hr_width) >= scale:
        raise DasrError(
            f"{labels[0]} is {sr_width}x{sr_height} but its HR {labels[1]} is {hr_width}x{hr_height}: "
            f"sizes may differ by less than --scale {scale} pixels"
        )
    height, width = min(sr_height, hr_height), min(sr_width, hr_width)
    return sr[..., :height, :width], hr[..., :height, :width], True


def score_sr(
    sr: Tensor,
    hr: Tensor,
    *,
    scale: int,
    crop_border: int,
    labels: tuple[str, str],
    lpips: Callable[[Tensor, Tensor], Tensor] | None = None,
) -> tuple[dict[str, float], bool]:
    """The protocol's scores of one SR image against its HR (``(1, 3, H, W)`` each, in [0, 1])
    and whether their sizes were aligned by cropping.

    Both are quantised to 8 bits and aligned (:func:`align_to_reference`). With ``crop_border``
    pixels cropped on every side: PSNR and SSIM on RGB and on Y, HaarPSI, MS-SSIM (images large
    enough) and GMSD (:mod:`dasr.metrics.weight_free`), and the high-frequency energy of SR
    (``hf``) next to HR's (``hf_hr``, :mod:`dasr.metrics.high_frequency`); LPIPS (``lpips``, called
    on the two images) on the whole images. An image too small for the crop or a metric's window
    is an error naming ``labels[0]`` and the crop.
    """
    sr, hr, cropped = align_to_reference(quantize_8bit(sr), quantize_8bit(hr), scale, labels=labels)
    values = {}
    try:
        for suffix, y_channel in (("", False), ("_y", True)):
            values[f"psnr{suffix}"] = float(psnr(sr, hr, crop_border=crop_border, y_channel=y_channel)[0])
            values[f"ssim{suffix}"] = float(ssim(sr, hr, crop_border=crop_border, y_channel=y_channel)[0])
        height, width = sr.shape[-2:]
        inner = (..., slice(crop_border, height - crop_border), slice(crop_border, width - crop_border))
        values.update({name: float(value[0]) for name, value in weight_free_scores(sr[inner], hr[inner]).items()})
    except ValueError as error:
        raise DasrError(f"{labels[0]}: {error} (--crop-border {crop_border})") from None
    values["hf"] = float(high_frequency_energy(sr[inner])[0])
    values["hf_hr"] = float(high_frequency_energy(hr[inner])[0])
    if lpips is not None:
        values["lpips"] = float(lpips(sr, hr))
    return values, cropped
