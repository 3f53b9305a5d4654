"""Stage 1.5: domain-distance maps, heatmaps and the generated-pairs folder."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from dasr.archs.discriminators import OfficialPatchDiscriminator
from dasr.cli.main import main
from dasr.config.loader import config_to_dict, load_config
from dasr.data.image_io import write_image
from dasr.errors import DasrError
from dasr.files.checkpoint import DSN_CHECKPOINT, save_checkpoint
from dasr.ops.frequency import FrequencyFilter
from dasr.ops.receptive_field import Geometry
from dasr.stage1_5_maps.domain_distance import domain_distance_map
from dasr.stage1_5_maps.generate import generate_pairs
from dasr.stage1_5_maps.heatmap import heatmap_image
from dasr.stage1_dsn.networks import build_dsn_networks

SCALE = 2


class ToyGenerator(nn.Module):
    """conv, bilinear resize by 1/scale, conv, sigmoid: local, with the DSN tiling contract."""

    def __init__(self, scale: int) -> None:
        super().__init__()
        self.scale = scale
        self.head = nn.Conv2d(3, 4, 3, padding=1)
        self.tail = nn.Conv2d(4, 3, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size = (x.shape[-2] // self.scale, x.shape[-1] // self.scale)
        features = F.interpolate(torch.relu(self.head(x)), size=size, mode="bilinear", align_corners=False)
        return torch.sigmoid(4 * self.tail(features))

    def tile_alignment(self) -> int:
        return self.scale

    def context(self) -> int:
        return 1 + self.scale  # head conv in HR pixels, tail conv in LR pixels


class ToyDiscriminator(nn.Module):
    def __init__(self, in_channels: int) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(in_channels, 4, 3, padding=1), nn.LeakyReLU(0.2), nn.Conv2d(4, 1, 3, padding=1)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return 3 * self.net(x)

    def geometry(self) -> Geometry:
        return Geometry(5, 1, 2)


def toy_networks(kind: str = "wavelet", seed: int = 0) -> tuple[nn.Module, nn.Module, FrequencyFilter]:
    torch.manual_seed(seed)
    freq_filter = FrequencyFilter(kind)
    return ToyGenerator(SCALE), ToyDiscriminator(freq_filter.out_channels(3)), freq_filter


# --- domain-distance maps ----------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["wavelet", "gaussian", "avgpool", "rgb"])
@pytest.mark.parametrize("real_disc", [False, True])
def test_map_does_not_depend_on_tiling(kind: str, real_disc: bool) -> None:
    torch.manual_seed(1)
    freq_filter = FrequencyFilter(kind)
    if real_disc:
        disc = OfficialPatchDiscriminator(freq_filter.out_channels(3), num_features=4, norm="instance")
        disc.train()
        for _ in range(3):  # give InstanceNorm's running statistics non-trivial values
            disc(freq_filter(torch.rand(2, 3, 16, 16)))
    else:
        disc = ToyDiscriminator(freq_filter.out_channels(3))
    lr = torch.rand(2, 3, 23, 30)
    whole = domain_distance_map(lr, freq_filter, disc, tile=1000)
    assert whole.shape == (2, 1, 23, 30)
    assert float(whole.min()) >= 0.0 and float(whole.max()) <= 1.0
    for tile in (4, 7, 16):
        torch.testing.assert_close(domain_distance_map(lr, freq_filter, disc, tile=tile), whole, rtol=0, atol=1e-5)
    assert disc.training  # the caller's mode is restored


def test_constant_scores_give_a_constant_map() -> None:
    freq_filter = FrequencyFilter("wavelet")
    disc = ToyDiscriminator(freq_filter.out_channels(3))
    with torch.no_grad():
        for parameter in disc.parameters():
            parameter.zero_()
        disc.net[-1].bias.fill_(0.2)  # logit 3 * 0.2
    result = domain_distance_map(torch.rand(1, 3, 21, 18), freq_filter, disc, tile=8)
    torch.testing.assert_close(result, torch.full_like(result, torch.sigmoid(torch.tensor(0.6)).item()))


# --- heatmap -----------------------------------------------------------------------------------


def test_heatmap_enlarges_small_maps_and_adds_a_legend() -> None:
    values = np.linspace(0, 1, 6 * 8, dtype=np.float32).reshape(6, 8)
    picture = heatmap_image(values)
    assert picture.mode == "RGB"
    factor = picture.width // 8
    assert picture.width == 8 * factor and factor > 1 and picture.height > 6 * factor
    pixels = np.asarray(picture)
    np.testing.assert_array_equal(pixels[0, 0], (68, 1, 84))  # viridis(0)
    np.testing.assert_array_equal(pixels[6 * factor - 1, 8 * factor - 1], (253, 231, 37))  # viridis(1)
    legend = pixels[6 * factor :]
    assert (legend == 0).all(axis=-1).any(), "legend text (black) missing"
    assert len({tuple(p) for p in legend.reshape(-1, 3)}) > 50, "colour bar missing"


def test_heatmap_keeps_large_maps_at_their_size() -> None:
    assert heatmap_image(np.zeros((300, 400), np.float32)).width == 400


# --- generate_pairs ------------------------------------------------------------------------------


@pytest.fixture
def hr_dir(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    folder = tmp_path / "hr"
    write_image(folder / "a.png", rng.random((37, 50, 3)))  # odd height: cropped to 36
    write_image(folder / "b.png", rng.random((24, 30, 1)), alpha=rng.random((24, 30)))  # grey + alpha
    return folder


def hr_paths(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.png"))


def run(networks, folder: Path, out: Path, tile: int = 16, **kwargs):
    return generate_pairs(
        networks, hr_paths(folder), out, scale=SCALE, tile=tile, device="cpu", progress=False, **kwargs
    )


def expected_lr(generator: nn.Module, path: Path) -> np.ndarray:
    pixels = np.asarray(Image.open(path).convert("RGB"), dtype=np.float32) / 255
    height, width = (pixels.shape[0] // SCALE) * SCALE, (pixels.shape[1] // SCALE) * SCALE
    hr = torch.from_numpy(pixels[:height, :width].transpose(2, 0, 1).copy())[None]
    with torch.no_grad():
        lr = generator.eval()(hr)[0].permute(1, 2, 0).numpy()
    return np.rint(np.clip(lr, 0, 1) * 255)


def temp_files(out: Path) -> list[Path]:
    return [path for path in out.rglob("*") if path.name.startswith(".")]


def test_writes_rounded_lr_maps_heatmaps_and_manifest(hr_dir: Path, tmp_path: Path) -> None:
    networks = toy_networks()
    out = tmp_path / "pairs"
    summary = run(networks, hr_dir, out)
    assert (summary.written, summary.skipped, summary.cropped) == (2, 0, 1)

    for stem, lr_size in (("a", (18, 25)), ("b", (12, 15))):
        with Image.open(out / "lr" / f"{stem}.png") as image:
            assert image.mode == "RGB" and image.format == "PNG"
            lr = np.asarray(image)
        assert lr.shape == (*lr_size, 3)
        difference = np.abs(lr.astype(np.float32) - expected_lr(networks[0], hr_dir / f"{stem}.png"))
        assert difference.max() <= 1 and (difference > 0).mean() < 0.01  # rounded, not truncated
        weights = np.load(out / "maps" / f"{stem}.npy")
        assert weights.dtype == np.float32 and weights.shape == lr_size
        saved = torch.from_numpy(lr.transpose(2, 0, 1).astype(np.float32) / 255)[None]
        recomputed = domain_distance_map(saved, networks[2], networks[1], tile=1000)[0, 0].numpy()
        np.testing.assert_allclose(weights, recomputed, atol=1e-6)  # map of the saved 8-bit LR
        with Image.open(out / "heatmaps" / f"{stem}.png") as image:
            assert image.width >= lr_size[1]

    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["scale"] == SCALE and manifest["map"]["filter"] == "wavelet"
    entries = {entry["stem"]: entry for entry in manifest["images"]}
    assert entries["a"]["hr_size"] == [37, 50] and entries["a"]["hr_size_used"] == [36, 50]
    assert entries["a"]["cropped"] and not entries["b"]["cropped"]
    assert entries["b"]["lr_size"] == [12, 15]
    weights = np.load(out / "maps" / "b.npy")
    assert entries["b"]["map_mean"] == pytest.approx(float(weights.mean()))
    assert entries["b"]["map_min"] <= entries["b"]["map_mean"] <= entries["b"]["map_max"]
    assert not temp_files(out)


def test_rerun_skips_finished_images(hr_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "pairs"
    run(toy_networks(), hr_dir, out)
    stamps = {path: path.stat().st_mtime_ns for path in out.rglob("*") if path.is_file()}
    (out / "heatmaps" / "b.png").unlink()
    summary = run(toy_networks(), hr_dir, out)
    assert (summary.written, summary.skipped) == (1, 1)
    assert (out / "lr" / "a.png").stat().st_mtime_ns == stamps[out / "lr" / "a.png"]
    assert (out / "heatmaps" / "b.png").exists()


def test_results_do_not_depend_on_the_tile_size(hr_dir: Path, tmp_path: Path) -> None:
    run(toy_networks(), hr_dir, tmp_path / "big", tile=1000)
    run(toy_networks(), hr_dir, tmp_path / "small", tile=3)
    for stem in ("a", "b"):
        big, small = (np.asarray(Image.open(tmp_path / name / "lr" / f"{stem}.png")) for name in ("big", "small"))
        assert (big != small).mean() < 0.01
        np.testing.assert_allclose(
            np.load(tmp_path / "big" / "maps" / f"{stem}.npy"),
            np.load(tmp_path / "small" / "maps" / f"{stem}.npy"),
            atol=1e-5,
        )


def test_interrupted_run_leaves_only_complete_files_and_resumes(
    hr_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "pairs"
    real_replace = os.replace
    calls = []

    def crash_on_fourth_rename(source, target):  # image a: map, heatmap, LR, manifest; then b's map
        calls.append(target)
        if len(calls) == 5:
            raise KeyboardInterrupt
        real_replace(source, target)

    monkeypatch.setattr(os, "replace", crash_on_fourth_rename)
    with pytest.raises(KeyboardInterrupt):
        run(toy_networks(), hr_dir, out)
    monkeypatch.setattr(os, "replace", real_replace)

    assert not temp_files(out)
    assert not (out / "maps" / "b.npy").exists() and not (out / "lr" / "b.png").exists()
    manifest = json.loads((out / "manifest.json").read_text())
    assert [entry["stem"] for entry in manifest["images"]] == ["a"]
    for path in (out / "lr" / "a.png", out / "heatmaps" / "a.png"):
        Image.open(path).load()
    np.load(out / "maps" / "a.npy")

    summary = run(toy_networks(), hr_dir, out)
    assert (summary.written, summary.skipped) == (1, 1)
    run(toy_networks(), hr_dir, tmp_path / "clean")
    for name in ("lr/b.png", "maps/b.npy", "heatmaps/b.png"):
        assert (out / name).read_bytes() == (tmp_path / "clean" / name).read_bytes()


def test_clashing_stems_fail_alone_and_the_rest_is_generated(hr_dir: Path, tmp_path: Path) -> None:
    """``a.png`` and ``a.jpg`` would both write ``lr/a.png``: both are left out and reported,
    ``b.png`` is generated as usual."""
    write_image(hr_dir / "a.jpg", np.zeros((8, 8, 3)))
    summary = generate_pairs(
        toy_networks(), sorted(hr_dir.iterdir()), tmp_path / "out", scale=SCALE, tile=16, device="cpu",
        progress=False,
    )
    assert summary.written == 1 and sorted(p.name for p in (tmp_path / "out" / "lr").iterdir()) == ["b.png"]
    assert {path.name: [other.name for other in others] for path, others in summary.clashing.items()} == {
        "a.jpg": ["a.png"], "a.png": ["a.jpg"]
    }


def test_fit_refuses_clashing_hr_stems_before_training(hr_dir: Path, tmp_path: Path) -> None:
    from dasr.pipeline.fit import FitData, make_generated_pairs

    write_image(hr_dir / "a.jpg", np.zeros((8, 8, 3)))
    with pytest.raises(DasrError, match=r"HR images '.*a\.(png|jpg)' and '.*a\.(png|jpg)' have one stem"):
        make_generated_pairs(load_config("paper", (), ()), FitData(sorted(hr_dir.iterdir()), []), tmp_path / "fit")
    assert not (tmp_path / "fit" / "dsn").exists()


def test_refuses_to_mix_outputs_of_another_dsn(hr_dir: Path, tmp_path: Path) -> None:
    run(toy_networks(seed=0), hr_dir, tmp_path / "pairs")
    with pytest.raises(DasrError, match="another DSN"):
        run(toy_networks(seed=1), hr_dir, tmp_path / "pairs")


def test_rejects_non_positive_tile(hr_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(DasrError, match="--tile"):
        run(toy_networks(), hr_dir, tmp_path / "pairs", tile=0)


# --- command line --------------------------------------------------------------------------------


def test_command_line(hr_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = load_config(
        "paper",
        overrides=[
            f"scale={SCALE}",
            "dsn.num_blocks=1",
            "dsn.num_features=4",
            "dsn.disc_features=4",
        ],
    )
    bundle = build_dsn_networks(config)
    checkpoint = tmp_path / "dsn.pth"
    save_checkpoint(
        checkpoint,
        {
            "format": DSN_CHECKPOINT,
            "config": config_to_dict(config),
            "params": bundle.generator.state_dict(),
            "discriminator": bundle.discriminator.state_dict(),
        },
    )
    out = tmp_path / "pairs"
    argv = [
        "generate",
        "--dsn",
        str(checkpoint),
        "--hr",
        str(hr_dir),
        "--out",
        str(out),
        "--device",
        "cpu",
        "--tile",
        "8",
    ]
    write_image(hr_dir / "c.png", np.zeros((16, 16, 3)))
    write_image(hr_dir / "c.jpg", np.zeros((16, 16, 3)))
    assert main(argv) == 1  # the two c files clash; a and b are generated
    captured = capsys.readouterr()
    assert "generated 2 pairs" in captured.out
    failed = [line for line in captured.err.splitlines() if line.startswith("dasr: failed: ")]
    assert len(failed) == 2 and all("lr/c.png" in line for line in failed)
    (hr_dir / "c.jpg").unlink()
    (hr_dir / "c.png").unlink()
    assert main(argv) == 0
    assert sorted(path.name for path in (out / "maps").iterdir()) == ["a.npy", "b.npy"]
    assert json.loads((out / "manifest.json").read_text())["dsn"]["source"] == str(checkpoint.resolve())
    assert main(argv) == 0
    assert "skipped 2" in capsys.readouterr().out
