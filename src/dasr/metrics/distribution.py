"""Distribution distances between two *sets* of LR images: how a degradation model is judged.

A DSN should produce LR images whose noise, compression and blur look like the real LR's, not
reproduce one noisy realisation of one scene: PSNR against the real LR punishes the right noise.
So stage 1 is judged, in the spirit of AKLD (DANet, Yue et al. 2020), by comparing statistics
of the two sets that need neither weights nor aligned scenes:

- histograms of the finest-level Haar detail coefficients (LH, HL, HH, each band on its own,
  pooled over images and channels), where blur, noise and JPEG blocks show first;
- the histogram of a noise residual, ``x - blur(x)`` with the project's 5x5 Gaussian
  (``dsn.filter=gaussian``), which isolates pixel-scale noise from edges better than the bands;
- the mean absolute Haar detail ("HF energy", 8-bit units) of each set and its ratio to the
  reference set's: below 1 is smoother than the real LR, above 1 noisier or sharper.

The distance is the Jensen-Shannon divergence (natural log, so in ``[0, ln 2]``) between the
normalised histograms, not the (symmetric) KL divergence. KL is infinite where one set has mass
in a bin the other lacks, which is exactly the case this metric exists for (bicubic LR has no
mass in the noise tails of real LR), so it would need a smoothing epsilon that then decides the
value; the JS divergence compares against the mixture of both, which has mass wherever either
set does, so it is finite with empty bins without any epsilon (``0 log 0 = 0``), symmetric, and
equal to 0 exactly for identical histograms. For small differences it is the symmetric KL
divergence divided by 8, so it ranks close sets the same way.

Images are quantised to 8 bits first (what saving them as PNG does), and bin edges are fixed in
8-bit units, so the histograms of any two sets, runs or variants are comparable: bins are 0.5
level wide and centred on the multiples of 0.5 that the Haar details of 8-bit images take (one
quantised value per bin, no value on an edge), over +-64 levels, plus one bin for each tail.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import torch
from torch import Tensor

from dasr.metrics.high_frequency import high_frequency_energy
from dasr.metrics.protocol import quantize_8bit
from dasr.ops.frequency import high_frequency
from dasr.ops.wavelet import haar_dwt

BIN_WIDTH = 0.5
"""Histogram bin width in 8-bit levels: the spacing of the Haar details of 8-bit images."""
BIN_LIMIT = 64.0
"""Bins cover ``[-BIN_LIMIT, BIN_LIMIT]`` levels (Gaussian noise of std 20 levels stays within
about 3 std); values beyond fall in the two tail bins."""
BIN_EDGES = torch.arange(-BIN_LIMIT - BIN_WIDTH / 2, BIN_LIMIT + BIN_WIDTH, BIN_WIDTH, dtype=torch.float64)
"""The inner edges; with the two tails there are ``len(BIN_EDGES) + 1`` bins."""
BANDS = ("lh", "hl", "hh")
"""The Haar detail bands, named as :func:`dasr.ops.wavelet.haar_dwt` returns them."""
RESIDUAL = "residual"


@dataclass(frozen=True)
class HighFrequencyStats:
    """What a set of images is compared by: histogram counts per statistic and the HF energy."""

    histograms: dict[str, Tensor]
    """``lh``, ``hl``, ``hh``, ``residual`` -> float64 counts over the bins of :data:`BIN_EDGES`."""
    hf_energy: float
    """Mean absolute Haar detail in 8-bit levels (:func:`~dasr.metrics.high_frequency.
    high_frequency_energy`), over all pixels of the set."""


def _counts(values: Tensor) -> Tensor:
    indices = torch.bucketize(values.flatten().double(), BIN_EDGES.to(values.device))
    return torch.bincount(indices, minlength=len(BIN_EDGES) + 1).double().cpu()


def high_frequency_stats(images: Iterable[Tensor]) -> HighFrequencyStats:
    """Statistics of a set of ``(N, C, H, W)`` images in [0, 1], of any sizes, pooled over all.

    Each image is quantised to 8 bits and cropped (bottom/right) to even sizes, so that every
    Haar coefficient comes from four real pixels rather than a replicated border.
    """
    histograms = {name: torch.zeros(len(BIN_EDGES) + 1, dtype=torch.float64) for name in (*BANDS, RESIDUAL)}
    energy_sum, pixels = 0.0, 0
    for image in images:
        height, width = image.shape[-2:]
        levels = quantize_8bit(image[..., : height - height % 2, : width - width % 2]).double()
        if min(levels.shape[-2:]) < 4:
            raise ValueError(f"images need at least 4x4 pixels for Haar statistics, got {tuple(image.shape[-2:])}")
        _, *details = haar_dwt(levels * 255)
        for name, band in zip(BANDS, details):
            histograms[name] += _counts(band)
        histograms[RESIDUAL] += _counts(high_frequency(levels, "gaussian") * 255)
        energy_sum += float(high_frequency_energy(levels).sum()) * levels[0, 0].numel()
        pixels += levels.shape[0] * levels[0, 0].numel()
    if pixels == 0:
        raise ValueError("high_frequency_stats needs at least one image")
    return HighFrequencyStats(histograms, energy_sum / pixels)


def jensen_shannon(p_counts: Tensor, q_counts: Tensor) -> float:
    """JS divergence (nats) between two histograms given as counts over the same bins."""
    p_counts, q_counts = p_counts.double(), q_counts.double()
    p, q = p_counts / p_counts.sum(), q_counts / q_counts.sum()
    mixture = (p + q) / 2
    # KL(x || mixture); xlogy(0, y) = 0 log y = 0, and where x > 0 the mixture is > 0 too.
    kl = [(torch.special.xlogy(x, x) - torch.special.xlogy(x, mixture)).sum() for x in (p, q)]
    return float((kl[0] + kl[1]) / 2)


def distribution_distances(candidate: HighFrequencyStats, reference: HighFrequencyStats) -> dict[str, float]:
    """How far a candidate set's statistics lie from a reference set's (e.g. the real LR):
    ``jsd_lh``, ``jsd_hl``, ``jsd_hh``, their mean ``jsd_haar``, ``jsd_residual``, the
    candidate's ``hf`` energy and ``hf_ratio`` = its energy over the reference's."""
    distances = {
        f"jsd_{name}": jensen_shannon(candidate.histograms[name], reference.histograms[name]) for name in BANDS
    }
    distances["jsd_haar"] = sum(distances.values()) / len(BANDS)
    distances["jsd_residual"] = jensen_shannon(candidate.histograms[RESIDUAL], reference.histograms[RESIDUAL])
    distances["hf"] = candidate.hf_energy
    distances["hf_ratio"] = candidate.hf_energy / reference.hf_energy if reference.hf_energy > 0 else float("nan")
    return distances
