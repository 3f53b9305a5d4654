"""An optimizer step that survives a bad batch: gradient clipping and the NaN/Inf guard.

Both stages step through :func:`guarded_step`. A step whose loss or gradient is NaN/Inf is
skipped (the weights and the optimizer state stay as they were) and :class:`BadSteps` warns;
``<stage>.max_bad_steps`` such iterations in a row stop the run with a message naming the
settings that help. With fp16 loss scaling an Inf gradient of a finite loss is first the
scaler's business: it skips the step and lowers its scale, which is how it finds the largest
safe scale, so that is not counted. Under torchrun the decision is taken over all processes, so
that every replica skips the same steps.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from dasr.engine.distributed import all_processes
from dasr.errors import DasrError


def guarded_step(
    optimizer: torch.optim.Optimizer,
    scaler: torch.amp.GradScaler,
    module: nn.Module,
    loss: Tensor,
    clip: float | None,
    name: str,
) -> str | None:
    """Back-propagate ``loss`` and step ``optimizer`` (gradient norm of ``module`` clipped to
    ``clip``), unless the loss or the gradient is NaN/Inf on some process: then the gradients
    are dropped and the problem is returned. One device sync decides both."""
    optimizer.zero_grad(set_to_none=True)
    scaler.scale(loss).backward()
    scaler.unscale_(optimizer)
    gradients = [parameter for parameter in module.parameters() if parameter.grad is not None]
    # An infinite limit makes clip_grad_norm_ only measure (and works on torch < 2.6).
    norm = torch.nn.utils.clip_grad_norm_(gradients, float("inf") if clip is None else clip)
    finite = all_processes(torch.stack([torch.isfinite(loss), torch.isfinite(norm)]))
    loss_finite, gradient_finite = finite.tolist()
    if loss_finite and (gradient_finite or scaler.is_enabled()):
        scaler.step(optimizer)
        scaler.update()
        return None
    optimizer.zero_grad(set_to_none=True)
    scaler.update()  # unscale_ was called: the scaler must close this iteration either way
    return f"the {name} {'loss' if not loss_finite else 'gradient'} is NaN/Inf"


@dataclass
class BadSteps:
    """Counts iterations in a row that skipped an optimizer step, for one stage (``section``:
    ``dsn`` or ``srn``, which names its settings in the messages)."""

    limit: int
    section: str
    in_a_row: int = field(default=0, init=False)

    def record(self, problems: list[str], iteration: int | None) -> float:
        """Warn about a skipped iteration and stop after ``limit`` in a row; returns the
        iteration's ``skipped`` figure for the log (1.0 or 0.0)."""
        if not problems:
            self.in_a_row = 0
            return 0.0
        self.in_a_row += 1
        where = "" if iteration is None else f"iteration {iteration}: "
        if self.in_a_row >= self.limit:
            raise DasrError(
                f"training diverged: {self.in_a_row} iterations in a row had NaN/Inf losses or gradients "
                f"({where}{'; '.join(problems)}); check the training images, set {self.section}.grad_clip "
                f"or lower {self.section}.lr"
            )
        warnings.warn(
            f"{where}{'; '.join(problems)}: step skipped ({self.in_a_row} in a row; {self.limit} stop the run)",
            stacklevel=3,
        )
        return 1.0
