"""Stage 2: training the SR network on generated (or bicubic, or real) pairs.

Like stage 1, everything that decides the next iteration is in the checkpoint (generator, its
EMA, discriminator, optimizers, schedulers, RNG states, iteration) and data sampling is a pure
function of (seed, sample index), so stopping and resuming gives the weights of an
uninterrupted run, also when ``torchrun`` splits every batch among processes as in stage 1.
``checkpoints/best.pth`` is the validated checkpoint with the best PSNR.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import torch

from dasr.config.schema import Config, SRNConfig
from dasr.data.paired import generated_pairs, mean_map_value, real_pairs
from dasr.data.stage2 import Stage2Patches
from dasr.data.unpaired import PatchOptions
from dasr.engine.distributed import is_main_process
from dasr.engine.metric_log import read_metric_log
from dasr.engine.run_dir import RunDir
from dasr.engine.samples import save_side_by_side
from dasr.engine.stage_setup import (
    DeviceBatches,
    StageSetup,
    make_trainable,
    open_stage,
    run_stage,
)
from dasr.errors import DasrError
from dasr.files.checkpoint import SRN_CHECKPOINT
from dasr.ops.resize import bicubic_upscale
from dasr.stage2_srn.ema import ModelEMA
from dasr.stage2_srn.networks import build_srn_networks
from dasr.stage2_srn.step import SRNTrainer, judges_real_lr
from dasr.stage2_srn.validation import SRNValidator, offline_lpips

RESUMABLE_CHANGES = (
    "srn.iters",
    "srn.grad_clip",
    "srn.max_bad_steps",
    "device",
    "data.num_workers",
    "train.",
    "generate.",
    "dsn.",
)
"""Configuration keys that may differ when a run is resumed: they do not change what has been
learned so far (more iterations, the NaN safeguards, another device, bookkeeping, stage 1)."""


@dataclass
class SRNData:
    """The images of one stage-2 run.

    Unsupervised (the paper): ``hr_paths`` (the pairs' HR, and the unpaired HR the target
    discriminator sees as real), ``pairs_dir`` (``dasr generate`` output, for
    ``srn.pairs=generated``), ``real_lr_paths`` (for ``srn.adversarial=target``). Supervised:
    ``paired_lr_paths`` and ``paired_hr_paths``, real aligned pairs matched by file name.
    ``val_pairs``: ``(HR, real LR)`` files of the same scenes.
    """

    hr_paths: list[Path] | None = None
    pairs_dir: Path | None = None
    real_lr_paths: list[Path] | None = None
    paired_lr_paths: list[Path] | None = None
    paired_hr_paths: list[Path] | None = None
    val_pairs: list[tuple[Path, Path]] | None = None

    @property
    def supervised(self) -> bool:
        return self.paired_lr_paths is not None or self.paired_hr_paths is not None


def resolve_settings(config: Config, *, supervised: bool) -> Config:
    """The settings a run really trains with (saved as its ``config.yaml``).

    Supervised training on real pairs (the paper's "supervised ESRGAN") uses the pairs as they
    are, weighs every pixel 1 and puts the adversarial loss on the pairs (``source``) unless it
    is ``none``: there is no real LR without HR to aim at. Bicubic pairs have no
    domain-distance maps, so they are unweighted (Table 2 has no weighted bicubic row). Without
    maps ``srn.map_normalization`` has nothing to act on and is saved as ``none``, so that
    changing it does not stop an unweighted run (e.g. the demo's baseline) from resuming.
    """
    srn = config.srn
    if supervised:
        if srn.pairs == "bicubic":
            raise DasrError("srn.pairs=bicubic cannot be combined with --paired-lr/--paired-hr, whose real LR is used")
        srn = replace(srn, weighting="none", adversarial="none" if srn.adversarial == "none" else "source")
    elif srn.pairs == "bicubic":
        srn = replace(srn, weighting="none")
    if srn.weighting == "none":
        srn = replace(srn, map_normalization="none")
    return replace(config, srn=srn)


def check_unsupervised_inputs(srn: SRNConfig, *, has_hr: bool, has_pairs: bool, has_real_lr: bool) -> None:
    """That the image sets the settings need are given (by their command-line options), checked
    before any folder is read."""
    if not has_hr:
        raise DasrError("--hr is required (or --paired-lr and --paired-hr for supervised training)")
    if srn.pairs == "generated" and not has_pairs:
        raise DasrError(
            "--pairs is required with srn.pairs=generated (the folder 'dasr generate' wrote); "
            "or train on bicubic pairs with --set srn.pairs=bicubic"
        )
    if judges_real_lr(srn.adversarial) and not has_real_lr:
        raise DasrError(
            "--lr is required with srn.adversarial=target (real LR images for the discriminator); "
            "or use --set srn.adversarial=source or none"
        )


def build_dataset(config: Config, data: SRNData) -> Stage2Patches:
    """The patch sampler of the run's mode, after checking it has every image set it needs."""
    srn = config.srn
    target = judges_real_lr(srn.adversarial)
    if data.supervised:
        if data.paired_lr_paths is None or data.paired_hr_paths is None:
            raise DasrError("--paired-lr and --paired-hr must be given together")
        pairs = real_pairs(data.paired_lr_paths, data.paired_hr_paths)
    else:
        check_unsupervised_inputs(
            srn,
            has_hr=data.hr_paths is not None,
            has_pairs=data.pairs_dir is not None,
            has_real_lr=data.real_lr_paths is not None,
        )
        pairs = generated_pairs(data.pairs_dir, data.hr_paths, scale=config.scale) if srn.pairs == "generated" else None
    normalize = pairs is not None and srn.weighting == "map" and srn.map_normalization == "dataset"
    return Stage2Patches(
        pairs=pairs,
        pair_hr_paths=data.hr_paths if pairs is None else None,
        real_lr_paths=data.real_lr_paths if target else None,
        unpaired_hr_paths=data.hr_paths if target else None,
        options=PatchOptions.of(config, srn.patch_size),
        pair_weight_scale=1.0 / mean_map_value(pairs) if normalize else 1.0,
    )


def train_srn(
    config: Config,
    data: SRNData,
    out: Path,
    *,
    resume_from: Path | None = None,
    stop_after: int | None = None,
    show_progress: bool = True,
) -> Path:
    """Train (or continue training) the SR network in run folder ``out``; returns the last
    checkpoint. ``stop_after`` ends the run after that many iterations in total, as if it were
    killed right after a checkpoint (tests use it to check that resuming is exact)."""
    config = resolve_settings(config, supervised=data.supervised)
    srn = config.srn
    setup = open_stage(config, out, "srn", checkpoint_format=SRN_CHECKPOINT, resumable=RESUMABLE_CHANGES,
                       resume_from=resume_from)
    device, run = setup.device, setup.run
    dataset = build_dataset(config, data)
    # A resumed run takes every weight from its checkpoint: srn.init is not read again.
    bundle = build_srn_networks(config, load_init=setup.resume_state is None)
    generator = bundle.generator.to(device).train()
    discriminator = None if bundle.discriminator is None else bundle.discriminator.to(device).train()
    ema = ModelEMA(generator, srn.ema_decay)  # a copy of the plain network, before any wrapping
    trainable = make_trainable(
        setup,
        {"generator": generator, "discriminator": discriminator},
        {"params": generator, "params_ema": ema.model, "discriminator": discriminator},
    )
    trainer = SRNTrainer.for_stage(setup, bundle, trainable, ema=ema)
    batches = DeviceBatches(setup, dataset)

    def step(iteration: int) -> dict[str, torch.Tensor]:
        return trainer.step(batches(), adversarial=iteration > srn.pretrain_iters, iteration=iteration)

    def sample(iteration: int) -> None:
        save_training_sample(run.samples_dir / f"iter_{iteration:07d}.png", trainer, ema.model, batches.last)

    validate, checkpointed = validation_hooks(data, setup, ema)

    return run_stage(
        setup,
        trainable,
        step,
        sample=sample,
        validate=validate,
        checkpointed=checkpointed,
        settle=trainer.bad_steps.settle,
        stop_after=stop_after,
        show_progress=show_progress,
    )


def validation_hooks(
    data: SRNData, setup: StageSetup, ema: ModelEMA
) -> tuple[Callable[[int], dict[str, float]] | None, BestCheckpoint | None]:
    """The validation hook (the EMA generator on ``data.val_pairs``) and the keeper of
    ``best.pth``, or ``(None, None)`` without validation pairs. Every process needs the hooks
    (validated iterations are checkpointed by all), but only process 0 validates, so only it
    loads LPIPS."""
    if not data.val_pairs:
        return None, None
    validator = None if not is_main_process() else SRNValidator(
        data.val_pairs,
        scale=setup.config.scale,
        device=setup.device,
        samples_dir=setup.run.samples_dir,
        lpips=offline_lpips(setup.device),
    )

    def validate(iteration: int) -> dict[str, float]:
        return validator(ema.model, iteration)

    return validate, BestCheckpoint(setup.run, best_psnr_so_far(setup.run, setup.start))


@torch.no_grad()
def save_training_sample(
    path: Path, trainer: SRNTrainer, model: torch.nn.Module, batch: dict[str, torch.Tensor]
) -> None:
    """One training pair as LR (bicubic-upscaled) | SR | HR, then the real-LR patch upscaled |
    its SR when the batch has one, by the eval-mode ``model`` (the EMA generator)."""
    scale = trainer.scale
    pair_lr = trainer.pair_lr(batch)
    images = [bicubic_upscale(pair_lr, scale), model(pair_lr), batch["pair_hr"]]
    if "real_lr" in batch:
        images += [bicubic_upscale(batch["real_lr"], scale), model(batch["real_lr"])]
    save_side_by_side(path, images)


class BestCheckpoint:
    """``checkpointed`` hook keeping ``checkpoints/best.pth`` = the validated checkpoint with the
    highest PSNR (the loop checkpoints every validated iteration)."""

    def __init__(self, run: RunDir, best_psnr: float | None) -> None:
        self.run = run
        self.best_psnr = best_psnr

    def __call__(self, iteration: int, checkpoint: Path, metrics: dict[str, float] | None) -> None:
        if metrics is None:
            return
        if self.best_psnr is None or metrics["psnr"] > self.best_psnr:
            self.run.keep_as_best(checkpoint)
            self.best_psnr = metrics["psnr"]


def best_psnr_so_far(run: RunDir, iteration: int) -> float | None:
    """The PSNR ``best.pth`` was kept for, when resuming at ``iteration``: the best validation
    logged up to there (later rows belong to the interrupted run and are logged again)."""
    if iteration == 0 or not run.best_checkpoint.is_file():
        return None
    logged = [
        row["psnr"] for row in read_metric_log(run.log_path) if row["phase"] == "val" and row["step"] <= iteration
    ]
    return max(logged, default=None)
