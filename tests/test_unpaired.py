"""Unpaired patch sampling: shapes, sources, seeded determinism, epochs, workers, resuming."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from dasr.data.image_io import write_image
from dasr.data.unpaired import PatchOptions, UnpairedPatches, patch_batches
from dasr.errors import DasrError


def _save(path: Path, samples: np.ndarray, alpha: np.ndarray | None = None) -> Path:
    write_image(path, samples.astype(np.float32) / 255, alpha=alpha)
    return path


def _textured(folder: Path, count: int, height: int, width: int, seed: int) -> list[Path]:
    rng = np.random.default_rng(seed)
    folder.mkdir(exist_ok=True)
    return [
        _save(folder / f"{k}.png", rng.integers(0, 256, (height, width, 3))) for k in range(count)
    ]


def _constant(folder: Path, levels: list[int], height: int, width: int) -> list[Path]:
    folder.mkdir(exist_ok=True)
    return [
        _save(folder / f"{level}.png", np.full((height, width, 3), level)) for level in levels
    ]


def _dataset(hr: list[Path], lr: list[Path], **overrides) -> UnpairedPatches:
    options = dict(hr_patch=8, scale=2, seed=0, augment=True, small_images="pad", cache_mb=64)
    return UnpairedPatches(hr, lr, PatchOptions(**(options | overrides)))


def _level(patch: torch.Tensor) -> int:
    """The grey level of a patch cut from a constant image."""
    assert torch.all(patch == patch.flatten()[0])
    return round(patch.flatten()[0].item() * 255)


def _samples(patch: torch.Tensor) -> np.ndarray:
    """A (3, P, P) patch back to the uint8 (P, P, 3) samples it was cut from."""
    return np.rint(patch.permute(1, 2, 0).numpy() * 255).astype(np.uint8)


def _is_crop_of(patch: torch.Tensor, paths: list[Path]) -> bool:
    """Whether some flip/rotation of the square ``patch`` is a window of one of the images."""
    crop = _samples(patch)
    variants = [np.rot90(crop, turns)[:, ::flip] for turns in range(4) for flip in (1, -1)]
    for path in paths:
        windows = np.lib.stride_tricks.sliding_window_view(np.asarray(Image.open(path)), crop.shape)
        if any(np.all(windows == variant, axis=(-3, -2, -1)).any() for variant in variants):
            return True
    return False


@pytest.fixture
def folders(tmp_path: Path) -> tuple[list[Path], list[Path]]:
    hr = _textured(tmp_path / "hr", 3, 20, 24, seed=1)
    return hr, _textured(tmp_path / "lr", 4, 10, 12, seed=2)


def test_patches_come_from_their_own_folders(folders) -> None:
    hr, lr = folders
    dataset = _dataset(hr, lr)
    for index in range(12):
        sample = dataset[index]
        assert sample["hr"].shape == (3, 8, 8) and sample["hr"].dtype == torch.float32
        assert sample["lr"].shape == (3, 4, 4) and sample["lr"].dtype == torch.float32
        assert _is_crop_of(sample["hr"], hr) and not _is_crop_of(sample["hr"], lr)
        assert _is_crop_of(sample["lr"], lr) and not _is_crop_of(sample["lr"], hr)


def test_samples_are_a_function_of_seed_and_index(folders) -> None:
    hr, lr = folders
    first, second, other_seed = _dataset(hr, lr), _dataset(hr, lr), _dataset(hr, lr, seed=1)
    for index in (0, 5, 1000):
        for key in ("hr", "lr"):
            assert torch.equal(first[index][key], second[index][key])
            assert not torch.equal(first[index][key], first[index + 1][key])
            assert not torch.equal(first[index][key], other_seed[index][key])


def test_cache_budget_does_not_change_samples(folders) -> None:
    hr, lr = folders
    cached, uncached = _dataset(hr, lr), _dataset(hr, lr, cache_mb=0)
    for index in range(6):
        assert torch.equal(cached[index]["hr"], uncached[index]["hr"])
        assert torch.equal(cached[index]["lr"], uncached[index]["lr"])


def test_each_image_once_per_epoch_with_independent_orders(tmp_path: Path) -> None:
    hr_levels, lr_levels = [10, 20, 30], [40, 50, 60, 70]
    dataset = _dataset(
        _constant(tmp_path / "hr", hr_levels, 8, 8),
        _constant(tmp_path / "lr", lr_levels, 4, 4),
        augment=False,
    )
    hr_orders = [[_level(dataset[e * 3 + k]["hr"]) for k in range(3)] for e in range(4)]
    lr_orders = [[_level(dataset[e * 4 + k]["lr"]) for k in range(4)] for e in range(4)]
    assert all(sorted(order) == hr_levels for order in hr_orders)
    assert all(sorted(order) == lr_levels for order in lr_orders)
    assert len({tuple(order) for order in hr_orders}) > 1
    assert len({tuple(order) for order in lr_orders}) > 1


def test_grey_and_alpha_images_become_rgb(tmp_path: Path) -> None:
    grey = _save(tmp_path / "grey.png", np.arange(64).reshape(8, 8, 1))
    rgba = _save(tmp_path / "rgba.png", np.full((4, 4, 3), 9), alpha=np.zeros((4, 4), np.float32))
    sample = _dataset([grey], [rgba])[0]
    assert sample["hr"].shape == (3, 8, 8) and sample["lr"].shape == (3, 4, 4)
    assert torch.equal(sample["hr"][0], sample["hr"][2])
    assert _level(sample["lr"]) == 9


def test_small_images_are_reflect_padded_with_a_warning(tmp_path: Path) -> None:
    small = _textured(tmp_path / "hr", 1, 5, 6, seed=3)
    lr = _constant(tmp_path / "lr", [40], 4, 4)
    with pytest.warns(UserWarning, match=rf"HR image '{small[0]}' \(6x5\) .* reflect-padded"):
        dataset = _dataset(small, lr, augment=False)
    padded = np.pad(np.asarray(Image.open(small[0])), ((1, 2), (1, 1), (0, 0)), mode="reflect")
    np.testing.assert_array_equal(_samples(dataset[0]["hr"]), padded)


def test_small_images_are_skipped_with_a_warning(tmp_path: Path) -> None:
    hr = _constant(tmp_path / "hr", [10], 5, 5) + _constant(tmp_path / "hr", [200], 8, 9)
    lr = _constant(tmp_path / "lr", [40], 3, 3) + _constant(tmp_path / "lr", [50], 4, 4)
    with pytest.warns(UserWarning) as warned:
        dataset = _dataset(hr, lr, small_images="skip")
    assert [str(warning.message) for warning in warned] == [
        f"HR image '{hr[0]}' (5x5) is smaller than the 8x8 patch: left out",
        f"real LR image '{lr[0]}' (3x3) is smaller than the 4x4 patch: left out",
    ]
    assert {_level(dataset[index]["hr"]) for index in range(5)} == {200}
    assert {_level(dataset[index]["lr"]) for index in range(5)} == {50}

    with pytest.warns(UserWarning), pytest.raises(DasrError, match="no HR image is at least 8x8"):
        _dataset(hr[:1], lr, small_images="skip")


def test_patch_size_must_be_a_multiple_of_scale(folders) -> None:
    with pytest.raises(DasrError, match="patch size 9 must be a positive multiple of scale 2"):
        _dataset(*folders, hr_patch=9)


def _take(batches, count: int) -> list[dict[str, torch.Tensor]]:
    return [next(batches) for _ in range(count)]


def test_batches_are_the_same_with_workers_and_when_resumed(folders) -> None:
    dataset = _dataset(*folders)
    rng_state = torch.get_rng_state()
    single = _take(patch_batches(dataset, batch_size=3, start_batch=0, num_workers=0, seed=0), 4)
    workers = _take(patch_batches(dataset, batch_size=3, start_batch=0, num_workers=2, seed=0), 4)
    resumed = _take(patch_batches(dataset, batch_size=3, start_batch=2, num_workers=0, seed=0), 2)
    assert torch.equal(torch.get_rng_state(), rng_state)

    for batch, expected in enumerate(single):
        samples = [dataset[index] for index in range(batch * 3, batch * 3 + 3)]
        for key in ("hr", "lr"):
            assert torch.equal(expected[key], torch.stack([sample[key] for sample in samples]))
            assert torch.equal(workers[batch][key], expected[key])
    for key in ("hr", "lr"):
        assert torch.equal(resumed[0][key], single[2][key])
        assert torch.equal(resumed[1][key], single[3][key])
