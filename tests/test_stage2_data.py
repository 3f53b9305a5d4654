"""Stage-2 sampling: the roles of each mode, their independence, workers and resuming."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from dasr.data.image_io import write_image
from dasr.data.paired import Pair, real_pairs
from dasr.data.stage2 import Stage2Patches
from dasr.data.unpaired import PatchOptions, patch_batches
from tests.helpers import write_block_pair

PAIR_KEYS = {"pair_lr": (3, 4, 4), "pair_hr": (3, 8, 8), "pair_weight": (1, 4, 4)}
UNPAIRED_KEYS = {"real_lr": (3, 4, 4), "unpaired_hr": (3, 8, 8)}


@pytest.fixture
def data(tmp_path: Path) -> tuple[list[Pair], list[Path]]:
    """Three generated-style pairs at scale 2 (with maps) and four real-LR images."""
    pairs = [write_block_pair(tmp_path, stem, (5, 6), 2, seed=k) for k, stem in enumerate("abc")]
    rng = np.random.default_rng(9)
    real_lr = [tmp_path / "real" / f"{k}.png" for k in range(4)]
    for path in real_lr:
        write_image(path, rng.random((6, 7, 3)).astype(np.float32))
    return pairs, real_lr


def stage2(**roles) -> Stage2Patches:
    options = dict(
        pairs=None,
        pair_hr_paths=None,
        real_lr_paths=None,
        unpaired_hr_paths=None,
        options=PatchOptions(hr_patch=8, scale=2, seed=0, augment=True, small_images="pad", cache_mb=64),
    )
    return Stage2Patches(**(options | roles))


def shapes(sample: dict[str, torch.Tensor]) -> dict[str, tuple[int, ...]]:
    return {key: tuple(value.shape) for key, value in sample.items()}


def test_generated_mode_draws_pairs_real_lr_and_unpaired_hr(data) -> None:
    pairs, real_lr = data
    patches = stage2(
        pairs=pairs, real_lr_paths=real_lr, unpaired_hr_paths=[hr for _, hr, _ in pairs]
    )
    sample = patches[5]
    assert shapes(sample) == PAIR_KEYS | UNPAIRED_KEYS
    assert all(value.dtype == torch.float32 for value in sample.values())
    hr = sample["pair_hr"].reshape(3, 4, 2, 4, 2).mean(dim=(2, 4))
    torch.testing.assert_close(hr, sample["pair_lr"], atol=0.5 / 255, rtol=0)


def test_bicubic_mode_draws_hr_crops_for_the_trainer_to_downscale(data) -> None:
    pairs, real_lr = data
    hr = [hr for _, hr, _ in pairs]
    patches = stage2(pair_hr_paths=hr, real_lr_paths=real_lr, unpaired_hr_paths=hr)
    samples = [patches[index] for index in range(6)]
    assert shapes(samples[0]) == {"pair_hr": (3, 8, 8)} | UNPAIRED_KEYS
    # Same files, independent streams: the unpaired HR is not the pair's HR.
    assert not any(torch.equal(sample["pair_hr"], sample["unpaired_hr"]) for sample in samples)


def test_supervised_mode_draws_only_real_pairs(data) -> None:
    pairs, _ = data
    sample = stage2(pairs=real_pairs([lr for lr, _, _ in pairs], [hr for _, hr, _ in pairs]))[2]
    assert shapes(sample) == PAIR_KEYS
    assert torch.equal(sample["pair_weight"], torch.ones(1, 4, 4))


def test_each_role_draws_the_same_whatever_else_is_drawn(data) -> None:
    pairs, real_lr = data
    hr = [hr for _, hr, _ in pairs]
    everything = stage2(pairs=pairs, real_lr_paths=real_lr, unpaired_hr_paths=hr)
    pairs_only = stage2(pairs=pairs)
    bicubic = stage2(pair_hr_paths=hr, real_lr_paths=real_lr, unpaired_hr_paths=hr)
    for index in (0, 7, 100):
        for key in PAIR_KEYS:
            assert torch.equal(everything[index][key], pairs_only[index][key])
        for key in UNPAIRED_KEYS:
            assert torch.equal(everything[index][key], bicubic[index][key])


def test_pairs_or_bicubic_hr_exactly_one(data) -> None:
    pairs, _ = data
    with pytest.raises(ValueError, match="exactly one of pairs and pair_hr_paths"):
        stage2()
    with pytest.raises(ValueError, match="exactly one of pairs and pair_hr_paths"):
        stage2(pairs=pairs, pair_hr_paths=[hr for _, hr, _ in pairs])


def test_batches_are_the_same_with_workers_and_when_resumed(data) -> None:
    pairs, real_lr = data
    patches = stage2(
        pairs=pairs, real_lr_paths=real_lr, unpaired_hr_paths=[hr for _, hr, _ in pairs]
    )

    def take(start_batch: int, num_workers: int, count: int) -> list[dict[str, torch.Tensor]]:
        batches = patch_batches(
            patches, batch_size=2, start_batch=start_batch, num_workers=num_workers, seed=0
        )
        return [next(batches) for _ in range(count)]

    rng_state = torch.get_rng_state()
    single, workers, resumed = take(0, 0, 4), take(0, 2, 4), take(2, 0, 2)
    assert torch.equal(torch.get_rng_state(), rng_state)
    for batch, expected in enumerate(single):
        assert set(expected) == set(PAIR_KEYS) | set(UNPAIRED_KEYS)
        for key, value in expected.items():
            assert torch.equal(value, torch.stack([patches[2 * batch + k][key] for k in range(2)]))
            assert torch.equal(workers[batch][key], value)
            if batch >= 2:
                assert torch.equal(resumed[batch - 2][key], value)
