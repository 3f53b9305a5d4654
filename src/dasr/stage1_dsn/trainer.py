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

from dasr.archs.modes import eval_mode
from dasr.config.schema import Config
from dasr.data.unpaired import PatchOptions, UnpairedPatches
from dasr.engine.distributed import is_main_process
from dasr.engine.run_dir import RunDir
from dasr.engine.samples import save_side_by_side
from dasr.engine.stage_setup import DeviceBatches, make_trainable, open_stage, run_stage
from dasr.files.checkpoint import DSN_CHECKPOINT
from dasr.ops.resize import bicubic_downscale
from dasr.stage1_dsn.networks import build_dsn_networks
from dasr.stage1_dsn.step import DSNTrainer
from dasr.stage1_dsn.validation import DSNValidationSet, DSNValidator, format_validation

RESUMABLE_CHANGES = ("dsn.iters", "dsn.val_degradation", "dsn.grad_clip", "dsn.max_bad_steps", "device",
                     "data.num_workers", "generate.", "train.", "srn.")
"""Configuration keys that may differ when a run is resumed: they do not change what has been
learned so far (more iterations, the NaN safeguards, another device, other bookkeeping, the
later stage)."""


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
    settings = config.dsn
    setup = open_stage(config, out, "dsn", checkpoint_format=DSN_CHECKPOINT, resumable=RESUMABLE_CHANGES,
                       resume_from=resume_from)
    device, run = setup.device, setup.run
    validation = data.validation()
    # Every process needs the hook (validated iterations are checkpointed by all); only process 0
    # validates, so only it reads the images (first: a wrong dsn.val_degradation fails at once).
    validator = None
    if validation is not None and is_main_process():
        validator = DSNValidator(validation, scale=config.scale, tile=config.generate.tile, device=device,
                                 degradation=settings.val_degradation)
    bundle = build_dsn_networks(config)
    generator = bundle.generator.to(device).train()
    discriminator = bundle.discriminator.to(device).train()
    trainable = make_trainable(setup, {"generator": generator, "discriminator": discriminator},
                               {"params": generator, "discriminator": discriminator})
    trainer = DSNTrainer.for_stage(setup, bundle, trainable)
    batches = DeviceBatches(setup, UnpairedPatches(data.hr_paths, data.lr_paths, PatchOptions.of(config, settings.patch_size)))

    def step(iteration: int) -> dict[str, torch.Tensor]:
        batch = batches()
        return trainer.step(batch["hr"], batch["lr"], adversarial=iteration > settings.pretrain_iters,
                            iteration=iteration)

    def validate(iteration: int) -> dict[str, float]:
        metrics = validator(generator, discriminator, bundle.freq_filter)
        if show_progress:
            tqdm.write(format_validation(iteration, metrics))
        return metrics

    return run_stage(
        setup,
        trainable,
        step,
        sample=lambda iteration: save_sample(run, iteration, batches.last["hr"], generator, config.scale),
        validate=validate if validation is not None else None,
        settle=trainer.bad_steps.settle,
        stop_after=stop_after,
        show_progress=show_progress,
    )


@torch.no_grad()
def save_sample(run: RunDir, iteration: int, hr: torch.Tensor, generator: torch.nn.Module, scale: int) -> None:
    """Bicubic LR next to generated LR for one training patch, for people to look at."""
    with eval_mode(generator):
        generated = generator(hr)
    save_side_by_side(run.samples_dir / f"iter_{iteration:07d}.png", [bicubic_downscale(hr, scale), generated])
