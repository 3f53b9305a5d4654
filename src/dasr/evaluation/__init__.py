"""Evaluating super-resolved images the way the paper did (``dasr eval``).

The protocol, and why (details and caveats in ``docs/evaluation.md``):

- **Pairs by name.** SR and HR files are matched by name without extension, after stripping an
  optional suffix (``--sr-suffix _x4``); a file without partner is an error, since scores on a
  silent subset mislead. Sizes that differ by less than the scale (an HR that was not a multiple
  of the scale when its LR was made) are cropped bottom/right to the common size; a larger
  difference is an error naming both files.
- **8-bit values.** Both images are rounded to 8 bits, as the saved PNGs of published results are.
- **PSNR and SSIM on RGB, border of ``scale`` pixels cropped**: the released DASR test code
  (BasicSR style), whose numbers the paper's Table 3 reports. The same metrics on the BT.601 Y
  channel (MATLAB ``rgb2ycbcr``) are reported alongside, because most other SR papers use Y and
  the two are not comparable with each other. SSIM: 11x11 Gaussian window, sigma 1.5 (Wang et al. 2004).
- **LPIPS AlexNet, linear calibration v0.1**, inputs in [-1, 1], whole image (not cropped): the
  paper's primary metric. VGG or v0.0 give other numbers, so the version is written with them.
  When its weights are not on the machine, a notice says so and the other metrics are reported.
- **HaarPSI, MS-SSIM, GMSD** (piq, no weights) and the **high-frequency energy** of SR next to
  HR's (mean absolute finest Haar detail, 8-bit levels), after the same rounding and crop: a
  perceptual figure on every machine, and a noise-amplification figure. Stage-2 validation scores
  with the same function (:func:`dasr.metrics.protocol.score_sr`), so eval reproduces it.
- **FID/KID** (optional) between the SR and HR sets from Inception pool features; only the
  pytorch-fid weights give FIDs comparable with published ones.
"""

from dasr.evaluation.fid import (
    feature_frechet_distance,
    frechet_distance,
    kernel_inception_distance,
)
from dasr.evaluation.metrics_table import (
    EvaluationReport,
    ImageScores,
    format_table,
    write_report,
)
from dasr.evaluation.pairing import Pair, match_pairs
from dasr.evaluation.runner import evaluate_pairs, super_resolve_folder

__all__ = [
    "EvaluationReport",
    "ImageScores",
    "Pair",
    "evaluate_pairs",
    "feature_frechet_distance",
    "format_table",
    "frechet_distance",
    "kernel_inception_distance",
    "match_pairs",
    "super_resolve_folder",
    "write_report",
]
