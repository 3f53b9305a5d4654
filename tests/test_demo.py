"""``dasr demo``: the data set built from scikit-image's photos, and the whole demo end to end on
tiny networks and tiny photo crops (the real sizes are for users, not for tests)."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import numpy as np
import pytest

from dasr.cli import demo as demo_cli
from dasr.cli.main import main
from dasr.config.loader import load_config
from dasr.data.image_io import read_image
from dasr.demo import dataset as dataset_module
from dasr.demo.dataset import (
    HR_PHOTOS,
    REAL_LR_PHOTOS,
    VAL_PHOTOS,
    DemoData,
    build_demo_data,
)
from dasr.demo.run import BASELINE, DASR, UPSAMPLING, run_demo, verdict
from dasr.pipeline.ablate import Result
from tests.conftest import TINY_DSN, TINY_SRN

TINY = list(dict.fromkeys([*TINY_DSN, *TINY_SRN]))
MAX_SIZE = 64


def pixels(path: Path) -> np.ndarray:
    return read_image(path).pixels


def files(data: DemoData) -> list[Path]:
    return [*data.hr_paths, *data.real_lr_paths, *(path for pair in data.val_pairs for path in pair)]


def test_photo_groups_are_disjoint_scenes() -> None:
    groups = [set(HR_PHOTOS), set(REAL_LR_PHOTOS), set(VAL_PHOTOS)]
    assert sum(map(len, groups)) == len(set.union(*groups))
    assert 2 <= len(VAL_PHOTOS) <= 3


def test_data_set_is_deterministic_with_scaled_aligned_validation_pairs(tmp_path: Path) -> None:
    first = build_demo_data(tmp_path / "a", 4, max_size=MAX_SIZE)
    second = build_demo_data(tmp_path / "b", 4, max_size=MAX_SIZE)
    assert [path.stem for path in first.hr_paths] == list(HR_PHOTOS)
    assert [path.stem for path in first.real_lr_paths] == list(REAL_LR_PHOTOS)
    for a, b in zip(files(first), files(second), strict=True):
        np.testing.assert_array_equal(pixels(a), pixels(b))
    for path in first.hr_paths:
        assert pixels(path).shape == (MAX_SIZE, MAX_SIZE, 3)
    for path in first.real_lr_paths:
        assert pixels(path).shape == (MAX_SIZE // 4, MAX_SIZE // 4, 3)
    for hr_path, lr_path in first.val_pairs:
        assert hr_path.stem == lr_path.stem and hr_path.parent.name == "val_hr" and lr_path.parent.name == "val_lr"
        hr, lr = pixels(hr_path), pixels(lr_path)
        assert hr.shape == (lr.shape[0] * 4, lr.shape[1] * 4, 3)
        # Aligned: the LR is a degraded copy of the same scene, close to its HR's plain downscale.
        mean_pooled = hr.reshape(lr.shape[0], 4, lr.shape[1], 4, 3).mean(axis=(1, 3))
        assert np.abs(mean_pooled - lr).mean() < 0.05


def test_data_set_is_built_once_and_rebuilt_for_other_settings(tmp_path: Path, monkeypatch) -> None:
    build_demo_data(tmp_path, 4, max_size=MAX_SIZE)
    with monkeypatch.context() as patch:
        patch.setattr(dataset_module, "_write", lambda *args: pytest.fail("rebuilt a finished data set"))
        build_demo_data(tmp_path, 4, max_size=MAX_SIZE)
    data = build_demo_data(tmp_path, 2, max_size=MAX_SIZE)
    assert pixels(data.real_lr_paths[0]).shape == (MAX_SIZE // 2, MAX_SIZE // 2, 3)


def test_demo_trains_compares_three_methods_writes_report_and_resumes(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setattr(demo_cli, "run_demo", functools.partial(run_demo, max_size=MAX_SIZE))
    command = ["demo", "--out", str(tmp_path), *(arg for item in TINY for arg in ("--set", item))]
    assert main(command) == 0
    printed = capsys.readouterr().out
    for label in ("bicubic upsampling", "ESRGAN (bicubic pairs)", "DASR"):
        assert label in printed
    assert f"report: {tmp_path / 'dasr' / 'report.html'}" in printed
    assert "DASR is ahead of" in printed or "DASR is not ahead of" in printed

    records = json.loads((tmp_path / "demo_metrics.json").read_text())
    assert [record["variant"] for record in records] == ["bicubic-upsampling", "bicubic", "dasr"]
    assert all(np.isfinite(record["psnr"]) and 0 < record["ssim"] <= 1 for record in records)
    assert (tmp_path / "demo_metrics.csv").read_text().count("\n") == 4
    assert json.loads((tmp_path / "dasr" / "eval" / "metrics.json").read_text())["mean"]["psnr"] == records[2]["psnr"]
    assert f"<td>{records[2]['psnr']:.4f}</td>" in (tmp_path / "dasr" / "report.html").read_text()
    assert not (tmp_path / "bicubic-baseline" / "dsn").exists()  # bicubic pairs need no stage 1

    checkpoints = [tmp_path / run / stage / "checkpoints" / "last.pth"
                   for run, stage in (("dasr", "dsn"), ("dasr", "srn"), ("bicubic-baseline", "srn"))]
    saved = [path.stat().st_mtime_ns for path in checkpoints]
    monkeypatch.setattr(dataset_module, "_write", lambda *args: pytest.fail("rebuilt the data set"))
    config = load_config("cpu-small", (), TINY)
    result = run_demo(tmp_path, config, preset="cpu-small", show_progress=False, max_size=MAX_SIZE)
    assert [path.stat().st_mtime_ns for path in checkpoints] == saved  # nothing trained again
    assert [record.scores["psnr"] for record in result.results] == [record["psnr"] for record in records]


@pytest.mark.parametrize(
    ("dasr_scores", "expected"),
    [
        ({"psnr": 25.5, "ssim": 0.70}, "DASR is ahead of the same network trained on bicubic pairs (PSNR +0.50 dB, SSIM +0.0100)."),
        ({"psnr": 25.5, "ssim": 0.68}, "DASR is not ahead of the same network trained on bicubic pairs (PSNR +0.50 dB, SSIM -0.0100)"),
        ({"psnr": 24.8, "ssim": 0.70}, "DASR is not ahead of the same network trained on bicubic pairs (PSNR -0.20 dB, SSIM +0.0100)"),
    ],
)
def test_verdict_needs_dasr_ahead_on_both_psnr_and_ssim(dasr_scores, expected) -> None:
    results = [
        Result(UPSAMPLING, {"psnr": 26.0, "ssim": 0.67}),
        Result(BASELINE, {"psnr": 25.0, "ssim": 0.69}),
        Result(DASR, dasr_scores),
    ]
    assert verdict(results).startswith(expected)
