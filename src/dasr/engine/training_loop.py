"""The training loop both stages share: resume, logging, samples, validation, checkpoints.

A stage supplies its networks, optimizers and schedulers (a ``Trainable``) and a ``step``
function; this module owns everything that makes a run resumable and observable, so the two
stages cannot drift apart in how they checkpoint, log or stop.

Under ``torchrun`` (``dasr.engine.distributed``) every process runs this loop in step: only
process 0 writes the config, log, samples, validation results and checkpoints (with its random
state) and shows a progress bar; logged losses are the means over the processes, i.e. the
losses of the global batch; a Ctrl-C on any process stops all of them after the same iteration.
"""

from __future__ import annotations

import signal
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn
from tqdm import tqdm

from dasr.config.loader import config_from_dict, config_to_dict, diff_configs
from dasr.config.schema import Config
from dasr.engine.distributed import (
    any_process,
    barrier,
    check_replicas,
    mean_over_processes,
)
from dasr.engine.metric_log import MetricLog
from dasr.engine.run_dir import RunDir
from dasr.errors import DasrError
from dasr.files.checkpoint import capture_rng_state, load_checkpoint


@dataclass
class Trainable:
    """Everything that learns: saved in and restored from checkpoints, all together.

    ``modules`` are the plain networks (not their DDP or compiled wrappers), so checkpoints hold
    plain parameter names. ``scalers``: the fp16 loss scalers, per optimizer name.
    """

    modules: dict[str, nn.Module]
    optimizers: dict[str, torch.optim.Optimizer]
    schedulers: dict[str, torch.optim.lr_scheduler.LRScheduler]
    scalers: dict[str, torch.amp.GradScaler] = field(default_factory=dict)

    def state_dict(self) -> dict:
        return {
            **{name: module.state_dict() for name, module in self.modules.items()},
            "optimizers": {name: optimizer.state_dict() for name, optimizer in self.optimizers.items()},
            "schedulers": {name: scheduler.state_dict() for name, scheduler in self.schedulers.items()},
            "scalers": {name: scaler.state_dict() for name, scaler in self.scalers.items()},
        }

    def load_state_dict(self, state: dict) -> None:
        for name, module in self.modules.items():
            module.load_state_dict(state[name])
        for name, optimizer in self.optimizers.items():
            optimizer.load_state_dict(state["optimizers"][name])
        for name, scheduler in self.schedulers.items():
            scheduler.load_state_dict(state["schedulers"][name])
        for name, scaler in self.scalers.items():
            # Empty when saved without fp16 (or before scalers existed): the scaler starts afresh.
            saved = state.get("scalers", {}).get(name)
            if saved:
                scaler.load_state_dict(saved)

    def first_non_finite(self) -> str | None:
        """The name of a parameter holding NaN or Inf, if any: such weights are never saved."""
        for module_name, module in self.modules.items():
            for name, tensor in module.state_dict().items():
                if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
                    return f"{module_name}.{name}"
        return None


def open_resume_state(
    run: RunDir, config: Config, *, checkpoint_format: str, resume_from: Path | None, resumable: Sequence[str]
) -> dict | None:
    """The checkpoint to continue from (an explicit one, else the run's latest), checked to
    belong to this stage and to settings that only differ in the ``resumable`` key prefixes."""
    source = resume_from or run.latest_checkpoint()
    if source is None:
        return None
    state = load_checkpoint(source)
    if state.get("format") != checkpoint_format:
        raise DasrError(f"'{source}' is not a {checkpoint_format} checkpoint")
    changed = [
        key for key in diff_configs(config_from_dict(state["config"]), config) if not key.startswith(tuple(resumable))
    ]
    if changed:
        raise DasrError(
            f"'{source}' was trained with other settings ({', '.join(changed)}); "
            "use the same preset and --set values to resume, or a new --out to start afresh"
        )
    state["source"] = source
    return state


@dataclass
class LoopHooks:
    """What a stage does besides stepping; each is called with the iteration just finished.

    Every validated iteration is also checkpointed, so that ``checkpointed(iteration, path,
    metrics)`` can tell which saved state a validation result belongs to (stage 2 keeps the best
    one); ``metrics`` is ``None`` for a checkpoint without validation.
    """

    phase: Callable[[int], str]
    sample: Callable[[int], None]
    validate: Callable[[int], dict[str, float]] | None = None
    checkpointed: Callable[[int, Path, dict[str, float] | None], None] | None = None
    settle: Callable[[], None] | None = None
    """Called on every process at each logged iteration, right after the losses are read (the
    loop waits for the device there anyway): the stage reads what its steps left on the device,
    e.g. the NaN/Inf guard's flags (``engine/guarded_step.py``)."""


