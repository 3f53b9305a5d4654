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

import json
import multiprocessing
import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from safetensors import safe_open

from dasr.cli.main import main
from dasr.data.image_io import decode_image
from dasr.files.checkpoint import load_checkpoint
from tests.conftest import TINY_DSN, TINY_SRN

SETTINGS = [
    *dict.fromkeys([*TINY_DSN, *TINY_SRN]),
    "dsn.iters=12",
    "srn.iters=12",
    "train.checkpoint_every=3",
]


def fit_command(folders: dict[str, Path], out: Path) -> list[str]:
    sets = [item for setting in SETTINGS for item in ("--set", setting)]
    return ["fit", "--hr", str(folders["hr"]), "--lr", str(folders["lr"]), "--scale", "4", "--out", str(out), *sets]


def _run_quietly(argv: list[str]) -> None:
    with open(os.devnull, "w") as null:
        os.dup2(null.fileno(), 1)
        os.dup2(null.fileno(), 2)
        sys.exit(main(argv))


def start(argv: list[str]) -> multiprocessing.process.BaseProcess:
    # forkserver, not fork: a child forked from the test process can deadlock on a lock that one
    # of its threads held at fork time; the fork server is single-threaded and has dasr imported.
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["dasr.cli.main"])
    process = context.Process(target=_run_quietly, args=(argv,))
    process.start()
    return process


def run_to_the_end(argv: list[str]) -> None:
    process = start(argv)
    process.join()
    assert process.exitcode == 0, f"dasr {' '.join(argv)} exited with {process.exitcode}"


def line_count(path: Path) -> int:
    return path.read_text(encoding="utf-8").count("\n") if path.is_file() else 0


def kill_when(argv: list[str], ready: Callable[[], bool], timeout: float = 300.0) -> bool:
    """Start ``dasr argv``, SIGKILL it as soon as ``ready()``; whether it was killed (it may end first)."""
    process = start(argv)
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


def assert_every_file_reads(run: Path) -> None:
    """Every file a reader would open is whole (atomic writes leave only hidden ``.*.tmp``)."""
    for path in run.rglob("*"):
        if not path.is_file() or path.name.startswith("."):
            continue
        if path.suffix == ".pth":
            load_checkpoint(path)
        elif path.suffix == ".npy":
            np.load(path)
        elif path.suffix == ".png":
            decode_image(path)
        elif path.suffix == ".json":
            json.loads(path.read_text(encoding="utf-8"))
        elif path.suffix == ".jsonl":
            text = path.read_text(encoding="utf-8")
            assert text == "" or text.endswith("\n"), f"{path}: half a line"
            steps = [(row["phase"], row["step"]) for row in map(json.loads, text.splitlines())]
            assert len(steps) == len(set(steps)), f"{path}: rows logged twice"
        elif path.suffix == ".safetensors":
            with safe_open(str(path), framework="pt") as handle:
                [handle.get_tensor(name) for name in handle.keys()]  # noqa: SIM118


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
