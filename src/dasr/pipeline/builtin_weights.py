"""Making the built-in weights (``builtin:rrdb-small-x4``, ``-x2``): PSNR-oriented RRDBs at the
size of the CPU presets, trained on bicubic pairs of freely licensed photos.

ESRGAN and Real-ESRGAN start their GAN stage from a PSNR-trained RRDB (RRDB_PSNR, RealESRNet).
At the CPU budget a stage 2 from random weights never reached plain bicubic upsampling
(issue 12), so every comparison of the demo and of ``dasr ablate`` was made below it.

The recipe is stage 2 itself: ``train_srn`` on bicubic pairs, L1 only (``srn.pairs=bicubic``,
``srn.adversarial=none``, ``srn.perceptual=none``), on the ``cpu-small`` network, started
(``srn.init``) from :func:`interpolating_start`. This module only fixes the photos, the
held-out split, the start and the settings; it scores the trained EMA network
and bicubic upsampling on the held-out photos with ``dasr eval``'s protocol and writes a dasr
model file whose metadata records all of it. ``scripts/train_builtin_weights.py`` is its command.
"""

from __future__ import annotations

import datetime
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import save_file

from dasr import __version__
from dasr.archs.rrdbnet import RRDBNet
from dasr.config.loader import load_config
from dasr.data.image_io import tensor_to_pixels, write_image
from dasr.engine.run_dir import RunDir
from dasr.errors import DasrError
from dasr.evaluation import evaluate_pairs, match_pairs, super_resolve_folder
from dasr.evaluation.runner import bicubic_upsample_folder
from dasr.inference.api import load_model
from dasr.inference.loading import load_sr_network
from dasr.inference.model_file import save_model
from dasr.metrics.protocol import quantize_8bit, read_rgb_tensor
from dasr.ops.resize import bicubic_downscale
from dasr.stage2_srn.trainer import SRNData, train_srn

PRESET = "cpu-small"
"""The network size the weights are for: the preset that starts from them."""

PHOTO_SOURCES = {
    "Aqua": "mate-backgrounds, GPL-2+",
    "Blinds": "mate-backgrounds, GPL-2+",
    "FreshFlower": "mate-backgrounds, GPL-2+",
    "Garden": "mate-backgrounds, GPL-2+",
    "GreenMeadow": "mate-backgrounds, GPL-2+",
    "TwoWings": "mate-backgrounds, GPL-2+",
    "YellowFlower": "mate-backgrounds, GPL-2+",
    "DarkestHour": "plasma-workspace-wallpapers, GPL-2+",
    "Kite": "plasma-workspace-wallpapers, GPL-2+",
    "summer_1am": "plasma-workspace-wallpapers, GPL-2+",
    "Infinite-Sea_by_Aury88": "lomiri-wallpapers, CC-BY-SA-3.0",
}
"""The large wallpapers of the development photos (``../shared/data/photos``, see its README):
Debian package and licence of each (the packages' copyright files are in its LICENSES/). They
are clean, sharp photos downscaled by 2 from the packages' files."""
HELD_OUT = ("Garden", "Kite")
"""Never trained on: the validation figure is measured on them. One flower close-up and one sky,
the two kinds of content of the set; neither is a photo the demo or the tests use."""
TRAIN_PHOTOS = tuple(name for name in PHOTO_SOURCES if name not in HELD_OUT)


