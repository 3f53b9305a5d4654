"""Learning-rate schedules of the presets, as multiplicative factors of the base rate.

Both stages use the same two shapes, so one function serves both; ``torch.optim.lr_scheduler.
LambdaLR`` applies it and stores its position in checkpoints.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import torch
from torch import nn

from dasr.config.schema import StageConfig


def lr_factor(
    kind: Literal["step", "linear"], *, total_iters: int, step: int, gamma: float, decay_iters: int | None = None
) -> Callable[[int], float]:
    """``step``: gamma ** (t // step) (the paper: halve every 10k iterations). ``linear``: 1, then
    straight down to 0 at the end over the last ``decay_iters`` iterations (default: the second
    half), as the released code does."""
    if kind == "step":
        return lambda t: gamma ** (t // step)
    decay = max(1, min(total_iters, decay_iters if decay_iters is not None else total_iters // 2))
    decay_start = total_iters - decay
    return lambda t: 1.0 if t < decay_start else max(0.0, (total_iters - t) / decay)


def build_optimization(
    modules: dict[str, nn.Module | None], settings: StageConfig, *, total_iters: int
) -> tuple[dict[str, torch.optim.Optimizer], dict[str, torch.optim.lr_scheduler.LambdaLR]]:
    """An Adam optimizer and its schedule per named module (``None`` modules are left out), as
    both training stages configure them."""
    optimizers = {name: adam(module, settings) for name, module in modules.items() if module is not None}
    factor = lr_factor(settings.lr_schedule, total_iters=total_iters, step=settings.lr_step,
                       gamma=settings.lr_gamma, decay_iters=settings.lr_decay_iters)
    schedulers = {name: torch.optim.lr_scheduler.LambdaLR(optimizer, factor) for name, optimizer in optimizers.items()}
    return optimizers, schedulers


def adam(module: nn.Module, settings: StageConfig) -> torch.optim.Adam:
    """Adam over ``module``'s parameters, fused where the device has it (CUDA, and the CPU from
    torch 2.4): one kernel for all parameters instead of several per tensor, and an update it
    skips on a device flag, which the NaN/Inf guard (``engine/guarded_step.py``) needs to decide
    without waiting for the device. Elsewhere the plain implementation."""
    try:
        return torch.optim.Adam(module.parameters(), lr=settings.lr, betas=settings.betas, fused=True)
    except (RuntimeError, ValueError):  # "fused=True requires ... supported devices"
        return torch.optim.Adam(module.parameters(), lr=settings.lr, betas=settings.betas)
