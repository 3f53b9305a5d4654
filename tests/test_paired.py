"""Aligned pair sampling: crops that really align, seeded draws, and reading pair folders."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from dasr.data.image_io import write_image
from dasr.data.paired import (
    PairSource,
    generated_pairs,
    mean_map_value,
    real_pairs,
)
from dasr.data.unpaired import ArrayCache, PatchOptions
from dasr.errors import DasrError
from dasr.ops.frequency import FrequencyFilter
from dasr.ops.receptive_field import Geometry
from dasr.stage1_5_maps.generate import generate_pairs
from tests.helpers import weight_of, write_block_pair


def samples(patch: torch.Tensor) -> np.ndarray:
    """A (C, H, W) patch back to the integer (H, W, C) samples it was cut from."""
    return np.rint(patch.permute(1, 2, 0).numpy() * 255).astype(np.int64)


def block_average(hr: np.ndarray, scale: int) -> np.ndarray:
    height, width = hr.shape[0] // scale, hr.shape[1] // scale
    return hr.reshape(height, scale, width, scale, 3).mean(axis=(1, 3))


def locate(patch: np.ndarray, image: np.ndarray) -> list[tuple[int, int]]:
    """The (top, left) positions where ``patch`` is an unflipped window of ``image``."""
    windows = np.lib.stride_tricks.sliding_window_view(image, patch.shape)[:, :, 0]
    return [
        tuple(position) for position in np.argwhere(np.all(windows == patch, axis=(-3, -2, -1)))
    ]


def check_aligned(sample: dict[str, torch.Tensor], scale: int) -> None:
    lr, hr = samples(sample["lr"]), samples(sample["hr"])
    np.testing.assert_array_equal(block_average(hr, scale), lr)
    np.testing.assert_array_equal(sample["weight"][0].numpy(), weight_of(lr))


class PairSamples:
    """Sample ``i`` of one pair list as the stage-2 sampler draws it from its ``PairSource``."""

    def __init__(self, source: PairSource) -> None:
        self.source = source

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        return self.source.sample(index)


def dataset(
    pairs, *, hr_patch=8, scale=2, seed=0, stream=0, augment=True, small_images="pad", cache_mb=64
) -> PairSamples:
    options = PatchOptions(hr_patch, scale, seed, augment, small_images, cache_mb)
    return PairSamples(PairSource(pairs, stream, options, ArrayCache(cache_mb * 2**20)))


@pytest.mark.parametrize("scale", [1, 2, 4])
@pytest.mark.parametrize("augment", [False, True])
def test_lr_hr_and_map_crops_align(tmp_path: Path, scale: int, augment: bool) -> None:
    pairs = [
        write_block_pair(tmp_path, "a", (7, 9), scale, seed=1),
        write_block_pair(tmp_path, "b", (6, 5), scale, seed=2, extra=scale - 1),
    ]
    patches = dataset(pairs, hr_patch=4 * scale, scale=scale, augment=augment)
    for index in range(16):
        sample = patches[index]
        assert sample["lr"].shape == (3, 4, 4) and sample["hr"].shape == (3, 4 * scale, 4 * scale)
        assert sample["weight"].shape == (1, 4, 4) and sample["weight"].dtype == torch.float32
        check_aligned(sample, scale)


def test_augmentation_flips_and_rotates(tmp_path: Path) -> None:
    pair = write_block_pair(tmp_path, "a", (9, 9), 2, seed=1)
    image = np.asarray(Image.open(pair[0]), dtype=np.int64)
    plain, augmented = dataset([pair], augment=False), dataset([pair], augment=True)
    assert all(locate(samples(plain[index]["lr"]), image) for index in range(16))
    assert not all(locate(samples(augmented[index]["lr"]), image) for index in range(16))


def test_weight_is_ones_without_a_map(tmp_path: Path) -> None:
    lr, hr, _ = write_block_pair(tmp_path, "a", (5, 6), 2, seed=1)
    sample = dataset([(lr, hr, None)])[3]
    assert torch.equal(sample["weight"], torch.ones(1, 4, 4))
    np.testing.assert_array_equal(block_average(samples(sample["hr"]), 2), samples(sample["lr"]))


def test_mean_map_value_is_the_pixel_mean_over_all_maps(tmp_path: Path) -> None:
    a = write_block_pair(tmp_path, "a", (5, 6), 2, seed=1)
    b = write_block_pair(tmp_path, "b", (3, 4), 2, seed=2)
    lr_c, hr_c, _ = write_block_pair(tmp_path, "c", (2, 2), 2, seed=3)
    maps = [np.load(a[2]), np.load(b[2])]
    # Pixel-weighted: the larger map counts more, a pair without a map counts as 4 ones.
    expected = (maps[0].sum(dtype=np.float64) + maps[1].sum(dtype=np.float64) + 4) / (30 + 12 + 4)
    assert mean_map_value([a, b, (lr_c, hr_c, None)]) == pytest.approx(expected, rel=1e-12)


def test_mean_map_value_refuses_all_zero_maps(tmp_path: Path) -> None:
    lr, hr, map_path = write_block_pair(tmp_path, "a", (5, 6), 2, seed=1)
    np.save(map_path, np.zeros((5, 6), np.float32))
    with pytest.raises(DasrError, match="map_normalization=dataset: the domain-distance maps are all zero"):
        mean_map_value([(lr, hr, map_path)])


def test_weight_scale_multiplies_the_map_only(tmp_path: Path) -> None:
    pair = write_block_pair(tmp_path, "a", (7, 9), 2, seed=1)
    options = PatchOptions(hr_patch=8, scale=2, seed=0, augment=True, small_images="pad", cache_mb=1)
    plain = PairSource([pair], 0, options, ArrayCache(2**20)).sample(5)
    scaled = PairSource([pair], 0, options, ArrayCache(2**20), weight_scale=2.5).sample(5)
    assert torch.equal(plain["lr"], scaled["lr"]) and torch.equal(plain["hr"], scaled["hr"])
    torch.testing.assert_close(scaled["weight"], plain["weight"] * 2.5)


def test_small_pairs_are_mirror_padded_in_alignment(tmp_path: Path) -> None:
    pair = write_block_pair(tmp_path, "a", (2, 3), 2, seed=1)
    with pytest.warns(UserWarning, match=rf"paired LR image '{pair[0]}' \(3x2\) .* reflect-padded"):
        patches = dataset([pair], hr_patch=8)
    for index in range(4):
        check_aligned(patches[index], 2)


def test_small_pairs_are_skipped_with_a_warning(tmp_path: Path) -> None:
    small = write_block_pair(tmp_path, "small", (3, 3), 2, seed=1)
    large = write_block_pair(tmp_path, "large", (4, 5), 2, seed=2)
    with pytest.warns(UserWarning, match=r"\(3x3\) is smaller than the 4x4 patch: left out"):
        patches = dataset([small, large], small_images="skip", augment=False)
    large_image = np.asarray(Image.open(large[0]), dtype=np.int64)
    assert all(locate(samples(patches[index]["lr"]), large_image) for index in range(4))
    with (
        pytest.warns(UserWarning),
        pytest.raises(DasrError, match="no paired LR image is at least 4x4"),
    ):
        dataset([small], small_images="skip")


def test_samples_are_a_function_of_seed_stream_and_index(tmp_path: Path) -> None:
    pairs = [write_block_pair(tmp_path, stem, (6, 7), 2, seed=k) for k, stem in enumerate("abc")]
    first, again, uncached = dataset(pairs), dataset(pairs), dataset(pairs, cache_mb=0)
    other_stream, other_seed = dataset(pairs, stream=1), dataset(pairs, seed=1)
    for index in (0, 4, 1000):
        for key in ("lr", "hr", "weight"):
            assert torch.equal(first[index][key], again[index][key])
            assert torch.equal(first[index][key], uncached[index][key])
        assert not torch.equal(first[index]["hr"], first[index + 1]["hr"])
        assert not torch.equal(first[index]["hr"], other_stream[index]["hr"])
        assert not torch.equal(first[index]["hr"], other_seed[index]["hr"])


@pytest.mark.parametrize("hr_lr_size", [(5, 6), (8, 6), (6, 8)])
def test_hr_must_be_scale_times_the_lr(tmp_path: Path, hr_lr_size: tuple[int, int]) -> None:
    lr, _, weight_map = write_block_pair(tmp_path, "a", hr_lr_size, 2, seed=1)
    _, hr, _ = write_block_pair(tmp_path / "other", "a", (6, 6), 2, seed=1, extra=1)  # 13x13
    with pytest.raises(DasrError) as error:
        dataset([(lr, hr, weight_map)])
    assert str(error.value) == (
        f"HR image '{hr}' (13x13) does not match LR image '{lr}' "
        f"({hr_lr_size[1]}x{hr_lr_size[0]}) at scale 2: expected "
        f"{hr_lr_size[1] * 2}x{hr_lr_size[0] * 2}"
    )


def test_map_must_match_the_lr(tmp_path: Path) -> None:
    lr, hr, weight_map = write_block_pair(tmp_path, "a", (5, 6), 2, seed=1)
    np.save(weight_map, np.zeros((6, 5), np.float32))
    with pytest.raises(
        DasrError, match=rf"map '{weight_map}' has shape \(6, 5\), not the \(5, 6\)"
    ):
        dataset([(lr, hr, weight_map)])
    weight_map.write_text("not an array")
    with pytest.raises(DasrError, match=rf"cannot read map '{weight_map}': not a NumPy array file"):
        dataset([(lr, hr, weight_map)])
    with pytest.raises(DasrError, match="cannot read map .*: No such file"):
        dataset([(lr, hr, tmp_path / "missing.npy")])


# --- generated pairs: a `dasr generate` folder ---------------------------------------------------


class _BlockAverage(nn.Module):
    """A DSN that is exactly the block average (with the tiling contract generate needs)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.avg_pool2d(x, 2)

    def tile_alignment(self) -> int:
        return 2

    def context(self) -> int:
        return 0


