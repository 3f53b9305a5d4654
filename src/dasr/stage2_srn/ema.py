"""An exponential moving average of the generator's weights (ESRGAN / BasicSR ``params_ema``).

GAN training makes the generator's weights jitter from step to step, and the jitter shows as
flickering artifacts; the average of the recent weights is smoother and is what BasicSR and
Real-ESRGAN ship. It is validated, sampled and saved as ``params_ema`` next to ``params``.

The source may be the DDP or compiled wrapper the training step calls: the average is always of
the plain network inside, so it has plain parameter names and never copies a wrapper.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from dasr.engine.distributed import unwrap


class ModelEMA:
    """``model``: an eval-mode copy of a network whose parameters follow
    ``ema = decay * ema + (1 - decay) * param`` after each :meth:`update`; buffers are copied
    as they are. ``decay=0`` makes the copy equal the network after every update (EMA off)."""

    def __init__(self, source: nn.Module, decay: float) -> None:
        if not 0.0 <= decay < 1.0:
            raise ValueError(f"EMA decay must be in [0, 1), got {decay}")
        self.decay = decay
        self.model = copy.deepcopy(unwrap(source)).eval().requires_grad_(False)

    @torch.no_grad()
    def update(self, source: nn.Module) -> None:
        """Move the average towards ``source``'s current weights (the network it was copied from)."""
        source = unwrap(source)
        averaged = list(self.model.parameters())
        current = [parameter.detach() for parameter in source.parameters()]
        # lerp(a, b, w) = a + w (b - a): with w = 1 - decay this is the formula above, and with
        # decay 0 it returns b exactly.
        torch._foreach_lerp_(averaged, current, 1.0 - self.decay)
        for average, buffer in zip(self.model.buffers(), source.buffers(), strict=True):
            average.copy_(buffer)
