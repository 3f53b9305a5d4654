"""Image quality metrics of the evaluation protocol: PSNR and SSIM, the weight-free HaarPSI,
MS-SSIM and GMSD (``weight_free``), high-frequency energy (``high_frequency``), and the protocol
that applies them (``protocol``). LPIPS: ``dasr.losses``."""

from dasr.metrics.psnr_ssim import psnr, rgb_to_y, ssim

__all__ = ["psnr", "rgb_to_y", "ssim"]
