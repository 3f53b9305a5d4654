"""Unpaired random patches: an HR crop and an unrelated real-LR crop per sample.

Every random choice is a pure function of ``(seed, sample index)``, drawn from a NumPy generator
seeded with that tuple, never from a global RNG. DataLoader workers, epochs and resumed runs
therefore draw exactly what one uninterrupted single-process run draws. (The released DASR code
seeded NumPy once, so every worker replayed the same sequence and batches repeated.)
"""

from __future__ import annotations

import itertools
import sys
import warnings
from collections.abc import Iterator, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from dasr.data.image_io import decode_image, flip_transpose, image_size, image_to_tensor, to_rgb
from dasr.errors import DasrError

# Independent random streams: one per image set, and within each, image order vs crop.
_HR_STREAM, _LR_STREAM = 0, 1
_ORDER, _CROP = 0, 1


class UnpairedPatches(Dataset):
    """Sample ``i``: ``{"hr": (3, P, P), "lr": (3, P/scale, P/scale)}`` float32 in [0, 1].

    Within epoch ``i // n`` of a set of ``n`` images each image is used once, in a seeded order
    (HR and LR have their own orders). Crop position and, with ``augment``, flips and a
    90-degree rotation are drawn per sample. Grey images are repeated to RGB, alpha is dropped.
    Sampling is endless; the trainer decides how many samples to draw.
    """

    def __init__(
        self,
        hr_paths: Sequence[Path],
        lr_paths: Sequence[Path],
        *,
        hr_patch: int,
        scale: int,
        seed: int,
        augment: bool,
        small_images: Literal["pad", "skip"],
        cache_mb: int,
    ) -> None:
        if hr_patch < scale or hr_patch % scale:
            raise DasrError(f"patch size {hr_patch} must be a positive multiple of scale {scale}")
        if seed < 0:
            raise DasrError(f"seed must be a non-negative integer, got {seed}")
        cache = _DecodedImages(cache_mb * 2**20)
        self._augment = augment
        self._hr = _PatchSource(hr_paths, "HR", hr_patch, _HR_STREAM, seed, small_images, cache)
        self._lr = _PatchSource(
            lr_paths, "real LR", hr_patch // scale, _LR_STREAM, seed, small_images, cache
        )

    def __len__(self) -> int:
        return sys.maxsize

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        return {
            "hr": self._hr.patch(index, self._augment),
            "lr": self._lr.patch(index, self._augment),
        }


def patch_batches(
    dataset: Dataset, *, batch_size: int, start_batch: int, num_workers: int, seed: int
) -> Iterator[dict[str, torch.Tensor]]:
    """Endless batches; batch ``b`` holds the ``batch_size`` samples from ``b * batch_size`` on.

    Starting at ``start_batch`` therefore continues a resumed run exactly. ``seed`` feeds the
    loader's own generator, from which DataLoader draws its worker seeds; without it, starting
    the loader would consume the global torch RNG and shift the trainer's random draws.
    """
    loader = DataLoader(
        dataset,
        batch_sampler=_ConsecutiveBatches(batch_size, start_batch),
        num_workers=num_workers,
        persistent_workers=num_workers > 0,
        pin_memory=torch.cuda.is_available(),
        generator=torch.Generator().manual_seed(seed),
    )
    return iter(loader)


class _ConsecutiveBatches(Sampler[list[int]]):
    """Batch ``b`` is the index range ``[b * size, (b + 1) * size)``, for ``b`` from ``start``."""

    def __init__(self, size: int, start: int) -> None:
        self._size = size
        self._start = start

    def __iter__(self) -> Iterator[list[int]]:
        for batch in itertools.count(self._start):
            yield list(range(batch * self._size, (batch + 1) * self._size))


class _DecodedImages:
    """Decoded RGB samples kept in memory while their total stays within a byte budget.

    Integer samples (uint8/uint16) take a quarter of float32's memory; images past the budget
    are decoded again on every use. Each worker process fills its own copy.
    """

    def __init__(self, budget_bytes: int) -> None:
        self._budget = budget_bytes
        self._used = 0
        self._images: dict[Path, np.ndarray] = {}

    def get(self, path: Path) -> np.ndarray:
        image = self._images.get(path)
        if image is None:
            image = to_rgb(decode_image(path)[0])
            if self._used + image.nbytes <= self._budget:
                self._images[path] = image
                self._used += image.nbytes
        return image


class _PatchSource:
    """One image set: its epoch-wise image order and its square crops of one size."""

    def __init__(
        self,
        paths: Sequence[Path],
        label: str,
        patch: int,
        stream: int,
        seed: int,
        small_images: Literal["pad", "skip"],
        cache: _DecodedImages,
    ) -> None:
        paths = [Path(path) for path in paths]
        self._paths = [path for path in paths if _usable(path, label, patch, small_images)]
        if not self._paths:
            raise DasrError(
                f"no {label} image is at least {patch}x{patch} pixels, "
                "and small_images=skip leaves smaller ones out"
            )
        self._patch = patch
        self._stream = stream
        self._seed = seed
        self._cache = cache

    def patch(self, index: int, augment: bool) -> torch.Tensor:
        epoch, position = divmod(index, len(self._paths))
        order = _epoch_order(self._seed, self._stream, epoch, len(self._paths))
        image = _pad_to(self._cache.get(self._paths[order[position]]), self._patch)
        rng = np.random.default_rng([self._seed, self._stream, _CROP, index])
        top = rng.integers(image.shape[0] - self._patch + 1)
        left = rng.integers(image.shape[1] - self._patch + 1)
        crop = image[top : top + self._patch, left : left + self._patch]
        if augment:
            transpose, flip_vertical, flip_horizontal = rng.integers(2, size=3).astype(bool)
            crop = flip_transpose(
                crop,
                transpose=transpose,
                flip_vertical=flip_vertical,
                flip_horizontal=flip_horizontal,
            )
        return image_to_tensor(crop.astype(np.float32) / np.iinfo(crop.dtype).max)


@lru_cache(maxsize=8)
def _epoch_order(seed: int, stream: int, epoch: int, count: int) -> np.ndarray:
    """The order images are used in during one epoch; cached since consecutive samples share it."""
    return np.random.default_rng([seed, stream, _ORDER, epoch]).permutation(count)


def _usable(path: Path, label: str, patch: int, small_images: Literal["pad", "skip"]) -> bool:
    """Whether to sample ``path``, warning once when it is smaller than a patch."""
    height, width = image_size(path)
    if height >= patch and width >= patch:
        return True
    action = "reflect-padded" if small_images == "pad" else "left out"
    warnings.warn(
        f"{label} image '{path}' ({width}x{height}) is smaller than the {patch}x{patch} "
        f"patch: {action}"
    )
    return small_images == "pad"


def _pad_to(image: np.ndarray, size: int) -> np.ndarray:
    """Reflect-pad both sides evenly up to ``size``; NumPy repeats the reflection as needed."""
    missing_rows = max(size - image.shape[0], 0)
    missing_columns = max(size - image.shape[1], 0)
    if not (missing_rows or missing_columns):
        return image
    widths = (
        (missing_rows // 2, missing_rows - missing_rows // 2),
        (missing_columns // 2, missing_columns - missing_columns // 2),
        (0, 0),
    )
    return np.pad(image, widths, mode="reflect")
