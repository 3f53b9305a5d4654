"""The image files the data-loading measurements read: given folders, or synthetic photos.

Data-loading cost depends on real files (decode, cache, crop), so the benchmarks read image
files through the trainers' own datasets. ``--hr DIR --lr DIR`` names real photos; without them,
smooth photo-like PNGs of the sizes the project meets in practice (2-megapixel HR wallpapers,
small real-LR photos) are written to a temporary folder, so the benchmarks run anywhere.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from dasr.data.folders import list_images
from dasr.data.pairs_folder import MANIFEST_FORMAT, MANIFEST_NAME, PairPaths

SYNTHETIC_HR_SIZE = (1200, 1600)
"""(height, width) of the synthetic HR images: 2 megapixels, like the large dev wallpapers."""
SYNTHETIC_LR_SIZE = (480, 640)
SYNTHETIC_COUNT = 8


@dataclass(frozen=True)
class ImageSets:
    hr: list[Path]
    lr: list[Path]
    source: str
    """Where the images come from, for the printed report."""


def image_sets(hr: Path | None, lr: Path | None, workdir: Path) -> ImageSets:
    """The ``--hr``/``--lr`` folders' images, or synthetic ones written under ``workdir``."""
    if (hr is None) != (lr is None):
        raise SystemExit("give both --hr and --lr, or neither (synthetic images)")
    if hr is not None and lr is not None:
        hr_paths, lr_paths = list_images(hr, "--hr"), list_images(lr, "--lr")
        return ImageSets(hr_paths, lr_paths, f"{len(hr_paths)} HR from {hr}, {len(lr_paths)} LR from {lr}")
    rng = np.random.default_rng(0)
    hr_paths = [_write_photo(workdir / "hr" / f"hr{i}.png", SYNTHETIC_HR_SIZE, rng) for i in range(SYNTHETIC_COUNT)]
    lr_paths = [_write_photo(workdir / "lr" / f"lr{i}.png", SYNTHETIC_LR_SIZE, rng) for i in range(SYNTHETIC_COUNT)]
    (height, width), (lr_height, lr_width) = SYNTHETIC_HR_SIZE, SYNTHETIC_LR_SIZE
    return ImageSets(
        hr_paths,
        lr_paths,
        f"synthetic PNGs: {SYNTHETIC_COUNT} HR {width}x{height}, {SYNTHETIC_COUNT} LR {lr_width}x{lr_height}",
    )


def write_generated_pairs(hr_paths: list[Path], scale: int, out_dir: Path) -> Path:
    """A stand-in for a ``dasr generate`` folder: bicubic LR, random maps and the manifest.

    Stage 2 then reads pairs and maps exactly as from real generated pairs (same layout, same
    sizes and file types); running a DSN over every HR image first would only slow the benchmark.
    """
    rng = np.random.default_rng(1)
    entries = []
    for hr in hr_paths:
        paths = PairPaths.of(out_dir, hr.stem)
        paths.lr.parent.mkdir(parents=True, exist_ok=True)
        paths.map.parent.mkdir(parents=True, exist_ok=True)
        with Image.open(hr) as image:
            width, height = image.size
            lr = image.convert("RGB").resize((width // scale, height // scale), Image.BICUBIC)
        lr.save(paths.lr)
        np.save(paths.map, rng.random((height // scale, width // scale), dtype=np.float32))
        entries.append({"stem": hr.stem, "hr_size": [height, width]})
    # The header dasr generate writes, with a DSN that never existed (no source, no settings).
    dsn = {"source": None, "fingerprint": "bicubic stand-in", "config": None}
    manifest = {"format": MANIFEST_FORMAT, "scale": scale, "dsn": dsn, "images": entries}
    (out_dir / MANIFEST_NAME).write_text(json.dumps(manifest), encoding="utf-8")
    return out_dir


def _write_photo(path: Path, size: tuple[int, int], rng: np.random.Generator) -> Path:
    """A smooth random colour field with fine noise: decodes like a photo (a noise-only PNG
    barely compresses and decodes slower than any photo)."""
    height, width = size
    coarse = Image.fromarray(rng.integers(0, 256, (height // 16 + 2, width // 16 + 2, 3), dtype=np.uint8))
    smooth = np.asarray(coarse.resize((width, height), Image.BICUBIC), dtype=np.int16)
    pixels = np.clip(smooth + rng.integers(-4, 5, smooth.shape), 0, 255).astype(np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path)
    return path
