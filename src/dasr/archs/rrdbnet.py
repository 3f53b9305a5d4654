"""The SR network of stage 2: ESRGAN's RRDBNet (Wang et al. 2018), with BasicSR's module names.

``conv_first``, ``num_blocks`` residual-in-residual dense blocks (``body.N.rdb1..rdb3``, each
five densely connected 3x3 convolutions), ``conv_body`` with a skip around the trunk, one
``nearest x2 upsample + conv_upK + LeakyReLU`` per factor of 2, ``conv_hr``, ``conv_last``.
The names are BasicSR's exactly, so BasicSR / Real-ESRGAN files load as they are and
:mod:`dasr.archs.weights` only has to rename the older ESRGAN and mmsr files.

Scales: ``scale`` is the ratio of output to input size. Plain scale 2 has one upsampling step
and scale 1 none (the paper's CameraSR setting). BasicSR instead always upsamples x4 and
``pixel_unshuffle``s x2 and x1 inputs first (its ``conv_first`` then takes 12 or 48 channels);
``input_unshuffle=2`` (or 4) reproduces that, so Real-ESRGAN's x2 weights load too.

The network is a local operator (convolutions, element-wise activations, nearest upsampling,
space-to-depth), so a large image can be super-resolved in tiles with exactly the whole-image
result: tiles aligned to :meth:`RRDBNet.tile_alignment` input pixels with :meth:`RRDBNet.context`
input pixels of context on each side.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from dasr.archs.inputs import check_image_batch
from dasr.archs.registry import register_arch
from dasr.errors import DasrError
from dasr.ops.receptive_field import Geometry, compose, conv_stack_geometry

SCALES = (1, 2, 4, 8)
UNSHUFFLES = (1, 2, 4)
HYPERPARAMETERS = ("scale", "num_features", "num_blocks", "growth_channels", "in_channels", "out_channels",
                   "input_unshuffle")
"""The constructor arguments, in order; each is also an attribute of the network."""
RESIDUAL_SCALE = 0.2
"""ESRGAN's residual scaling: each dense block and each RRDB adds 0.2 x its residual."""
NEGATIVE_SLOPE = 0.2


def _conv3x3(in_channels: int, out_channels: int) -> nn.Conv2d:
    return nn.Conv2d(in_channels, out_channels, 3, padding=1)


def _input_window(window: tuple[int, int], geometry: Geometry) -> tuple[int, int]:
    """The input pixels that the output pixels ``window`` of a layer stack with ``geometry`` see
    (both windows ``(first, last)``, inclusive)."""
    first, last = window
    return (
        first * geometry.stride - geometry.padding,
        last * geometry.stride - geometry.padding + geometry.size - 1,
    )


class ResidualDenseBlock(nn.Module):
    """Five 3x3 convolutions, each seeing the block input and every earlier output; the last
    one maps back to ``num_features`` and is added to the input, scaled by 0.2."""

    def __init__(self, num_features: int, growth_channels: int) -> None:
        super().__init__()
        for index in range(5):
            out_channels = num_features if index == 4 else growth_channels
            self.add_module(f"conv{index + 1}", _conv3x3(num_features + index * growth_channels, out_channels))
        # ESRGAN's initialisation: Kaiming scaled by 0.1 keeps the deep residual trunk close to
        # the identity at the start, which its training relies on.
        with torch.no_grad():
            for conv in self.convs():
                nn.init.kaiming_normal_(conv.weight).mul_(0.1)
                nn.init.zeros_(conv.get_parameter("bias"))

    def convs(self) -> list[nn.Conv2d]:
        return [getattr(self, f"conv{index + 1}") for index in range(5)]

    def forward(self, x: Tensor) -> Tensor:
        features = [x]
        *hidden, last = self.convs()
        for conv in hidden:
            features.append(F.leaky_relu(conv(torch.cat(features, 1)), NEGATIVE_SLOPE))
        return x + RESIDUAL_SCALE * last(torch.cat(features, 1))


class RRDB(nn.Module):
    """Three dense blocks in sequence with a skip around them, scaled by 0.2."""

    def __init__(self, num_features: int, growth_channels: int) -> None:
        super().__init__()
        self.rdb1 = ResidualDenseBlock(num_features, growth_channels)
        self.rdb2 = ResidualDenseBlock(num_features, growth_channels)
        self.rdb3 = ResidualDenseBlock(num_features, growth_channels)

    def forward(self, x: Tensor) -> Tensor:
        return x + RESIDUAL_SCALE * self.rdb3(self.rdb2(self.rdb1(x)))


