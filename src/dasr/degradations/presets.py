"""Built-in degradation pipelines, named after what they imitate.

Data only, free of numpy and OpenCV, so that ``dasr degrade --help`` can list the names;
:func:`dasr.degradations.pipeline.preset_steps` turns one into checked steps.

Ranges are in the units of the step (blur sigmas and lengths in the pixels of the image the step
sees: HR before ``downscale``, LR after; noise ``a``, ``b`` for pixel values in [0, 1]).

``bicubic``
    Plain MATLAB bicubic downscale, no degradation: the classic SR baseline.
``aim2019-like``
    AIM 2019 Real-World SR track 1: its LR images were made by an undisclosed process that
    leaves them blurry and noisy. Our interpretation, not a reproduction: unknown Gaussian blur
    (anisotropic, sigma 0.2-2.5 HR px, any angle), bicubic downscale, strong channel-independent
    Poisson-Gaussian noise (a 0.001-0.01, b 0.0001-0.001: std about 6-20 levels of 255 at mid
    grey), no JPEG (add a ``jpeg`` step in a --config file if your target images are compressed).
``phone-camera``
    A phone photo shrunk for sharing: mild anisotropic blur (sigma 0.5-1.5 HR px), bicubic /
    bilinear / area downscale, signal-dependent noise correlated across channels by demosaicking
    (a 0.0001-0.002, b 0.00001-0.0002, correlation 0.3-0.7), JPEG 4:2:0 at quality 70-90.
``one-camera``
    One phone camera at fixed settings, the same for every image (only the noise is random):
    lens blur sigma 1.0 x 0.7 HR px at 30 degrees, bicubic downscale, noise a 0.002, b 0.0002,
    correlation 0.5 (3-8 levels of 255 from dark to bright after JPEG), JPEG 4:2:0 quality 70.
    A set of many scenes from one camera is what the DSN of stage 1 can learn (the demo's real
    LR); ``phone-camera`` draws a different camera for every image.
"""

from __future__ import annotations

from typing import Any

PRESETS: dict[str, list[dict[str, Any]]] = {
    "bicubic": [{"type": "downscale", "method": "bicubic"}],
    "aim2019-like": [
        {"type": "anisotropic_blur", "sigma_x": [0.2, 2.5], "sigma_y": [0.2, 2.5], "angle": [0.0, 180.0]},
        {"type": "downscale", "method": "bicubic"},
        {"type": "noise", "a": [0.001, 0.01], "b": [0.0001, 0.001], "correlation": 0.0},
    ],
    "phone-camera": [
        {"type": "anisotropic_blur", "sigma_x": [0.5, 1.5], "sigma_y": [0.5, 1.5], "angle": [0.0, 180.0]},
        {"type": "downscale", "method": ["bicubic", "bilinear", "area"]},
        {"type": "noise", "a": [0.0001, 0.002], "b": [0.00001, 0.0002], "correlation": [0.3, 0.7]},
        {"type": "jpeg", "quality": [70, 90], "subsampling": "4:2:0"},
    ],
    "one-camera": [
        {"type": "anisotropic_blur", "sigma_x": 1.0, "sigma_y": 0.7, "angle": 30.0},
        {"type": "downscale", "method": "bicubic"},
        {"type": "noise", "a": 0.002, "b": 0.0002, "correlation": 0.5},
        {"type": "jpeg", "quality": 70, "subsampling": "4:2:0"},
    ],
}
