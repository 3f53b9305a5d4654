"""Sensor noise: signal-dependent Poisson-Gaussian noise, optionally correlated across channels.

A raw sensor's noise variance grows linearly with the signal (photon shot noise, ``a * x``)
on top of a constant floor (read noise, ``b``). Demosaicking and colour processing then mix the
channels, so the noise of R, G and B is correlated: modelled by a component shared by the three
channels, with correlation coefficient ``correlation`` between any two of them.
"""

from __future__ import annotations

import numpy as np


def poisson_gaussian_noise(
    image: np.ndarray, a: float, b: float, correlation: float, rng: np.random.Generator
) -> np.ndarray:
    """``image + sqrt(a*x + b) * z``, clipped to [0, 1]; ``z`` standard normal per pixel and
    channel with ``corr(z_c, z_d) = correlation`` for ``c != d``."""
    if a < 0 or b < 0:
        raise ValueError(f"noise parameters must be >= 0, got a={a}, b={b}")
    if not 0.0 <= correlation <= 1.0:
        raise ValueError(f"channel correlation must be in [0, 1], got {correlation}")
    height, width, channels = image.shape
    shared = rng.standard_normal((height, width, 1), dtype=np.float32)
    own = rng.standard_normal((height, width, channels), dtype=np.float32)
    z = np.sqrt(correlation) * shared + np.sqrt(1.0 - correlation) * own
    std = np.sqrt(np.maximum(a * image + b, 0.0))
    return np.clip(image + std * z, 0.0, 1.0).astype(np.float32)