class _Discriminator(nn.Conv2d):
    def __init__(self) -> None:
        super().__init__(3, 1, 3, padding=1)

    def geometry(self) -> Geometry:
        return Geometry(3, 1, 1)


@pytest.fixture
def generated(tmp_path: Path) -> tuple[Path, list[Path]]:
    """A `dasr generate` folder at scale 2 made from 3 HR images (one cropped), and 4 HR paths."""
    sizes = {"a": (6, 7, 0), "b": (5, 8, 1), "c": (7, 5, 0), "d": (6, 6, 0)}
    hr = [
        write_block_pair(tmp_path, stem, size[:2], 2, seed=k, extra=size[2])[1]
        for k, (stem, size) in enumerate(sizes.items())
    ]
    torch.manual_seed(0)
    networks = (_BlockAverage(), _Discriminator(), FrequencyFilter("rgb"))
    generate_pairs(
        networks, hr[:3], tmp_path / "pairs", scale=2, tile=64, device="cpu", progress=False
    )
    return tmp_path / "pairs", hr


def test_generated_pairs_follow_the_manifest(generated) -> None:
    pairs_dir, hr = generated
    with pytest.warns(
        UserWarning, match=rf"has no pair for 1 of the --hr images \(first '{hr[3]}'\)"
    ):
        pairs = generated_pairs(pairs_dir, hr, scale=2)
    assert pairs == [
        (pairs_dir / "lr" / f"{path.stem}.png", path, pairs_dir / "maps" / f"{path.stem}.npy")
        for path in hr[:3]
    ]
    patches = dataset(pairs, augment=False)
    for index in range(9):
        sample = patches[index]
        lr = samples(sample["lr"])
        np.testing.assert_array_equal(block_average(samples(sample["hr"]), 2), lr)
        matches = [
            (pair, position)
            for pair in pairs
            for position in locate(lr, np.asarray(Image.open(pair[0]), dtype=np.int64))
        ]
        assert len(matches) == 1
        (_, _, map_path), (top, left) = matches[0]
        np.testing.assert_array_equal(
            sample["weight"][0].numpy(), np.load(map_path)[top : top + 4, left : left + 4]
        )


