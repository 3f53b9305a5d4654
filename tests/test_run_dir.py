"""The run folder and its bookkeeping: checkpoints on disk, the metric log, progress, device."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
import torch

from dasr.config import load_config
from dasr.engine.device import select_device, set_determinism
from dasr.engine.metric_log import MetricLog, read_metric_log
from dasr.engine.progress import progress
from dasr.engine.run_dir import RunDir
from dasr.errors import DasrError
from dasr.files.checkpoint import load_checkpoint


def test_a_new_run_folder_has_its_layout(tmp_path: Path) -> None:
    run = RunDir(tmp_path / "runs" / "a")
    assert run.checkpoints_dir.is_dir() and run.samples_dir.is_dir()
    assert run.config_path == tmp_path / "runs" / "a" / "config.yaml"
    assert run.log_path.name == "log.jsonl" and run.tensorboard_dir.name == "tensorboard"
    assert run.checkpoint_path(1500).name == "iter_0001500.pth"
    assert run.latest_checkpoint() is None and run.saved_config() is None


def test_reading_a_run_writes_nothing(tmp_path: Path) -> None:
    run = RunDir(tmp_path / "absent", create=False)
    assert run.latest_checkpoint() is None and run.saved_config() is None
    assert not (tmp_path / "absent").exists()


def test_out_that_is_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "taken").write_text("")
    with pytest.raises(DasrError, match=r"--out '.*taken' exists and is not a folder"):
        RunDir(tmp_path / "taken")


def test_checkpoints_keep_last_and_the_newest_numbered(tmp_path: Path) -> None:
    run = RunDir(tmp_path)
    for iteration in (100, 200, 300):
        run.save_checkpoint({"iteration": iteration}, iteration, keep=2)
    assert [p.name for p in run.numbered_checkpoints()] == ["iter_0000200.pth", "iter_0000300.pth"]
    assert run.latest_checkpoint() == run.last_checkpoint
    assert load_checkpoint(run.last_checkpoint)["iteration"] == 300
    # the numbered files are not disturbed when last.pth is replaced
    assert load_checkpoint(run.checkpoint_path(200))["iteration"] == 200
    assert sorted(p.name for p in run.checkpoints_dir.iterdir()) == [
        "iter_0000200.pth",
        "iter_0000300.pth",
        "last.pth",
    ]


def test_keep_zero_writes_only_last_and_latest_falls_back_to_numbered(tmp_path: Path) -> None:
    run = RunDir(tmp_path)
    run.save_checkpoint({"iteration": 5}, 5, keep=1)
    run.save_checkpoint({"iteration": 9}, 9, keep=0)
    assert run.numbered_checkpoints() == []
    run.save_checkpoint({"iteration": 12}, 12, keep=1)
    run.save_checkpoint({"iteration": 40}, 40, keep=3)
    run.last_checkpoint.unlink()
    assert run.latest_checkpoint() == run.checkpoint_path(40)
    run.prune_checkpoints(0)
    assert run.latest_checkpoint() is None


def test_the_saved_config_reads_back(tmp_path: Path) -> None:
    run = RunDir(tmp_path)
    config = load_config("cpu-small", overrides=["seed=3"])
    run.save_config(config)
    assert RunDir(tmp_path).saved_config() == config


def test_metric_log_writes_flushed_json_lines(tmp_path: Path) -> None:
    with MetricLog(tmp_path / "log.jsonl") as log:
        log.log(10, {"loss": 0.5, "d_real": torch.tensor(0.25)}, phase="train")
        assert (
            json.loads((tmp_path / "log.jsonl").read_text())["loss"] == 0.5
        )  # visible before close
        log.log(20, {"psnr": 30}, phase="val")
    rows = read_metric_log(tmp_path / "log.jsonl")
    assert [(r["step"], r["phase"]) for r in rows] == [(10, "train"), (20, "val")]
    assert rows[0]["d_real"] == 0.25 and isinstance(rows[1]["time"], float)


def test_resuming_drops_rows_after_the_checkpoint_and_a_cut_last_line(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    with MetricLog(path) as log:
        for step in (100, 200, 300):
            log.log(step, {"loss": step / 1000}, phase="train")
    with open(path, "a", encoding="utf-8") as handle:
        handle.write('{"step": 400, "pha')  # killed mid-write
    with MetricLog(path, resume_step=200) as log:
        assert [r["step"] for r in read_metric_log(path)] == [100, 200]
        log.log(300, {"loss": 0.1}, phase="train")
    assert [(r["step"], r["loss"]) for r in read_metric_log(path)] == [
        (100, 0.1),
        (200, 0.2),
        (300, 0.1),
    ]
    with MetricLog(path) as log:  # a fresh run starts a fresh log
        pass
    assert read_metric_log(path) == []


def test_a_bad_line_inside_the_log_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "log.jsonl").write_text('{"step": 1}\nnot json\n{"step": 2}\n')
    with pytest.raises(DasrError, match=r"metric log '.*log.jsonl' line 2 is not valid JSON"):
        read_metric_log(tmp_path / "log.jsonl")


def test_metric_log_works_without_tensorboard(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # import now fails
    with MetricLog(tmp_path / "log.jsonl", tensorboard_dir=tmp_path / "tb") as log:
        log.log(1, {"loss": 1.0}, phase="train")
    assert len(read_metric_log(tmp_path / "log.jsonl")) == 1


def test_progress_starts_at_the_resumed_iteration() -> None:
    with progress(total=50, initial=20, desc="dsn") as bar:
        bar.update(5)
        bar.set_postfix(loss=0.123)
        assert (bar.n, bar.total, bar.desc) == (25, 50, "dsn")
    with progress(total=3, enabled=False) as bar:
        bar.update(1)
        bar.set_postfix(loss=0.5)


def test_device_selection() -> None:
    assert select_device("cpu") == torch.device("cpu")
    assert select_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    for bad in ("gpu", "mps", "", "cuda:x"):
        with pytest.raises(
            DasrError, match=r"config key 'device' must be auto, cpu, cuda or cuda:N"
        ):
            select_device(bad)
    if not torch.cuda.is_available():
        with pytest.raises(
            DasrError, match=r"config key 'device' is 'cuda' but no CUDA device is available"
        ):
            select_device("cuda")


def test_determinism_switches_on_and_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CUBLAS_WORKSPACE_CONFIG", raising=False)
    monkeypatch.setattr(torch.backends.cudnn, "benchmark", torch.backends.cudnn.benchmark)
    try:
        set_determinism(True)
        assert (
            torch.are_deterministic_algorithms_enabled()
            and torch.is_deterministic_algorithms_warn_only_enabled()
        )
        assert torch.backends.cudnn.deterministic and not torch.backends.cudnn.benchmark
        assert os.environ["CUBLAS_WORKSPACE_CONFIG"] == ":4096:8"
    finally:
        set_determinism(False)
    assert (
        not torch.are_deterministic_algorithms_enabled() and not torch.backends.cudnn.deterministic
    )
