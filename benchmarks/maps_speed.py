"""Stage 1.5 speed: domain-distance maps against the released code's per-pixel loop, and whole-image
generation (DSN forward + map) in megapixels per second.

The released code built each map with a Python loop over the LR pixels, averaging the scores of
the patches that cover the pixel. :func:`per_pixel_map` is that loop (with a numpy slice mean per
pixel, which is faster than the released torch indexing, so the ratio printed is a lower bound)
and :func:`dasr.ops.backproject.backproject_scores` the transposed convolution that replaced it.
Both get the same scores (the paper configuration's discriminator on the wavelet high-pass of a
random LR image, receptive field 46 LR pixels, stride 2); the benchmark checks that the two maps
agree and prints both times and their ratio. Then it times what ``dasr generate`` computes per
image, ``downscale_with_dsn`` and ``domain_distance_map`` (file writing excluded), on random HR
images with the paper configuration's networks (random weights: speed does not depend on them).

    python benchmarks/maps_speed.py                       # CPU; LR 192² for the loop, HR 512² for generation
    python benchmarks/maps_speed.py --device cuda --hr-size 2048
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np
import torch
from timing import seconds_per_call

from dasr.config.loader import load_config
from dasr.ops.backproject import backproject_scores
from dasr.ops.receptive_field import Geometry
from dasr.stage1_5_maps.domain_distance import domain_distance_map, map_geometry
from dasr.stage1_dsn.inference import downscale_with_dsn
from dasr.stage1_dsn.networks import build_dsn_networks

AGREEMENT = 1e-5
"""Largest difference allowed between the loop's map and ours (float32 sums in another order)."""


def per_pixel_map(scores: np.ndarray, geometry: Geometry, size: tuple[int, int]) -> np.ndarray:
    """The released code's approach: for each of the ``size`` LR pixels, the mean of the ``(h, w)``
    ``scores`` whose windows ``[i * stride - padding, + size)`` contain it. Pixels that no window
    reaches (a stride that drops the last row or column) take the nearest covered pixel's value,
    as :func:`backproject_scores` gives them."""
    height, width = size
    rows = _covered(scores.shape[0], height, geometry)
    cols = _covered(scores.shape[1], width, geometry)
    result = np.empty(size, dtype=np.float32)
    for y in range(height):
        first_row, last_row = _windows(min(y, rows - 1), scores.shape[0], geometry)
        for x in range(width):
            first_col, last_col = _windows(min(x, cols - 1), scores.shape[1], geometry)
            result[y, x] = scores[first_row:last_row, first_col:last_col].mean()
    return result


def _windows(pixel: int, count: int, geometry: Geometry) -> tuple[int, int]:
    """``[first, last)`` of the windows along one axis that contain ``pixel``."""
    first = max(0, -(-(pixel + geometry.padding - geometry.size + 1) // geometry.stride))
    last = min(count, (pixel + geometry.padding) // geometry.stride + 1)
    return first, last


def _covered(count: int, length: int, geometry: Geometry) -> int:
    """How many pixels from the first along one axis some window reaches."""
    return min(length, (count - 1) * geometry.stride - geometry.padding + geometry.size)


def best_seconds(fn: Callable[[], object], device: torch.device, repeats: int) -> float:
    """Best of ``repeats`` single calls (after one warm-up): the least disturbed by other load."""
    fn()
    return min(seconds_per_call(fn, device=device, steps=1, warmup=0) for _ in range(repeats))


def compare_maps(lr_size: int, device: torch.device) -> None:
    bundle = build_dsn_networks(load_config("paper"))
    freq_filter, discriminator = bundle.freq_filter.to(device), bundle.discriminator.to(device).eval()
    geometry = map_geometry(freq_filter, discriminator)
    lr = torch.rand(1, 3, lr_size, lr_size, device=device)
    with torch.inference_mode():
        scores = torch.sigmoid(discriminator(freq_filter(lr)))
    size = (lr_size, lr_size)

    def ours() -> torch.Tensor:
        return backproject_scores(scores, geometry, size)

    started = time.perf_counter()
    reference = per_pixel_map(scores[0, 0].double().cpu().numpy(), geometry, size)
    loop_seconds = time.perf_counter() - started
    fast_seconds = best_seconds(ours, device, repeats=5)
    difference = float(np.abs(ours()[0, 0].cpu().numpy() - reference).max())
    print(f"map of a {lr_size}² LR image ({device}), {geometry}, scores {tuple(scores.shape[-2:])}:")
    print(f"  per-pixel Python loop  {loop_seconds * 1e3:10.1f} ms")
    print(f"  ours (running sums)    {fast_seconds * 1e3:10.3f} ms")
    print(f"  ratio {loop_seconds / fast_seconds:.0f}x, max abs difference {difference:.1e}")
    if difference > AGREEMENT:
        raise SystemExit(f"the two maps differ by {difference:.1e} (more than {AGREEMENT:.0e})")


def time_generation(hr_size: int, device: torch.device, tile: int | None, repeats: int) -> None:
    config = load_config("paper")
    tile = tile or config.generate.tile
    bundle = build_dsn_networks(config)
    generator, discriminator = bundle.generator.to(device).eval(), bundle.discriminator.to(device).eval()
    freq_filter, scale = bundle.freq_filter.to(device), config.scale
    hr = torch.rand(1, 3, hr_size, hr_size, device=device)
    lr = downscale_with_dsn(generator, hr, scale=scale, tile=tile)
    lr_tile = -(-tile // scale)
    dsn = best_seconds(lambda: downscale_with_dsn(generator, hr, scale=scale, tile=tile), device, repeats)
    maps = best_seconds(
        lambda: domain_distance_map(lr, freq_filter, discriminator, tile=lr_tile), device, repeats
    )
    megapixels = hr_size**2 / 1e6
    print(f"generation of a {hr_size}² HR image (x{scale}, tile {tile}, {device}, paper networks):")
    print(f"  DSN forward            {dsn:8.3f} s  {megapixels / dsn:8.3f} HR MP/s")
    print(f"  map (disc + backproj.) {maps:8.3f} s  {megapixels / maps:8.3f} HR MP/s")
    print(f"  together               {dsn + maps:8.3f} s  {megapixels / (dsn + maps):8.3f} HR MP/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    parser.add_argument("--lr-size", type=int, default=192, help="LR size of the loop comparison (default 192)")
    parser.add_argument("--hr-size", type=int, default=512, help="HR size of the generation timing (default 512)")
    parser.add_argument("--tile", type=int, help="HR tile of the generation (default: the paper preset's, 512)")
    parser.add_argument("--repeats", type=int, default=3, help="timed calls per measurement; the best counts")
    args = parser.parse_args()
    device = torch.device(args.device)
    torch.manual_seed(0)
    compare_maps(args.lr_size, device)
    time_generation(args.hr_size, device, args.tile, args.repeats)


if __name__ == "__main__":
    main()
