"""A full disk while a run writes: the previous checkpoint and outputs stay intact, the message
says the disk is full, and the same command continues once there is room."""

from __future__ import annotations

import errno
import os

import pytest

from dasr.cli.main import main
from dasr.errors import DasrError
from dasr.files import atomic
from dasr.files.checkpoint import load_checkpoint, save_checkpoint
from tests.conftest import TINY_DSN


def fill_disk_after(monkeypatch, writes: int) -> None:
    """Let ``writes`` atomic writes succeed, then fail every fsync with ENOSPC, as a full disk does."""
    real_fsync, count = os.fsync, [0]

    def fsync(fd: int) -> None:
        count[0] += 1
        if count[0] > writes:
            raise OSError(errno.ENOSPC, "No space left on device")
        real_fsync(fd)

    monkeypatch.setattr(atomic.os, "fsync", fsync)


def test_a_failed_write_keeps_the_previous_file_and_leaves_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "last.pth"
    save_checkpoint(path, {"iteration": 1})
    fill_disk_after(monkeypatch, 0)
    with pytest.raises(DasrError, match=r"^the disk is full while writing '.*last.pth'; the previous files are intact"):
        save_checkpoint(path, {"iteration": 2})
    assert load_checkpoint(path) == {"iteration": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last.pth"]


def test_training_stopped_by_a_full_disk_says_so_and_resumes(photo_folders, tmp_path, monkeypatch, capsys):
    out = tmp_path / "run"
    sets = [item for setting in TINY_DSN for item in ("--set", setting)]
    argv = ["train-dsn", "--hr", str(photo_folders["hr"]), "--lr", str(photo_folders["lr"]), "--scale", "4",
            "--out", str(out), *sets]
    fill_disk_after(monkeypatch, 3)  # config.yaml, a sample, the first checkpoint; then the disk is full
    assert main(argv) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("dasr: ")]  # no progress bars
    assert len(err) == 1 and err[0].startswith("dasr: error: the disk is full while writing ")
    saved = load_checkpoint(out / "checkpoints" / "last.pth")
    assert saved["iteration"] < 6
    assert not [p for p in out.rglob(".*.tmp")]
    monkeypatch.undo()  # room again: the same command finishes the run
    assert main(argv) == 0
    assert load_checkpoint(out / "checkpoints" / "last.pth")["iteration"] == 6
