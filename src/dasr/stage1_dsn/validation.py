"""Table 1's protocol: how close DSN(HR) comes to the real LR image of the same scene."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from dasr.errors import DasrError
from dasr.data.image_io import image_to_tensor, read_image, to_rgb
from dasr.metrics.psnr_ssim import psnr, ssim
from dasr.ops.resize import bicubic_downscale
from dasr.stage1_dsn.inference import downscale_with_dsn


def read_rgb_tensor(path: Path) -> torch.Tensor:
    return image_to_tensor(to_rgb(read_image(path).pixels)).unsqueeze(0)


@torch.inference_mode()
def validate_dsn(
    generator: nn.Module,
    pairs: list[tuple[Path, Path]],
    *,
    scale: int,
    tile: int,
    device: torch.device,
) -> dict[str, float]:
    """Mean PSNR/SSIM (RGB, border of ``scale`` pixels cropped) of DSN(HR) and of the bicubic
    downscale against the real LR image, so the log shows whether the DSN beats bicubic.

    HR images are cropped (bottom/right) to ``scale`` times the LR size, which tolerates the
    off-by-a-few-pixels sizes of real paired data sets.
    """
    totals = {"psnr": 0.0, "ssim": 0.0, "bicubic_psnr": 0.0, "bicubic_ssim": 0.0}
    for hr_path, lr_path in pairs:
        real_lr = read_rgb_tensor(lr_path).to(device)
        height, width = real_lr.shape[-2:]
        hr = read_rgb_tensor(hr_path)[..., : height * scale, : width * scale].to(device)
        if hr.shape[-2:] != (height * scale, width * scale):
            raise DasrError(
                f"--val-hr: '{hr_path}' is {hr.shape[-1]}x{hr.shape[-2]}, smaller than {scale}x its "
                f"LR partner '{lr_path}' ({width}x{height})"
            )
        candidates = {
            "": downscale_with_dsn(generator, hr, scale=scale, tile=tile).clamp(0, 1),
            "bicubic_": bicubic_downscale(hr, scale).clamp(0, 1),
        }
        for prefix, lr in candidates.items():
            lr = torch.round(lr * 255) / 255  # what would be saved as 8-bit PNG
            totals[prefix + "psnr"] += float(psnr(lr, real_lr, crop_border=scale)[0])
            totals[prefix + "ssim"] += float(ssim(lr, real_lr, crop_border=scale)[0])
    return {name: value / len(pairs) for name, value in totals.items()}
