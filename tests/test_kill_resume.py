"""``dasr fit`` killed with SIGKILL at points spread over stage 1, generation and stage 2, then
rerun with the same command, ends with the model of an uninterrupted run, and no kill leaves a
file that fails to read.

SIGKILL gives the process no chance to clean up, so this is what a lost cluster job or an
out-of-memory kill does. The kills land wherever the process is when a condition is first seen
on disk; the assertions hold whatever that moment is, so the test does not depend on timing.
Each run is a child of a fork server calling the command line's ``main``: the same code as
``dasr fit`` in a shell, without paying the interpreter's start and imports six times.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

import torch
from safetensors import safe_open

from tests.conftest import TINY_DSN, TINY_SRN
from tests.helpers import assert_every_file_reads, line_count, start_dasr

SETTINGS = [
    *dict.fromkeys([*TINY_DSN, *TINY_SRN]),
    "dsn.iters=12",
    "srn.iters=12",
    "train.checkpoint_every=3",
]


def fit_command(folders: dict[str, Path], out: Path) -> list[str]:
    sets = [item for setting in SETTINGS for item in ("--set", setting)]
    return ["fit", "--hr", str(folders["hr"]), "--lr", str(folders["lr"]), "--scale", "4", "--out", str(out), *sets]


def run_to_the_end(argv: list[str]) -> None:
    process = start_dasr(argv)
    process.join()
    assert process.exitcode == 0, f"dasr {' '.join(argv)} exited with {process.exitcode}"


def kill_when(argv: list[str], ready: Callable[[], bool], timeout: float = 300.0) -> bool:
    """Start ``dasr argv``, SIGKILL it as soon as ``ready()``; whether it was killed (it may end first)."""
    process = start_dasr(argv)
    deadline = time.monotonic() + timeout
    try:
        while process.is_alive() and time.monotonic() < deadline:
            if ready():
                os.kill(process.pid, signal.SIGKILL)
                process.join()
                return True
            time.sleep(0.005)
        return False
    finally:
        if process.is_alive():
            process.kill()
        process.join()


def model_weights(run: Path) -> dict[str, torch.Tensor]:
    with safe_open(str(run / "model.safetensors"), framework="pt") as handle:
        return {name: handle.get_tensor(name) for name in handle.keys()}  # noqa: SIM118


def test_fit_killed_anywhere_resumes_to_the_same_model(photo_folders, tmp_path):
    straight, killed = tmp_path / "straight", tmp_path / "killed"
    run_to_the_end(fit_command(photo_folders, straight))

    kill_points = {
        "stage 1": lambda: line_count(killed / "dsn" / "log.jsonl") >= 5,
        "generation": lambda: (killed / "pairs" / "lr").is_dir() and any((killed / "pairs" / "lr").iterdir()),
        "stage 2": lambda: line_count(killed / "srn" / "log.jsonl") >= 5,
        "end of stage 2": lambda: line_count(killed / "srn" / "log.jsonl") >= 13,
    }
    killed_at = []
    for point, ready in kill_points.items():
        if kill_when(fit_command(photo_folders, killed), ready):
            killed_at.append(point)
        assert_every_file_reads(killed)
    assert killed_at, "no kill landed: the run is too short for this test"
    run_to_the_end(fit_command(photo_folders, killed))
    assert_every_file_reads(killed)

    expected, resumed = model_weights(straight), model_weights(killed)
    assert expected.keys() == resumed.keys()
    for name in expected:
        torch.testing.assert_close(resumed[name], expected[name], rtol=0, atol=0, msg=f"{name} after kills at {killed_at}")
