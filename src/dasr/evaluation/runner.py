"""Evaluating SR images against their HR references with the paper's protocol (see the package
docstring), and producing those SR images first from a model and LR images when asked."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import piq
import torch

from dasr.data.image_io import read_image, tensor_to_pixels, to_rgb, write_image
from dasr.engine.progress import progress as progress_bar
from dasr.errors import DasrError
from dasr.evaluation.fid import folder_distances
from dasr.evaluation.lpips_metric import LPIPS_NAME, LpipsMode, load_lpips
from dasr.evaluation.metrics_table import EvaluationReport, ImageScores
from dasr.evaluation.pairing import Pair
from dasr.inference.api import Upscaler
from dasr.metrics.protocol import read_rgb_tensor, score_sr
from dasr.metrics.weight_free import ms_ssim_skipped
from dasr.ops.resize import bicubic_upscale


@torch.no_grad()
def evaluate_pairs(
    pairs: Sequence[Pair],
    *,
    scale: int,
    crop_border: int | None = None,
    lpips: LpipsMode = "auto",
    fid: bool = False,
    device: torch.device | str = "cpu",
    progress: bool = True,
) -> EvaluationReport:
    """Score every pair with :func:`~dasr.metrics.protocol.score_sr` (what stage-2 validation
    scores with): both images as 8-bit values, sizes aligned, PSNR/SSIM, HaarPSI, MS-SSIM, GMSD and
    high-frequency energy with ``crop_border`` (default: ``scale``) pixels cropped, LPIPS on the
    whole image; FID/KID between the two sets when ``fid``. MS-SSIM is reported for all images or,
    with a notice, for none."""
    crop_border = scale if crop_border is None else crop_border
    device = torch.device(device)
    if crop_border < 0:
        raise DasrError(f"--crop-border must be 0 or more, got {crop_border}")
    if not pairs:
        raise DasrError("there are no image pairs to evaluate")
    network, lpips_notice = load_lpips(lpips, device)
    images = _score_pairs(pairs, scale=scale, crop_border=crop_border, lpips=network, device=device, progress=progress)
    without_ms_ssim = sum("ms_ssim" not in image.values for image in images)
    if without_ms_ssim:
        images = [replace(image, values={k: v for k, v in image.values.items() if k != "ms_ssim"}) for image in images]
    distances, fid_notice = (
        folder_distances([pair.sr for pair in pairs], [pair.hr for pair in pairs], device=device, progress=progress)
        if fid else (None, None)
    )
    ms_ssim_notice = ms_ssim_skipped(without_ms_ssim, len(images)) if without_ms_ssim else None
    return EvaluationReport(
        images, protocol=_protocol(scale, crop_border, with_lpips=network is not None), distances=distances,
        notices=[notice for notice in (lpips_notice, ms_ssim_notice, fid_notice) if notice],
    )


def _score_pairs(pairs: Sequence[Pair], *, scale: int, crop_border: int, lpips: Callable[..., torch.Tensor] | None,
                 device: torch.device, progress: bool) -> list[ImageScores]:
    """Each pair's scores, computed on ``device``: SSIM's float64 filtering takes seconds per 2K
    image on a CPU."""
    images = []
    for pair in progress_bar(len(pairs), desc="eval", enabled=progress, items=pairs):
        sr, hr = (read_rgb_tensor(path).to(device) for path in (pair.sr, pair.hr))
        values, cropped = score_sr(
            sr, hr, scale=scale, crop_border=crop_border, labels=(f"'{pair.sr}'", f"'{pair.hr}'"), lpips=lpips
        )
        images.append(ImageScores(pair.name, pair.sr, pair.hr, cropped, values))
    return images


def _protocol(scale: int, crop_border: int, *, with_lpips: bool) -> dict[str, Any]:
    """How the figures were computed, saved with them: two tables compare only when these agree."""
    return {
        "scale": scale,
        "crop_border": crop_border,
        "values": "8-bit (both images rounded to multiples of 1/255)",
        "psnr_ssim": "RGB, and Y of BT.601 YCbCr (studio range, as MATLAB rgb2ycbcr)",
        "ssim_window": "11x11 Gaussian, sigma 1.5, valid region only",
        "lpips": f"{LPIPS_NAME}, inputs in [-1, 1], whole image" if with_lpips else None,
        "haarpsi_ms_ssim_gmsd": f"piq {piq.__version__} defaults, RGB in [0, 1], border cropped",
        "hf": "mean |LH|, |HL|, |HH| of the one-level Haar transform, RGB, 8-bit levels, border cropped",
    }


def super_resolve_folder(
    upscaler: Upscaler, lr_paths: Sequence[Path], out_dir: Path, *, progress: bool = True
) -> list[Path]:
    """Upscale every LR image into ``out_dir/<LR name>.png``, 8-bit like the SR images that
    papers evaluate; returns the SR paths in the order of ``lr_paths``."""
    sr_paths = []
    for path in progress_bar(len(lr_paths), desc="sr", enabled=progress, items=lr_paths):
        sr_paths.append(out_dir / f"{path.stem}.png")
        write_image(sr_paths[-1], upscaler.upscale(to_rgb(read_image(path).pixels)))
    return sr_paths


def bicubic_upsample_folder(lr_paths: Sequence[Path], out_dir: Path, scale: int) -> list[Path]:
    """:func:`super_resolve_folder` with plain bicubic interpolation in place of a network: the
    no-learning reference every SR method must beat, written the same way (8-bit PNGs)."""
    sr_paths = [out_dir / f"{path.stem}.png" for path in lr_paths]
    for path, sr_path in zip(lr_paths, sr_paths):
        write_image(sr_path, tensor_to_pixels(bicubic_upscale(read_rgb_tensor(path), scale)))
    return sr_paths