def test_generated_pairs_need_every_hr_partner(generated) -> None:
    pairs_dir, hr = generated
    with pytest.raises(
        DasrError,
        match=rf"^--hr: no image named 'b\.\*' to pair with '{pairs_dir / 'lr' / 'b.png'}'$",
    ):
        generated_pairs(pairs_dir, [hr[0], hr[2]], scale=2)
    with pytest.raises(DasrError, match=r"no image named 'a\.\*' .* \(and 2 more\)"):
        generated_pairs(pairs_dir, hr[3:], scale=2)


def test_generated_pairs_need_the_same_hr_images(generated) -> None:
    pairs_dir, hr = generated
    write_image(hr[1], np.zeros((4, 4, 3), np.float32))
    with pytest.raises(
        DasrError, match=rf"--hr: '{hr[1]}' is 4x4 but the pair 'b' .* from a 17x11 image"
    ):
        generated_pairs(pairs_dir, hr[:3], scale=2)


def test_generated_pairs_need_the_listed_files(generated) -> None:
    pairs_dir, hr = generated
    (pairs_dir / "maps" / "c.npy").unlink()
    with pytest.raises(
        DasrError, match=rf"^--pairs: '{pairs_dir / 'maps' / 'c.npy'}' is listed in .* but missing"
    ):
        generated_pairs(pairs_dir, hr[:3], scale=2)


