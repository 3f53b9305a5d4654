"""Released DSN checkpoints (ShuhangGu/DASR codes/DSN, FSSR dsgan) loaded as our networks.

Each case builds our networks, writes their weights the way the released ``train.py`` saves its
own (the inverse renaming is written out plainly here, independently of the code under test)
into the released container, loads it back and compares outputs.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from dasr.cli.main import main
from dasr.config.loader import config_to_dict, load_config
from dasr.data.image_io import image_to_tensor, read_image, to_rgb
from dasr.errors import DasrError
from dasr.files.checkpoint import DSN_CHECKPOINT, save_checkpoint
from dasr.stage1_5_maps.generate import generate_pairs
from dasr.stage1_dsn.calibration import calibrate_instance_norm
from dasr.stage1_dsn.networks import (
    BicubicInputDSN,
    DSNBundle,
    build_dsn_networks,
    load_dsn,
)
from tests.conftest import write_photo

SMALL = ["dsn.num_blocks=2", "dsn.num_features=8", "dsn.disc_features=8"]


def ours(generator: str, scale: int, kind: str, norm: str, seed: int = 0) -> tuple[nn.Module, nn.Module, DSNBundle]:
    """Our networks with random weights (and random BatchNorm statistics); the InstanceNorm
    layers keep their identity affine map, as the released ones have none."""
    torch.manual_seed(seed)
    source = "bicubic" if generator == "DSGAN" else "hr"
    overrides = [f"scale={scale}", f"dsn.input={source}", f"dsn.filter={kind}", f"dsn.disc_norm={norm}", *SMALL]
    bundle = build_dsn_networks(load_config("official", overrides=overrides))
    with torch.no_grad():
        for module in [*bundle.generator.modules(), *bundle.discriminator.modules()]:
            if isinstance(module, (nn.Conv2d, nn.PReLU, nn.BatchNorm2d)):
                for parameter in module.parameters():
                    parameter.add_(0.1 * torch.randn_like(parameter))
            if isinstance(module, nn.BatchNorm2d):
                module.running_mean.normal_(0, 0.1)
                module.running_var.uniform_(0.5, 1.5)
    return bundle.generator.eval(), bundle.discriminator.eval(), bundle


def released_generator(bundle: DSNBundle) -> dict[str, torch.Tensor]:
    """De_resnet / DSGAN ``Generator`` names: ours with ``act`` called ``prelu``."""
    network = bundle.generator.inner if isinstance(bundle.generator, BicubicInputDSN) else bundle.generator
    return {key.replace(".act.", ".prelu."): tensor for key, tensor in network.state_dict().items()}


def released_discriminator(bundle: DSNBundle) -> dict[str, torch.Tensor]:
    """``Discriminator`` names: the layers under ``net.net``, the filter's traces beside them."""
    kind, norm = bundle.config.dsn.filter, bundle.config.dsn.disc_norm
    state = {}
    for key, tensor in bundle.discriminator.state_dict().items():
        if norm == "instance" and key.split(".")[1] in ("3", "6"):
            continue  # nn.InstanceNorm2d(c) has neither parameters nor buffers
        state[f"net.{key}"] = tensor.clone()
    if kind != "rgb":  # the released filters output 0.5 * h + 0.5: undo what the loader folds in
        weight, bias = state["net.net.0.weight"], state["net.net.0.bias"]
        state["net.net.0.weight"], state["net.net.0.bias"] = 2 * weight, bias - weight.sum(dim=(1, 2, 3))
    if kind == "gaussian":
        state["filter.filter_low.filter.gaussian_filter.weight"] = torch.full((3, 1, 5, 5), 1 / 25)
    if kind == "wavelet":
        state |= {f"DWT2.{name}": torch.ones(1, 1, 2, 1) for name in ("h0_col", "h1_col", "h0_row", "h1_row")}
    return state


def save_released(path: Path, generator: dict | None, discriminator: dict | None) -> Path:
    """The released train.py's checkpoint dict, in PyTorch 1.1's (legacy) file format."""
    dummy = nn.Linear(1, 1)
    optimizer = torch.optim.Adam(dummy.parameters(), lr=1e-4, betas=(0.5, 0.999))
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda=lambda epoch: 1.0)
    state = {"epoch": 400, "iteration": 1000, "optimizer_g_state_dict": optimizer.state_dict(),
             "scheduler_g_state_dict": scheduler.state_dict()}
    if generator is not None:
        state["model_g_state_dict"] = generator
    if discriminator is not None:
        state["models_d_state_dict"] = discriminator
    torch.save(state, path, _use_new_zipfile_serialization=False)
    return path


