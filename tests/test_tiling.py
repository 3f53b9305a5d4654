"""Tiled application equals whole-image application for local operators of every kind."""

from __future__ import annotations

from fractions import Fraction

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from dasr.ops.tiling import apply_tiled


def conv(in_channels: int, out_channels: int, kernel: int = 3, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_channels, out_channels, kernel, stride, padding=(kernel - 1) // 2 if kernel % 2 else 1)


class Resize(nn.Module):
    def __init__(self, factor: float) -> None:
        super().__init__()
        self.factor = factor

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.interpolate(x, scale_factor=self.factor, mode="bilinear", align_corners=False)


def stride_one() -> tuple[nn.Module, dict]:
    return nn.Sequential(conv(3, 4), nn.ReLU(), conv(4, 4, 5), nn.ReLU(), conv(4, 2)), {
        "context": 4,
        "alignment": 1,
        "scale_out": 1,
    }


def strided() -> tuple[nn.Module, dict]:
    # Geometry: 3/2/1 then 3/1/1 then 4/2/1 -> size 17, stride 4, padding 7.
    return nn.Sequential(conv(3, 4, 3, 2), nn.LeakyReLU(0.2), conv(4, 4), conv(4, 1, 4, 2)), {
        "context": 7,
        "alignment": 4,
        "scale_out": Fraction(1, 4),
    }


def bilinear_down() -> tuple[nn.Module, dict]:
    # Output pixel j of the resize reads HR pixels 4j+1 and 4j+2: only whole-pixel grids line up,
    # so tiles must start at multiples of 4. Context: 1 (first conv) + 4 * 1 (last conv) + 3.
    return nn.Sequential(conv(3, 4), nn.ReLU(), Resize(0.25), conv(4, 3)), {
        "context": 8,
        "alignment": 4,
        "scale_out": (1, 4),
    }


def bilinear_up() -> tuple[nn.Module, dict]:
    return nn.Sequential(conv(3, 4), Resize(2), conv(4, 3)), {"context": 3, "alignment": 1, "scale_out": 2}


@pytest.mark.parametrize("make", [stride_one, strided, bilinear_down, bilinear_up])
@pytest.mark.parametrize("size", [(37, 29), (32, 24)])
@pytest.mark.parametrize("tile", [5, 8, 13, 64])
def test_tiled_equals_whole(make, size: tuple[int, int], tile: int) -> None:
    torch.manual_seed(0)
    net, options = make()
    net = net.double().eval()
    x = torch.rand(2, 3, *size, dtype=torch.float64)
    seen: list[tuple[int, int]] = []

    def fn(crop: torch.Tensor) -> torch.Tensor:
        seen.append(tuple(crop.shape[-2:]))
        return net(crop)

    with torch.inference_mode():
        whole = net(x)
        tiled = apply_tiled(fn, x, tile=tile, **options)
    torch.testing.assert_close(tiled, whole, rtol=0, atol=1e-12)
    alignment = options["alignment"]
    bound = -(-tile // alignment) * alignment + 2 * -(-options["context"] // alignment) * alignment
    assert max(h for h, _ in seen) <= bound and max(w for _, w in seen) <= bound


def test_alignment_keeps_internal_strides_on_the_image_grid() -> None:
    """A same-size operator with an internal stride 2 is only tile-invariant when tiles start
    on even pixels: the stride's sampling grid must be the whole image's."""
    torch.manual_seed(0)
    net = nn.Sequential(conv(3, 4, 3, 2), nn.Upsample(scale_factor=2, mode="nearest"), conv(4, 3)).double().eval()
    x = torch.rand(1, 3, 32, 32, dtype=torch.float64)
    with torch.inference_mode():
        whole = net(x)
        aligned = apply_tiled(net, x, tile=5, context=4, alignment=2)
        misaligned = apply_tiled(net, x, tile=6, context=3, alignment=1)
    torch.testing.assert_close(aligned, whole, rtol=0, atol=1e-12)
    assert misaligned.shape != whole.shape or not torch.allclose(misaligned, whole)


def test_operator_that_breaks_scale_is_reported() -> None:
    with pytest.raises(ValueError, match="scale_out"):
        apply_tiled(lambda t: t[..., ::2, ::2], torch.rand(1, 1, 16, 16), tile=8, context=0, scale_out=1)


def test_alignment_must_give_whole_output_pixels() -> None:
    with pytest.raises(ValueError, match="alignment"):
        apply_tiled(lambda t: t, torch.rand(1, 1, 16, 16), tile=8, context=0, alignment=2, scale_out=Fraction(1, 4))
