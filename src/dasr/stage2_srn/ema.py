"""An exponential moving average of the generator's weights (ESRGAN / BasicSR ``params_ema``).

GAN training makes the generator's weights jitter from step to step, and the jitter shows as
flickering artifacts; the average of the recent weights is smoother and is what BasicSR and
Real-ESRGAN ship. It is validated, sampled and saved as ``params_ema`` next to ``params``.

The source may be the DDP or compiled wrapper the training step calls: the average is always of
the plain network inside, so it has plain parameter names and never copies a wrapper.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.optim.swa_utils import AveragedModel

from dasr.engine.distributed import unwrap


class ModelEMA:
    """``model``: an eval-mode copy of a network whose parameters follow
    ``ema = decay * ema + (1 - decay) * param`` after each :meth:`update`; buffers are copied
    as they are. ``decay=0`` makes the copy equal the network after every update (EMA off).

    torch's ``AveragedModel`` keeps the average. It replaces the average by the network at its
    first update; here that happens at construction, so the first training step is averaged
    with the starting weights (BasicSR's EMA), and a resumed run, whose ``model`` is loaded
    from ``params_ema``, goes on averaging exactly as the uninterrupted run does. The step
    itself is ours rather than ``get_ema_multi_avg_fn``'s: its weight is a device tensor, so an
    iteration whose optimizer step the NaN/Inf guard skipped leaves the average as it was
    without the host reading the flag (``engine/guarded_step.py``)."""

    def __init__(self, source: nn.Module, decay: float) -> None:
        if not 0.0 <= decay < 1.0:
            raise ValueError(f"EMA decay must be in [0, 1), got {decay}")
        self.decay = decay
        self._weight: Tensor | None = None
        self._average = AveragedModel(unwrap(source), multi_avg_fn=self._step)
        self._average.update_parameters(unwrap(source))
        self.model = self._average.module.eval().requires_grad_(False)

    def update(self, source: nn.Module, skipped: Tensor | None = None) -> None:
        """Move the average towards ``source``'s current weights (the network it was copied
        from), unless the device flag ``skipped`` is set."""
        keep = torch.ones((), device=next(self.model.parameters()).device) if skipped is None else ~skipped
        self._weight = (1.0 - self.decay) * keep.float()
        self._average.update_parameters(unwrap(source))

    def _step(self, average: list[Tensor], current: list[Tensor], _count: Tensor) -> None:
        """The EMA step for one device's tensors: ``get_ema_multi_avg_fn``'s lerp, bit for bit,
        with the weight as a tensor (the list form of the op; a tensor given as its scalar
        weight would be read by the host)."""
        weight = self._weight.to(average[0].device)
        torch._foreach_lerp_(average, current, [weight] * len(average))
