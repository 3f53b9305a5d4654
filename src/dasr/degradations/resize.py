"""Down-sampling HR to LR by an integer scale, with the resampling filters cameras and web
pipelines actually use.

The HR image is first cropped (top-left kept) to a multiple of the scale so that each LR pixel
corresponds to exactly one ``scale x scale`` HR block, which paired validation needs.
"""

from __future__ import annotations

import cv2
import numpy as np

from dasr.data.image_io import image_to_tensor, tensor_to_pixels
from dasr.ops.resize import bicubic_downscale

METHODS = ("bicubic", "bilinear", "area")
"""``bicubic``: MATLAB imresize (antialiased, the SR data-set standard); ``bilinear``: OpenCV's
bilinear without antialiasing (aliasing like cheap resizers); ``area``: block average (binning)."""

_OPENCV_FLAGS = {"bilinear": cv2.INTER_LINEAR, "area": cv2.INTER_AREA}


def crop_to_multiple(image: np.ndarray, scale: int) -> np.ndarray:
    """The top-left part of ``(H, W, C)`` whose height and width are multiples of ``scale``."""
    height, width = image.shape[:2]
    return image[: height - height % scale, : width - width % scale]


def downscale(image: np.ndarray, scale: int, method: str) -> np.ndarray:
    """Float32 ``(H, W, 3)`` (H, W multiples of ``scale``) to ``(H/scale, W/scale, 3)`` in [0, 1]."""
    if method not in METHODS:
        raise ValueError(f"unknown down-sampling method '{method}' (use {', '.join(METHODS)})")
    if scale == 1:
        return image.astype(np.float32)
    height, width = image.shape[:2]
    if method == "bicubic":
        small = tensor_to_pixels(bicubic_downscale(image_to_tensor(image)[None], scale))
    else:
        small = cv2.resize(image.astype(np.float32), (width // scale, height // scale), interpolation=_OPENCV_FLAGS[method])
    return np.clip(small, 0.0, 1.0).astype(np.float32)