@dataclass(frozen=True)
class Recipe:
    """The stage-2 settings the weights are trained with (everything else is ``cpu-small``'s)."""

    iters: int
    patch_size: int
    """HR patch side; the LR patch is ``patch_size / scale``."""
    batch_size: int
    lr: float
    decay_fraction: float = 0.5
    """The rate is constant, then falls linearly to zero over this fraction of the iterations."""
    ema_decay: float = 0.999
    seed: int = 0

    def overrides(self, scale: int, start: Path) -> list[str]:
        """The ``--set`` pairs that turn ``cpu-small`` into this recipe (what ``dasr train-srn``
        would be given to train the same weights from the ``start`` file)."""
        return [
            f"scale={scale}",
            f"seed={self.seed}",
            "device=cpu",
            "data.num_workers=0",
            f"srn.init={start}",
            "srn.pairs=bicubic",
            "srn.adversarial=none",
            "srn.perceptual=none",
            "srn.content_weight=1.0",
            "srn.pretrain_iters=0",
            f"srn.iters={self.iters}",
            f"srn.patch_size={self.patch_size}",
            f"srn.batch_size={self.batch_size}",
            f"srn.lr={self.lr}",
            "srn.lr_schedule=linear",
            f"srn.lr_decay_iters={max(round(self.iters * self.decay_fraction), 1)}",
            f"srn.ema_decay={self.ema_decay}",
            "train.log_every=100",
            f"train.checkpoint_every={max(self.iters // 10, 1)}",
            f"train.sample_every={self.iters}",
            f"train.val_every={max(self.iters // 5, 1)}",
        ]


RECIPES = {
    4: Recipe(iters=7500, patch_size=64, batch_size=4, lr=5e-4),
    2: Recipe(iters=7500, patch_size=32, batch_size=4, lr=5e-4),
}
"""Measured on one CPU thread of the development machine: 19.2 min (x4) and 13.8 min (x2) of CPU
time, the budget being 25 minutes each; the held-out figures are in README, "Built-in weights"."""


CARRIER_OFFSET = 1.0


def interpolating_start(scale: int, seed: int, path: Path) -> Path:
    """Write the recipe's start to ``path``: the ``cpu-small`` RRDBNet, randomly initialised
    (seeded), with channels 0-2 set to carry the RGB image from ``conv_first`` to ``conv_last``
    through a [1, 2, 1]/4 blur after each nearest x2 upsampling, which is bilinear interpolation
    (exactly at x2; bilinear x2 twice at x4). The trunk's output convolution starts at zero on
    those channels; every other weight keeps its random value and is free to learn.

    Why: RRDBNet has no skip from its input to its output, so from random weights it spends the
    CPU budget learning to reproduce the image. 7500 iterations of this recipe from scratch ended
    1.5 dB below bicubic upsampling on the held-out photos (36.96 against 38.47 dB, with errors
    in flat regions), although 0.2-0.5 dB above it on textured photos. Starting from
    interpolation (36.5 dB at iteration 0), the same 7500 iterations end 0.77 dB above it
    (39.24 dB).
    """
    srn = load_config(PRESET).srn
    torch.manual_seed(seed)
    network = RRDBNet(scale, num_features=srn.num_features, num_blocks=srn.num_blocks,
                      growth_channels=srn.growth_channels)
    identity = torch.zeros(3, 3)
    identity[1, 1] = 1.0
    blur = torch.outer(torch.tensor([1.0, 2.0, 1.0]), torch.tensor([1.0, 2.0, 1.0])) / 16
    carriers = [(network.conv_first, identity), *((conv, blur) for conv in network.upsampling_convs()),
                (network.conv_hr, identity), (network.conv_last, identity)]
    with torch.no_grad():
        network.conv_body.weight[:3] = 0
        network.conv_body.bias[:3] = 0
        for conv, kernel in carriers:
            conv.weight[:3] = 0
            conv.bias[:3] = 0
            for channel in range(3):
                conv.weight[channel, channel] = kernel
        # Carried as 1 + RGB, so that the LeakyReLUs between the layers stay linear on them
        # even where a colour is near 0 and training perturbs it.
        network.conv_first.bias[:3] = CARRIER_OFFSET
        network.conv_last.bias[:] = -CARRIER_OFFSET
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file({name: tensor.contiguous() for name, tensor in network.state_dict().items()}, str(path))
    return path


@dataclass(frozen=True)
class Photos:
    train: list[Path]
    val_hr: list[Path]
    """The held-out photos cropped to a multiple of the scale (so HR = scale x LR exactly)."""
    val_lr: list[Path]
    """Their bicubic downscale, 8-bit PNG: what the network is scored on."""


