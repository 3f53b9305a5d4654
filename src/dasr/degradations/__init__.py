"""Realistic camera degradations for making real-looking LR sets and paired validation sets.

Operators are plain functions on float32 ``(H, W, 3)`` images in [0, 1] (``blur``, ``resize``,
``noise``, ``jpeg``); a pipeline (``pipeline``) is an ordered list of them with parameter ranges,
drawn per image from a generator seeded by (seed, image index); ``presets`` names the built-in
pipelines. The command is ``dasr degrade``; see docs/degradations.md.
"""

from dasr.degradations.blur import blur, gaussian_kernel, motion_kernel
from dasr.degradations.jpeg import jpeg_roundtrip
from dasr.degradations.noise import poisson_gaussian_noise
from dasr.degradations.pipeline import (
    Step,
    degrade,
    image_generator,
    parse_steps,
    sample_parameters,
)
from dasr.degradations.presets import PRESETS, config_steps, preset_steps
from dasr.degradations.resize import crop_to_multiple, downscale

__all__ = [
    "PRESETS",
    "Step",
    "blur",
    "config_steps",
    "crop_to_multiple",
    "degrade",
    "downscale",
    "gaussian_kernel",
    "image_generator",
    "jpeg_roundtrip",
    "motion_kernel",
    "parse_steps",
    "poisson_gaussian_noise",
    "preset_steps",
    "sample_parameters",
]