def released_file(tmp_path: Path, bundle: DSNBundle) -> Path:
    return save_released(tmp_path / "last_iteration.tar", released_generator(bundle), released_discriminator(bundle))


# (generator, scale, filter, norm): the README's command, the auto-reproduce launcher, FSSR, ...
CASES = [
    ("De_resnet", 4, "wavelet", "instance"),
    ("De_resnet", 4, "avgpool", "instance"),
    ("De_resnet", 2, "gaussian", "batch"),
    ("De_resnet", 2, "rgb", "batch"),
    ("DSGAN", 4, "gaussian", "batch"),
    ("DSGAN", 1, "avgpool", "instance"),
]


def options(generator: str, scale: int, kind: str) -> dict:
    """What the user must say: the DSGAN's scale, and the filters that leave no trace."""
    return {
        "scale": scale if generator == "DSGAN" else None,
        "filter_kind": kind if kind in ("avgpool", "rgb") else None,
    }


@pytest.mark.parametrize("generator, scale, kind, norm", CASES)
def test_released_checkpoints_load_with_identical_outputs(tmp_path, generator, scale, kind, norm) -> None:
    reference_g, reference_d, reference = ours(generator, scale, kind, norm)
    loaded = load_dsn(released_file(tmp_path, reference), **options(generator, scale, kind))

    dsn = loaded.config.dsn
    assert (loaded.config.scale, dsn.arch, dsn.discriminator, dsn.filter, dsn.disc_norm) == (
        scale, "official", "official", kind, norm
    )
    assert (dsn.input, dsn.num_blocks, dsn.num_features, dsn.disc_features) == (
        "bicubic" if generator == "DSGAN" else "hr", 2, 8, 8
    )
    assert loaded.needs_calibration == (norm == "instance")
    assert not loaded.generator.training and not loaded.discriminator.training

    hr = torch.rand(2, 3, 16, 24)
    lr = torch.rand(2, 3, 12, 16)
    with torch.no_grad():
        torch.testing.assert_close(loaded.generator(hr), reference_g(hr), rtol=0, atol=0)
        scores = loaded.freq_filter(lr)
        torch.testing.assert_close(loaded.discriminator(scores), reference_d(scores))
        if norm == "instance":  # per-image statistics: the released layer's own behaviour
            torch.testing.assert_close(loaded.discriminator.train()(scores), reference_d.train()(scores))


def test_interior_scores_equal_the_released_discriminator(tmp_path) -> None:
    """The released forward pass written out (codes/DSN/model.py: FilterHigh with avg_pool,
    count_include_pad=False, output 0.5 * h + 0.5; DiscriminatorBasic with BatchNorm, eval mode):
    ours agrees wherever padding plays no part (8 pixels: filter 2, three 5x5 convolutions)."""
    _, _, reference = ours("De_resnet", 4, "avgpool", "batch")
    released = released_discriminator(reference)
    loaded = load_dsn(released_file(tmp_path, reference), filter_kind="avgpool")

    def layer(index: int) -> tuple[torch.Tensor, torch.Tensor]:
        return released[f"net.net.{index}.weight"], released[f"net.net.{index}.bias"]

    def batch_norm(x: torch.Tensor, index: int) -> torch.Tensor:
        name = f"net.net.{index}"
        return F.batch_norm(x, released[f"{name}.running_mean"], released[f"{name}.running_var"],
                            *layer(index), training=False)

    x = torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        y = 0.5 * (x - F.avg_pool2d(x, 5, stride=1, padding=2, count_include_pad=False)) + 0.5
        y = F.leaky_relu(F.conv2d(y, *layer(0), padding=2), 0.2)
        y = F.leaky_relu(batch_norm(F.conv2d(y, *layer(2), padding=2), 3), 0.2)
        y = F.leaky_relu(batch_norm(F.conv2d(y, *layer(5), padding=2), 6), 0.2)
        expected = F.conv2d(y, *layer(8))
        found = loaded.discriminator(loaded.freq_filter(x))
    torch.testing.assert_close(found[..., 8:-8, 8:-8], expected[..., 8:-8, 8:-8])


