"""Fixed InstanceNorm statistics for a released DSN discriminator, so that its maps do not
depend on tiling (why, and what the statistics are: :mod:`dasr.stage1_dsn.released`)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
from torch import Tensor, nn

from dasr.data.image_io import image_to_tensor, read_image, to_rgb
from dasr.errors import DasrError
from dasr.metrics.protocol import quantize_8bit
from dasr.stage1_dsn.networks import DSNBundle

CALIBRATION_IMAGES = 64
"""HR images (spread evenly over the sorted list) whose generated LR crops fix the statistics."""
MIN_CALIBRATION_LR = 8
"""Generated LR crops smaller than this on a side say little about the statistics: skipped."""


def _spread(paths: Sequence[Path], count: int) -> list[Path]:
    """``count`` paths spread evenly over ``paths`` (all of them when there are fewer)."""
    if len(paths) <= count:
        return list(paths)
    return [paths[index * len(paths) // count] for index in range(count)]


def _centre_crop(path: Path, crop: int, scale: int) -> Tensor | None:
    """The central ``crop`` x ``crop`` HR pixels (fewer for a smaller image, a multiple of the
    scale), as ``(1, 3, h, w)``; ``None`` when its generated LR would be too small to count."""
    pixels = to_rgb(read_image(path).pixels)
    height, width = (min(crop, size) // scale * scale for size in pixels.shape[:2])
    if min(height, width) < MIN_CALIBRATION_LR * scale:
        return None
    top, left = (pixels.shape[0] - height) // 2, (pixels.shape[1] - width) // 2
    return image_to_tensor(pixels[top : top + height, left : left + width])[None]


@torch.no_grad()
def calibrate_instance_norm(bundle: DSNBundle, hr_paths: Sequence[Path], *, device: torch.device) -> int:
    """Fix the running statistics of the discriminator's InstanceNorm layers from generated LR
    crops (see the module docstring for why), and return how many crops were used.

    Each crop is the centre of an HR image at the training crop size (``dsn.patch_size``),
    downscaled by the generator and rounded to 8 bits as ``dasr generate`` saves it. The
    discriminator runs with per-crop statistics, as the released layer does; each layer's running
    mean and variance become the averages of the per-crop means and (biased) variances it saw.
    """
    generator, discriminator, freq_filter = bundle.generator, bundle.discriminator, bundle.freq_filter
    norms = [layer for layer in discriminator.modules() if isinstance(layer, nn.InstanceNorm2d)]
    sums: dict[nn.Module, Tensor] = {
        layer: torch.zeros(2, layer.num_features, dtype=torch.float64, device=device) for layer in norms
    }

    def record(layer: nn.Module, inputs: tuple[Tensor, ...]) -> None:
        features = inputs[0].double()
        sums[layer][0] += features.mean(dim=(2, 3)).sum(dim=0)
        sums[layer][1] += features.var(dim=(2, 3), unbiased=False).sum(dim=0)

    generator.to(device).eval()
    discriminator.to(device).train()
    hooks = [layer.register_forward_pre_hook(record) for layer in norms]
    used = 0
    try:
        for path in _spread(hr_paths, CALIBRATION_IMAGES):
            hr = _centre_crop(path, bundle.config.dsn.patch_size, bundle.config.scale)
            if hr is None:
                continue
            lr = quantize_8bit(generator(hr.to(device)))
            discriminator(freq_filter(lr))
            used += 1
    finally:
        for hook in hooks:
            hook.remove()
        discriminator.eval()
    if not used:
        raise DasrError(
            f"--hr: no image is large enough ({MIN_CALIBRATION_LR * bundle.config.scale} pixels a side) to "
            "calibrate the released discriminator's InstanceNorm"
        )
    for layer in norms:
        layer.get_buffer("running_mean").copy_(sums[layer][0] / used)
        layer.get_buffer("running_var").copy_(sums[layer][1] / used)
    bundle.needs_calibration = False
    return used
