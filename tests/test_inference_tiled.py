"""Tiled inference: equal to one whole-image pass, seamless, any size, bounded device memory.

Measured differences between tiled and single-tile output (random RRDBNets whose trunk weights
were scaled up x10 so that it matters, 40x56 LR, x4, tiles of 2 * overlap + 8):

| network | overlap 8 | 16 (default) | 24 | 32 |
|---|---|---|---|---|
| nf 8, nb 1, gc 4 (context 19) | 3.7e-4 | 6.7e-6 | 3.6e-7 | 6.7e-8 |
| nf 32, nb 2, gc 16 (context 34) | 4.7e-4 | 1.7e-5 | 9.0e-7 | 8.9e-8 |

With an overlap of at least 4 x the network's context only exact pixels get weight, so the result
is the single-tile result up to float rounding.
"""

from __future__ import annotations

import pytest
import torch
from torch import Tensor

from dasr.archs.rrdbnet import RRDBNet
from dasr.errors import DasrError
from dasr.ops.blended_tiling import DEFAULT_OVERLAP, auto_tile, upscale_tiled
from tests.helpers import image, tiny_net

WHOLE = 10**6
"""A tile larger than any test image: one pass over the whole (padded) image."""


class RecordingNet(RRDBNet):
    """A tiny RRDBNet that records the size of every input it is given, and runs out of memory
    on inputs larger than ``memory_limit`` pixels a side."""

    def __init__(self, memory_limit: int | None = None) -> None:
        torch.manual_seed(0)
        super().__init__(4, num_features=8, num_blocks=1, growth_channels=4)
        self.memory_limit = memory_limit
        self.seen: list[tuple[int, ...]] = []
        self.eval()

    def forward(self, x: Tensor) -> Tensor:
        self.seen.append(tuple(x.shape))
        if self.memory_limit is not None and max(x.shape[-2:]) > self.memory_limit:
            raise torch.OutOfMemoryError("CUDA out of memory (simulated)")
        return super().forward(x)


class Nearest(torch.nn.Module):
    """Nearest-neighbour upscaling: a local operator without context, so every tiling of it must
    give exactly its whole-image output (what blending weights that do not sum to 1 would break)."""

    def __init__(self, scale: int, alignment: int) -> None:
        super().__init__()
        self.scale, self.alignment = scale, alignment

    def forward(self, x: Tensor) -> Tensor:
        return torch.nn.functional.interpolate(x, scale_factor=self.scale, mode="nearest")

    def tile_alignment(self) -> int:
        return self.alignment

    def hyperparameters(self) -> dict[str, int]:
        return {"num_features": 3, "growth_channels": 1}


def test_single_tile_without_overlap_is_the_network_itself() -> None:
    net, x = tiny_net(), image(12, 17)
    with torch.inference_mode():
        expected = net(x)
    torch.testing.assert_close(upscale_tiled(net, x, scale=4, tile=WHOLE, overlap=0), expected, rtol=0, atol=1e-6)


@pytest.mark.parametrize(("overlap", "tolerance"), [(76, 1e-6), (DEFAULT_OVERLAP, 1e-4)])
def test_tiled_equals_whole_image(overlap: int, tolerance: float) -> None:
    """76 = 4 x the context: exact; the default overlap: within the measured 6.7e-6 (module doc)."""
    net, x = tiny_net(gain=10), image(37, 45)
    whole = upscale_tiled(net, x, scale=4, tile=WHOLE, overlap=overlap)
    tiled = upscale_tiled(net, x, scale=4, tile=2 * overlap + 8, overlap=overlap)
    assert tiled.shape == (1, 3, 37 * 4, 45 * 4)
    assert (tiled - whole).abs().max().item() < tolerance


