"""Aligned patches from (LR, HR[, weight map]) pairs, and the pair lists stage 2 trains on.

A pair sample cuts the same place out of the LR image, the HR image and the map, with the same
flips and rotation, so that SR(LR patch) is compared with exactly the HR pixels it should
reproduce. Order, crop position and augmentation are drawn as in ``dasr.data.unpaired``: a pure
function of ``(seed, stream, index)``. Pair lists come from a ``dasr generate`` folder (generated
pairs with domain-distance maps) or from two folders of real pairs (supervised training); the
bicubic pairs of ``srn.pairs=bicubic`` need no list, the trainer downscales HR crops itself.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from dasr.data.image_io import image_size, image_to_tensor
from dasr.data.pairs import by_stem, no_partner, pair_by_stem
from dasr.data.pairs_folder import MANIFEST_NAME, PairPaths, read_manifest
from dasr.data.unpaired import (
    ArrayCache,
    Draws,
    PatchOptions,
    decode_rgb,
    keep_fitting,
    pad_widths,
    samples_to_tensor,
)
from dasr.errors import DasrError

Pair = tuple[Path, Path, Path | None]
"""(LR image, HR image, ``.npy`` weight map of the LR's size or None for a map of ones)."""

# The layout `dasr generate` writes (docs/generate.md); the manifest lists the finished images.
_LABEL = "paired LR"


class PairSource:
    """One list of pairs: its epoch-wise order and its aligned crops, for the stage-2 sampler.

    Sample ``i``: ``{"lr": (3, p, p), "hr": (3, P, P), "weight": (1, p, p)}``, ``P = scale * p``,
    all cut at the same place with the same flips/rotation; ``weight`` is all ones for a pair
    without a map. Within epoch ``i // n`` each of the ``n`` pairs is used once, in an order
    seeded by ``(seed, stream)``. An HR larger than ``scale`` x LR is cropped at the bottom/right,
    as ``dasr generate`` does. The sampler passes one cache to all its sources. Sizes are checked
    from the file headers up front, not hours into training.
    """

    def __init__(
        self,
        pairs: Sequence[Pair],
        stream: int,
        options: PatchOptions,
        cache: ArrayCache,
        weight_scale: float = 1.0,
    ) -> None:
        pairs = [
            (Path(lr), Path(hr), None if weight_map is None else Path(weight_map))
            for lr, hr, weight_map in pairs
        ]
        scale, lr_patch = options.scale, options.lr_patch
        sizes = [(pair[0], _checked_lr_size(pair, scale)) for pair in pairs]
        self._pairs = keep_fitting(pairs, sizes, label=_LABEL, patch=lr_patch, small_images=options.small_images)
        self._lr_patch = lr_patch
        self._scale = scale
        self._augment = options.augment
        self._draws = Draws(options.seed, stream, len(self._pairs))
        self._cache = cache
        self._weight_scale = weight_scale

    def sample(self, index: int) -> dict[str, torch.Tensor]:
        lr_path, hr_path, map_path = self._pairs[self._draws.item(index)]
        scale = self._scale
        lr = self._cache.get(lr_path, decode_rgb)
        height, width = lr.shape[:2]
        hr = self._cache.get(hr_path, decode_rgb)[: height * scale, : width * scale]
        weight = None if map_path is None else self._cache.get(map_path, _load_map)

        # Symmetric (edge-repeating) padding by whole LR pixels keeps the pair aligned: the HR
        # padding, `scale` times wider, mirrors exactly the HR blocks of the mirrored LR pixels.
        rows, columns = pad_widths(lr.shape, self._lr_patch)
        if any(rows + columns):
            lr, hr = _mirror(lr, rows, columns, 1), _mirror(hr, rows, columns, scale)
            weight = None if weight is None else _mirror(weight, rows, columns, 1)

        crop = self._draws.crop(index, lr.shape, self._lr_patch, self._augment)
        return {
            "lr": samples_to_tensor(crop.cut(lr)),
            "hr": samples_to_tensor(crop.cut(hr, scale)),
            "weight": (
                torch.ones(1, self._lr_patch, self._lr_patch)
                if weight is None
                else image_to_tensor(crop.cut(weight)) * self._weight_scale
            ),
        }


def generated_pairs(pairs_dir: Path, hr_paths: Sequence[Path], *, scale: int) -> list[Pair]:
    """The (generated LR, HR, map) triples of a ``dasr generate`` folder (``--pairs``), HR
    (``--hr``) matched by stem.

    Goes by the manifest, which lists exactly the finished images (files an interrupted run left
    behind are ignored). Every listed image needs its HR among ``hr_paths``, with the size it
    had when the pairs were made; HR images without a pair are reported in one warning and
    left out of the pairs (an unfinished ``dasr generate``, or a larger HR folder).
    """
    pairs_dir = Path(pairs_dir)
    manifest = pairs_dir / MANIFEST_NAME
    entries = _manifest_entries(manifest, scale)
    hr_by_stem = by_stem(hr_paths, "--hr")
    error = no_partner({stem: PairPaths.of(pairs_dir, stem).lr for stem in entries}, hr_by_stem, "--hr")
    if error:
        raise error
    unpaired = [path for stem, path in hr_by_stem.items() if stem not in entries]
    if unpaired:
        warnings.warn(
            f"--pairs: '{manifest}' has no pair for {len(unpaired)} of the --hr "
            f"images (first '{unpaired[0]}'); rerun dasr generate to include them",
            stacklevel=2,
        )
    pairs: list[Pair] = []
    for stem, entry in entries.items():
        hr = hr_by_stem[stem]
        height, width = image_size(hr)
        made_from_height, made_from_width = entry["hr_size"]
        if (height, width) != (made_from_height, made_from_width):
            raise DasrError(
                f"--hr: '{hr}' is {width}x{height} but the pair '{stem}' in '{pairs_dir}' "
                f"was made from a {made_from_width}x{made_from_height} image; "
                "pass the HR images the pairs were made from, or rerun dasr generate"
            )
        paths = PairPaths.of(pairs_dir, stem)
        for path in (paths.lr, paths.map):
            if not path.is_file():
                raise DasrError(
                    f"--pairs: '{path}' is listed in '{manifest}' but missing; "
                    "rerun dasr generate"
                )
        pairs.append((paths.lr, hr, paths.map))
    return pairs


def real_pairs(lr_paths: Sequence[Path], hr_paths: Sequence[Path]) -> list[Pair]:
    """Supervised training: real (LR, HR) pairs matched by file name, every pixel weighing 1."""
    matched = pair_by_stem(lr_paths, hr_paths, first_option="--paired-lr", second_option="--paired-hr")
    return [(lr, hr, None) for lr, hr in matched]


def _manifest_entries(manifest: Path, scale: int) -> dict[str, dict[str, Any]]:
    """The manifest's image entries by stem, after checking it is a current one of ``scale``."""
    if not manifest.is_file():
        raise DasrError(
            f"--pairs: '{manifest.parent}' has no {MANIFEST_NAME}; "
            f"make the pairs with dasr generate --out {manifest.parent}"
        )
    parsed = read_manifest(manifest, "--pairs", remedy="rerun dasr generate")
    made_at, entries = parsed.header["scale"], parsed.images
    if made_at != scale:
        raise DasrError(
            f"--pairs: the pairs in '{manifest.parent}' were made at scale {made_at}, "
            f"not at scale {scale}"
        )
    if not entries:
        raise DasrError(f"--pairs: '{manifest}' lists no finished pair; run dasr generate")
    return entries


def _checked_lr_size(pair: Pair, scale: int) -> tuple[int, int]:
    """The LR's ``(height, width)``, once the HR (``scale`` x that, less than ``scale`` more
    pixels cropped) and the map (the LR's size) are known to match it."""
    lr, hr, weight_map = pair
    height, width = image_size(lr)
    hr_height, hr_width = image_size(hr)
    if not (0 <= hr_height - height * scale < scale and 0 <= hr_width - width * scale < scale):
        raise DasrError(
            f"HR image '{hr}' ({hr_width}x{hr_height}) does not match LR image '{lr}' "
            f"({width}x{height}) at scale {scale}: expected {width * scale}x{height * scale}"
        )
    if weight_map is not None:
        shape = _map_shape(weight_map)
        if shape != (height, width):
            raise DasrError(
                f"map '{weight_map}' has shape {shape}, not the ({height}, {width}) "
                f"of LR image '{lr}'"
            )
    return height, width


def _map_shape(path: Path) -> tuple[int, ...]:
    """The array shape stored in a ``.npy`` file, read from its header only."""
    try:
        return tuple(np.load(path, mmap_mode="r").shape)
    except OSError as error:
        raise DasrError(f"cannot read map '{path}': {error.strerror or error}") from error
    except ValueError as error:
        raise DasrError(f"cannot read map '{path}': not a NumPy array file") from error


def mean_map_value(pairs: Sequence[Pair]) -> float:
    """The mean over every pixel of every pair's map (a pair without a map counts as ones): what
    ``srn.map_normalization=dataset`` divides the maps by. Read through memory maps, so a large
    training set costs one pass over its map files, not their size in memory."""
    total, count = 0.0, 0
    for lr_path, _, map_path in pairs:
        if map_path is None:
            pixels = int(np.prod(image_size(lr_path)))
            total, count = total + pixels, count + pixels
            continue
        values = np.load(map_path, mmap_mode="r")
        total, count = total + float(values.sum(dtype=np.float64)), count + values.size
    if count == 0 or total <= 0.0:
        raise DasrError("srn.map_normalization=dataset: the domain-distance maps are all zero")
    return total / count


def _load_map(path: Path) -> np.ndarray:
    """A float32 ``(h, w, 1)`` map: one channel, so that crops treat it like an image."""
    return np.load(path).astype(np.float32, copy=False)[..., None]


def _mirror(array: np.ndarray, rows: tuple[int, int], columns: tuple[int, int], factor: int) -> np.ndarray:
    """Pad ``array`` by ``factor`` x the LR ``rows`` / ``columns``, repeating its edges mirrored."""
    widths = ((rows[0] * factor, rows[1] * factor), (columns[0] * factor, columns[1] * factor))
    return np.pad(array, (*widths, (0, 0)), mode="symmetric")
