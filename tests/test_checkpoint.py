"""Atomic checkpoints: exact round trips, safe loading and the random-number state."""

from __future__ import annotations

import os
import random
import threading
from pathlib import Path

import numpy as np
import pytest
import torch

from dasr.errors import DasrError
from dasr.files.atomic import atomic_write
from dasr.files.checkpoint import (
    capture_rng_state,
    load_checkpoint,
    restore_rng_state,
    save_checkpoint,
)


class Unsafe:
    """A class that a weights-only load must refuse to construct."""


def trained_model_and_optimizer() -> tuple[torch.nn.Module, torch.optim.Optimizer]:
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 3), torch.nn.PReLU(), torch.nn.Conv2d(4, 1, 1)
    )
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.5, 0.999))
    for _ in range(2):
        optimizer.zero_grad()
        model(torch.rand(2, 3, 8, 8)).square().mean().backward()
        optimizer.step()
    return model, optimizer


def draws() -> tuple[float, float, torch.Tensor]:
    return random.random(), float(np.random.standard_normal()), torch.rand(4)


def test_model_and_optimizer_state_round_trip_exactly(tmp_path: Path) -> None:
    model, optimizer = trained_model_and_optimizer()
    save_checkpoint(
        tmp_path / "last.pth",
        {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "iteration": 7},
    )
    state = load_checkpoint(tmp_path / "last.pth")
    assert state["iteration"] == 7
    for name, tensor in model.state_dict().items():
        assert torch.equal(state["model"][name], tensor)
    restored = torch.optim.Adam(trained_model_and_optimizer()[0].parameters())
    restored.load_state_dict(state["optimizer"])
    for original, loaded in zip(
        optimizer.state_dict()["state"].values(),
        restored.state_dict()["state"].values(),
        strict=True,
    ):
        assert all(torch.equal(original[key], loaded[key]) for key in original)
    assert restored.param_groups[0]["betas"] == (0.5, 0.999)
    assert [p.name for p in tmp_path.iterdir()] == ["last.pth"]


def test_rng_restore_reproduces_the_same_draws(tmp_path: Path) -> None:
    np.random.standard_normal()  # leave numpy with a cached Gaussian, part of its state
    save_checkpoint(tmp_path / "rng.pth", {"rng": capture_rng_state()})
    expected = draws()
    draws()
    restore_rng_state(load_checkpoint(tmp_path / "rng.pth")["rng"])
    got = draws()
    assert got[:2] == expected[:2] and torch.equal(got[2], expected[2])


def test_rng_state_holds_no_numpy_arrays() -> None:
    def leaves(value: object) -> list[object]:
        if isinstance(value, dict):
            return [leaf for item in value.values() for leaf in leaves(item)]
        if isinstance(value, (list, tuple)):
            return [leaf for item in value for leaf in leaves(item)]
        return [value]

    assert not any(
        isinstance(leaf, np.ndarray | np.generic) for leaf in leaves(capture_rng_state())
    )


def test_a_failed_save_keeps_the_previous_file(tmp_path: Path) -> None:
    path = tmp_path / "last.pth"
    save_checkpoint(path, {"iteration": 1})
    with pytest.raises(TypeError):
        save_checkpoint(path, {"lock": threading.Lock()})  # not picklable
    assert load_checkpoint(path) == {"iteration": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["last.pth"]


def test_atomic_write_replaces_only_on_success(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    with atomic_write(path, "w") as handle:
        handle.write("old")
    with pytest.raises(RuntimeError), atomic_write(path, "w") as handle:
        handle.write("new")
        raise RuntimeError("interrupted")
    assert path.read_text() == "old" and len(list(tmp_path.iterdir())) == 1


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
def test_atomic_files_get_ordinary_permissions(tmp_path: Path) -> None:
    umask = os.umask(0o022)
    os.umask(umask)
    save_checkpoint(tmp_path / "last.pth", {})
    assert (tmp_path / "last.pth").stat().st_mode & 0o777 == 0o666 & ~umask


def test_files_that_would_run_code_are_refused(tmp_path: Path) -> None:
    torch.save({"model": Unsafe()}, tmp_path / "unsafe.pth")
    with pytest.raises(
        DasrError,
        match=r"'.*unsafe.pth' was refused for safety: loading it would run code from '.*Unsafe'",
    ):
        load_checkpoint(tmp_path / "unsafe.pth")


def test_missing_and_corrupt_files_are_named(tmp_path: Path) -> None:
    with pytest.raises(DasrError, match=r"checkpoint '.*absent.pth' does not exist"):
        load_checkpoint(tmp_path / "absent.pth")
    save_checkpoint(tmp_path / "whole.pth", {"x": torch.zeros(1000)})
    data = (tmp_path / "whole.pth").read_bytes()
    (tmp_path / "cut.pth").write_bytes(data[: len(data) // 2])
    (tmp_path / "noise.pth").write_bytes(bytes(range(256)) * 4)
    (tmp_path / "empty.pth").write_bytes(b"")
    for name in ("cut.pth", "noise.pth", "empty.pth"):
        with pytest.raises(
            DasrError, match=rf"checkpoint '.*{name}' (is corrupt|is empty or truncated)"
        ):
            load_checkpoint(tmp_path / name)
    torch.save([1, 2], tmp_path / "list.pth")
    with pytest.raises(DasrError, match=r"holds a list, not a dict"):
        load_checkpoint(tmp_path / "list.pth")
