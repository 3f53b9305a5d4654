"""Stage-1 training speed: the DSN step per variant, its FLOP utilisation, and data loading.

The step (generator, perceptual network, discriminator, both optimizers) is built as
``dasr train-dsn`` builds it and timed on batches already on the device, for each variant
(eager, channels_last, torch.compile); then the fastest variant trains on image files read by
the trainer's own dataset and loader, to show how much of an iteration waits for data. Without
the ImageNet file the perceptual VGG-19 has random weights (its cost does not depend on them).

    python benchmarks/train_dsn_speed.py --preset cpu-small --steps 5
    python benchmarks/train_dsn_speed.py --preset paper --device cuda --steps 20 --amp bf16 \\
        --hr /path/to/hr --lr /path/to/real-lr --json dsn.json
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import torch
from image_sets import ImageSets
from train_bench import Batch, Built, benchmark_perceptual, perceptual_note, run

from dasr.config.schema import Config
from dasr.data.unpaired import PatchOptions, UnpairedPatches, patch_batches
from dasr.engine.acceleration import prepare_network
from dasr.engine.lr_schedule import build_optimization
from dasr.engine.precision import resolve_precision
from dasr.stage1_dsn.networks import build_dsn_networks
from dasr.stage1_dsn.step import DSNTrainer


class DSNStage:
    name = "train-dsn step"

    def configure(self, config: Config) -> Config:
        return config

    def describe(self, config: Config) -> str:
        dsn = config.dsn
        return (
            f"batch {dsn.batch_size} x {dsn.patch_size}px HR, x{config.scale}, DSN {dsn.arch} nf {dsn.num_features} "
            f"nb {dsn.num_blocks}, filter {dsn.filter}, perceptual {perceptual_note(dsn.perceptual, dsn.vgg_weights)}"
        )

    def batch_size(self, config: Config) -> int:
        return config.dsn.batch_size

    def patch_size(self, config: Config) -> int:
        return config.dsn.patch_size

    def iterations(self, config: Config) -> int:
        return config.dsn.pretrain_iters + config.dsn.iters

    def build(self, config: Config, device: torch.device) -> Built:
        """``dasr.stage1_dsn.trainer.train_dsn``'s trainer, on ``device``."""
        dsn = config.dsn
        precision = resolve_precision(config.train.amp, device)
        bundle = build_dsn_networks(config)
        generator = bundle.generator.to(device).train()
        discriminator = bundle.discriminator.to(device).train()
        perceptual = benchmark_perceptual(dsn.perceptual, dsn.perceptual_layer, dsn.vgg_weights, "dsn")
        optimizers, _ = build_optimization(
            {"generator": generator, "discriminator": discriminator}, dsn, total_iters=dsn.pretrain_iters + dsn.iters
        )
        trainer = DSNTrainer(
            prepare_network(generator, config.train),
            prepare_network(discriminator, config.train),
            bundle.freq_filter.to(device),
            None if perceptual is None else perceptual.to(device),
            optimizers["generator"],
            optimizers["discriminator"],
            dsn,
            config.scale,
            precision=precision,
            scaler_g=precision.grad_scaler(),
            scaler_d=precision.grad_scaler(),
        )
        return Built(lambda batch: trainer.step(batch["hr"], batch["lr"], adversarial=True))

    def synthetic_batch(self, config: Config, device: torch.device) -> Batch:
        dsn = config.dsn
        hr, lr = dsn.patch_size, dsn.patch_size // config.scale
        return {
            "hr": torch.rand(dsn.batch_size, 3, hr, hr, device=device),
            "lr": torch.rand(dsn.batch_size, 3, lr, lr, device=device),
        }

    def real_batches(self, config: Config, images: ImageSets, workdir: Path) -> Iterator[Batch]:
        """The dataset and loader of ``dasr.stage1_dsn.trainer.train_dsn``, from batch 0."""
        dsn = config.dsn
        dataset = UnpairedPatches(images.hr, images.lr, PatchOptions.of(config, dsn.patch_size))
        return patch_batches(
            dataset, batch_size=dsn.batch_size, start_batch=0, num_workers=config.data.num_workers, seed=config.seed
        )


if __name__ == "__main__":
    run(DSNStage(), __doc__)
