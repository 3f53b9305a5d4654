"""Stage 1: the training loop of the down-sampling network, with exact resume.

Everything that decides the next iteration is in the checkpoint (weights, optimizers,
schedulers, RNG states, iteration) and data sampling is a pure function of (seed, sample
index), so stopping after N iterations and resuming gives the same weights as not stopping.
"""

from __future__ import annotations

import signal
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import torch

from dasr.config.loader import config_from_dict, config_to_dict, diff_configs
from dasr.config.schema import Config
from dasr.data.image_io import tensor_to_pixels, write_image
from dasr.data.unpaired import UnpairedPatches, patch_batches
from dasr.engine.checkpoint import capture_rng_state, load_checkpoint, restore_rng_state
from dasr.engine.device import select_device, set_determinism
from dasr.engine.lr_schedule import build_scheduler
from dasr.engine.metric_log import MetricLog
from dasr.engine.progress import progress
from dasr.engine.run_dir import RunDir
from dasr.errors import DasrError
from dasr.losses.perceptual import build_perceptual_loss
from dasr.ops.resize import bicubic_downscale
from dasr.stage1_dsn.networks import CHECKPOINT_FORMAT, build_dsn_networks
from dasr.stage1_dsn.step import DSNTrainer
from dasr.stage1_dsn.validation import validate_dsn

RESUMABLE_CHANGES = ("dsn.iters", "device", "data.num_workers", "generate.", "train.")
"""Configuration keys that may differ when a run is resumed: they do not change what has been
learned so far (more iterations, another device, other bookkeeping)."""


@dataclass
class DSNData:
    hr_paths: list[Path]
    lr_paths: list[Path]
    val_pairs: list[tuple[Path, Path]] | None = None


