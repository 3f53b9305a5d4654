"""Stage-2 validation with the paper's protocol: SR(real LR) against the HR of the same scene.

Scored by :func:`dasr.metrics.protocol.score_sr`, the function ``dasr eval`` scores with (8-bit
quantisation, alignment, a border of ``scale`` pixels cropped; PSNR/SSIM on RGB and Y, HaarPSI,
MS-SSIM, GMSD, high-frequency energy of SR and HR), plus LPIPS (AlexNet, v0.1, whole image), the
paper's primary metric, when its weights are on this machine. SR is made as ``dasr sr`` and
``dasr eval --model`` make it (:func:`dasr.ops.blended_tiling.upscale_tiled`: reflect padding,
blended tiles of the size the memory budget allows, float32), so that ``dasr eval --model`` on a
validated checkpoint reproduces its validation figures (up to float rounding; on CUDA with
``--precision fp32``, since eval's default there is fp16 autocast). A few validation images are
also saved as ``samples/val_<iteration>_<stem>.png``: bicubic-upscaled LR | SR | HR.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from pathlib import Path

import torch
from torch import nn

from dasr.engine.samples import save_side_by_side
from dasr.losses.perceptual import LPIPSLoss, lpips_unavailable_reason
from dasr.metrics.protocol import read_rgb_tensor, score_sr
from dasr.metrics.weight_free import ms_ssim_skipped
from dasr.ops.blended_tiling import upscale_tiled
from dasr.ops.resize import bicubic_upscale

SAMPLES_PER_VALIDATION = 2


def offline_lpips(device: torch.device) -> nn.Module | None:
    """The LPIPS metric if its AlexNet weights are already cached (validation never downloads),
    else ``None`` after one warning saying how to enable it."""
    reason = lpips_unavailable_reason()
    if reason is not None:
        warnings.warn(f"validation without LPIPS: {reason}", stacklevel=2)
        return None
    return LPIPSLoss("imagenet", section="srn").to(device)


class SRNValidator:
    """Measures an SR network on the validation pairs ``(HR, real LR)`` and saves samples."""

    def __init__(
        self,
        pairs: Sequence[tuple[Path, Path]],
        *,
        scale: int,
        device: torch.device,
        samples_dir: Path,
        lpips: nn.Module | None,
    ) -> None:
        self.pairs = list(pairs)
        self.scale = scale
        self.device = device
        self.samples_dir = samples_dir
        self.lpips = lpips
        self._noted_ms_ssim = False

    @torch.inference_mode()
    def __call__(self, model: nn.Module, iteration: int) -> dict[str, float]:
        """The mean over the pairs of each score measured on all of them, for the eval-mode
        ``model`` (on ``device``); as ``dasr eval`` does, MS-SSIM only when every pair is large
        enough (a warning says so once otherwise)."""
        per_pair = []
        for index, (hr_path, lr_path) in enumerate(self.pairs):
            lr, hr = read_rgb_tensor(lr_path), read_rgb_tensor(hr_path).to(self.device)
            sr = upscale_tiled(model, lr, scale=self.scale, device=self.device).to(self.device)
            labels = (f"the SR of '{lr_path}'", f"'{hr_path}'")
            scores, _ = score_sr(sr, hr, scale=self.scale, crop_border=self.scale, labels=labels, lpips=self.lpips)
            per_pair.append(scores)
            if index < SAMPLES_PER_VALIDATION:
                save_side_by_side(
                    self.samples_dir / f"val_{iteration:07d}_{hr_path.stem}.png",
                    [bicubic_upscale(lr, self.scale), sr, hr],
                )
        without_ms_ssim = sum("ms_ssim" not in scores for scores in per_pair)
        if without_ms_ssim and not self._noted_ms_ssim:
            warnings.warn(f"validation: {ms_ssim_skipped(without_ms_ssim, len(per_pair))}", stacklevel=2)
            self._noted_ms_ssim = True
        measured = [name for name in per_pair[0] if all(name in scores for scores in per_pair)]
        return {name: math.fsum(scores[name] for scores in per_pair) / len(per_pair) for name in measured}
