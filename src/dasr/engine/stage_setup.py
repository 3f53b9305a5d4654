"""What every training stage sets up before its first iteration, in one place.

A stage is its networks, its batches and the loss of one iteration; everything else (the run
folder and what to resume from, determinism, device, precision, the seed, the optimizers with
their schedules and loss scalers, the endless batches moved to the device) is the same for
every stage and lives here, so that two stages cannot set it up differently: a stage calls
:func:`open_stage`, builds its networks, :func:`make_trainable`, its trainer
(:meth:`dasr.engine.gan_trainer.GANTrainer.for_stage`), :class:`DeviceBatches`, and
:func:`run_stage` with the loss of one iteration. The loop itself is
:class:`dasr.engine.training_loop.Loop`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import Dataset

from dasr.config.schema import Config, StageConfig
from dasr.data.unpaired import patch_batches
from dasr.engine.acceleration import memory_format
from dasr.engine.device import set_determinism
from dasr.engine.distributed import (
    barrier,
    is_main_process,
    per_process_batch,
    rank,
    reseed_other_processes,
    training_device,
    world_size,
)
from dasr.engine.lr_schedule import build_optimization
from dasr.engine.metric_log import MetricLog
from dasr.engine.precision import Precision, resolve_precision
from dasr.engine.progress import progress
from dasr.engine.run_dir import RunDir
from dasr.engine.training_loop import (
    Loop,
    LoopHooks,
    Trainable,
    open_resume_state,
    stop_requested,
)
from dasr.files.checkpoint import restore_rng_state


@dataclass(frozen=True)
class StageSetup:
    """A stage's run folder, what it resumes from, and where and how it computes."""

    run: RunDir
    config: Config
    section: str
    """The stage's settings section (``dsn``, ``srn``)."""
    checkpoint_format: str
    resume_state: dict | None
    device: torch.device
    precision: Precision

    @property
    def settings(self) -> StageConfig:
        return getattr(self.config, self.section)

    @property
    def total_iters(self) -> int:
        return self.settings.pretrain_iters + self.settings.iters

    @property
    def start(self) -> int:
        """The last finished iteration (0 for a new run)."""
        return int(self.resume_state["iteration"]) if self.resume_state else 0

    @property
    def layout(self) -> torch.memory_format:
        """The memory format batches are moved to, matching the weights'."""
        return memory_format(self.config.train, self.device)


def open_stage(
    config: Config,
    out: Path,
    section: str,
    *,
    checkpoint_format: str,
    resumable: Sequence[str],
    resume_from: Path | None,
) -> StageSetup:
    """Check the batch fits the processes, open (or resume) the run folder, fix determinism,
    device and precision, and seed torch's generator, in that order, for the stage whose
    settings are ``config.<section>``."""
    per_process_batch(getattr(config, section).batch_size, f"{section}.batch_size")
    run = RunDir(out, create=is_main_process())
    resume_state = open_resume_state(
        run, config, checkpoint_format=checkpoint_format, resume_from=resume_from, resumable=resumable
    )
    set_determinism(config.deterministic)
    device = training_device(config.device)
    precision = resolve_precision(config.train.amp, device)
    torch.manual_seed(config.seed)
    return StageSetup(run, config, section, checkpoint_format, resume_state, device, precision)


def make_trainable(
    setup: StageSetup, learners: dict[str, nn.Module | None], saved: dict[str, nn.Module | None]
) -> Trainable:
    """An Adam optimizer, schedule and loss scaler per network in ``learners`` (``None`` ones
    left out); ``saved`` are the checkpoint's names for every module it holds, e.g.
    ``{"params": generator, "params_ema": ema, "discriminator": discriminator}``."""
    optimizers, schedulers = build_optimization(learners, setup.settings, total_iters=setup.total_iters)
    return Trainable(
        modules={name: module for name, module in saved.items() if module is not None},
        optimizers=optimizers,
        schedulers=schedulers,
        scalers={name: setup.precision.grad_scaler() for name in optimizers},
    )


class DeviceBatches:
    """The next batch of a stage's dataset on its device and memory layout, continuing after the
    resumed iteration (batch ``b`` is the same in every run and on every process count).

    ``last`` is the first sample of the latest batch, so that a stage's sample hook shows what
    the networks have just trained on.
    """

    def __init__(self, setup: StageSetup, dataset: Dataset) -> None:
        config = setup.config
        self._batches = patch_batches(
            dataset,
            batch_size=setup.settings.batch_size,
            start_batch=setup.start,
            num_workers=config.data.num_workers,
            seed=config.seed,
            rank=rank(),
            world_size=world_size(),
        )
        self._device, self._layout = setup.device, setup.layout
        self.last: dict[str, torch.Tensor] = {}

    def __call__(self) -> dict[str, torch.Tensor]:
        batch = {
            name: tensor.to(self._device, non_blocking=True, memory_format=self._layout)
            for name, tensor in next(self._batches).items()
        }
        self.last = {name: tensor[:1] for name, tensor in batch.items()}
        return batch


def run_stage(
    setup: StageSetup,
    trainable: Trainable,
    step: Callable[[int], dict[str, torch.Tensor]],
    *,
    sample: Callable[[int], None],
    validate: Callable[[int], dict[str, float]] | None = None,
    checkpointed: Callable[[int, Path, dict[str, float] | None], None] | None = None,
    settle: Callable[[], None] | None = None,
    stop_after: int | None,
    show_progress: bool,
) -> Path:
    """Run iterations ``start + 1 .. total_iters`` (or up to ``stop_after``) through
    :class:`~dasr.engine.training_loop.Loop`; returns the last checkpoint. ``step(iteration)``
    trains one iteration and returns detached loss tensors; the first
    ``<section>.pretrain_iters`` are logged as ``pretrain`` (content only), the rest as
    ``train``. Ctrl-C once finishes the current iteration, saves a checkpoint and stops; the
    same command then resumes exactly. The hooks run on process 0 only."""
    run, config, resume_state, start = setup.run, setup.config, setup.resume_state, setup.start
    pretrain_iters = setup.settings.pretrain_iters
    hooks = LoopHooks(phase=lambda iteration: "pretrain" if iteration <= pretrain_iters else "train",
                      sample=sample, validate=validate, checkpointed=checkpointed, settle=settle)
    loop = Loop(run, config, setup.checkpoint_format, trainable, hooks, main=is_main_process())
    if resume_state is not None:
        trainable.load_state_dict(resume_state)
        restore_rng_state(resume_state["rng"])
    reseed_other_processes(config.seed, start)
    if loop.main:
        run.save_config(config)
    end = setup.total_iters if stop_after is None else min(setup.total_iters, stop_after)
    if start >= end:
        return resume_state["source"] if resume_state is not None else loop.checkpoint(start)
    log_file = MetricLog(run.log_path, tensorboard_dir=run.tensorboard_dir, resume_step=start) if loop.main else nullcontext()
    with log_file as log, stop_requested() as requested:
        bar = progress(total=setup.total_iters, initial=start, desc=f"train-{setup.section}",
                       enabled=show_progress and loop.main)
        try:
            last = loop.iterate(range(start + 1, end + 1), step, log, bar, requested)
        finally:
            bar.close()
    barrier()  # the last checkpoint is complete before any process returns its path
    return last
