"""Stage 1: training the down-sampling network (DSN) on unpaired HR and real-LR folders.

Everything that decides the next iteration is in the checkpoint (weights, optimizers,
schedulers, RNG states, iteration) and data sampling is a pure function of (seed, sample
index), so stopping after N iterations and resuming gives the same weights as not stopping.
Under ``torchrun`` each process trains on its share of every batch (``dasr.engine.distributed``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from tqdm import tqdm

from dasr.config.schema import Config
from dasr.data.unpaired import UnpairedPatches, patch_batches
from dasr.engine.acceleration import memory_format, prepare_network
from dasr.engine.device import set_determinism
from dasr.engine.distributed import (
    is_main_process,
    per_process_batch,
    rank,
    training_device,
    world_size,
)
from dasr.engine.lr_schedule import build_optimization
from dasr.engine.precision import resolve_precision
from dasr.engine.run_dir import RunDir
from dasr.engine.samples import save_side_by_side
from dasr.engine.training_loop import (
    LoopHooks,
    Trainable,
    open_resume_state,
    run_training,
)
from dasr.files.checkpoint import DSN_CHECKPOINT
from dasr.losses.perceptual import build_perceptual_loss
from dasr.ops.resize import bicubic_downscale
from dasr.stage1_dsn.networks import build_dsn_networks
from dasr.stage1_dsn.step import DSNTrainer
from dasr.stage1_dsn.validation import DSNValidationSet, DSNValidator, format_validation

RESUMABLE_CHANGES = ("dsn.iters", "dsn.val_degradation", "device", "data.num_workers", "generate.", "train.", "srn.")
"""Configuration keys that may differ when a run is resumed: they do not change what has been
learned so far (more iterations, another device, other bookkeeping, the later stage)."""


@dataclass
class DSNData:
    hr_paths: list[Path]
    lr_paths: list[Path]
    val_pairs: list[tuple[Path, Path]] | None = None
    """Validation HR and real LR of the same scenes: PSNR/SSIM besides the distribution figures."""
    val_unpaired: tuple[list[Path], list[Path]] | None = None
    """Instead of ``val_pairs``: validation HR and real LR of other scenes (no PSNR/SSIM)."""

    def validation(self) -> DSNValidationSet | None:
        if self.val_pairs:
            return DSNValidationSet.from_pairs(self.val_pairs)
        if self.val_unpaired:
            return DSNValidationSet(*self.val_unpaired, paired=False)
        return None


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
    run = RunDir(out, create=is_main_process())
    resume_state = open_resume_state(
        run, config, checkpoint_format=DSN_CHECKPOINT, resume_from=resume_from, resumable=RESUMABLE_CHANGES
    )
    settings = config.dsn
    per_process_batch(settings.batch_size, "dsn.batch_size")
    set_determinism(config.deterministic)
    device = training_device(config.device)
    precision = resolve_precision(config.train.amp, device)
    validation = data.validation()
    # Every process needs the hook (validated iterations are checkpointed by all); only process 0
    # validates, so only it reads the images (first: a wrong dsn.val_degradation fails at once).
    validator = None
    if validation is not None and is_main_process():
        validator = DSNValidator(validation, scale=config.scale, tile=config.generate.tile, device=device,
                                 degradation=settings.val_degradation)
    torch.manual_seed(config.seed)
    bundle = build_dsn_networks(config)
    generator = bundle.generator.to(device).train()
    discriminator = bundle.discriminator.to(device).train()
    perceptual = build_perceptual_loss(settings.perceptual, settings.perceptual_layer, settings.vgg_weights)
    total_iters = settings.pretrain_iters + settings.iters
    optimizers, schedulers = build_optimization(
        {"generator": generator, "discriminator": discriminator}, settings, total_iters=total_iters
    )
    scalers = {name: precision.grad_scaler() for name in optimizers}
    trainable = Trainable(
        modules={"params": generator, "discriminator": discriminator},
        optimizers=optimizers,
        schedulers=schedulers,
        scalers=scalers,
    )
    trainer = DSNTrainer(
        prepare_network(generator, config.train),
        prepare_network(discriminator, config.train),
        bundle.freq_filter.to(device),
        perceptual.to(device) if perceptual is not None else None,
        optimizers["generator"],
        optimizers["discriminator"],
        settings,
        config.scale,
        precision,
        scalers["generator"],
        scalers["discriminator"],
    )
    start = int(resume_state["iteration"]) if resume_state else 0
    batches = patch_batches(
        UnpairedPatches(
            data.hr_paths,
            data.lr_paths,
            hr_patch=settings.patch_size,
            scale=config.scale,
            seed=config.seed,
            augment=config.data.augment,
            small_images=config.data.small_images,
            cache_mb=config.data.cache_mb,
        ),
        batch_size=settings.batch_size,
        start_batch=start,
        num_workers=config.data.num_workers,
        seed=config.seed,
        rank=rank(),
        world_size=world_size(),
    )
    layout = memory_format(config.train, device)
    last_hr: list[torch.Tensor] = []

    def step(iteration: int) -> dict[str, torch.Tensor]:
        batch = next(batches)
        hr = batch["hr"].to(device, non_blocking=True, memory_format=layout)
        last_hr[:] = [hr[:1]]
        real_lr = batch["lr"].to(device, non_blocking=True, memory_format=layout)
        return trainer.step(hr, real_lr, adversarial=iteration > settings.pretrain_iters)

    def validate(iteration: int) -> dict[str, float]:
        metrics = validator(generator, discriminator, bundle.freq_filter)
        if show_progress:
            tqdm.write(format_validation(iteration, metrics))
        return metrics

    return run_training(
        run=run,
        config=config,
        checkpoint_format=DSN_CHECKPOINT,
        trainable=trainable,
        resume_state=resume_state,
        total_iters=total_iters,
        step=step,
        hooks=LoopHooks(
            phase=lambda iteration: "pretrain" if iteration <= settings.pretrain_iters else "train",
            sample=lambda iteration: save_sample(run, iteration, last_hr[0], generator, config.scale),
            validate=validate if validation is not None else None,
        ),
        desc="train-dsn",
        stop_after=stop_after,
        show_progress=show_progress,
    )


@torch.no_grad()
def save_sample(run: RunDir, iteration: int, hr: torch.Tensor, generator: torch.nn.Module, scale: int) -> None:
    """Bicubic LR next to generated LR for one training patch, for people to look at."""
    was_training = generator.training
    generator.eval()
    try:
        generated = generator(hr)
    finally:
        generator.train(was_training)
    save_side_by_side(run.samples_dir / f"iter_{iteration:07d}.png", [bicubic_downscale(hr, scale), generated])
