"""Stage 1.5: generated LR images and their domain-distance maps for every HR training image.

Output folder (see docs/generate.md)::

    lr/<stem>.png        DSN(HR), 8-bit PNG, rounded
    maps/<stem>.npy      float32 (h, w) map in [0, 1], computed on the saved 8-bit LR
    heatmaps/<stem>.png  the map as a picture with a legend
    manifest.json        what made the folder, and one entry per complete image

Every file appears under its final name only once complete, and an image is entered in the
manifest only after its three files exist, so an interrupted run resumes by skipping the
images the manifest lists (and whose files are still there) and redoing the rest.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from dasr.data.folders import clashing_outputs
from dasr.data.image_io import (
    image_size,
    image_to_tensor,
    read_image,
    tensor_to_pixels,
    to_rgb,
    write_image,
)
from dasr.data.pairs_folder import (
    MANIFEST_FORMAT,
    MANIFEST_NAME,
    PairPaths,
    read_manifest,
)
from dasr.engine.progress import progress as progress_bar
from dasr.errors import DasrError
from dasr.files.atomic import atomic_write
from dasr.metrics.protocol import quantize_8bit
from dasr.ops.frequency import FrequencyFilter
from dasr.stage1_5_maps.domain_distance import domain_distance_map, map_geometry
from dasr.stage1_5_maps.heatmap import CAPTION, heatmap_image
from dasr.stage1_dsn.calibration import calibrate_instance_norm
from dasr.stage1_dsn.inference import downscale_with_dsn, noise_seed
from dasr.stage1_dsn.networks import DSNBundle


@dataclass(frozen=True)
class GenerateSummary:
    written: int
    skipped: int
    cropped: int
    """HR images (among those written) cropped bottom/right to a multiple of the scale."""
    out_dir: Path
    manifest: Path
    calibrated_from: int = 0
    """Generated LR crops that fixed a released discriminator's InstanceNorm statistics first
    (0: the bundle needed no calibration)."""
    clashing: dict[Path, list[Path]] = field(default_factory=dict)
    """HR images left out because another HR image has the same stem (their outputs would
    overwrite each other), with those others: the rest of the folder is still done."""


@dataclass(frozen=True)
class _Networks:
    generator: nn.Module
    discriminator: nn.Module
    freq_filter: FrequencyFilter
    header: dict[str, Any]
    """What made the outputs; a folder is only resumed by the same networks and scale."""


def _fingerprint(*modules: nn.Module, kind: str) -> str:
    """A digest of the weights (and filter kind) that decide every output, so that a rerun with
    a retrained DSN (same run folder, new last.pth) does not silently mix old and new pairs."""
    digest = hashlib.sha256(kind.encode())
    for module in modules:
        for name, tensor in sorted(module.state_dict().items()):
            digest.update(name.encode())
            digest.update(tensor.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def _networks(networks: DSNBundle | tuple[nn.Module, nn.Module, FrequencyFilter], scale: int) -> _Networks:
    if isinstance(networks, tuple):
        (generator, discriminator, freq_filter), config, source = networks, None, None
    else:
        generator, discriminator, freq_filter = networks.generator, networks.discriminator, networks.freq_filter
        config, source = networks.config, networks.source
    geometry = map_geometry(freq_filter, discriminator)
    header = {
        "format": MANIFEST_FORMAT,
        "scale": scale,
        "dsn": {
            "source": None if source is None else str(Path(source).resolve()),
            "fingerprint": _fingerprint(generator, discriminator, kind=freq_filter.kind),
            "config": None if config is None else asdict(config.dsn),
        },
        "map": {
            "meaning": f"{CAPTION}: mean discriminator probability of the patches containing each LR pixel",
            "filter": freq_filter.kind,
            "receptive_field": asdict(geometry),
        },
    }
    return _Networks(generator, discriminator, freq_filter, header)


def too_small_for(hr_paths: Sequence[Path], scale: int) -> dict[Path, tuple[int, int]]:
    """The HR images that give no LR pixel at ``scale``, with their ``(width, height)`` (read
    from the header only)."""
    sizes = {Path(path): image_size(path)[::-1] for path in hr_paths}
    return {path: size for path, size in sizes.items() if min(size) < scale}


def _large_enough(hr_paths: list[Path], scale: int) -> list[Path]:
    """The HR images that give at least one LR pixel. Training takes a smaller one (padded), but
    it has no LR image to generate: it is left out with a warning, not a failed run."""
    small = too_small_for(hr_paths, scale)
    for path, (width, height) in small.items():
        warnings.warn(f"HR image '{path}' ({width}x{height}) is smaller than the scale {scale}: no pair", stacklevel=3)
    return [path for path in hr_paths if path not in small]


def _load_entries(manifest: Path, header: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Entries of a previous run into the same folder, which must have used the same DSN."""
    if not manifest.exists():
        return {}
    previous = read_manifest(manifest, "--out", remedy="use another --out folder")
    made = previous.header
    if (made["scale"], made["dsn"]["fingerprint"]) != (header["scale"], header["dsn"]["fingerprint"]):
        raise DasrError(
            f"--out: '{manifest.parent}' holds pairs made with another DSN or scale "
            f"(source {made['dsn'].get('source')}, scale {made['scale']}); use another --out folder"
        )
    return previous.images