@dataclass
class Loop:
    """What every iteration of one run refers to, so that the loop reads as its steps: train,
    log, sample, validate, checkpoint."""

    run: RunDir
    config: Config
    checkpoint_format: str
    trainable: Trainable
    hooks: LoopHooks
    main: bool

    def checkpoint(self, iteration: int) -> Path:
        """Save the state after ``iteration`` (process 0 writes, every process checks): weights
        holding NaN/Inf are refused, so a diverged run never replaces a good checkpoint."""
        bad = self.trainable.first_non_finite()
        if bad is not None:
            raise DasrError(f"training diverged: '{bad}' holds NaN/Inf at iteration {iteration}; "
                            "lower the learning rate or set a gradient clip, then resume")
        check_replicas(self.trainable.modules, iteration)
        if not self.main:
            return self.run.last_checkpoint
        state = {"format": self.checkpoint_format, "config": config_to_dict(self.config), "iteration": iteration,
                 **self.trainable.state_dict(), "rng": capture_rng_state()}
        return self.run.save_checkpoint(state, iteration, keep=self.config.train.keep_checkpoints)

    def iterate(self, iterations: range, step: Callable[[int], dict[str, torch.Tensor]], log: MetricLog | None,
                bar: tqdm, requested: Callable[[], bool]) -> Path:
        """Train ``iterations``, logging, sampling, validating and checkpointing on schedule (and
        always after the last); returns the last checkpoint."""
        every, end = self.config.train, iterations[-1]
        last = None
        sums: dict[str, torch.Tensor] = {}  # tensors: only a log line waits for the device
        count = 0
        for iteration in iterations:
            for name, value in step(iteration).items():
                sums[name] = sums[name] + value if name in sums else value
            count += 1
            step_schedulers(self.trainable)
            bar.update(1)
            if iteration % every.log_every == 0 or iteration == end:
                totals = mean_over_processes(sums)
                means = {name: float(total) / count for name, total in totals.items()}
                means["lr"] = next(iter(self.trainable.optimizers.values())).param_groups[0]["lr"]
                if log is not None:
                    log.log(iteration, means, phase=self.hooks.phase(iteration))
                bar.set_postfix({name: f"{value:.4g}" for name, value in means.items() if name != "lr"})
                sums, count = {}, 0
                if self.hooks.settle is not None:
                    self.hooks.settle()
            if self.main and (iteration % every.sample_every == 0 or iteration == end):
                self.hooks.sample(iteration)
            validating = self.hooks.validate is not None and (iteration % every.val_every == 0 or iteration == end)
            metrics = None
            if self.main and validating:
                metrics = self.hooks.validate(iteration)
                log.log(iteration, metrics, phase="val")
            # Every process votes after process 0's validation, so none runs ahead into the
            # next iteration's collectives while process 0 validates.
            stop = any_process(requested())
            if validating or iteration % every.checkpoint_every == 0 or iteration == end or stop:
                last = self.checkpoint(iteration)
                if self.main and self.hooks.checkpointed is not None:
                    self.hooks.checkpointed(iteration, last, metrics)
            if stop:
                barrier()  # torchrun ends every process once one exits: let process 0 finish writing
                raise KeyboardInterrupt
        return last


def step_schedulers(trainable: Trainable) -> None:
    """Advance every schedule by one iteration, also while its optimizer sits out a phase (the
    discriminators during content-only pre-training), which PyTorch would warn about."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Detected call of `lr_scheduler.step", category=UserWarning)
        for scheduler in trainable.schedulers.values():
            scheduler.step()


@contextmanager
def stop_requested() -> Iterator[Callable[[], bool]]:
    """Turn the first Ctrl-C into a request to stop after the current iteration (and save a
    checkpoint); a second Ctrl-C interrupts at once."""
    requested = False

    def handler(signum, frame):
        nonlocal requested
        if requested:
            raise KeyboardInterrupt
        requested = True

    try:
        previous = signal.signal(signal.SIGINT, handler)
    except ValueError:  # not the main thread: leave signals alone
        yield lambda: False
        return
    try:
        yield lambda: requested
    finally:
        signal.signal(signal.SIGINT, previous)
