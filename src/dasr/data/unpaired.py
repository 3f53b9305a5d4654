"""Unpaired random patches: an HR crop and an unrelated real-LR crop per sample.

Every random choice is a pure function of ``(seed, stream, sample index)``, drawn from a NumPy
generator seeded with that tuple, never from a global RNG. DataLoader workers, epochs and resumed
runs therefore draw exactly what one uninterrupted single-process run draws. (The released DASR
code seeded NumPy once, so every worker replayed the same sequence and batches repeated.)

The building blocks below (``Draws``, ``Crop``, ``PatchSource``, ``ArrayCache``, ...) are shared
with the aligned pairs of ``dasr.data.paired`` and the stage-2 sampler, so that every stage draws,
crops, augments, pads and caches in exactly one way.
"""

from __future__ import annotations

import itertools
import sys
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal, TypeVar

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from dasr.config.schema import Config
from dasr.data.image_io import (
    decode_image,
    flip_transpose,
    image_size,
    image_to_tensor,
    to_rgb,
)
from dasr.errors import DasrError

SmallImages = Literal["pad", "skip"]
"""What to do with images smaller than a patch (``data.small_images``)."""

# Independent random streams: one per image set, and within each, image order vs crop.
_HR_STREAM, _LR_STREAM = 0, 1
_ORDER, _CROP = 0, 1

_Item = TypeVar("_Item")


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
        options: PatchOptions,
    ) -> None:
        cache = ArrayCache(options.cache_mb * 2**20)
        self._hr = PatchSource(hr_paths, "HR", options.hr_patch, _HR_STREAM, options, cache)
        self._lr = PatchSource(lr_paths, "real LR", options.lr_patch, _LR_STREAM, options, cache)

    def __len__(self) -> int:
        return sys.maxsize

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        return {"hr": self._hr.patch(index), "lr": self._lr.patch(index)}


@dataclass(frozen=True)
class PatchOptions:
    """How the patch samplers of both stages draw: the stage's HR patch size, the run's scale and
    seed, and its ``data`` settings; checked once, here."""

    hr_patch: int
    scale: int
    seed: int
    augment: bool
    small_images: SmallImages
    cache_mb: int

    def __post_init__(self) -> None:
        if self.hr_patch < self.scale or self.hr_patch % self.scale:
            raise DasrError(f"patch size {self.hr_patch} must be a positive multiple of scale {self.scale}")
        if self.seed < 0:
            raise DasrError(f"seed must be a non-negative integer, got {self.seed}")

    @classmethod
    def of(cls, config: Config, hr_patch: int) -> PatchOptions:
        """A run's options, for the stage whose HR patches are ``hr_patch`` pixels wide."""
        data = config.data
        return cls(hr_patch, config.scale, config.seed, data.augment, data.small_images, data.cache_mb)

    @property
    def lr_patch(self) -> int:
        return self.hr_patch // self.scale


def patch_batches(
    dataset: Dataset,
    *,
    batch_size: int,
    start_batch: int,
    num_workers: int,
    seed: int,
    rank: int = 0,
    world_size: int = 1,
) -> Iterator[dict[str, torch.Tensor]]:
    """Endless batches; batch ``b`` holds the ``batch_size`` samples from ``b * batch_size`` on.

    Starting at ``start_batch`` therefore continues a resumed run exactly. ``seed`` feeds the
    loader's own generator, from which DataLoader draws its worker seeds; without it, starting
    the loader would consume the global torch RNG and shift the trainer's random draws.

    With ``world_size`` data-parallel processes, process ``rank`` gets its contiguous
    ``batch_size / world_size`` of each global batch: the processes together draw the samples
    one process would, and indices stay global, so a resumed run may use another process count.
    """
    loader = DataLoader(
        dataset,
        batch_sampler=_ConsecutiveBatches(batch_size, start_batch, rank, world_size),
        num_workers=num_workers,
        persistent_workers=num_workers > 0,
        pin_memory=torch.cuda.is_available(),
        generator=torch.Generator().manual_seed(seed),
    )
    return iter(loader)