def _make_folders(out_dir: Path) -> None:
    """The output folders, or one line naming ``--out`` when they cannot be made (read-only)."""
    try:
        for folder in ("lr", "maps", "heatmaps"):
            (out_dir / folder).mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise DasrError(f"--out: cannot create '{out_dir}': {error.strerror}") from None


def _write_manifest(manifest: Path, header: dict[str, Any], entries: dict[str, dict[str, Any]]) -> None:
    with atomic_write(manifest, "w") as handle:
        json.dump({**header, "images": [entries[stem] for stem in sorted(entries)]}, handle, indent=1)
        handle.write("\n")


def _generate_one(
    path: Path, nets: _Networks, paths: PairPaths, *, scale: int, tile: int, device: torch.device
) -> dict[str, Any]:
    """Write the three outputs of one HR image (LR last) and return its manifest entry."""
    pixels = to_rgb(read_image(path).pixels)
    height, width = pixels.shape[:2]
    lr_height, lr_width = height // scale, width // scale
    if lr_height == 0 or lr_width == 0:
        raise DasrError(f"HR image '{path}' ({width}x{height}) is smaller than the scale {scale}")
    hr = image_to_tensor(pixels[: lr_height * scale, : lr_width * scale])[None].to(device)
    lr = downscale_with_dsn(nets.generator, hr, scale=scale, tile=tile, seed=noise_seed(path.stem))
    saved_lr = quantize_8bit(lr)  # exactly what the 8-bit PNG holds
    lr_tile = -(-tile // scale)
    weights = domain_distance_map(saved_lr, nets.freq_filter, nets.discriminator, tile=lr_tile)[0, 0].cpu().numpy()

    with atomic_write(paths.map) as handle:
        np.save(handle, weights)
    with atomic_write(paths.heatmap) as handle:
        heatmap_image(weights).save(handle, format="PNG")
    write_image(paths.lr, tensor_to_pixels(saved_lr), bit_depth=8)
    return {
        "stem": path.stem,
        "hr": str(path.resolve()),
        "hr_size": [height, width],
        "hr_size_used": [lr_height * scale, lr_width * scale],
        "cropped": (height, width) != (lr_height * scale, lr_width * scale),
        "lr_size": [lr_height, lr_width],
        "map_mean": float(weights.mean()),
        "map_min": float(weights.min()),
        "map_max": float(weights.max()),
    }


def generate_pairs(
    networks: DSNBundle | tuple[nn.Module, nn.Module, FrequencyFilter],
    hr_paths: Sequence[Path],
    out_dir: Path,
    *,
    scale: int,
    tile: int,
    device: torch.device | str,
    progress: bool = True,
) -> GenerateSummary:
    """Write generated LR images and domain-distance maps for ``hr_paths`` into ``out_dir``.

    ``networks`` is a loaded DSN bundle or ``(generator, discriminator, freq_filter)``; the
    networks are moved to ``device`` and used in eval mode. A released checkpoint's bundle
    (``needs_calibration``) gets its discriminator's InstanceNorm statistics from ``hr_paths``
    first, as the maps would otherwise use default statistics. Sizes are ``(height, width)``
    everywhere in the manifest. ``tile`` (HR pixels) bounds memory and does not change results.
    """
    if tile < 1:
        raise DasrError(f"--tile must be a positive number of HR pixels, got {tile}")
    hr_paths = _large_enough([Path(path) for path in hr_paths], scale)
    clashing = clashing_outputs({path: Path(path.stem) for path in hr_paths})
    hr_paths = [path for path in hr_paths if path not in clashing]
    out_dir = Path(out_dir)
    device = torch.device(device)
    calibrated_from = 0
    if isinstance(networks, DSNBundle) and networks.needs_calibration:
        calibrated_from = calibrate_instance_norm(networks, hr_paths, device=device)
    nets = _networks(networks, scale)
    for module in (nets.generator, nets.discriminator, nets.freq_filter):
        module.to(device).eval()
    manifest = out_dir / MANIFEST_NAME
    _make_folders(out_dir)
    entries = _load_entries(manifest, nets.header)

    todo = [
        path
        for path in hr_paths
        if not (path.stem in entries and PairPaths.of(out_dir, path.stem).all_exist())
    ]
    skipped = len(hr_paths) - len(todo)
    written = cropped = 0
    for path in progress_bar(total=len(hr_paths), initial=skipped, desc="generate", enabled=progress, items=todo):
        entry = _generate_one(path, nets, PairPaths.of(out_dir, path.stem), scale=scale, tile=tile, device=device)
        entries[path.stem] = entry
        _write_manifest(manifest, nets.header, entries)
        written += 1
        cropped += entry["cropped"]
    return GenerateSummary(written=written, skipped=skipped, cropped=cropped, out_dir=out_dir, manifest=manifest,
                           calibrated_from=calibrated_from, clashing=clashing)