def test_blending_is_exact_for_every_layout() -> None:
    rng = torch.Generator().manual_seed(0)
    for _ in range(200):
        height, width, steps, alignment, scale, extra = (
            int(torch.randint(low, high, (), generator=rng))
            for low, high in ((1, 60), (1, 60), (0, 9), (1, 3), (1, 4), (0, 40))
        )
        overlap = steps * alignment
        tile = max(2 * overlap, 1) + extra
        x = image(height, width)
        out = upscale_tiled(Nearest(scale, alignment), x, scale=scale, tile=tile, overlap=overlap)
        expected = torch.nn.functional.interpolate(x, scale_factor=scale, mode="nearest")
        layout = f"{height}x{width} tile {tile} overlap {overlap}"
        torch.testing.assert_close(out, expected, rtol=0, atol=1e-6, msg=layout)


def test_flat_image_stays_flat() -> None:
    """No seams: blending weights sum to 1 everywhere and borders see reflected (flat) context."""
    net = tiny_net(gain=10)
    out = upscale_tiled(net, torch.full((1, 3, 30, 41), 0.4), scale=4, tile=40, overlap=DEFAULT_OVERLAP)
    deviation = (out - out.mean(dim=(-2, -1), keepdim=True)).abs().max().item()
    assert deviation < 1e-4


@pytest.mark.parametrize(
    ("height", "width", "scale", "unshuffle"),
    [(1, 1, 4, 1), (1, 9, 4, 1), (7, 3, 1, 1), (23, 31, 4, 1), (5, 1, 2, 2), (23, 31, 2, 2)],
)
def test_any_size(height: int, width: int, scale: int, unshuffle: int) -> None:
    """Sizes below a tile, odd sizes, sizes the unshuffle does not divide: all work, and tiling
    changes them no more than on other images (the default overlap counts trunk pixels, so it
    is twice as many input pixels for the unshuffled network)."""
    net = tiny_net(scale, input_unshuffle=unshuffle, gain=10)
    x = image(height, width)
    whole = upscale_tiled(net, x, scale=scale, tile=WHOLE)
    tiled = upscale_tiled(net, x, scale=scale, tile=2 * DEFAULT_OVERLAP * unshuffle)
    assert whole.shape == (1, 3, height * scale, width * scale)
    assert (tiled - whole).abs().max().item() < 1e-4


def test_device_sees_only_tiles() -> None:
    net = RecordingNet()
    out = upscale_tiled(net, image(50, 70), scale=4, tile=24, overlap=8)
    assert out.shape == (1, 3, 200, 280) and out.device.type == "cpu"
    assert len(net.seen) > 4
    assert all(shape[:2] == (1, 3) and max(shape[-2:]) <= 24 for shape in net.seen)


def test_out_of_memory_halves_the_tile() -> None:
    net = RecordingNet(memory_limit=40)
    x = image(40, 50)
    with pytest.warns(UserWarning, match="out of memory on cpu with tiles of 66 pixels; retrying with 33"):
        out = upscale_tiled(net, x, scale=4, tile=128, overlap=8)
    assert max(net.seen[-1][-2:]) <= 40
    torch.testing.assert_close(out, upscale_tiled(tiny_net(), x, scale=4, tile=32, overlap=8), rtol=0, atol=1e-3)


def test_out_of_memory_at_the_smallest_tile_is_one_line() -> None:
    net = RecordingNet(memory_limit=8)
    message = "out of memory on cpu even with tiles of 16 pixels"
    with pytest.warns(UserWarning), pytest.raises(DasrError, match=message) as error:
        upscale_tiled(net, image(20, 20), scale=4, tile=64, overlap=8)
    assert "\n" not in str(error.value)


def test_tile_smaller_than_twice_the_overlap_is_refused() -> None:
    with pytest.raises(DasrError, match="at least twice the overlap"):
        upscale_tiled(tiny_net(), image(20, 20), scale=4, tile=20, overlap=16)


def test_automatic_tile_fits_the_cpu_budget() -> None:
    cpu = torch.device("cpu")
    full = auto_tile(RRDBNet(4), cpu)
    assert full % 8 == 0 and 128 <= full <= 512
    assert auto_tile(tiny_net(), cpu) > full  # fewer features, larger tiles
    assert auto_tile(tiny_net(2, input_unshuffle=2), cpu) % 8 == 0
