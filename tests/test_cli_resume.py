"""``--resume`` of the training commands: alone it means the run folder's last checkpoint (and is
an error where there is none); with a file it means that file."""

from __future__ import annotations

from pathlib import Path

import pytest

from dasr.cli.main import main
from dasr.engine.metric_log import read_metric_log
from dasr.files.checkpoint import load_checkpoint
from tests.conftest import TINY_DSN, TINY_SRN

SETS = {"train-dsn": TINY_DSN, "train-srn": [*TINY_SRN, "srn.pairs=bicubic"]}


def command(name: str, folders: dict[str, Path], out: Path, *extra: str) -> list[str]:
    sets = [item for setting in SETS[name] for item in ("--set", setting)]
    return [name, "--hr", str(folders["hr"]), "--lr", str(folders["lr"]), "--scale", "4", "--out", str(out), *sets, *extra]


@pytest.mark.parametrize("name", SETS)
def test_resume_without_a_file_needs_a_checkpoint(name, photo_folders, tmp_path, capsys):
    code = main(command(name, photo_folders, tmp_path / "fresh", "--resume"))
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert f"--resume: run folder '{tmp_path / 'fresh'}' holds no checkpoint to resume from" in err
    assert not (tmp_path / "fresh" / "log.jsonl").exists()


@pytest.mark.parametrize("name", SETS)
def test_resume_without_a_file_continues_from_the_last_checkpoint(name, photo_folders, tmp_path, capsys):
    out = tmp_path / "run"
    stages = {"train-dsn": "dsn", "train-srn": "srn"}
    short = [f"{stages[name]}.iters=2"]  # 2 pre-training + 2 iterations, checkpoint at 4
    assert main(command(name, photo_folders, out, *(x for s in short for x in ("--set", s)))) == 0
    assert load_checkpoint(out / "checkpoints" / "last.pth")["iteration"] == 4
    assert main(command(name, photo_folders, out, "--resume")) == 0
    assert load_checkpoint(out / "checkpoints" / "last.pth")["iteration"] == 6
    steps = [row["step"] for row in read_metric_log(out / "log.jsonl") if row["phase"] != "val"]
    assert steps == [1, 2, 3, 4, 5, 6]  # continued, not restarted
    capsys.readouterr()


def test_resume_with_a_file_starts_from_that_file(photo_folders, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(command("train-dsn", photo_folders, out, "--set", "train.keep_checkpoints=5")) == 0
    early = out / "checkpoints" / "iter_0000002.pth"
    assert early.is_file()
    other = tmp_path / "other"
    assert main(command("train-dsn", photo_folders, other, "--resume", str(early))) == 0
    steps = [row["step"] for row in read_metric_log(other / "log.jsonl") if row["phase"] != "val"]
    assert steps == [3, 4, 5, 6]  # from iteration 2 of the first run
    capsys.readouterr()
