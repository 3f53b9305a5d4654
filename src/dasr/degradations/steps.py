"""The step types a degradation pipeline can hold: their parameters and how each is applied.

Each entry ties the plain operator functions (``blur``, ``resize``, ``noise``, ``jpeg``) to the
parameter ranges a configuration may give; sampling is generic (``ranges.draw``), so an
operator never sees a range and a sampler never touches pixels.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from dasr.degradations.blur import blur, gaussian_kernel, motion_kernel
from dasr.degradations.jpeg import SUBSAMPLINGS, jpeg_roundtrip
from dasr.degradations.noise import poisson_gaussian_noise
from dasr.degradations.ranges import Param
from dasr.degradations.resize import METHODS, downscale

Apply = Callable[[np.ndarray, dict[str, Any], np.random.Generator, int], np.ndarray]
"""``(image, drawn parameters, the image's generator, scale) -> image``."""


@dataclass(frozen=True)
class StepType:
    """What a configuration may say about a step (``params``) and what the step does (``apply``)."""

    params: dict[str, Param]
    apply: Apply


_ANGLE = Param(default=[0.0, 180.0], high=360.0)
_SIGMA = Param(default=[0.5, 1.5], low=0.05, high=20.0)

STEP_TYPES: dict[str, StepType] = {
    # round Gaussian blur (defocus), sigma in HR pixels when before downscale
    "isotropic_blur": StepType(
        params={"sigma": _SIGMA},
        apply=lambda image, p, rng, scale: blur(image, gaussian_kernel(p["sigma"], p["sigma"], 0.0)),
    ),
    # elliptic Gaussian blur (lens softness), sigma_x along angle (degrees), sigma_y across
    "anisotropic_blur": StepType(
        params={"sigma_x": _SIGMA, "sigma_y": _SIGMA, "angle": _ANGLE},
        apply=lambda image, p, rng, scale: blur(image, gaussian_kernel(p["sigma_x"], p["sigma_y"], p["angle"])),
    ),
    # straight-line camera shake, length in pixels, angle in degrees
    "motion_blur": StepType(
        params={"length": Param(default=[3.0, 9.0], low=1.0, high=101.0), "angle": _ANGLE},
        apply=lambda image, p, rng, scale: blur(image, motion_kernel(p["length"], p["angle"])),
    ),
    # down-sampling by the command's --scale; exactly one per pipeline
    "downscale": StepType(
        params={"method": Param(default=["bicubic"], choices=METHODS)},
        apply=lambda image, p, rng, scale: downscale(image, scale, p["method"]),
    ),
    # Poisson-Gaussian sensor noise, variance a*x + b, channel correlation in [0, 1]
    "noise": StepType(
        params={
            "a": Param(default=[0.0005, 0.005], high=1.0),
            "b": Param(default=[0.00001, 0.0005], high=1.0),
            "correlation": Param(default=0.0, high=1.0),
        },
        apply=lambda image, p, rng, scale: poisson_gaussian_noise(image, p["a"], p["b"], p["correlation"], rng),
    ),
    # JPEG encode/decode at quality (1-100) with chroma subsampling
    "jpeg": StepType(
        params={
            "quality": Param(default=[70, 90], low=1, high=100, integer=True),
            "subsampling": Param(default=["4:2:0"], choices=SUBSAMPLINGS),
        },
        apply=lambda image, p, rng, scale: jpeg_roundtrip(image, p["quality"], p["subsampling"]),
    ),
}
