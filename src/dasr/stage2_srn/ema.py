"""An exponential moving average of the generator's weights (ESRGAN / BasicSR ``params_ema``).

GAN training makes the generator's weights jitter from step to step, and the jitter shows as
flickering artifacts; the average of the recent weights is smoother and is what BasicSR and
Real-ESRGAN ship. It is validated, sampled and saved as ``params_ema`` next to ``params``.

The source may be the DDP or compiled wrapper the training step calls: the average is always of
the plain network inside, so it has plain parameter names and never copies a wrapper.
"""

from __future__ import annotations

from torch import nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from dasr.engine.distributed import unwrap


class ModelEMA:
    """``model``: an eval-mode copy of a network whose parameters follow
    ``ema = decay * ema + (1 - decay) * param`` after each :meth:`update`; buffers are copied
    as they are. ``decay=0`` makes the copy equal the network after every update (EMA off).

    torch's ``AveragedModel`` does the averaging. It replaces the average by the network at its
    first update; here that happens at construction, so the first training step is averaged
    with the starting weights (BasicSR's EMA), and a resumed run, whose ``model`` is loaded
    from ``params_ema``, goes on averaging exactly as the uninterrupted run does."""

    def __init__(self, source: nn.Module, decay: float) -> None:
        if not 0.0 <= decay < 1.0:
            raise ValueError(f"EMA decay must be in [0, 1), got {decay}")
        self._average = AveragedModel(unwrap(source), multi_avg_fn=get_ema_multi_avg_fn(decay))
        self._average.update_parameters(unwrap(source))
        self.model = self._average.module.eval().requires_grad_(False)

    def update(self, source: nn.Module) -> None:
        """Move the average towards ``source``'s current weights (the network it was copied from)."""
        self._average.update_parameters(unwrap(source))
