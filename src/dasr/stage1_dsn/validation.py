"""Table 1's protocol: how close DSN(HR) comes to the real LR image of the same scene."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from dasr.metrics.protocol import psnr_ssim, read_aligned_pair
from dasr.ops.resize import bicubic_downscale
from dasr.stage1_dsn.inference import downscale_with_dsn


@torch.inference_mode()
def validate_dsn(
    generator: nn.Module,
    pairs: list[tuple[Path, Path]],
    *,
    scale: int,
    tile: int,
    device: torch.device,
) -> dict[str, float]:
    """Mean PSNR/SSIM (RGB, border of ``scale`` pixels cropped, 8-bit quantised as a saved PNG)
    of DSN(HR) and of the bicubic downscale against the real LR image, so the log shows whether
    the DSN beats bicubic. HR images are cropped to ``scale`` times the LR size
    (:func:`~dasr.metrics.protocol.read_aligned_pair`).
    """
    totals = {"psnr": 0.0, "ssim": 0.0, "bicubic_psnr": 0.0, "bicubic_ssim": 0.0}
    for hr_path, lr_path in pairs:
        hr, real_lr = (image.to(device) for image in read_aligned_pair(hr_path, lr_path, scale))
        candidates = {
            "": downscale_with_dsn(generator, hr, scale=scale, tile=tile),
            "bicubic_": bicubic_downscale(hr, scale),
        }
        for prefix, lr in candidates.items():
            for name, value in psnr_ssim(lr, real_lr, crop_border=scale).items():
                totals[prefix + name] += value
    return {name: value / len(pairs) for name, value in totals.items()}