def test_calibration_gives_a_single_image_its_own_statistics(tmp_path) -> None:
    _, _, reference = ours("De_resnet", 2, "avgpool", "instance")
    loaded = load_dsn(released_file(tmp_path, reference), filter_kind="avgpool")
    photo = write_photo(tmp_path / "hr" / "a.png", (40, 36), seed=1)  # smaller than a crop: used whole
    assert calibrate_instance_norm(loaded, [photo], device=torch.device("cpu")) == 1
    assert not loaded.needs_calibration and not loaded.discriminator.training

    hr = image_to_tensor(to_rgb(read_image(photo).pixels))[None]
    with torch.no_grad():
        lr = torch.round(loaded.generator(hr).clamp(0, 1) * 255) / 255
        x = loaded.freq_filter(lr)
        fixed = loaded.discriminator(x)
        per_image = loaded.discriminator.train()(x)
    torch.testing.assert_close(fixed, per_image, rtol=1e-4, atol=1e-5)


def test_calibration_needs_an_image_large_enough(tmp_path) -> None:
    _, _, reference = ours("De_resnet", 4, "wavelet", "instance")
    loaded = load_dsn(released_file(tmp_path, reference))
    photo = write_photo(tmp_path / "hr" / "tiny.png", (16, 40), seed=1)
    with pytest.raises(DasrError, match=r"--hr: no image is large enough \(32 pixels a side\)"):
        calibrate_instance_norm(loaded, [photo], device=torch.device("cpu"))


def test_generate_pairs_calibrates_a_released_discriminator_itself(tmp_path) -> None:
    """A Python caller passing a released bundle gets the maps the CLI makes, not maps made with
    default InstanceNorm statistics."""
    _, _, reference = ours("De_resnet", 2, "avgpool", "instance")
    checkpoint = released_file(tmp_path, reference)
    photos = [write_photo(tmp_path / "hr" / "a.png", (36, 40), seed=1),
              write_photo(tmp_path / "hr" / "b.png", (24, 30), seed=2)]

    def maps(bundle, name: str) -> np.ndarray:
        summary = generate_pairs(bundle, photos, tmp_path / name, scale=2, tile=16, device="cpu", progress=False)
        return summary, np.stack([np.load(tmp_path / name / "maps" / f"{p.stem}.npy").ravel()[:100] for p in photos])

    library = load_dsn(checkpoint, filter_kind="avgpool")
    summary, found = maps(library, "library")
    assert summary.calibrated_from == 2 and not library.needs_calibration
    explicit = load_dsn(checkpoint, filter_kind="avgpool")
    calibrate_instance_norm(explicit, photos, device=torch.device("cpu"))
    np.testing.assert_array_equal(found, maps(explicit, "explicit")[1])
    default = load_dsn(checkpoint, filter_kind="avgpool")
    default.needs_calibration = False  # what the library did before: default statistics
    assert np.abs(found - maps(default, "default")[1]).max() > 1e-3


# --- what the user is told ---------------------------------------------------------------------


def nlayer(state: dict) -> dict:
    return {key.replace("net.net.", "net.model."): tensor for key, tensor in state.items()}


def wavelet_sum(state: dict) -> dict:
    return {**state, "DWT2.h0_col": torch.ones(1, 1, 2, 1)}


def gaussian_7x7(state: dict) -> dict:
    return {**state, "filter.filter_low.filter.gaussian_filter.weight": torch.ones(3, 1, 7, 7)}


# (case, options, change to the discriminator state, expected message)
MISTAKES = [
    (("De_resnet", 4, "avgpool", "instance"), {}, None, r"saved no filter weights.*--filter avgpool or --filter rgb"),
    (("De_resnet", 4, "avgpool", "instance"), {"filter_kind": "gaussian"}, None, r"--filter gaussian does not fit"),
    (("De_resnet", 4, "wavelet", "batch"), {"filter_kind": "gaussian"}, None,
     r"--filter gaussian contradicts .*trained with the wavelet filter"),
    (("De_resnet", 4, "wavelet", "batch"), {"scale": 2}, None, r"--scale 2 contradicts .*downscales by 4 \(2 stride-2"),
    (("DSGAN", 4, "gaussian", "batch"), {}, None, r"DSGAN generator .*does not record the scale; pass --scale"),
    (("De_resnet", 4, "avgpool", "batch"), {"filter_kind": "avgpool"}, nlayer, r"NLayerDiscriminator"),
    (("De_resnet", 4, "avgpool", "batch"), {}, wavelet_sum, r"sum of the wavelet bands"),
    (("De_resnet", 4, "avgpool", "batch"), {}, gaussian_7x7, r"Gaussian filter is 7x7 \(released --kernel_size 7\)"),
]


