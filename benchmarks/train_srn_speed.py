"""Stage-2 training speed: iterations/s of the SRN step, and where the time goes.

The full step (generator on the pairs and on real LR, perceptual network, discriminator twice,
optimizers, EMA) is timed on batches already on the device; then each part is timed alone
(forward + backward), and data loading (decode, crop, augment of a Stage2Patches batch from
PNG files, in the main process) is timed separately. The perceptual VGG-19 has random weights
because only its cost matters here.

    python benchmarks/train_srn_speed.py --preset cpu-small --steps 5
    python benchmarks/train_srn_speed.py --preset paper --device cuda --steps 10
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from dasr.config.loader import load_config
from dasr.data.stage2 import Stage2Patches
from dasr.data.unpaired import patch_batches
from dasr.engine.device import select_device
from dasr.losses.content import weighted_l1
from dasr.losses.perceptual import PerceptualLoss, VGGFeatures
from dasr.stage2_srn.ema import ModelEMA
from dasr.stage2_srn.networks import build_srn_networks
from dasr.stage2_srn.step import SRNTrainer
from timing import peak_memory_note, seconds_per_call


def random_batch(config, device: torch.device) -> dict[str, torch.Tensor]:
    srn, scale = config.srn, config.scale
    hr, lr = srn.patch_size, srn.patch_size // scale
    shapes = {"pair_lr": (3, lr), "pair_hr": (3, hr), "pair_weight": (1, lr), "real_lr": (3, lr),
              "unpaired_hr": (3, hr)}
    return {name: torch.rand(srn.batch_size, c, s, s, device=device) for name, (c, s) in shapes.items()}


def data_seconds(config, steps: int) -> float:
    """Seconds to build one Stage2Patches batch from 2-megapixel PNG files (one process)."""
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        rng = np.random.default_rng(0)
        hr = [root / f"hr{i}.png" for i in range(4)]
        lr = [root / f"lr{i}.png" for i in range(4)]
        for path in hr:
            Image.fromarray(rng.integers(0, 256, (1200, 1600, 3), dtype=np.uint8)).save(path)
        for path in lr:
            Image.fromarray(rng.integers(0, 256, (300, 400, 3), dtype=np.uint8)).save(path)
        srn = config.srn
        dataset = Stage2Patches(pairs=None, pair_hr_paths=hr, real_lr_paths=lr, unpaired_hr_paths=hr,
                                hr_patch=srn.patch_size, scale=config.scale, seed=0, augment=True,
                                small_images="pad", cache_mb=0)
        batches = patch_batches(dataset, batch_size=srn.batch_size, start_batch=0, num_workers=0, seed=0)
        return seconds_per_call(lambda: next(batches), device=torch.device("cpu"), steps=steps)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="paper")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--set", action="append", default=[], dest="overrides")
    args = parser.parse_args()

    config = load_config(args.preset, (), args.overrides)
    device = select_device(args.device)
    srn = config.srn
    bundle = build_srn_networks(config, load_init=False)
    generator = bundle.generator.to(device)
    discriminator = bundle.discriminator.to(device) if bundle.discriminator is not None else None
    freq_filter = bundle.freq_filter.to(device) if bundle.freq_filter is not None else None
    perceptual = None
    if srn.perceptual == "vgg19":
        perceptual = PerceptualLoss(VGGFeatures(srn.perceptual_layer, weights=None)).to(device)
    trainer = SRNTrainer(
        generator, discriminator, freq_filter, perceptual,
        torch.optim.Adam(generator.parameters(), lr=srn.lr),
        torch.optim.Adam(discriminator.parameters(), lr=srn.lr) if discriminator is not None else None,
        ModelEMA(generator, srn.ema_decay), srn, config.scale,
    )
    batch = random_batch(config, device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    full = seconds_per_call(lambda: trainer.step(batch, adversarial=True), device=device, steps=args.steps)
    note = peak_memory_note(device)

    def generator_part() -> None:
        generators_runs = 2 if srn.adversarial == "target" else 1  # pairs, and real LR for "target"
        for name in ("pair_lr", "real_lr")[:generators_runs]:
            weighted_l1(generator(batch[name]), torch.zeros_like(batch["pair_hr"])).backward()

    def perceptual_part() -> None:
        sr = batch["pair_hr"].clone().requires_grad_(True)
        perceptual(sr, batch["unpaired_hr"], None).backward()

    def discriminator_part() -> None:
        images = batch["unpaired_hr"].clone().requires_grad_(True)
        for _ in range(3):  # generator's adversarial term, then real and fake for D's own step
            discriminator(freq_filter(images)).mean().backward()

    parts = {"generator (fwd+bwd)": generator_part}
    if perceptual is not None:
        parts["perceptual network (fwd+bwd)"] = perceptual_part
    if discriminator is not None:
        parts["discriminator (3 x fwd+bwd)"] = discriminator_part
    print(
        f"train-srn step, preset {args.preset}, {device.type} ({torch.get_num_threads()} threads), "
        f"batch {srn.batch_size} x {srn.patch_size}px HR, x{config.scale}, RRDB nf {srn.num_features} "
        f"nb {srn.num_blocks}, perceptual {srn.perceptual}, adversarial {srn.adversarial}: "
        f"{1 / full:.2f} it/s ({full * 1000:.0f} ms/step){note}"
    )
    print(f"  {'part':34s} {'ms':>8s} {'% of step':>10s}")
    for name, fn in parts.items():
        seconds = seconds_per_call(fn, device=device, steps=args.steps)
        print(f"  {name:34s} {seconds * 1000:8.1f} {100 * seconds / full:9.0f}%")
    loading = data_seconds(config, max(2, args.steps // 2))
    print(f"  {'data loading, 1 process (CPU)':34s} {loading * 1000:8.1f} {100 * loading / full:9.0f}%"
          "  (hidden by data.num_workers worker processes when they keep up)")


if __name__ == "__main__":
    main()
