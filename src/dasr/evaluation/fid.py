"""FID and KID between two image folders, the math done here in float64 numpy.

FID (Heusel et al. 2017) is the Fréchet distance between Gaussians fitted to the Inception pool
features of each set. ``trace(sqrtm(S_a S_b))`` is computed as the sum of the square roots of
the eigenvalues of the symmetric ``sqrt(S_a) S_b sqrt(S_a)``, which has the same eigenvalues as
``S_a S_b`` but, unlike a general matrix square root, stays real and stable when the covariances
are singular (always the case with fewer images than the 2048 feature dimensions).

KID (Bińkowski et al. 2018) is the unbiased MMD² with the kernel ``(x.y / d + 1)^3``, averaged
over random subsets. FID is biased upwards with few images, so only FIDs of equally large sets
compare; KID is unbiased and the better figure for the 100-image validation sets of the paper.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from dasr.engine.progress import progress as progress_bar
from dasr.evaluation.inception import FeatureExtractor, load_inception
from dasr.metrics.protocol import read_rgb_tensor

KID_SUBSET_SIZE = 1000
KID_SUBSETS = 100


def _psd_sqrt(matrix: np.ndarray) -> np.ndarray:
    """Square root of a symmetric positive semi-definite matrix (rounding negatives to 0)."""
    values, vectors = np.linalg.eigh((matrix + matrix.T) / 2)
    return (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T


def frechet_distance(mu_a: np.ndarray, sigma_a: np.ndarray, mu_b: np.ndarray, sigma_b: np.ndarray) -> float:
    """``|mu_a - mu_b|^2 + tr(S_a) + tr(S_b) - 2 tr(sqrt(S_a S_b))`` of two Gaussians."""
    mu_a, mu_b = np.asarray(mu_a, np.float64), np.asarray(mu_b, np.float64)
    sigma_a, sigma_b = np.atleast_2d(np.asarray(sigma_a, np.float64)), np.atleast_2d(np.asarray(sigma_b, np.float64))
    root_a = _psd_sqrt(sigma_a)
    middle = root_a @ sigma_b @ root_a
    trace_root = np.sqrt(np.clip(np.linalg.eigvalsh((middle + middle.T) / 2), 0, None)).sum()
    difference = mu_a - mu_b
    return float(difference @ difference + np.trace(sigma_a) + np.trace(sigma_b) - 2 * trace_root)


def feature_frechet_distance(features_a: np.ndarray, features_b: np.ndarray) -> float:
    """FID of two ``(N, D)`` feature sets: mean and (unbiased) covariance of each, compared.

    With no more samples than dimensions (every evaluation set of a few hundred images against
    Inception's 2048), the covariances ``A'A / (n_a - 1)`` and ``B'B / (n_b - 1)`` of the centred
    features are never formed: ``tr(sqrt(S_a S_b))`` is the nuclear norm of the small ``A B'``
    divided by ``sqrt((n_a - 1)(n_b - 1))``, since the non-zero eigenvalues of ``S_a S_b`` are the
    squared singular values of ``A B'`` so scaled. That is exact, and takes milliseconds where
    the eigendecomposition of a 2048x2048 matrix takes seconds.
    """
    a, b = np.asarray(features_a, np.float64), np.asarray(features_b, np.float64)
    if max(len(a), len(b)) > a.shape[1]:
        return frechet_distance(a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False))
    centred_a, centred_b = a - a.mean(0), b - b.mean(0)
    dof_a, dof_b = len(a) - 1, len(b) - 1
    trace_root = np.linalg.svd(centred_a @ centred_b.T, compute_uv=False).sum() / np.sqrt(dof_a * dof_b)
    difference = a.mean(0) - b.mean(0)
    traces = (centred_a**2).sum() / dof_a + (centred_b**2).sum() / dof_b
    return float(difference @ difference + traces - 2 * trace_root)


def kernel_inception_distance(
    features_a: np.ndarray,
    features_b: np.ndarray,
    *,
    subset_size: int = KID_SUBSET_SIZE,
    subsets: int = KID_SUBSETS,
    seed: int = 0,
) -> tuple[float, float]:
    """``(mean, std)`` over ``subsets`` draws of the unbiased MMD² between ``subset_size``
    features of each set (smaller sets are used whole), polynomial kernel of degree 3."""
    a, b = np.asarray(features_a, np.float64), np.asarray(features_b, np.float64)
    size = min(subset_size, len(a), len(b))
    if size < 2:
        raise ValueError(f"KID needs at least 2 samples per set, got {len(a)} and {len(b)}")
    dimensions = a.shape[1]
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(subsets):
        x = a[rng.choice(len(a), size, replace=False)]
        y = b[rng.choice(len(b), size, replace=False)]
        k_xx, k_yy, k_xy = ((p @ q.T / dimensions + 1) ** 3 for p, q in ((x, x), (y, y), (x, y)))
        within = (k_xx.sum() - np.trace(k_xx) + k_yy.sum() - np.trace(k_yy)) / (size * (size - 1))
        values.append(within - 2 * k_xy.mean())
    return float(np.mean(values)), float(np.std(values))


@torch.no_grad()
def inception_features(
    paths: Sequence[Path], extractor: FeatureExtractor, *, device: torch.device, progress: bool, desc: str
) -> np.ndarray:
    """``(N, D)`` pool features of the images, one at a time since their sizes differ."""
    return np.stack([
        extractor.network(read_rgb_tensor(path).to(device))[0].double().cpu().numpy()
        for path in progress_bar(len(paths), desc=desc, enabled=progress, items=paths)
    ])


def folder_distances(
    sr_paths: Sequence[Path], hr_paths: Sequence[Path], *, device: torch.device, progress: bool = True
) -> tuple[dict[str, Any] | None, str | None]:
    """``(scores, None)`` with FID, KID and what they were measured with, or ``(None, notice)``
    when no Inception weights are available offline or a set is too small."""
    if min(len(sr_paths), len(hr_paths)) < 2:
        counts = f"got {len(sr_paths)} SR and {len(hr_paths)} HR"
        return None, f"FID/KID skipped: they need at least 2 images per folder, {counts}"
    extractor = load_inception(device)
    if isinstance(extractor, str):
        return None, f"FID/KID skipped: {extractor}"
    sr = inception_features(sr_paths, extractor, device=device, progress=progress, desc="FID sr")
    hr = inception_features(hr_paths, extractor, device=device, progress=progress, desc="FID hr")
    kid, kid_std = kernel_inception_distance(sr, hr)
    scores: dict[str, Any] = {
        "fid": feature_frechet_distance(sr, hr),
        "kid": kid,
        "kid_std": kid_std,
        "sr_images": len(sr),
        "hr_images": len(hr),
        "features": extractor.source,
    }
    return scores, extractor.notice