def prepare_photos(photos: Path, scale: int, work: Path) -> Photos:
    """The training photos (read in place) and the held-out pairs, written under ``work``."""
    paths = {name: Path(photos) / f"{name}.png" for name in PHOTO_SOURCES}
    missing = [str(path) for path in paths.values() if not path.is_file()]
    if missing:
        raise DasrError(f"--photos: '{photos}' lacks {', '.join(missing)} (the development photos' wallpapers)")
    val_dir = Path(work) / f"val-x{scale}"
    val_hr, val_lr = [], []
    for name in HELD_OUT:
        hr = read_rgb_tensor(paths[name])
        height, width = (size // scale * scale for size in hr.shape[-2:])
        hr = hr[..., :height, :width]
        val_hr.append(val_dir / "hr" / f"{name}.png")
        val_lr.append(val_dir / "lr" / f"{name}.png")
        write_image(val_hr[-1], tensor_to_pixels(hr[0]))
        write_image(val_lr[-1], tensor_to_pixels(quantize_8bit(bicubic_downscale(hr, scale))[0]))
    return Photos([paths[name] for name in TRAIN_PHOTOS], val_hr, val_lr)


def measure(model: Path, photos: Photos, scale: int, work: Path) -> dict[str, dict[str, float | None]]:
    """Mean scores (``dasr eval``'s protocol: 8-bit, border = scale) of ``model`` and of bicubic
    upsampling on the held-out pairs."""
    out = Path(work) / f"measure-x{scale}"
    network = super_resolve_folder(load_model(model, device="cpu"), photos.val_lr, out / "network", progress=False)
    bicubic = bicubic_upsample_folder(photos.val_lr, out / "bicubic", scale)
    return {
        name: evaluate_pairs(match_pairs(sr, photos.val_hr), scale=scale, lpips="off", progress=False).mean()
        for name, sr in (("network", network), ("bicubic", bicubic))
    }


def train_builtin_weights(
    photos_dir: Path, scale: int, work: Path, out_file: Path, *, recipe: Recipe, command: str
) -> dict[str, Any]:
    """Train (or resume) the weights of ``scale`` in ``work/x<scale>``, score them and write
    ``out_file``; returns the ``training`` record written into its metadata."""
    photos = prepare_photos(photos_dir, scale, work)
    start = interpolating_start(scale, recipe.seed, Path(work) / f"start-x{scale}.safetensors")
    config = load_config(PRESET, (), recipe.overrides(scale, start))
    run = Path(work) / f"x{scale}"
    resumed = RunDir(run, create=False).latest_checkpoint() is not None
    wall, cpu = time.perf_counter(), time.process_time()
    checkpoint = train_srn(
        config,
        SRNData(hr_paths=photos.train, val_pairs=list(zip(photos.val_hr, photos.val_lr, strict=True))),
        run,
    )
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    generator, info = load_sr_network(checkpoint)
    scores = measure(checkpoint, photos, scale, work)
    training = {
        "purpose": "PSNR-oriented start for stage 2 (the role of ESRGAN's RRDB_PSNR and Real-ESRGAN's RealESRNet)",
        "pairs": "bicubic: MATLAB-style antialiased bicubic downscale of HR patches, rounded to 8 bits",
        "loss": "L1",
        "start": "the RRDBNet set to compute bilinear interpolation on 3 of its channels, every other weight "
        "random (dasr.pipeline.builtin_weights.interpolating_start)",
        "photos": {name: PHOTO_SOURCES[name] for name in TRAIN_PHOTOS},
        "photos_source": "Debian packages' wallpapers, each file's package and licence given; their "
        "copyright files are in ../shared/data/photos/LICENSES of the development set",
        "held_out": {name: PHOTO_SOURCES[name] for name in HELD_OUT},
        "recipe": asdict(recipe),
        "iterations": info["iteration"],
        "threads": torch.get_num_threads(),
        "seconds_wall": round(wall, 1),
        "seconds_cpu": round(cpu, 1),
        "resumed": resumed,
        "validation": {
            "protocol": "dasr eval: RGB and Y, 8-bit, border = scale; mean over the held-out photos",
            "images": [path.name for path in photos.val_hr],
            **scores,
        },
        "command": command,
        "date": datetime.date.today().isoformat(),
        "dasr_version": __version__,
    }
    save_model(out_file, generator, weights="params_ema", preset=PRESET, config=info["config"], training=training)
    return training
