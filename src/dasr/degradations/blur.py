"""Blur kernels of real cameras: defocus / lens softness (Gaussian) and hand shake (motion line).

Kernels are built in HR pixels, normalised to sum 1 (blur must not change brightness), and
applied by 2-D convolution with mirrored borders, so image edges do not darken.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
import torch

from dasr.ops import gaussian

_GAUSSIAN_RADIUS_SIGMAS = 3.0
"""Kernel half-width in standard deviations: beyond 3 sigma the weights are below 1.2 %."""

_MOTION_SAMPLES_PER_PIXEL = 16
"""Points splatted per pixel of line length: enough for a smooth anti-aliased line."""


def gaussian_kernel(sigma_x: float, sigma_y: float, angle: float) -> np.ndarray:
    """A normalised 2-D Gaussian, ``sigma_x`` along the direction ``angle`` (degrees), ``sigma_y``
    across it; ``sigma_x == sigma_y`` is the isotropic case. Size is odd and grows with sigma."""
    if sigma_x <= 0 or sigma_y <= 0:
        raise ValueError(f"Gaussian sigmas must be positive, got {sigma_x}, {sigma_y}")
    radius = max(1, math.ceil(_GAUSSIAN_RADIUS_SIGMAS * max(sigma_x, sigma_y)))
    kernel = gaussian.gaussian_kernel(2 * radius + 1, sigma_x, sigma_y, math.radians(angle), dtype=torch.float64)
    return kernel.numpy().astype(np.float32)


def motion_kernel(length: float, angle: float) -> np.ndarray:
    """A straight, anti-aliased line through the centre covering ``length`` pixel centres along
    ``angle`` (degrees), normalised to sum 1: the blur of a camera moving steadily during exposure.
    ``length <= 1`` is no blur (a single 1)."""
    length = max(1.0, float(length))
    radius = math.ceil((length - 1) / 2)
    size = 2 * radius + 1
    kernel = np.zeros((size, size), np.float64)
    half = (length - 1) / 2
    steps = np.linspace(-half, half, max(2, math.ceil(length * _MOTION_SAMPLES_PER_PIXEL)))
    theta = math.radians(angle)
    xs = radius + steps * math.cos(theta)
    ys = radius + steps * math.sin(theta)
    # Bilinear splatting: each point shares its unit weight among the 4 surrounding pixels.
    x0, y0 = np.floor(xs).astype(int), np.floor(ys).astype(int)
    fx, fy = xs - x0, ys - y0
    for dx, dy, weight in ((0, 0, (1 - fx) * (1 - fy)), (1, 0, fx * (1 - fy)), (0, 1, (1 - fx) * fy), (1, 1, fx * fy)):
        columns, rows = np.clip(x0 + dx, 0, size - 1), np.clip(y0 + dy, 0, size - 1)
        np.add.at(kernel, (rows, columns), weight)
    return (kernel / kernel.sum()).astype(np.float32)


def blur(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Convolve float32 ``(H, W, 3)`` with ``kernel``, borders mirrored (edge pixel not repeated).

    OpenCV's filter2D correlates; flipping the kernel makes it a true convolution, which matters
    for kernels that are not point-symmetric (user-supplied ones, future asymmetric shakes).
    """
    flipped = np.ascontiguousarray(kernel[::-1, ::-1], dtype=np.float32)
    return cv2.filter2D(image.astype(np.float32), -1, flipped, borderType=cv2.BORDER_REFLECT_101)
