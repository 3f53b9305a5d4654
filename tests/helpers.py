"""Helpers shared by several test modules: plain functions, classes and constants (fixtures
live in ``conftest.py``). A test module imports its helpers from here, never from another test
module, so that moving or deleting one test file breaks no other.

Helpers that build training code (trainers, a ``dasr fit`` run) import it where they are called,
so that a module needing only an image or a tiny network does not load the training stages, and
a change to a trainer's interface breaks only the tests that build that trainer."""

from __future__ import annotations

import functools
import json
import multiprocessing
import os
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from safetensors import safe_open
from safetensors.torch import save_file
from torch import Tensor, nn

from dasr.archs.rrdbnet import RRDBNet
from dasr.cli.main import main
from dasr.data.image_io import decode_image, write_image
from dasr.engine.metric_log import read_metric_log
from dasr.files.checkpoint import load_checkpoint
from dasr.inference.model_file import save_model
from dasr.ops.receptive_field import Geometry
from tests.conftest import TINY_DSN, TINY_SRN, write_photo

if TYPE_CHECKING:
    from dasr.config.schema import Config
    from dasr.stage1_dsn.step import DSNTrainer
    from dasr.stage2_srn.step import SRNTrainer


# --- receptive fields (operator and network tests) ---------------------------------------------


def receptive_window(fn, x, index):
    """Back-propagate output pixel ``index`` (row, col) of channel 0 of sample 0 to ``x`` and
    return ``(first, size)`` of the input rows and of the input columns with a non-zero gradient."""
    x = x.detach().clone().requires_grad_(True)
    fn(x)[(0, 0) + tuple(index)].backward()
    seen = x.grad[0].abs().sum(0) != 0
    windows = []
    for positions in (seen.any(1).nonzero().flatten(), seen.any(0).nonzero().flatten()):
        first, last = positions.min().item(), positions.max().item()
        assert positions.numel() == last - first + 1, "the window has holes"
        windows.append((first, last - first + 1))
    return tuple(windows)


def expected_window(geometry: Geometry, index):
    return tuple((i * geometry.stride - geometry.padding, geometry.size) for i in index)


# --- tiny SR networks and model files (inference tests) ----------------------------------------


def tiny_net(scale: int = 4, seed: int = 0, input_unshuffle: int = 1, gain: float = 1.0) -> RRDBNet:
    """nf 8, nb 1, gc 4 (context 19 LR pixels); ``gain`` scales the trunk weights so that the
    trunk, nearly the identity at initialisation, shapes the output."""
    torch.manual_seed(seed)
    net = RRDBNet(scale, num_features=8, num_blocks=1, growth_channels=4, input_unshuffle=input_unshuffle)
    with torch.no_grad():
        for parameter in net.body.parameters():
            parameter.mul_(gain)
    return net.eval()


def image(height: int, width: int, seed: int = 0) -> Tensor:
    return torch.rand((1, 3, height, width), generator=torch.Generator().manual_seed(seed))


def write_model(path: Path, net: RRDBNet) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    save_model(path, net, weights="params_ema", preset="test", config={"scale": net.scale}, training={})
    return path


# --- RRDB weights in other projects' namings (weights and convert tests) -----------------------


class Unsafe:
    """A class that a weights-only load must refuse to construct."""


def small_rrdbnet(scale, input_unshuffle=1, seed=0):
    torch.manual_seed(seed)
    return RRDBNet(scale, num_features=8, num_blocks=2, growth_channels=4, input_unshuffle=input_unshuffle)


def _renamed(state, body: str, layers: dict[str, str]):
    """``state`` with each RRDB body convolution named by ``body`` (a format string of block,
    RDB number, conv and kind) and every other layer renamed by ``layers`` (kept if absent)."""
    renamed = {}
    for key, tensor in state.items():
        layer, kind = key.rsplit(".", 1)
        if layer.startswith("body."):
            _, block, rdb, conv = layer.split(".")
            renamed[body.format(block=block, rdb=rdb[-1], conv=conv, kind=kind)] = tensor
        else:
            renamed[f"{layers.get(layer, layer)}.{kind}"] = tensor
    return renamed


def to_esrgan(state, num_blocks):
    """BasicSR names -> ESRGAN's ``model.N`` names (upsampling convs at 3, 6, ..., then HR, last)."""
    upsamples = sum(1 for key in state if re.fullmatch(r"conv_up\d\.weight", key))
    layers = {"conv_first": "model.0", "conv_body": f"model.1.sub.{num_blocks}"}
    layers |= {f"conv_up{step}": f"model.{3 * step}" for step in range(1, upsamples + 1)}
    layers |= {"conv_hr": f"model.{3 * upsamples + 2}", "conv_last": f"model.{3 * upsamples + 4}"}
    return _renamed(state, "model.1.sub.{block}.RDB{rdb}.{conv}.0.{kind}", layers)


