"""Distribution distances between LR sets: zero for identical sets, growing with added noise,
finite with empty bins, and equal to a direct PyWavelets / NumPy / SciPy computation."""

from __future__ import annotations

import math

import numpy as np
import pytest
import pywt
import torch
from scipy.ndimage import correlate
from scipy.spatial.distance import jensenshannon

from dasr.metrics.distribution import (
    BIN_LIMIT,
    BIN_WIDTH,
    distribution_distances,
    high_frequency_stats,
    jensen_shannon,
)


def smooth_images(seed: int, count: int = 3, size: tuple[int, int] = (48, 64)) -> list[torch.Tensor]:
    """Photo-like 8-bit images: coarse random colours upsampled bicubically."""
    generator = torch.Generator().manual_seed(seed)
    images = []
    for _ in range(count):
        coarse = torch.rand(1, 3, size[0] // 8, size[1] // 8, generator=generator)
        image = torch.nn.functional.interpolate(coarse, size=size, mode="bicubic", align_corners=False)
        images.append(torch.round(image.clamp(0, 1) * 255) / 255)
    return images


def with_noise(images: list[torch.Tensor], sigma_levels: float, seed: int = 1) -> list[torch.Tensor]:
    """Gaussian noise of ``sigma_levels`` 8-bit levels added, then saved as 8 bits would be."""
    generator = torch.Generator().manual_seed(seed)
    noisy = [image + sigma_levels / 255 * torch.randn(image.shape, generator=generator) for image in images]
    return [torch.round(image.clamp(0, 1) * 255) / 255 for image in noisy]


def test_identical_sets_are_at_distance_zero() -> None:
    images = with_noise(smooth_images(0), 6.0)
    stats = high_frequency_stats(images)
    distances = distribution_distances(stats, high_frequency_stats([image.clone() for image in images]))
    assert all(distances[key] == 0.0 for key in ("jsd_lh", "jsd_hl", "jsd_hh", "jsd_haar", "jsd_residual"))
    assert distances["hf_ratio"] == 1.0


def test_distance_grows_with_added_gaussian_noise() -> None:
    clean = smooth_images(0)
    reference = high_frequency_stats(clean)
    rows = [distribution_distances(high_frequency_stats(with_noise(clean, sigma)), reference)
            for sigma in (1, 2, 4, 8, 16)]
    for key in ("jsd_lh", "jsd_hl", "jsd_hh", "jsd_haar", "jsd_residual", "hf_ratio"):
        values = [row[key] for row in rows]
        assert values == sorted(values) and len(set(values)) == len(values), (key, values)
    assert rows[0]["jsd_haar"] > 0 and rows[-1]["jsd_haar"] < math.log(2)
    assert rows[0]["hf_ratio"] > 1


def test_jensen_shannon_is_finite_with_empty_bins() -> None:
    disjoint = jensen_shannon(torch.tensor([3.0, 0.0, 0.0]), torch.tensor([0.0, 0.0, 5.0]))
    assert disjoint == pytest.approx(math.log(2), abs=1e-12)
    p, q = torch.tensor([2.0, 1.0, 0.0, 7.0]), torch.tensor([0.0, 1.0, 2.0, 1.0])
    assert jensen_shannon(p, q) == pytest.approx(jensenshannon(p.numpy(), q.numpy()) ** 2, rel=1e-12)


def reference_counts(values: np.ndarray) -> np.ndarray:
    """``np.histogram`` over the documented bins: 0.5-level bins centred on multiples of 0.5 up to
    +-64 levels, plus one bin for each tail."""
    inner = np.arange(-BIN_LIMIT - BIN_WIDTH / 2, BIN_LIMIT + BIN_WIDTH, BIN_WIDTH)
    assert inner[0] == -64.25 and inner[-1] == 64.25
    return np.histogram(values.ravel(), bins=np.concatenate([[-1e9], inner, [1e9]]))[0]


def reference_statistics(images: list[torch.Tensor]) -> tuple[dict[str, np.ndarray], float]:
    """Histograms of PyWavelets' Haar details and of ``x - 5x5 Gaussian(sigma 5/6)`` (mirrored
    borders, SciPy), and the mean absolute detail, all in 8-bit levels."""
    taps = np.arange(5) - 2
    kernel_1d = np.exp(-(taps**2) / (2 * (5 / 6) ** 2))
    kernel = np.outer(kernel_1d, kernel_1d) / kernel_1d.sum() ** 2
    counts = {name: 0 for name in ("lh", "hl", "hh", "residual")}
    details = []
    for image in images:
        pixels = np.round(image[0].double().numpy() * 255)  # (3, H, W) levels; sizes here are even
        _, (ch, cv, cd) = pywt.dwt2(pixels, "haar")
        for name, band in zip(("lh", "hl", "hh"), (ch, cv, cd)):
            counts[name] = counts[name] + reference_counts(band)
            details.append(np.abs(band).ravel())
        residual = np.stack([channel - correlate(channel, kernel, mode="mirror") for channel in pixels])
        counts["residual"] = counts["residual"] + reference_counts(residual)
    return counts, float(np.concatenate(details).mean())


def test_distances_equal_a_direct_numpy_scipy_computation() -> None:
    real = with_noise(smooth_images(3), 30.0, seed=4)  # strong noise: the tail bins get counts too
    candidate = smooth_images(5)
    ours = distribution_distances(high_frequency_stats(candidate), high_frequency_stats(real))
    candidate_counts, candidate_hf = reference_statistics(candidate)
    real_counts, real_hf = reference_statistics(real)
    assert real_counts["hh"][0] > 0 and real_counts["hh"][-1] > 0
    for name in ("lh", "hl", "hh", "residual"):
        expected = jensenshannon(candidate_counts[name], real_counts[name]) ** 2  # normalises; natural log
        assert ours[f"jsd_{name}"] == pytest.approx(expected, rel=1e-9, abs=1e-12)
    assert ours["jsd_haar"] == pytest.approx(np.mean([ours["jsd_lh"], ours["jsd_hl"], ours["jsd_hh"]]))
    assert ours["hf"] == pytest.approx(candidate_hf, rel=1e-6)  # levels pass through float32 k / 255
    assert ours["hf_ratio"] == pytest.approx(candidate_hf / real_hf, rel=1e-6)


def test_sets_of_different_sizes_pool_every_pixel() -> None:
    small, large = smooth_images(0, count=1, size=(16, 16)), smooth_images(1, count=1, size=(64, 48))
    pooled = high_frequency_stats(small + large)
    alone = [high_frequency_stats(images) for images in (small, large)]
    for name in ("lh", "residual"):
        assert torch.equal(pooled.histograms[name], alone[0].histograms[name] + alone[1].histograms[name])
    weights = (16 * 16, 64 * 48)
    expected = (alone[0].hf_energy * weights[0] + alone[1].hf_energy * weights[1]) / sum(weights)
    assert pooled.hf_energy == pytest.approx(expected)