class _ConsecutiveBatches(Sampler[list[int]]):
    """Batch ``b`` is the index range ``[b * size, (b + 1) * size)``, for ``b`` from ``start``;
    of it, share ``rank`` of ``shares`` equal consecutive parts."""

    def __init__(self, size: int, start: int, rank: int = 0, shares: int = 1) -> None:
        if size % shares or not 0 <= rank < shares:
            raise ValueError(f"cannot take share {rank} of {shares} of a batch of {size}")
        self._size = size
        self._start = start
        self._share = size // shares
        self._offset = rank * self._share

    def __iter__(self) -> Iterator[list[int]]:
        for batch in itertools.count(self._start):
            first = batch * self._size + self._offset
            yield list(range(first, first + self._share))


class ArrayCache:
    """Decoded arrays (images, maps) kept in memory while their total stays within a byte budget.

    Images stay integer samples (uint8/uint16: a quarter of float32's memory); arrays past the
    budget are loaded again on every use. Each worker process fills its own copy, and one cache
    shared by several sources keeps a file they have in common only once.
    """

    def __init__(self, budget_bytes: int) -> None:
        self._budget = budget_bytes
        self._used = 0
        self._arrays: dict[Path, np.ndarray] = {}

    def get(self, path: Path, load: Callable[[Path], np.ndarray]) -> np.ndarray:
        """``load(path)``, from memory when it was loaded before and fitted in the budget."""
        array = self._arrays.get(path)
        if array is None:
            array = load(path)
            if self._used + array.nbytes <= self._budget:
                self._arrays[path] = array
                self._used += array.nbytes
        return array


def decode_rgb(path: Path) -> np.ndarray:
    """The integer samples of an image file as RGB: grey is repeated, alpha dropped."""
    return to_rgb(decode_image(path)[0])


def samples_to_tensor(samples: np.ndarray) -> torch.Tensor:
    """Integer samples ``(H, W, C)`` (uint8/uint16) to a float32 ``(C, H, W)`` tensor in [0, 1]."""
    return image_to_tensor(samples.astype(np.float32) / np.iinfo(samples.dtype).max)


@dataclass(frozen=True)
class Crop:
    """A square window plus one of the 8 flips/rotations: what one sample does to its arrays.

    Positions are on the coarsest grid of a sample (its LR), so that ``cut(array, factor)``
    cuts the matching window of an aligned array ``factor`` times larger (its HR) with the same
    flips; cropping and flipping commute with downscaling by ``factor`` this way.
    """

    top: int
    left: int
    size: int
    flips: tuple[bool, bool, bool]
    """Transpose, flip vertically, flip horizontally: the switches of :func:`flip_transpose`."""

    def cut(self, array: np.ndarray, factor: int = 1) -> np.ndarray:
        """The window of an ``(H, W, ...)`` array, scaled by ``factor``, flipped (a view)."""
        top, left, size = self.top * factor, self.left * factor, self.size * factor
        return flip_transpose(array[top : top + size, left : left + size], *self.flips)


class Draws:
    """The random choices of one stream: which item sample ``index`` uses, and where it is cut.

    Within epoch ``index // count`` each of the ``count`` items is used once, in a seeded order;
    the crop is drawn from ``(seed, stream, index)`` alone, whatever else was sampled before.
    """

    def __init__(self, seed: int, stream: int, count: int) -> None:
        self._seed = seed
        self._stream = stream
        self._count = count

    def item(self, index: int) -> int:
        epoch, position = divmod(index, self._count)
        return int(_epoch_order(self._seed, self._stream, epoch, self._count)[position])

    def crop(self, index: int, shape: tuple[int, ...], size: int, augment: bool) -> Crop:
        """A ``size`` window of an array of ``shape`` (at least ``size`` both ways), with random
        flips and transposition when ``augment``."""
        rng = np.random.default_rng([self._seed, self._stream, _CROP, index])
        top = int(rng.integers(shape[0] - size + 1))
        left = int(rng.integers(shape[1] - size + 1))
        transpose, flip_vertical, flip_horizontal = rng.integers(2, size=3) if augment else (0, 0, 0)
        return Crop(top, left, size, (bool(transpose), bool(flip_vertical), bool(flip_horizontal)))