def to_mmsr(state):
    """BasicSR names -> mmsr's (``RRDB_trunk``, ``trunk_conv``, ``upconvN``, ``HRconv``)."""
    layers = {"conv_body": "trunk_conv", "conv_hr": "HRconv", "conv_up1": "upconv1", "conv_up2": "upconv2"}
    return _renamed(state, "RRDB_trunk.{block}.RDB{rdb}.{conv}.{kind}", layers)


def write_weights(tmp_path, naming, state, num_blocks):
    """``state`` saved as ``naming`` describes; returns the path and the container expected."""
    other = small_rrdbnet(4, seed=1).state_dict()
    if naming == "raw":
        content, container = state, None
    elif naming == "params":
        content, container = {"params": state, "iter": 7}, "params"
    elif naming == "params_ema":
        content, container = {"params": other, "params_ema": state}, "params_ema"
    elif naming == "ddp_state_dict":
        content, container = {"state_dict": {f"module.{k}": v for k, v in state.items()}, "epoch": 3}, "state_dict"
    elif naming == "model":
        content, container = {"model": state}, "model"
    elif naming == "esrgan":
        content, container = to_esrgan(state, num_blocks), None
    elif naming == "mmsr":
        content, container = to_mmsr(state), None
    else:
        path = tmp_path / "weights.safetensors"
        save_file(to_esrgan(state, num_blocks), path)
        return path, None
    path = tmp_path / "weights.pth"
    torch.save(content, path)
    return path, container


WEIGHT_NAMINGS = {
    "raw": "BasicSR",
    "params": "BasicSR",
    "params_ema": "BasicSR",
    "ddp_state_dict": "BasicSR",
    "model": "BasicSR",
    "esrgan": "ESRGAN",
    "mmsr": "mmsr",
    "safetensors_esrgan": "ESRGAN",
}
"""What :func:`write_weights` can write, and the naming the loader must report for each."""


# --- paired data on disk (stage-2 data tests) --------------------------------------------------


def weight_of(lr: np.ndarray) -> np.ndarray:
    """The synthetic map: a pixel-wise function of the LR samples, so crops can be checked."""
    return (lr[..., 0] / 255 * 0.5 + lr[..., 1] / 1000).astype(np.float32)


