"""The decode cache: a small data set is decoded once (per loader worker) and then served from
memory, within its byte budget, with exactly the samples an uncached run draws."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch

from dasr.data import paired, unpaired
from dasr.data.paired import Pair
from dasr.data.stage2 import Stage2Patches
from dasr.data.unpaired import ArrayCache, PatchOptions, UnpairedPatches, patch_batches
from tests.conftest import write_photo
from tests.helpers import write_block_pair


@pytest.fixture
def loads(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Every image decode and map load, logged as one ``pid path`` line to the returned file
    (a file, so that DataLoader worker processes, forked with the patch, log there too)."""
    log = tmp_path / "loads.log"

    def logged(load):
        def load_and_log(path, *args, **kwargs):
            with open(log, "a", encoding="utf-8") as handle:
                handle.write(f"{os.getpid()} {path}\n")
            return load(path, *args, **kwargs)

        return load_and_log

    monkeypatch.setattr(unpaired, "decode_image", logged(unpaired.decode_image))
    monkeypatch.setattr(paired, "_load_map", logged(paired._load_map))
    return log


def load_counts(log: Path) -> Counter[tuple[str, str]]:
    """How often each ``(process, file)`` was loaded."""
    if not log.exists():
        return Counter()
    return Counter(tuple(line.split(" ", 1)) for line in log.read_text(encoding="utf-8").splitlines())


@pytest.fixture
def stage2_files(tmp_path: Path) -> tuple[list[Pair], list[Path]]:
    """Three generated-style pairs at scale 2 (LR, HR, map) and three real-LR photos."""
    pairs = [write_block_pair(tmp_path, stem, (10, 12), 2, seed=k) for k, stem in enumerate("abc")]
    real_lr = [write_photo(tmp_path / "real" / f"{k}.png", (12, 11), seed=k) for k in range(3)]
    return pairs, real_lr


def stage2(files: tuple[list[Pair], list[Path]], cache_mb: int) -> Stage2Patches:
    pairs, real_lr = files
    return Stage2Patches(
        pairs=pairs,
        pair_hr_paths=None,
        real_lr_paths=real_lr,
        unpaired_hr_paths=[hr for _, hr, _ in pairs],
        options=PatchOptions(hr_patch=8, scale=2, seed=0, augment=True, small_images="pad", cache_mb=cache_mb),
    )


def unpaired_patches(hr: list[Path], lr: list[Path], cache_mb: int) -> UnpairedPatches:
    return UnpairedPatches(
        hr, lr, PatchOptions(hr_patch=16, scale=4, seed=0, augment=True, small_images="pad", cache_mb=cache_mb)
    )


def test_stage1_decodes_each_file_once_over_many_samples(photo_folders, loads: Path) -> None:
    hr = sorted(photo_folders["hr"].iterdir())
    lr = sorted(photo_folders["lr"].iterdir())
    dataset = unpaired_patches(hr, lr, cache_mb=64)
    for index in range(30):  # ten epochs of each set
        dataset[index]
    counts = load_counts(loads)
    assert sorted(path for _, path in counts) == sorted(str(path) for path in hr + lr)
    assert set(counts.values()) == {1}


def test_stage2_decodes_pairs_maps_real_lr_and_shared_hr_once(stage2_files, loads: Path) -> None:
    dataset = stage2(stage2_files, cache_mb=64)
    for index in range(30):
        dataset[index]
    counts = load_counts(loads)
    pairs, real_lr = stage2_files
    every_file = [str(path) for pair in pairs for path in pair] + [str(path) for path in real_lr]
    # The pairs' HR are also the unpaired HR: one cache serves both roles.
    assert sorted(path for _, path in counts) == sorted(every_file)
    assert set(counts.values()) == {1}


def test_without_budget_every_sample_decodes_again(stage2_files, loads: Path) -> None:
    dataset = stage2(stage2_files, cache_mb=0)
    for index in range(6):
        dataset[index]
    # Each sample reads a pair (LR, HR, map), a real LR and an unpaired HR.
    assert sum(load_counts(loads).values()) == 6 * 5


def test_cached_and_uncached_samples_are_identical(stage2_files) -> None:
    cached, uncached = stage2(stage2_files, cache_mb=64), stage2(stage2_files, cache_mb=0)
    for index in range(12):
        first, second = cached[index], uncached[index]
        assert first.keys() == second.keys()
        for key in first:
            assert first[key].dtype == torch.float32
            assert torch.equal(first[key], second[key]), (index, key)


def test_cache_keeps_arrays_within_its_budget_and_reloads_the_rest() -> None:
    arrays = {Path(name): np.zeros(100, np.uint8) for name in ("a", "b", "c")}
    loaded: list[Path] = []

    def load(path: Path) -> np.ndarray:
        loaded.append(path)
        return arrays[path]

    cache = ArrayCache(budget_bytes=250)  # room for two of the three
    for _ in range(3):
        for path in arrays:
            assert cache.get(path, load) is arrays[path]
    assert Counter(loaded) == {Path("a"): 1, Path("b"): 1, Path("c"): 3}


def test_each_loader_worker_decodes_each_file_once(photo_folders, loads: Path) -> None:
    hr = sorted(photo_folders["hr"].iterdir())
    lr = sorted(photo_folders["lr"].iterdir())
    batches = patch_batches(unpaired_patches(hr, lr, cache_mb=64), batch_size=2, start_batch=0, num_workers=2, seed=0)
    for _ in range(12):  # 24 samples: each worker draws from every file many times
        next(batches)
    del batches
    counts = load_counts(loads)
    workers = {pid for pid, _ in counts}
    assert len(workers) == 2 and str(os.getpid()) not in workers
    assert set(counts.values()) == {1}
    for worker in workers:
        assert {path for pid, path in counts if pid == worker} == {str(path) for path in hr + lr}
