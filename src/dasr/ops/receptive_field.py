"""Receptive-field geometry of a stack of convolution-like layers.

Every network whose outputs are mapped back onto input pixels (the DSN discriminator's patch
scores, tiled inference) describes itself as a ``Geometry``; composing the layers' geometries
gives the exact input window each output pixel sees, without running the network.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass

from torch import nn


@dataclass(frozen=True)
class Geometry:
    """Output pixel ``i`` sees input pixels ``[i * stride - padding, i * stride - padding + size)``.

    For a single conv layer: ``size`` = dilation * (kernel - 1) + 1, ``stride`` = its stride,
    ``padding`` = its padding.
    """

    size: int
    stride: int = 1
    padding: int = 0

    def then(self, next_layer: Geometry) -> Geometry:
        """The geometry of applying ``self`` first and ``next_layer`` on its output."""
        return Geometry(
            size=self.size + (next_layer.size - 1) * self.stride,
            stride=self.stride * next_layer.stride,
            padding=self.padding + next_layer.padding * self.stride,
        )


IDENTITY = Geometry(size=1, stride=1, padding=0)


def compose(layers: Iterable[Geometry]) -> Geometry:
    """The geometry of applying ``layers`` in order."""
    return functools.reduce(Geometry.then, layers, IDENTITY)


def conv_stack_geometry(module: nn.Module) -> Geometry:
    """The geometry of the ``nn.Conv2d`` layers of ``module`` applied in registration order.

    Valid for plain stacks and for residual stacks (a skip connection sees a subset of the
    window of the path it bypasses); element-wise layers do not change the geometry.
    """
    return compose(
        Geometry(
            size=conv.dilation[0] * (conv.kernel_size[0] - 1) + 1,
            stride=conv.stride[0],
            padding=conv.padding[0],
        )
        for conv in module.modules()
        if isinstance(conv, nn.Conv2d)
    )