def write_block_pair(
    folder: Path, stem: str, lr_size: tuple[int, int], scale: int, seed: int, extra: int = 0
) -> tuple[Path, Path, Path]:
    """LR, HR and map files where the LR is exactly the ``scale`` x ``scale`` block average of
    the HR (each HR block is the LR value plus zero-mean texture) and the map is ``weight_of``
    the LR. ``extra`` (< scale) rows and columns of noise at the HR's bottom/right are to be
    cropped away."""
    rng = np.random.default_rng(seed)
    height, width = lr_size
    lr = rng.integers(20, 236, (height, width, 3))
    half = rng.integers(-15, 16, (height, width, scale * scale // 2, 3))
    texture = rng.permuted(np.concatenate([half, -half], axis=2), axis=2)
    if scale % 2:  # odd blocks get one untextured pixel (only scale 1 is used here)
        texture = np.concatenate([texture, np.zeros((height, width, 1, 3), int)], axis=2)
    blocks = lr[:, :, None] + texture
    hr = blocks.reshape(height, width, scale, scale, 3).transpose(0, 2, 1, 3, 4)
    hr = hr.reshape(height * scale, width * scale, 3)
    hr = np.pad(hr, ((0, extra), (0, extra), (0, 0)), constant_values=77)
    paths = (
        folder / "lr" / f"{stem}.png",
        folder / "hr" / f"{stem}.png",
        folder / "maps" / f"{stem}.npy",
    )
    write_image(paths[0], lr / 255)
    write_image(paths[1], hr / 255)
    paths[2].parent.mkdir(parents=True, exist_ok=True)
    np.save(paths[2], weight_of(lr))
    return paths


# --- evaluation images -------------------------------------------------------------------------


def save_rgb(path: Path, pixels: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path)
    return path


def noisy_pair(seed: int, size: tuple[int, int] = (40, 36)) -> tuple[np.ndarray, np.ndarray]:
    """A smooth uint8 HR image and a noisy uint8 'SR' copy of it."""
    rng = np.random.default_rng(seed)
    coarse = rng.random((size[0] // 4, size[1] // 4, 3))
    hr = np.asarray(Image.fromarray((coarse * 255).astype(np.uint8)).resize(size[::-1], Image.BICUBIC))
    sr = np.clip(hr + rng.normal(0, 12, hr.shape), 0, 255).round().astype(np.uint8)
    return sr, hr


# --- tiny trainers of one iteration (step and precision tests) ---------------------------------


def tiny_dsn_config(*extra: str) -> Config:
    from dasr.config.loader import load_config

    return load_config("paper", (), [*TINY_DSN, *extra])


def make_dsn_trainer(config: Config) -> DSNTrainer:
    """Stage 1's trainer on the tiny networks of ``config``, Adam at 1e-3, no perceptual loss."""
    from dasr.stage1_dsn.networks import build_dsn_networks
    from dasr.stage1_dsn.step import DSNTrainer

    torch.manual_seed(0)
    bundle = build_dsn_networks(config)
    settings = config.dsn
    return DSNTrainer(
        bundle.generator, bundle.discriminator, bundle.freq_filter, None,
        torch.optim.Adam(bundle.generator.parameters(), lr=1e-3, fused=True),
        torch.optim.Adam(bundle.discriminator.parameters(), lr=1e-3, fused=True),
        settings, config.scale,
    )


STUB_SCALE = 4
"""The scale of :class:`StubGenerator`."""


class StubGenerator(nn.Module):
    """SR = gain * nearest-upscale(LR); records every input and output (outputs keep their grad)."""

    def __init__(self) -> None:
        super().__init__()
        self.gain = nn.Parameter(torch.tensor(1.5))
        self.calls: list[tuple[torch.Tensor, torch.Tensor]] = []

    def forward(self, lr: torch.Tensor) -> torch.Tensor:
        out = self.gain * F.interpolate(lr, scale_factor=STUB_SCALE, mode="nearest")
        if out.requires_grad:
            out.retain_grad()
        self.calls.append((lr.detach().clone(), out))
        return out


class StubDiscriminator(nn.Module):
    """logit = weight * channel mean; records its inputs and whether it could learn from them."""

    def __init__(self) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.tensor(2.0))
        self.inputs: list[torch.Tensor] = []
        self.trainable: list[bool] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.inputs.append(x.detach().clone())
        self.trainable.append(self.weight.requires_grad)
        return self.weight * x.mean(1, keepdim=True)


def make_srn_trainer(*overrides: str, perceptual: nn.Module | None = None, sgd: bool = False) -> SRNTrainer:
    """Stage 2's trainer on the stub networks (RGB discriminator filter), Adam at 1e-2 or
    ``sgd`` at 1.0, with the tiny settings and ``overrides``."""
    from dasr.config.loader import load_config
    from dasr.ops.frequency import FrequencyFilter
    from dasr.stage2_srn.ema import ModelEMA
    from dasr.stage2_srn.step import SRNTrainer

    srn = load_config("paper", (), [*TINY_SRN, "srn.filter=rgb", *overrides]).srn
    generator = StubGenerator()
    adversarial = srn.adversarial != "none"
    discriminator = StubDiscriminator() if adversarial else None
    optimizer = torch.optim.SGD if sgd else functools.partial(torch.optim.Adam, fused=True)  # as the stages build it
    return SRNTrainer(
        generator,
        discriminator,
        FrequencyFilter("rgb") if adversarial else None,
        perceptual,
        optimizer(generator.parameters(), lr=1.0 if sgd else 1e-2),
        torch.optim.Adam(discriminator.parameters(), lr=1e-2, fused=True) if adversarial else None,
        srn,
        STUB_SCALE,
        ema=ModelEMA(generator, srn.ema_decay),
    )


# --- what a training run logged and learned (training tests) ----------------------------------


def logged_values(run: Path) -> dict[int, dict[str, float]]:
    """The training rows of ``run``'s log by iteration: the losses, ``skipped`` and ``lr``."""
    return {
        row["step"]: {name: value for name, value in row.items() if name not in ("step", "phase", "time")}
        for row in read_metric_log(run / "log.jsonl")
        if row["phase"] != "val"
    }


def changed_names(a: dict, b: dict) -> set[str]:
    """The names whose values differ between ``a`` and ``b``, or that only one of them has."""
    return {name for name in a.keys() | b.keys() if a.get(name) != b.get(name)}


def same_weights(a: dict[str, Tensor], b: dict[str, Tensor]) -> bool:
    return a.keys() == b.keys() and all(a[name].shape == b[name].shape and torch.equal(a[name], b[name]) for name in a)


# --- finished runs and reports (report tests) --------------------------------------------------


def make_fit_run(root: Path) -> Path:
    """A finished tiny ``dasr fit`` run with 2 validation pairs (about 3 s on a CPU)."""
    from dasr.config.loader import load_config
    from dasr.data.folders import list_images
    from dasr.pipeline.fit import FitData, fit

    for index in range(3):
        write_photo(root / "hr" / f"hr{index}.png", (72, 80), seed=index)
        write_photo(root / "lr" / f"lr{index}.png", (24, 28), seed=10 + index, noise=0.05)
    for index in range(2):
        write_photo(root / "val_hr" / f"v{index}.png", (96, 128), seed=20 + index)
        write_photo(root / "val_lr" / f"v{index}.png", (24, 32), seed=20 + index, noise=0.05)
    data = FitData(
        list_images(root / "hr", "--hr"),
        list_images(root / "lr", "--lr"),
        list(zip(list_images(root / "val_hr", "--val-hr"), list_images(root / "val_lr", "--val-lr"))),
    )
    config = load_config("paper", (), list(dict.fromkeys([*TINY_DSN, *TINY_SRN])))
    fit(config, data, root / "run", preset="paper", show_progress=False)
    return root / "run"


def assert_self_contained(page: str) -> None:
    assert "http://" not in page and "https://" not in page
    for attribute, value in re.findall(r'\b(src|href)="([^"]*)"', page):
        assert value.startswith("data:image/" if attribute == "src" else "#"), (attribute, value[:40])


# --- dasr ablate -------------------------------------------------------------------------------


TINY_ABLATION = list(dict.fromkeys([*TINY_DSN, *TINY_SRN, "dsn.pretrain_iters=1", "dsn.iters=2",
                                    "srn.pretrain_iters=1", "srn.iters=2", "train.checkpoint_every=1"]))
"""Both stages tiny, and one or two iterations of each, for the many runs of an ablation."""


def ablate_argv(folders: dict[str, Path], out: Path, *extra: str) -> list[str]:
    """``dasr ablate`` of the ``photo_folders`` fixture with :data:`TINY_ABLATION`, then ``extra``."""
    sets = [item for setting in TINY_ABLATION for item in ("--set", setting)]
    return ["ablate", "--hr", str(folders["hr"]), "--lr", str(folders["lr"]), "--scale", "4", "--out", str(out),
            *extra, *sets]


# --- the command line in child processes (kill and interrupt tests) ----------------------------


def _run_quietly(argv: list[str]) -> None:
    with open(os.devnull, "w") as null:
        os.dup2(null.fileno(), 1)
        os.dup2(null.fileno(), 2)
        sys.exit(main(argv))


def start_dasr(argv: list[str]) -> multiprocessing.process.BaseProcess:
    """``dasr argv`` started in a child process, its output discarded; its exit code is the
    command's."""
    # forkserver, not fork: a child forked from the test process can deadlock on a lock that one
    # of its threads held at fork time; the fork server is single-threaded and has the training
    # code imported (some 8 s on a busy CPU that no child then spends).
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["dasr.cli.main", "dasr.pipeline.fit", "tests.helpers"])
    process = context.Process(target=_run_quietly, args=(argv,))
    process.start()
    return process


def line_count(path: Path) -> int:
    return path.read_text(encoding="utf-8").count("\n") if path.is_file() else 0


def assert_every_file_reads(run: Path) -> None:
    """Every file a reader would open is whole (atomic writes leave only hidden ``.*.tmp``)."""
    for path in run.rglob("*"):
        if not path.is_file() or path.name.startswith("."):
            continue
        if path.suffix == ".pth":
            load_checkpoint(path)
        elif path.suffix == ".npy":
            np.load(path)
        elif path.suffix == ".png":
            decode_image(path)
        elif path.suffix == ".json":
            json.loads(path.read_text(encoding="utf-8"))
        elif path.suffix == ".jsonl":
            text = path.read_text(encoding="utf-8")
            assert text == "" or text.endswith("\n"), f"{path}: half a line"
            steps = [(row["phase"], row["step"]) for row in map(json.loads, text.splitlines())]
            assert len(steps) == len(set(steps)), f"{path}: rows logged twice"
        elif path.suffix == ".safetensors":
            with safe_open(str(path), framework="pt") as handle:
                [handle.get_tensor(name) for name in handle.keys()]  # noqa: SIM118
