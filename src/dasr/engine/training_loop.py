"""The training loop both stages share: resume, logging, samples, validation, checkpoints.

A stage supplies its networks, optimizers and schedulers (a ``Trainable``) and a ``step``
function; this module owns everything that makes a run resumable and observable, so the two
stages cannot drift apart in how they checkpoint, log or stop.
"""

from __future__ import annotations

import signal
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Sequence

import torch
from torch import nn

from dasr.config.loader import config_from_dict, config_to_dict, diff_configs
from dasr.config.schema import Config
from dasr.engine.checkpoint import capture_rng_state, load_checkpoint, restore_rng_state
from dasr.engine.metric_log import MetricLog
from dasr.engine.progress import progress
from dasr.engine.run_dir import RunDir
from dasr.errors import DasrError


@dataclass
class Trainable:
    """Everything that learns: saved in and restored from checkpoints, all together."""

    modules: dict[str, nn.Module]
    optimizers: dict[str, torch.optim.Optimizer]
    schedulers: dict[str, torch.optim.lr_scheduler.LRScheduler]

    def state_dict(self) -> dict:
        return {
            **{name: module.state_dict() for name, module in self.modules.items()},
            "optimizers": {name: optimizer.state_dict() for name, optimizer in self.optimizers.items()},
            "schedulers": {name: scheduler.state_dict() for name, scheduler in self.schedulers.items()},
        }

    def load_state_dict(self, state: dict) -> None:
        for name, module in self.modules.items():
            module.load_state_dict(state[name])
        for name, optimizer in self.optimizers.items():
            optimizer.load_state_dict(state["optimizers"][name])
        for name, scheduler in self.schedulers.items():
            scheduler.load_state_dict(state["schedulers"][name])

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


def run_training(
    *,
    run: RunDir,
    config: Config,
    checkpoint_format: str,
    trainable: Trainable,
    resume_state: dict | None,
    total_iters: int,
    step: Callable[[int], dict[str, torch.Tensor]],
    hooks: LoopHooks,
    desc: str,
    stop_after: int | None = None,
    show_progress: bool = True,
) -> Path:
    """Run iterations ``start + 1 .. total_iters`` (or up to ``stop_after``); returns the last
    checkpoint. ``step(iteration)`` trains one iteration and returns detached loss tensors.

    Ctrl-C once finishes the current iteration, saves a checkpoint and stops; the same command
    then resumes exactly.
    """
    start = 0
    if resume_state is not None:
        trainable.load_state_dict(resume_state)
        restore_rng_state(resume_state["rng"])
        start = int(resume_state["iteration"])
    run.save_config(config)
    every = config.train

    def checkpoint(iteration: int) -> Path:
        bad = trainable.first_non_finite()
        if bad is not None:
            raise DasrError(f"training diverged: '{bad}' holds NaN/Inf at iteration {iteration}; "
                            "lower the learning rate or set a gradient clip, then resume")
        state = {"format": checkpoint_format, "config": config_to_dict(config), "iteration": iteration,
                 **trainable.state_dict(), "rng": capture_rng_state()}
        return run.save_checkpoint(state, iteration, keep=every.keep_checkpoints)

    end = total_iters if stop_after is None else min(total_iters, stop_after)
    if start >= end:
        return resume_state["source"] if resume_state is not None else checkpoint(start)

    last = None
    sums: dict[str, torch.Tensor] = {}
    count = 0
    with MetricLog(run.log_path, tensorboard_dir=run.tensorboard_dir, resume_step=start) as log, \
            stop_requested() as should_stop:
        bar = progress(total=total_iters, initial=start, desc=desc, enabled=show_progress)
        try:
            for iteration in range(start + 1, end + 1):
                losses = step(iteration)
                step_schedulers(trainable)
                for name, value in losses.items():
                    sums[name] = sums[name] + value if name in sums else value
                count += 1
                bar.update(1)
                if iteration % every.log_every == 0 or iteration == end:
                    means = {name: float(total) / count for name, total in sums.items()}
                    means["lr"] = next(iter(trainable.optimizers.values())).param_groups[0]["lr"]
                    log.log(iteration, means, phase=hooks.phase(iteration))
                    bar.set_postfix({name: f"{value:.4g}" for name, value in means.items() if name != "lr"})
                    sums, count = {}, 0
                if iteration % every.sample_every == 0 or iteration == end:
                    hooks.sample(iteration)
                metrics = None
                if hooks.validate is not None and (iteration % every.val_every == 0 or iteration == end):
                    metrics = hooks.validate(iteration)
                    log.log(iteration, metrics, phase="val")
                if (
                    metrics is not None
                    or iteration % every.checkpoint_every == 0
                    or iteration == end
                    or should_stop()
                ):
                    last = checkpoint(iteration)
                    if hooks.checkpointed is not None:
                        hooks.checkpointed(iteration, last, metrics)
                if should_stop():
                    raise KeyboardInterrupt
        finally:
            bar.close()
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
