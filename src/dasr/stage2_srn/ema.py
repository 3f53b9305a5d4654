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
from torch import Tensor, nn

from dasr.engine.distributed import unwrap


class ModelEMA:
    """``model``: an eval-mode copy of a network whose parameters follow
    ``ema = decay * ema + (1 - decay) * param`` after each :meth:`update`; buffers are copied
    as they are. ``decay=0`` makes the copy equal the network after every update (EMA off).

    The copy starts as the network, so the first training step is averaged with the starting
    weights (BasicSR's EMA), and a resumed run, whose ``model`` is loaded from ``params_ema``,
    goes on averaging exactly as the uninterrupted run does. The step is
    ``get_ema_multi_avg_fn``'s lerp, bit for bit, with its weight as a device tensor: an
    iteration whose optimizer step the NaN/Inf guard skipped leaves the average as it was
    without the host reading the flag (``engine/guarded_step.py``). torch's ``AveragedModel``
    is not used for the update: its ``update_parameters`` reads its update count (a device
    buffer) on the host on every call, a wait for the GPU each iteration
    (``tests/test_srn_step.py`` shows it)."""

    def __init__(self, source: nn.Module, decay: float) -> None:
        if not 0.0 <= decay < 1.0:
            raise ValueError(f"EMA decay must be in [0, 1), got {decay}")
        self.decay = decay
        self.model = copy.deepcopy(unwrap(source)).eval().requires_grad_(False)

    @torch.no_grad()
    def update(self, source: nn.Module, skipped: Tensor | None = None) -> None:
        """Move the average towards ``source``'s current weights (the network it was copied
        from), unless the device flag ``skipped`` is set."""
        source = unwrap(source)
        average = [parameter.detach() for parameter in self.model.parameters()]
        current = [parameter.detach() for parameter in source.parameters()]
        keep = torch.ones((), device=average[0].device) if skipped is None else ~skipped
        weight = (1.0 - self.decay) * keep.float()
        torch._foreach_lerp_(average, current, [weight] * len(average))  # a tensor weight: not read by the host
        for mine, theirs in zip(self.model.buffers(), source.buffers(), strict=True):
            mine.copy_(theirs)
