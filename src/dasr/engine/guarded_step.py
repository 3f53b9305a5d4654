"""An optimizer step that survives a bad batch without stalling the device: gradient clipping
and the NaN/Inf guard.

Both stages step through :func:`guarded_step`. A step whose loss or gradient is NaN/Inf is
skipped: the weights and the optimizer's moments stay as they were. The decision stays on the
device. dasr's optimizers are fused Adam wherever the device has it (``engine/lr_schedule.py``),
and a fused Adam skips its update itself when its ``found_inf`` input is set, the mechanism
torch's ``GradScaler`` uses; so no iteration waits for the device to tell the host whether it
was bad. :class:`BadSteps` keeps the flags and reads them when the training loop reads its
losses anyway (every ``train.log_every`` iterations): then it warns about each skipped
iteration and stops the run after ``<stage>.max_bad_steps`` in a row, exactly as if each step
had been checked at once, only later. An optimizer without that input (torch < 2.4 on the
CPU, a plain SGD in tests) costs one host read per step instead.

With fp16 loss scaling the scaler's own check decides: a non-finite loss poisons the gradients
so that the scaler sees it too, and an Inf gradient of a finite loss is the scaler's business
(it skips the step and lowers its scale, which is how it finds the largest safe scale), so that
is not counted. Under torchrun the flags are combined over all processes, so that every replica
skips the same steps.
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
) -> Tensor:
    """Back-propagate ``loss`` and step ``optimizer`` (gradient norm of ``module`` clipped to
    ``clip``) unless the loss or the gradient is NaN/Inf on some process. Returns the device
    flags ``[loss bad, gradient bad]`` of this step, for :meth:`BadSteps.record`."""
    optimizer.zero_grad(set_to_none=True)
    scaler.scale(loss).backward()
    parameters = [parameter for parameter in module.parameters() if parameter.grad is not None]
    if scaler.is_enabled() and parameters:  # 0 where the loss is finite, NaN where it is not
        torch._foreach_add_([parameter.grad for parameter in parameters], loss.detach().float() * 0)
    scaler.unscale_(optimizer)
    # An infinite limit makes clip_grad_norm_ only measure (and works on torch < 2.6).
    norm = torch.nn.utils.clip_grad_norm_(parameters, float("inf") if clip is None else clip)
    bad = ~all_processes(torch.stack([torch.isfinite(loss.detach()), torch.isfinite(norm)]))
    if scaler.is_enabled():
        scaler.step(optimizer)
        scaler.update()
        return torch.stack([bad[0], torch.zeros_like(bad[1])])
    _step_unless(optimizer, bad.any())
    return bad


def _step_unless(optimizer: torch.optim.Optimizer, skip: Tensor) -> None:
    """``optimizer.step()`` where ``skip`` (a device flag) is false; sync-free for optimizers
    that take ``found_inf`` (fused Adam says so with ``_step_supports_amp_scaling``)."""
    if getattr(optimizer, "_step_supports_amp_scaling", False):
        optimizer.found_inf = skip.float()
        try:
            optimizer.step()
        finally:
            del optimizer.found_inf
    elif not bool(skip):
        optimizer.step()


MAX_PENDING = 1000
"""Iterations whose flags :class:`BadSteps` keeps at most before it reads them itself."""


@dataclass
class BadSteps:
    """Counts iterations in a row that skipped an optimizer step, for one stage (``section``:
    ``dsn`` or ``srn``, which names its settings in the messages). :meth:`record` keeps an
    iteration's flags on the device; :meth:`settle` reads them."""

    limit: int
    section: str
    in_a_row: int = field(default=0, init=False)
    _pending: list[tuple[int | None, tuple[str, ...], Tensor]] = field(default_factory=list, init=False)

    def record(self, steps: dict[str, Tensor], iteration: int | None) -> Tensor:
        """Keep the flags of one iteration's steps (network name -> :func:`guarded_step`'s
        flags); returns the iteration's ``skipped`` figure for the log, on the device."""
        flags = torch.stack(list(steps.values()))
        self._pending.append((iteration, tuple(steps), flags))
        if len(self._pending) >= MAX_PENDING:  # a caller that never settles (a benchmark loop)
            self.settle()
        return flags.any().float()

    def settle(self) -> None:
        """Read the recorded flags (one device sync for all of them), warn about each skipped
        iteration and stop after ``limit`` in a row."""
        if not self._pending:
            return
        values = torch.cat([flags.flatten() for _, _, flags in self._pending]).tolist()
        pending, self._pending, start = self._pending, [], 0
        for iteration, names, flags in pending:
            bad = values[start : start + flags.numel()]
            start += flags.numel()
            problems = [f"the {name} {'loss' if loss_bad else 'gradient'} is NaN/Inf"
                        for name, loss_bad, gradient_bad in zip(names, bad[0::2], bad[1::2])
                        if loss_bad or gradient_bad]
            self._count(problems, iteration)

    def _count(self, problems: list[str], iteration: int | None) -> None:
        if not problems:
            self.in_a_row = 0
            return
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
