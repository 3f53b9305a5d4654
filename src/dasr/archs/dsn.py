"""Down-sampling networks (DSN, stage 1): HR image -> LR image in the real-LR domain.

Two generators, selected by ``dsn.arch``: the paper's (:class:`PaperDSN`) and the released code's
``De_resnet`` (:class:`OfficialDSN`). Both are local operators (convolutions, element-wise
activations, a fixed resize), so a large HR image can be processed in tiles with exactly the
whole-image result: a tile must be aligned to :meth:`DownsamplingNetwork.tile_alignment` input
pixels and carry :meth:`DownsamplingNetwork.context` input pixels of real image context on each
side (clipped at the image border), whose LR counterpart is then cropped away.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch.nn.functional as F
from torch import Tensor, nn

from dasr.archs.inputs import check_image_batch
from dasr.archs.registry import register_arch
from dasr.errors import DasrError
from dasr.ops.receptive_field import Geometry, conv_stack_geometry
from dasr.ops.resize import bicubic_downscale, bicubic_geometry
from dasr.ops.tiling import round_up

SCALES = (1, 2, 4)


def _conv3x3(in_channels: int, out_channels: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1)


def _bilinear_downscale_geometry(factor: int) -> Geometry:
    """Bilinear (``align_corners=False``) by an even factor reads the two pixels around the
    centre of each ``factor``-block: output ``j`` sees ``[j*f + f/2 - 1, j*f + f/2 + 1)``."""
    return Geometry(size=2, stride=factor, padding=1 - factor // 2)


def _tiling_context(paths: Iterable[Geometry], alignment: int) -> int:
    """Input pixels an output block ``[j*a, (j+1)*a)`` reaches beyond itself on either side,
    over all parallel paths, rounded up to whole blocks so that tiles stay aligned."""
    reach = max(max(g.padding, g.size - g.padding - g.stride, 0) for g in paths)
    return round_up(reach, alignment)


class ResidualBlock(nn.Module):
    """``x + conv3x3(act(conv3x3(x)))``: no normalisation, identity skip (SRResNet/EDSR)."""

    def __init__(self, channels: int, act: nn.Module) -> None:
        super().__init__()
        self.conv1 = _conv3x3(channels, channels)
        self.act = act
        self.conv2 = _conv3x3(channels, channels)

    def forward(self, x: Tensor) -> Tensor:
        return x + self.conv2(self.act(self.conv1(x)))


class DownsamplingNetwork(nn.Module):
    """What both DSNs share: the scale, the input check and the tiling contract. Table 1's
    "bicubic-LR input" variant is a scale-1 network behind a bicubic downscale
    (``dasr.stage1_dsn.networks.BicubicInputDSN``)."""

    def __init__(self, scale: int) -> None:
        super().__init__()
        if scale not in SCALES:
            raise DasrError(f"unsupported DSN scale {scale!r}; valid scales: {', '.join(map(str, SCALES))}")
        self.scale = scale

    def tile_alignment(self) -> int:
        """Tile origins and sizes must be multiples of this many input pixels, so that every
        tile's LR grid is a sub-grid of the whole image's."""
        return self.scale

    def context(self) -> int:
        """Input pixels of context each side of a tile needs for an exact tiled result (a
        multiple of :meth:`tile_alignment`)."""
        return _tiling_context(self._paths(), self.scale)

    def _paths(self) -> list[Geometry]:
        """The geometries of the parallel paths from input to output."""
        raise NotImplementedError

    def _check_input(self, x: Tensor) -> None:
        check_image_batch(x, type(self).__name__, 3, self.scale, "downscales by")


@register_arch("dsn_paper")
class PaperDSN(DownsamplingNetwork):
    """The paper's DSN: conv3x3, residual blocks, bilinear feature resize by 1/scale, two conv3x3.

    With ``global_residual`` the output adds the bicubic downscale of the input (the input itself
    at scale 1): the network then only learns the degradation, and its untrained output starts
    near the content-loss target ``y^b``. Output ``(N, 3, H/scale, W/scale)``; not clamped.
    """

    def __init__(
        self,
        scale: int,
        num_features: int = 64,
        num_blocks: int = 23,
        global_residual: bool = True,
    ) -> None:
        super().__init__(scale)
        self.global_residual = global_residual
        self.conv_first = _conv3x3(3, num_features)
        self.body = nn.Sequential(*(ResidualBlock(num_features, nn.ReLU()) for _ in range(num_blocks)))
        self.tail = nn.Sequential(_conv3x3(num_features, num_features), nn.ReLU(), _conv3x3(num_features, 3))

    def forward(self, x: Tensor) -> Tensor:
        self._check_input(x)
        features = self.body(self.conv_first(x))
        if self.scale > 1:
            size = (x.shape[-2] // self.scale, x.shape[-1] // self.scale)
            features = F.interpolate(features, size=size, mode="bilinear", align_corners=False)
        out = self.tail(features)
        if self.global_residual:
            out = out + bicubic_downscale(x, self.scale)
        return out

    def _paths(self) -> list[Geometry]:
        main = conv_stack_geometry(self.conv_first).then(conv_stack_geometry(self.body))
        if self.scale > 1:
            main = main.then(_bilinear_downscale_geometry(self.scale))
        paths = [main.then(conv_stack_geometry(self.tail))]
        if self.global_residual:
            paths.append(bicubic_geometry(self.scale))
        return paths


@register_arch("dsn_official")
class OfficialDSN(DownsamplingNetwork):
    """The released code's generator ``De_resnet`` (``codes/DSN/model.py``).

    ``conv3x3(3->nf) PReLU``, ``num_blocks`` residual blocks (conv3x3, PReLU, conv3x3), one
    ``conv3x3 stride 2, PReLU`` per factor of 2, ``conv3x3(nf->3)``, sigmoid. Every PReLU has a
    single slope, as ``nn.PReLU()`` there. Output ``(N, 3, H/scale, W/scale)`` in (0, 1).

    Differences from the paper's DSN (:class:`PaperDSN`): 8 blocks instead of 23, PReLU instead of
    ReLU, learned stride-2 convolutions instead of a bilinear resize, one convolution after the
    downscale instead of two, and a sigmoid output instead of a residual to the bicubic LR.

    Differences from the released code: at scale 1 the released ``De_resnet`` never defines
    ``down_sample`` and crashes; here scale 1 (also FSSR's DSGAN ``Generator``, which the
    released code ships too) simply has no stride-2 convolutions.
    Module names are the released ones except the blocks' activation (``res_blocks.N.act``
    here, ``res_blocks.N.prelu`` there): rename that key to load a released checkpoint.
    """

    def __init__(
        self,
        scale: int,
        num_features: int = 64,
        num_blocks: int = 8,
    ) -> None:
        super().__init__(scale)
        self.block_input = nn.Sequential(_conv3x3(3, num_features), nn.PReLU())
        self.res_blocks = nn.Sequential(*(ResidualBlock(num_features, nn.PReLU()) for _ in range(num_blocks)))
        halvings = self.scale.bit_length() - 1
        self.down_sample = nn.Sequential(
            *(
                layer
                for _ in range(halvings)
                for layer in (_conv3x3(num_features, num_features, stride=2), nn.PReLU())
            )
        )
        self.block_output = _conv3x3(num_features, 3)

    def forward(self, x: Tensor) -> Tensor:
        self._check_input(x)
        features = self.down_sample(self.res_blocks(self.block_input(x)))
        return self.block_output(features).sigmoid()

    def _paths(self) -> list[Geometry]:
        return [conv_stack_geometry(self)]
