"""Shared fixtures: tiny synthetic photo folders and a tiny configuration, so that every test
runs in seconds on a CPU and never needs a download or the development photos."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

torch.set_num_threads(1)  # tiny tensors: one thread is faster and steadier on shared CI cores


def write_photo(path: Path, size: tuple[int, int], seed: int, noise: float = 0.0) -> Path:
    """A smooth random colour field (photo-like) plus optional noise, saved as 8-bit PNG."""
    rng = np.random.default_rng(seed)
    height, width = size
    coarse = rng.random((height // 8 + 2, width // 8 + 2, 3))
    image = np.asarray(
        Image.fromarray((coarse * 255).astype(np.uint8)).resize((width, height), Image.BICUBIC), dtype=np.float64
    ) / 255
    image = np.clip(image + noise * rng.standard_normal(image.shape), 0, 1)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.round(image * 255).astype(np.uint8)).save(path)
    return path


@pytest.fixture
def offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty torch hub cache; any download attempt fails the test. Returns the cache's
    checkpoint folder, where a test may put weight files."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))

    def no_network(url, *args, **kwargs):
        raise AssertionError(f"download attempted: {url}")

    monkeypatch.setattr(torch.hub, "download_url_to_file", no_network)
    return tmp_path / "torch" / "hub" / "checkpoints"


@pytest.fixture
def photo_folders(tmp_path: Path) -> dict[str, Path]:
    """HR photos, unrelated noisy real-LR photos and 2 validation pairs (HR 128x96 / LR x4)."""
    folders = {name: tmp_path / name for name in ("hr", "lr", "val_hr", "val_lr")}
    for index in range(3):
        write_photo(folders["hr"] / f"hr{index}.png", (72, 80), seed=index)
        write_photo(folders["lr"] / f"lr{index}.png", (24, 28), seed=10 + index, noise=0.05)
    for index in range(2):
        write_photo(folders["val_hr"] / f"v{index}.png", (96, 128), seed=20 + index)
        write_photo(folders["val_lr"] / f"v{index}.png", (24, 32), seed=20 + index, noise=0.05)
    return folders


TINY_DSN = [
    "dsn.num_blocks=1",
    "dsn.num_features=8",
    "dsn.disc_features=8",
    "dsn.perceptual=none",
    "dsn.patch_size=32",
    "dsn.batch_size=2",
    "dsn.pretrain_iters=2",
    "dsn.iters=4",
    "data.num_workers=0",
    "train.log_every=1",
    "train.checkpoint_every=2",
    "train.sample_every=3",
    "train.val_every=3",
    "deterministic=true",
    "device=cpu",
]
"""``--set`` overrides that make stage 1 tiny: a few iterations of 1-block networks."""


TINY_SRN = [
    "srn.init=none",  # the cpu-small preset starts from built-in weights of another size
    "srn.num_blocks=1",
    "srn.num_features=8",
    "srn.growth_channels=4",
    "srn.disc_features=8",
    "srn.perceptual=none",
    "srn.patch_size=32",
    "srn.batch_size=2",
    "srn.pretrain_iters=2",
    "srn.iters=4",
    "data.num_workers=0",
    "train.log_every=1",
    "train.checkpoint_every=2",
    "train.sample_every=3",
    "train.val_every=3",
    "deterministic=true",
    "device=cpu",
]
"""``--set`` overrides that make stage 2 tiny: a few iterations of a 1-block RRDBNet."""


@pytest.fixture
def pairs_dir(photo_folders: dict[str, Path], tmp_path: Path) -> Path:
    """A ``dasr generate`` folder for the HR photos of ``photo_folders``, made (x4) by a randomly
    initialised tiny DSN: stage 2 needs its layout and maps, not a trained degradation."""
    from dasr.config.loader import load_config
    from dasr.data.folders import list_images
    from dasr.stage1_5_maps.generate import generate_pairs
    from dasr.stage1_dsn.networks import build_dsn_networks

    torch.manual_seed(0)
    generate_pairs(
        build_dsn_networks(load_config("paper", (), TINY_DSN)),
        list_images(photo_folders["hr"], "--hr"),
        tmp_path / "pairs",
        scale=4,
        tile=64,
        device="cpu",
        progress=False,
    )
    return tmp_path / "pairs"