def train_dsn(
    config: Config,
    data: DSNData,
    out: Path,
    *,
    resume_from: Path | None = None,
    stop_after: int | None = None,
    show_progress: bool = True,
) -> Path:
    """Train (or continue training) the DSN in run folder ``out``; returns the last checkpoint.

    ``stop_after`` ends the run after that many iterations in total, as if it were killed right
    after a checkpoint (tests use it to check that resuming is exact).
    """
    run = RunDir(out)
    resume_from = resume_from or run.latest_checkpoint()
    state = load_checkpoint(resume_from) if resume_from else None
    if state is not None:
        check_resumable(state, config, resume_from)

    set_determinism(config.deterministic)
    device = select_device(config.device)
    torch.manual_seed(config.seed)
    bundle = build_dsn_networks(config)
    generator = bundle.generator.to(device).train()
    discriminator = bundle.discriminator.to(device).train()
    perceptual = build_perceptual_loss(config.dsn.perceptual, config.dsn.perceptual_layer, config.dsn.vgg_weights)
    if perceptual is not None:
        perceptual = perceptual.to(device)

    settings = config.dsn
    total_iters = settings.pretrain_iters + settings.iters
    optimizers = {
        "generator": torch.optim.Adam(generator.parameters(), lr=settings.lr, betas=settings.betas),
        "discriminator": torch.optim.Adam(discriminator.parameters(), lr=settings.lr, betas=settings.betas),
    }
    schedulers = {
        name: build_scheduler(
            optimizer,
            settings.lr_schedule,
            total_iters=total_iters,
            step=settings.lr_step,
            gamma=settings.lr_gamma,
            decay_iters=settings.lr_decay_iters,
        )
        for name, optimizer in optimizers.items()
    }
    trainer = DSNTrainer(
        generator, discriminator, bundle.freq_filter.to(device), perceptual,
        optimizers["generator"], optimizers["discriminator"], settings, config.scale,
    )

    # The discriminator's schedule advances through pre-training although its optimizer does not
    # step yet; PyTorch warns about exactly that, harmlessly here.
    warnings.filterwarnings("ignore", message="Detected call of `lr_scheduler.step", category=UserWarning)

    start = 0
    if state is not None:
        generator.load_state_dict(state["params"])
        discriminator.load_state_dict(state["discriminator"])
        for name in optimizers:
            optimizers[name].load_state_dict(state["optimizers"][name])
            schedulers[name].load_state_dict(state["schedulers"][name])
        restore_rng_state(state["rng"])
        start = int(state["iteration"])
    run.save_config(config)

    def checkpoint(iteration: int) -> Path:
        return run.save_checkpoint(
            {
                "format": CHECKPOINT_FORMAT,
                "config": config_to_dict(config),
                "iteration": iteration,
                "params": generator.state_dict(),
                "discriminator": discriminator.state_dict(),
                "optimizers": {name: opt.state_dict() for name, opt in optimizers.items()},
                "schedulers": {name: sch.state_dict() for name, sch in schedulers.items()},
                "rng": capture_rng_state(),
            },
            iteration,
            keep=config.train.keep_checkpoints,
        )

    end = total_iters if stop_after is None else min(total_iters, stop_after)
    last = resume_from
    if start >= end:
        return last if last is not None else checkpoint(start)

    dataset = UnpairedPatches(
        data.hr_paths,
        data.lr_paths,
        hr_patch=settings.patch_size,
        scale=config.scale,
        seed=config.seed,
        augment=config.data.augment,
        small_images=config.data.small_images,
        cache_mb=config.data.cache_mb,
    )
    batches = patch_batches(
        dataset,
        batch_size=settings.batch_size,
        start_batch=start,
        num_workers=config.data.num_workers,
        seed=config.seed,
    )
    window: dict[str, float] = {}
    window_count = 0
    with MetricLog(run.log_path, tensorboard_dir=run.tensorboard_dir, resume_step=start) as log, stop_requested() as should_stop:
        bar = progress(total=total_iters, initial=start, desc="train-dsn", enabled=show_progress)
        for iteration in range(start + 1, end + 1):
            batch = next(batches)
            hr = batch["hr"].to(device, non_blocking=True)
            real_lr = batch["lr"].to(device, non_blocking=True)
            adversarial = iteration > settings.pretrain_iters
            losses = trainer.step(hr, real_lr, adversarial=adversarial)
            for scheduler in schedulers.values():
                scheduler.step()
            for name, value in losses.items():
                window[name] = window.get(name, 0.0) + value
            window_count += 1
            bar.update(1)

            if iteration % config.train.log_every == 0 or iteration == end:
                means = {name: value / window_count for name, value in window.items()}
                means["lr"] = optimizers["generator"].param_groups[0]["lr"]
                log.log(iteration, means, phase="pretrain" if not adversarial else "train")
                bar.set_postfix({name: f"{value:.4g}" for name, value in means.items() if name != "lr"})
                window, window_count = {}, 0
            if iteration % config.train.sample_every == 0 or iteration == end:
                save_sample(run, iteration, hr, trainer, config.scale)
            if data.val_pairs and (iteration % config.train.val_every == 0 or iteration == end):
                metrics = validate_dsn(
                    generator, data.val_pairs, scale=config.scale, tile=config.generate.tile, device=device
                )
                log.log(iteration, metrics, phase="val")
            if iteration % config.train.checkpoint_every == 0 or iteration == end or should_stop():
                last = checkpoint(iteration)
            if should_stop():
                bar.close()
                raise KeyboardInterrupt
        bar.close()
    return last


def check_resumable(state: dict, config: Config, source: Path) -> None:
    """Refuse to resume with settings that would silently change what was being trained."""
    if state.get("format") != CHECKPOINT_FORMAT:
        raise DasrError(f"'{source}' is not a dasr DSN checkpoint")
    changed = [
        key
        for key in diff_configs(config_from_dict(state["config"]), config)
        if not key.startswith(RESUMABLE_CHANGES)
    ]
    if changed:
        raise DasrError(
            f"'{source}' was trained with other settings ({', '.join(changed)}); "
            "use the same preset and --set values to resume, or a new --out to start afresh"
        )


@torch.no_grad()
def save_sample(run: RunDir, iteration: int, hr: torch.Tensor, trainer: DSNTrainer, scale: int) -> None:
    """Bicubic LR next to generated LR for the first patch of the batch, for people to look at."""
    was_training = trainer.generator.training
    trainer.generator.eval()
    try:
        sample = hr[:1]
        row = torch.cat([bicubic_downscale(sample, scale), trainer.generator(sample)], dim=-1)
    finally:
        trainer.generator.train(was_training)
    write_image(run.samples_dir / f"iter_{iteration:07d}.png", tensor_to_pixels(row.clamp(0, 1).cpu()))


@contextmanager
def stop_requested() -> Iterator:
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
