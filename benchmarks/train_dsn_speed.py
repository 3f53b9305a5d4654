"""Stage-1 training speed: iterations/s of the DSN step for a preset, on CPU or CUDA.

Data comes from random tensors already on the device, so the figure is the step itself
(generator, perceptual network, discriminator, optimizers); the perceptual VGG-19 has random
weights because only its cost matters here.

    python benchmarks/train_dsn_speed.py --preset cpu-small --steps 10
    python benchmarks/train_dsn_speed.py --preset paper --device cuda --steps 20
"""

from __future__ import annotations

import argparse

import torch

from dasr.config.loader import load_config
from dasr.engine.device import select_device
from dasr.losses.perceptual import PerceptualLoss, VGGFeatures
from dasr.stage1_dsn.networks import build_dsn_networks
from dasr.stage1_dsn.step import DSNTrainer
from timing import peak_memory_note, seconds_per_call


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="paper")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--set", action="append", default=[], dest="overrides")
    args = parser.parse_args()

    config = load_config(args.preset, (), args.overrides)
    device = select_device(args.device)
    settings = config.dsn
    bundle = build_dsn_networks(config)
    generator, discriminator = bundle.generator.to(device), bundle.discriminator.to(device)
    perceptual = None
    if settings.perceptual == "vgg19":
        perceptual = PerceptualLoss(VGGFeatures(settings.perceptual_layer, weights=None)).to(device)
    trainer = DSNTrainer(
        generator, discriminator, bundle.freq_filter.to(device), perceptual,
        torch.optim.Adam(generator.parameters(), lr=settings.lr),
        torch.optim.Adam(discriminator.parameters(), lr=settings.lr),
        settings, config.scale,
    )
    patch, batch = settings.patch_size, settings.batch_size
    hr = torch.rand(batch, 3, patch, patch, device=device)
    real_lr = torch.rand(batch, 3, patch // config.scale, patch // config.scale, device=device)

    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    seconds = seconds_per_call(lambda: trainer.step(hr, real_lr, adversarial=True), device=device, steps=args.steps)
    peak = peak_memory_note(device)
    print(
        f"train-dsn step, preset {args.preset}, {device.type} ({torch.get_num_threads()} threads), "
        f"batch {batch} x {patch}px, x{config.scale}, perceptual {settings.perceptual}: "
        f"{1 / seconds:.2f} it/s ({seconds * 1000:.0f} ms/step){peak}"
    )


if __name__ == "__main__":
    main()
