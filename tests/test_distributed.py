"""Data-parallel training: batch sharding, the process-group helpers, and ``dasr fit`` under
``torchrun`` with 2 CPU processes (gloo) against one process with the same global batch."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from dasr.config.loader import load_config
from dasr.data.folders import list_images
from dasr.data.unpaired import _ConsecutiveBatches
from dasr.engine import distributed
from dasr.engine.metric_log import read_metric_log
from dasr.errors import DasrError
from dasr.files.checkpoint import load_checkpoint
from dasr.pipeline.fit import FitData, fit
from tests.conftest import TINY_DSN, TINY_SRN

TINY = list(dict.fromkeys([*TINY_DSN, *TINY_SRN]))


def test_process_shares_of_a_batch_make_up_the_single_process_batch() -> None:
    whole = _ConsecutiveBatches(6, start=4)
    shares = [_ConsecutiveBatches(6, start=4, rank=rank, shares=3) for rank in range(3)]
    for _ in range(3):
        assert next(iter(whole)) == [index for share in shares for index in next(iter(share))]
    assert next(iter(shares[1])) == [26, 27]
    with pytest.raises(ValueError, match="share 0 of 4"):
        _ConsecutiveBatches(6, start=0, rank=0, shares=4)


def test_a_batch_that_does_not_split_is_a_one_line_error(monkeypatch) -> None:
    assert distributed.per_process_batch(16, "srn.batch_size") == 16
    monkeypatch.setattr(distributed, "world_size", lambda: 4)
    assert distributed.per_process_batch(16, "srn.batch_size") == 4
    with pytest.raises(DasrError, match=r"^srn.batch_size=6 must be divisible by the number of processes \(4\)$"):
        distributed.per_process_batch(6, "srn.batch_size")


def test_single_process_helpers_are_no_ops() -> None:
    assert distributed.world_size() == 1 and distributed.rank() == 0 and distributed.is_main_process()
    assert distributed.any_process(True) and not distributed.any_process(False)
    values = {"a": torch.tensor(1.5)}
    assert distributed.mean_over_processes(values) == values
    module = torch.nn.Linear(2, 2)
    assert distributed.data_parallel(module) is module
    state = torch.get_rng_state()
    distributed.reseed_other_processes(seed=0, first_iteration=5)  # process 0 keeps its stream
    assert torch.equal(torch.get_rng_state(), state)


def test_replica_mismatch_names_the_parameter() -> None:
    names = ["params.a", "params.b"]
    same = torch.tensor([1.0, 2.0], dtype=torch.float64)
    assert distributed.replica_mismatch([same, same.clone()], names) is None
    assert distributed.replica_mismatch([same, same + torch.tensor([0.0, 1e-3])], names) == "params.b"


def test_unwrap_strips_compile_wrappers() -> None:
    module = torch.nn.Linear(2, 2)
    assert distributed.unwrap(torch.compile(module)) is module
    assert distributed.unwrap(module) is module


def fit_data(folders: dict[str, Path]) -> FitData:
    return FitData(list_images(folders["hr"], "--hr"), list_images(folders["lr"], "--lr"))


def torchrun_fit(folders: dict[str, Path], out: Path, *settings: str) -> subprocess.CompletedProcess:
    """``torchrun --nproc_per_node 2 -m dasr fit`` on the CPU, one thread per process."""
    command = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
        "-m", "dasr", "fit", "--hr", str(folders["hr"]), "--lr", str(folders["lr"]), "--scale", "4",
        "--out", str(out), *[part for setting in settings for part in ("--set", setting)],
    ]
    environment = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run(command, check=False, capture_output=True, text=True, env=environment, timeout=300)


def assert_same_weights(a: Path, b: Path, keys: tuple[str, ...]) -> None:
    """Equal up to the summation order of the gradient average. Adam divides by the gradient's
    size, so an entry whose gradient is ~0 may move differently: ``atol`` is 1/10 of one step of
    the learning rate 2e-4; typical differences are ~1e-8."""
    first, second = load_checkpoint(a), load_checkpoint(b)
    assert first["iteration"] == second["iteration"]
    for key in keys:
        for name in first[key]:
            torch.testing.assert_close(first[key][name], second[key][name], rtol=1e-4, atol=2e-5, msg=f"{key}.{name}")


def assert_same_losses(a: Path, b: Path) -> None:
    rows_a, rows_b = read_metric_log(a), read_metric_log(b)
    assert [row["step"] for row in rows_a] == [row["step"] for row in rows_b]
    for row_a, row_b in zip(rows_a, rows_b):
        assert set(row_a) == set(row_b)
        for name in set(row_a) - {"time", "phase", "step"}:
            assert row_a[name] == pytest.approx(row_b[name], rel=1e-4, abs=1e-6), (row_a["step"], name)


def test_fit_on_two_processes_matches_one_process_and_resumes_on_one(photo_folders, tmp_path) -> None:
    """Both stages under DDP: the processes' weights agree at every checkpoint (the run checks
    that itself and would fail), and equal those of one process with the same global batch;
    then the 2-process run resumes on 1 process."""
    short = ("srn.iters=2",)  # stage 2 stops after 4 of 6 iterations
    completed = torchrun_fit(photo_folders, tmp_path / "ddp", *TINY, *short)
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert completed.stdout.count("model: ") == 1  # only process 0 reports
    fit(load_config("paper", (), [*TINY, *short]), fit_data(photo_folders), tmp_path / "one", preset="paper",
        show_progress=False)
    for stage, keys in (("dsn", ("params", "discriminator")), ("srn", ("params", "params_ema", "discriminator"))):
        assert_same_weights(tmp_path / "ddp" / stage / "checkpoints" / "last.pth",
                            tmp_path / "one" / stage / "checkpoints" / "last.pth", keys)
        assert_same_losses(tmp_path / "ddp" / stage / "log.jsonl", tmp_path / "one" / stage / "log.jsonl")

    for run in ("ddp", "one"):  # resume stage 2 to 6 iterations in one process
        fit(load_config("paper", (), TINY), fit_data(photo_folders), tmp_path / run, preset="paper", show_progress=False)
    assert_same_weights(tmp_path / "ddp" / "srn" / "checkpoints" / "last.pth",
                        tmp_path / "one" / "srn" / "checkpoints" / "last.pth", ("params", "params_ema", "discriminator"))
    assert load_checkpoint(tmp_path / "ddp" / "srn" / "checkpoints" / "last.pth")["iteration"] == 6