@pytest.mark.parametrize("case, given, change, message", MISTAKES)
def test_mistakes_are_named_in_one_line(tmp_path, case, given, change, message) -> None:
    _, _, reference = ours(*case)
    discriminator = released_discriminator(reference)
    path = save_released(tmp_path / "d.tar", released_generator(reference), (change or dict)(discriminator))
    with pytest.raises(DasrError, match=message) as error:
        load_dsn(path, **given)
    assert "\n" not in str(error.value)


def test_a_file_without_the_generator_is_refused(tmp_path) -> None:
    """A bare discriminator state dict (codes/DSN/test.tar) has no generator to make LR images with."""
    _, _, reference = ours("De_resnet", 4, "gaussian", "batch")
    torch.save(released_discriminator(reference), tmp_path / "test.tar")
    with pytest.raises(DasrError, match=r"only a released discriminator state dict .* and no generator"):
        load_dsn(tmp_path / "test.tar")
    save_released(tmp_path / "g.tar", released_generator(reference), None)
    with pytest.raises(DasrError, match=r"a released generator .* but no discriminator; 'dasr generate' needs both"):
        load_dsn(tmp_path / "g.tar")
    torch.save({"weights": torch.zeros(1)}, tmp_path / "other.tar")
    with pytest.raises(DasrError, match=r"neither a dasr DSN checkpoint nor a released DASR/FSSR one"):
        load_dsn(tmp_path / "other.tar")


def test_options_must_agree_with_our_checkpoints(tmp_path) -> None:
    config = load_config("paper", overrides=["scale=2", *SMALL])
    bundle = build_dsn_networks(config)
    checkpoint = tmp_path / "dsn.pth"
    save_checkpoint(checkpoint, {"format": DSN_CHECKPOINT, "config": config_to_dict(config),
                                 "params": bundle.generator.state_dict(),
                                 "discriminator": bundle.discriminator.state_dict()})
    assert load_dsn(checkpoint, scale=2, filter_kind="wavelet").config.scale == 2
    with pytest.raises(DasrError, match=r"--scale 4 contradicts --dsn .*trained for scale 2"):
        load_dsn(checkpoint, scale=4)
    with pytest.raises(DasrError, match=r"--filter rgb contradicts --dsn .*wavelet"):
        load_dsn(checkpoint, filter_kind="rgb")


# --- dasr generate ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "case, extra",
    [
        (("De_resnet", 2, "avgpool", "instance"), ["--filter", "avgpool"]),
        (("DSGAN", 2, "gaussian", "batch"), ["--scale", "2"]),
    ],
)
def test_generate_command_with_a_released_checkpoint(tmp_path, capsys, case, extra) -> None:
    reference_g, _, reference = ours(*case)
    checkpoint = released_file(tmp_path, reference)
    write_photo(tmp_path / "hr" / "a.png", (36, 40), seed=1)
    write_photo(tmp_path / "hr" / "b.png", (24, 30), seed=2)
    out = tmp_path / "pairs"
    argv = ["generate", "--dsn", str(checkpoint), "--hr", str(tmp_path / "hr"), "--out", str(out),
            "--device", "cpu", "--tile", "16"]

    assert main([*argv, *extra]) == 0
    printed = capsys.readouterr().out
    assert "generated 2 pairs" in printed
    assert ("InstanceNorm statistics fixed from 2 generated LR crops" in printed) == (case[3] == "instance")
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["scale"] == 2 and manifest["map"]["filter"] == case[2]
    assert (manifest["dsn"]["config"]["arch"], manifest["dsn"]["config"]["discriminator"]) == ("official", "official")
    hr = image_to_tensor(to_rgb(read_image(tmp_path / "hr" / "a.png").pixels))[None]
    with torch.no_grad():
        expected = np.rint(reference_g(hr)[0].permute(1, 2, 0).numpy() * 255)
    found = np.asarray(Image.open(out / "lr" / "a.png"), dtype=np.float64)
    assert np.abs(found - expected).max() <= 1
    assert all(np.isfinite(np.load(out / "maps" / f"{stem}.npy")).all() for stem in "ab")

    assert main([*argv, *extra]) == 0  # the calibration repeats exactly: the folder resumes
    assert "skipped 2" in capsys.readouterr().out

    assert main(argv) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and error.startswith("dasr: error: --dsn: '")
