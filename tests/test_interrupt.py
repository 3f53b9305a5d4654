"""Ctrl-C in a training command: real SIGINTs sent to a tiny ``dasr train-srn`` in a child process.

Once: the run finishes the iteration under way, saves a checkpoint of it and exits with 130; the
same command then resumes there and ends with the weights of an uninterrupted run. Twice in
quick succession: the second stops it at once, also with 130, and leaves no file that fails to
read; the same command then still trains to the end. The signals land wherever the child is
after its first logged iteration, and the assertions hold wherever that is. The children are
those of ``test_kill_resume``: a fork server's, calling the command line's ``main``.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import torch

from dasr.files.checkpoint import load_checkpoint
from tests.conftest import TINY_SRN
from tests.helpers import assert_every_file_reads, line_count, logged_values, start_dasr

SETTINGS = [*TINY_SRN, "srn.pairs=bicubic", "train.checkpoint_every=100"]
"""Checkpoints only at the end and on an interrupt; bicubic pairs, so no stage 1 is needed."""

ITERATIONS = 6
"""TINY_SRN's srn.pretrain_iters + srn.iters: several iterations after the first, for a signal to
land in."""


def train_srn_command(folders: dict[str, Path], out: Path) -> list[str]:
    sets = [item for setting in SETTINGS for item in ("--set", setting)]
    return ["train-srn", "--hr", str(folders["hr"]), "--lr", str(folders["lr"]), "--scale", "4", "--out", str(out),
            *sets]


def run(argv: list[str]) -> int | None:
    process = start_dasr(argv)
    process.join()
    return process.exitcode


def interrupt(argv: list[str], run_dir: Path, signals: int, timeout: float = 300.0) -> int | None:
    """Start ``dasr argv``, send it ``signals`` SIGINTs 5 ms apart once it has logged its first
    iteration, and return its exit code."""
    process = start_dasr(argv)
    deadline = time.monotonic() + timeout
    try:
        while line_count(run_dir / "log.jsonl") < 1:
            assert process.is_alive(), f"the run ended before its first iteration (exit code {process.exitcode})"
            assert time.monotonic() < deadline, "no iteration within the timeout"
            time.sleep(0.005)
        for _ in range(signals):
            if process.is_alive():
                os.kill(process.pid, signal.SIGINT)
            time.sleep(0.005)
        process.join(timeout)
        return process.exitcode
    finally:
        if process.is_alive():
            process.kill()
        process.join()


def last_checkpoint(run_dir: Path) -> dict:
    return load_checkpoint(run_dir / "checkpoints" / "last.pth")


def test_one_ctrl_c_saves_the_iteration_exits_130_and_the_same_command_resumes(photo_folders, tmp_path) -> None:
    straight, interrupted = tmp_path / "straight", tmp_path / "interrupted"
    assert run(train_srn_command(photo_folders, straight)) == 0

    assert interrupt(train_srn_command(photo_folders, interrupted), interrupted, signals=1) == 130
    assert_every_file_reads(interrupted)
    stopped_at = last_checkpoint(interrupted)["iteration"]
    assert 1 <= stopped_at < ITERATIONS  # the iteration under way, long before the end
    assert list(logged_values(interrupted)) == list(range(1, stopped_at + 1))

    assert run(train_srn_command(photo_folders, interrupted)) == 0
    assert_every_file_reads(interrupted)
    assert list(logged_values(interrupted)) == list(range(1, ITERATIONS + 1))
    expected, resumed = last_checkpoint(straight), last_checkpoint(interrupted)
    assert resumed["iteration"] == ITERATIONS
    for key in ("params", "params_ema", "discriminator"):
        for name, tensor in expected[key].items():
            torch.testing.assert_close(resumed[key][name], tensor, rtol=0, atol=0, msg=f"{key}.{name}")


def test_two_quick_ctrl_c_stop_at_once_and_leave_every_file_whole(photo_folders, tmp_path) -> None:
    out = tmp_path / "run"
    assert interrupt(train_srn_command(photo_folders, out), out, signals=2) == 130
    assert_every_file_reads(out)
    assert list(logged_values(out)) == list(range(1, line_count(out / "log.jsonl") + 1))

    assert run(train_srn_command(photo_folders, out)) == 0
    assert_every_file_reads(out)
    assert list(logged_values(out)) == list(range(1, ITERATIONS + 1))
    assert last_checkpoint(out)["iteration"] == ITERATIONS