class PatchSource:
    """One image set: its epoch-wise image order and its square crops of one size."""

    def __init__(
        self,
        paths: Sequence[Path],
        label: str,
        patch: int,
        stream: int,
        options: PatchOptions,
        cache: ArrayCache,
    ) -> None:
        paths = [Path(path) for path in paths]
        self._paths = keep_fitting(
            paths,
            [(path, image_size(path)) for path in paths],
            label=label,
            patch=patch,
            small_images=options.small_images,
        )
        self._patch = patch
        self._augment = options.augment
        self._draws = Draws(options.seed, stream, len(self._paths))
        self._cache = cache

    def patch(self, index: int) -> torch.Tensor:
        path = self._paths[self._draws.item(index)]
        image = _pad_to(self._cache.get(path, decode_rgb), self._patch)
        crop = self._draws.crop(index, image.shape, self._patch, self._augment)
        return samples_to_tensor(crop.cut(image))


def keep_fitting(
    items: Sequence[_Item],
    sizes: Sequence[tuple[Path, tuple[int, int]]],
    *,
    label: str,
    patch: int,
    small_images: SmallImages,
) -> list[_Item]:
    """The items to sample, given each one's image file and ``(height, width)`` in ``sizes``.

    An image smaller than a patch is kept (to be padded) or left out, with one warning either
    way; leaving out every item is an error.
    """
    kept = [
        item
        for item, (path, size) in zip(items, sizes, strict=True)
        if _usable(path, size, label, patch, small_images)
    ]
    if not kept:
        raise DasrError(
            f"no {label} image is at least {patch}x{patch} pixels, "
            "and small_images=skip leaves smaller ones out"
        )
    return kept


@lru_cache(maxsize=8)
def _epoch_order(seed: int, stream: int, epoch: int, count: int) -> np.ndarray:
    """The order images are used in during one epoch; cached since consecutive samples share it."""
    return np.random.default_rng([seed, stream, _ORDER, epoch]).permutation(count)


def _usable(path: Path, size: tuple[int, int], label: str, patch: int, small_images: SmallImages) -> bool:
    """Whether to sample ``path`` of ``size``, warning once when it is smaller than a patch."""
    height, width = size
    if height >= patch and width >= patch:
        return True
    action = "reflect-padded" if small_images == "pad" else "left out"
    warnings.warn(
        f"{label} image '{path}' ({width}x{height}) is smaller than the {patch}x{patch} "
        f"patch: {action}"
    )
    return small_images == "pad"


def pad_widths(shape: tuple[int, ...], size: int) -> tuple[tuple[int, int], tuple[int, int]]:
    """Rows and columns to add before and after an ``(H, W, ...)`` array to reach ``size``
    both ways, split evenly between the two sides."""
    missing_rows = max(size - shape[0], 0)
    missing_columns = max(size - shape[1], 0)
    return (
        (missing_rows // 2, missing_rows - missing_rows // 2),
        (missing_columns // 2, missing_columns - missing_columns // 2),
    )


def _pad_to(image: np.ndarray, size: int) -> np.ndarray:
    """Reflect-pad both sides evenly up to ``size``; NumPy repeats the reflection as needed."""
    rows, columns = pad_widths(image.shape, size)
    if not any(rows + columns):
        return image
    return np.pad(image, (rows, columns, (0, 0)), mode="reflect")