def test_generated_pairs_need_a_current_manifest_of_the_scale(generated) -> None:
    pairs_dir, hr = generated
    manifest = pairs_dir / "manifest.json"
    with pytest.raises(
        DasrError,
        match=rf"^--pairs: the pairs in '{pairs_dir}' were made at scale 2, not at scale 4$",
    ):
        generated_pairs(pairs_dir, hr[:3], scale=4)

    content = json.loads(manifest.read_text())
    for entry in content["images"]:
        del entry["hr_size"]
    manifest.write_text(json.dumps(content))
    with pytest.raises(
        DasrError, match=rf"^--pairs: '{manifest}' is not a manifest of this dasr version's pairs"
    ):
        generated_pairs(pairs_dir, hr[:3], scale=2)
    manifest.write_bytes(b"\xff\xfe{")
    with pytest.raises(DasrError, match="is not a manifest"):
        generated_pairs(pairs_dir, hr[:3], scale=2)

    manifest.write_text(json.dumps(content | {"images": []}))
    with pytest.raises(DasrError, match="lists no finished pair; run dasr generate"):
        generated_pairs(pairs_dir, hr[:3], scale=2)

    manifest.unlink()
    with pytest.raises(
        DasrError,
        match=rf"^--pairs: '{pairs_dir}' has no manifest.json; make the pairs with dasr generate",
    ):
        generated_pairs(pairs_dir, hr[:3], scale=2)


def test_generated_pairs_refuse_two_hr_images_of_one_name(generated) -> None:
    pairs_dir, hr = generated
    twin = hr[0].with_suffix(".jpg")
    with pytest.raises(DasrError, match=rf"--hr: '{hr[0]}' and '{twin}' have the same name"):
        generated_pairs(pairs_dir, hr + [twin], scale=2)


# --- real pairs: supervised training -------------------------------------------------------------


def test_real_pairs_match_by_name(tmp_path: Path) -> None:
    a = write_block_pair(tmp_path, "a", (4, 4), 2, seed=1)
    b = write_block_pair(tmp_path, "b", (4, 4), 2, seed=2)
    jpeg_hr = b[1].with_suffix(".jpg")
    assert real_pairs([a[0], b[0]], [jpeg_hr, a[1]]) == [(a[0], a[1], None), (b[0], jpeg_hr, None)]
    with pytest.raises(
        DasrError, match=rf"^--paired-hr: no image named 'b\.\*' to pair with '{b[0]}'$"
    ):
        real_pairs([a[0], b[0]], [a[1]])
    with pytest.raises(DasrError, match=rf"^--paired-lr: no image named 'b\.\*' to pair with '{b[1]}'$"):
        real_pairs([a[0]], [a[1], b[1]])
