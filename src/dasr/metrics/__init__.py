"""Image quality metrics of the evaluation protocol: PSNR and SSIM (LPIPS: ``dasr.losses``)."""

from dasr.metrics.psnr_ssim import psnr, rgb_to_y, ssim

__all__ = ["psnr", "rgb_to_y", "ssim"]
