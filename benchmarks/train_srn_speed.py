"""Stage-2 training speed: the SRN step per variant, its FLOP utilisation, where the time goes,
and data loading.

The step (generator on the pairs and on real LR, perceptual network, discriminator twice,
optimizers, EMA) is built as ``dasr train-srn`` builds it and timed on batches already on the
device, for each variant (eager, channels_last, torch.compile); each part is also timed alone
(eager). Then the fastest variant trains on image files read by the trainer's own dataset and
loader (generated pairs with their maps, real LR, unpaired HR), to show how much of an iteration
waits for data. Without the ImageNet file the perceptual VGG-19 has random weights (its cost
does not depend on them).

    python benchmarks/train_srn_speed.py --preset cpu-small --steps 5
    python benchmarks/train_srn_speed.py --preset paper --device cuda --steps 10 --amp bf16 \\
        --hr /path/to/hr --lr /path/to/real-lr --json srn.json
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import torch
from image_sets import ImageSets, write_generated_pairs
from train_bench import Batch, Built, Step, benchmark_perceptual, perceptual_note, run

from dasr.config.schema import Config
from dasr.data.unpaired import patch_batches
from dasr.engine.acceleration import prepare_network
from dasr.engine.lr_schedule import build_optimization
from dasr.engine.precision import resolve_precision
from dasr.losses.content import weighted_l1
from dasr.stage2_srn.ema import ModelEMA
from dasr.stage2_srn.networks import build_srn_networks
from dasr.stage2_srn.step import SRNTrainer
from dasr.stage2_srn.trainer import SRNData, build_dataset, resolve_settings


class SRNStage:
    name = "train-srn step"

    def configure(self, config: Config) -> Config:
        return resolve_settings(config, supervised=False)

    def describe(self, config: Config) -> str:
        srn = config.srn
        return (
            f"batch {srn.batch_size} x {srn.patch_size}px HR, x{config.scale}, RRDB nf {srn.num_features} "
            f"nb {srn.num_blocks} gc {srn.growth_channels}, pairs {srn.pairs}, adversarial {srn.adversarial}, "
            f"perceptual {perceptual_note(srn.perceptual, srn.vgg_weights)}"
        )

    def batch_size(self, config: Config) -> int:
        return config.srn.batch_size

    def patch_size(self, config: Config) -> int:
        return config.srn.patch_size

    def iterations(self, config: Config) -> int:
        return config.srn.pretrain_iters + config.srn.iters

    def build(self, config: Config, device: torch.device) -> Built:
        """``dasr.stage2_srn.trainer.train_srn``'s trainer, on ``device``."""
        srn = config.srn
        precision = resolve_precision(config.train.amp, device)
        bundle = build_srn_networks(config, load_init=False)
        generator = bundle.generator.to(device).train()
        discriminator = None if bundle.discriminator is None else bundle.discriminator.to(device).train()
        perceptual = benchmark_perceptual(srn.perceptual, srn.perceptual_layer, srn.vgg_weights, "srn")
        optimizers, _ = build_optimization(
            {"generator": generator, "discriminator": discriminator}, srn, total_iters=srn.pretrain_iters + srn.iters
        )
        ema = ModelEMA(generator, srn.ema_decay)  # a copy of the plain network, as the trainer makes it
        trainer = SRNTrainer(
            prepare_network(generator, config.train),
            None if discriminator is None else prepare_network(discriminator, config.train),
            None if bundle.freq_filter is None else bundle.freq_filter.to(device),
            None if perceptual is None else perceptual.to(device),
            optimizers["generator"],
            optimizers.get("discriminator"),
            srn,
            config.scale,
            ema=ema,
            precision=precision,
            scaler_g=precision.grad_scaler(),
            scaler_d=precision.grad_scaler(),
        )
        return Built(lambda batch: trainer.step(batch, adversarial=True), self._parts(trainer))

    def synthetic_batch(self, config: Config, device: torch.device) -> Batch:
        srn, scale = config.srn, config.scale
        hr, lr = srn.patch_size, srn.patch_size // scale
        shapes = {"pair_lr": (3, lr), "pair_hr": (3, hr), "pair_weight": (1, lr), "real_lr": (3, lr), "unpaired_hr": (3, hr)}
        return {name: torch.rand(srn.batch_size, c, s, s, device=device) for name, (c, s) in shapes.items()}

    def real_batches(self, config: Config, images: ImageSets, workdir: Path) -> Iterator[Batch]:
        """The dataset and loader of ``dasr.stage2_srn.trainer.train_srn``, from batch 0."""
        srn = config.srn
        pairs_dir = write_generated_pairs(images.hr, config.scale, workdir / "pairs") if srn.pairs == "generated" else None
        dataset = build_dataset(config, SRNData(hr_paths=images.hr, pairs_dir=pairs_dir, real_lr_paths=images.lr))
        return patch_batches(
            dataset, batch_size=srn.batch_size, start_batch=0, num_workers=config.data.num_workers, seed=config.seed
        )

    @staticmethod
    def _parts(trainer: SRNTrainer) -> dict[str, Step]:
        """Forward + backward of each network alone, on the shapes the step gives it."""
        generator, perceptual = trainer.generator, trainer.perceptual
        discriminator, freq_filter = trainer.discriminator, trainer.freq_filter
        forward = trainer.precision.forward
        runs = 2 if trainer.settings.adversarial == "target" else 1  # pairs, and real LR for "target"

        def generator_part(batch: Batch) -> None:
            for name in ("pair_lr", "real_lr")[:runs]:
                weighted_l1(forward(generator, batch[name]), torch.zeros_like(batch["pair_hr"])).backward()

        def perceptual_part(batch: Batch) -> None:
            sr = batch["pair_hr"].clone().requires_grad_(True)
            forward(perceptual, sr, batch["unpaired_hr"], batch["pair_weight"]).backward()

        def discriminator_part(batch: Batch) -> None:
            images = batch["unpaired_hr"].clone().requires_grad_(True)
            for _ in range(3):  # generator's adversarial term, then real and fake for D's own step
                forward(discriminator, freq_filter(images)).mean().backward()

        parts: dict[str, Step] = {"generator (fwd+bwd)": generator_part}
        if perceptual is not None:
            parts["perceptual network (fwd+bwd)"] = perceptual_part
        if discriminator is not None:
            parts["discriminator (3 x fwd+bwd)"] = discriminator_part
        return parts


if __name__ == "__main__":
    run(SRNStage(), __doc__)
