"""Stage-2 validation with the paper's protocol: SR(real LR) against the HR of the same scene.

PSNR/SSIM on RGB with a border of ``scale`` pixels cropped after quantising SR to 8 bits
(:mod:`dasr.metrics.protocol`), and LPIPS (AlexNet, v0.1, whole image), the paper's primary
metric, when its weights are on this machine. A few validation images are also saved as
``samples/val_<iteration>_<stem>.png``: bicubic-upscaled LR | SR | HR.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torchvision.models import AlexNet_Weights

from dasr.engine.samples import save_side_by_side
from dasr.errors import DasrError
from dasr.losses.perceptual import LPIPSLoss, hub_cache_path
from dasr.metrics.protocol import psnr_ssim, quantize_8bit, read_aligned_pair
from dasr.ops.tiling import apply_tiled

SAMPLES_PER_VALIDATION = 2


def super_resolve(model: nn.Module, lr: Tensor, *, scale: int, tile: int) -> Tensor:
    """``model(lr)`` for an eval-mode RRDBNet, computed in LR tiles of ``tile`` pixels: exact,
    because every tile gets ``model.context()`` pixels of context."""
    return apply_tiled(
        model, lr, tile=tile, context=model.context(), alignment=model.tile_alignment(), scale_out=Fraction(scale)
    )


def display_upscale(lr: Tensor, scale: int) -> Tensor:
    """LR enlarged to the SR size with plain bicubic interpolation, to show next to SR."""
    if scale == 1:
        return lr
    return F.interpolate(lr, scale_factor=scale, mode="bicubic", align_corners=False)


def offline_lpips(device: torch.device) -> nn.Module | None:
    """The LPIPS metric if its AlexNet weights are already cached (validation never downloads),
    else ``None`` after one warning saying how to enable it."""
    weights = hub_cache_path(AlexNet_Weights.IMAGENET1K_V1)
    if not weights.is_file():
        warnings.warn(f"validation without LPIPS: put {weights.name} in {weights.parent} to measure it", stacklevel=2)
        return None
    try:
        return LPIPSLoss("imagenet", section="srn").to(device)
    except DasrError as error:  # e.g. the lpips package is not installed
        warnings.warn(f"validation without LPIPS: {error}", stacklevel=2)
        return None


class SRNValidator:
    """Measures an SR network on the validation pairs ``(HR, real LR)`` and saves samples."""

    def __init__(
        self,
        pairs: Sequence[tuple[Path, Path]],
        *,
        scale: int,
        tile: int,
        device: torch.device,
        samples_dir: Path,
        lpips: nn.Module | None,
    ) -> None:
        self.pairs = list(pairs)
        self.scale = scale
        self.tile = tile
        self.device = device
        self.samples_dir = samples_dir
        self.lpips = lpips

    @torch.inference_mode()
    def __call__(self, model: nn.Module, iteration: int) -> dict[str, float]:
        """Mean ``psnr``, ``ssim`` (and ``lpips``) over the pairs for the eval-mode ``model``."""
        totals: dict[str, float] = {}
        for index, (hr_path, lr_path) in enumerate(self.pairs):
            hr, lr = (image.to(self.device) for image in read_aligned_pair(hr_path, lr_path, self.scale))
            sr = super_resolve(model, lr, scale=self.scale, tile=self.tile)
            scores = psnr_ssim(sr, hr, crop_border=self.scale)
            if self.lpips is not None:
                scores["lpips"] = float(self.lpips(quantize_8bit(sr), hr))
            for name, value in scores.items():
                totals[name] = totals.get(name, 0.0) + value
            if index < SAMPLES_PER_VALIDATION:
                save_side_by_side(
                    self.samples_dir / f"val_{iteration:07d}_{hr_path.stem}.png",
                    [display_upscale(lr, self.scale), sr, hr],
                )
        return {name: total / len(self.pairs) for name, total in totals.items()}