RRDB_ARCH = "rrdbnet"
"""The registry name of :class:`RRDBNet`, also the ``arch`` that model files record."""


@register_arch(RRDB_ARCH)
class RRDBNet(nn.Module):
    """ESRGAN's generator: ``(N, in_channels, H, W)`` -> ``(N, out_channels, H*scale, W*scale)``.

    With ``input_unshuffle`` u > 1 the input is first folded into ``in_channels * u * u``
    channels at 1/u of its size (BasicSR's ``pixel_unshuffle``, same channel order) and the
    network upsamples by ``scale * u``; H and W must then be multiples of u. Output not clamped.
    """

    def __init__(
        self,
        scale: int,
        num_features: int = 64,
        num_blocks: int = 23,
        growth_channels: int = 32,
        in_channels: int = 3,
        out_channels: int = 3,
        input_unshuffle: int = 1,
    ) -> None:
        super().__init__()
        if scale not in SCALES:
            raise DasrError(f"unsupported RRDBNet scale {scale!r}; valid scales: {', '.join(map(str, SCALES))}")
        if input_unshuffle not in UNSHUFFLES:
            raise DasrError(
                f"unsupported RRDBNet input_unshuffle {input_unshuffle!r}; valid values: "
                f"{', '.join(map(str, UNSHUFFLES))}"
            )
        self.scale = scale
        self.num_features = num_features
        self.num_blocks = num_blocks
        self.growth_channels = growth_channels
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.input_unshuffle = input_unshuffle
        self.num_upsamples = (scale * input_unshuffle).bit_length() - 1

        self.conv_first = _conv3x3(in_channels * input_unshuffle**2, num_features)
        self.body = nn.Sequential(*(RRDB(num_features, growth_channels) for _ in range(num_blocks)))
        self.conv_body = _conv3x3(num_features, num_features)
        for index in range(self.num_upsamples):
            self.add_module(f"conv_up{index + 1}", _conv3x3(num_features, num_features))
        self.conv_hr = _conv3x3(num_features, num_features)
        self.conv_last = _conv3x3(num_features, out_channels)

    def hyperparameters(self) -> dict[str, int]:
        """The constructor arguments that rebuild this network (stored with its weights)."""
        return {name: getattr(self, name) for name in HYPERPARAMETERS}

    def upsampling_convs(self) -> list[nn.Conv2d]:
        """``conv_up1``, ``conv_up2``, ...: one per nearest x2 upsampling, in forward order."""
        return [getattr(self, f"conv_up{index + 1}") for index in range(self.num_upsamples)]

    def forward(self, x: Tensor) -> Tensor:
        check_image_batch(x, "RRDBNet", self.in_channels, self.input_unshuffle, "unshuffles its input by")
        features = self.conv_first(F.pixel_unshuffle(x, self.input_unshuffle))
        features = features + self.conv_body(self.body(features))
        for conv in self.upsampling_convs():
            features = F.leaky_relu(conv(F.interpolate(features, scale_factor=2, mode="nearest")), NEGATIVE_SLOPE)
        return self.conv_last(F.leaky_relu(self.conv_hr(features), NEGATIVE_SLOPE))

    def tile_alignment(self) -> int:
        """Tile origins and sizes must be multiples of this many input pixels, so that every
        tile's unshuffled grid is a sub-grid of the whole image's."""
        return self.input_unshuffle

    def context(self) -> int:
        """Input pixels of context each side of a tile needs for an exact tiled result (a
        multiple of :meth:`tile_alignment`).

        Traces the output block of one feature pixel back to the input: through ``conv_hr`` and
        ``conv_last``, then per upsampling step through its convolution and the nearest x2
        upsampling (output ``i`` reads input ``i // 2``), then through the trunk and the unshuffle.
        """
        unshuffle = self.input_unshuffle
        tail = compose(conv_stack_geometry(conv) for conv in (self.conv_hr, self.conv_last))
        first, last = _input_window((0, self.scale * unshuffle - 1), tail)
        for conv in reversed(self.upsampling_convs()):
            first, last = _input_window((first, last), conv_stack_geometry(conv))
            first, last = first // 2, last // 2
        trunk = compose(
            [Geometry(size=unshuffle, stride=unshuffle)]
            + [conv_stack_geometry(module) for module in (self.conv_first, self.body, self.conv_body)]
        )
        first, last = _input_window((first, last), trunk)
        return max(-first, last - (unshuffle - 1))
