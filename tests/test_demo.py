"""``dasr demo``: the data set built from the shipped wallpapers, and the whole demo end to end on
tiny networks and tiny photo crops (the real sizes are for users, not for tests)."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import numpy as np
import pytest
import pywt
from PIL import Image

from dasr.cli.main import main
from dasr.config.loader import load_config
from dasr.data.image_io import read_image
from dasr.degradations.pipeline import degrade, preset_steps
from dasr.demo import dataset as dataset_module
from dasr.demo import run as demo_run
from dasr.demo.dataset import (
    CAMERA,
    MANIFEST_NAME,
    TRAIN_PHOTOS,
    VAL_PHOTOS,
    DemoData,
    Region,
    build_demo_data,
    photo_pixels,
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


def regions(data_dir: Path) -> dict[str, Region]:
    """Where each file of a built set came from, as its manifest records it."""
    files = json.loads((data_dir / MANIFEST_NAME).read_text())["files"]
    return {name: Region(**region) for name, region in files.items()}


def haar_detail(image: np.ndarray) -> float:
    """Mean absolute finest Haar detail over the channels, in levels of 255 (PyWavelets)."""
    return 255 * float(np.mean([np.abs(np.stack(pywt.dwt2(image[..., c], "haar")[1])).mean() for c in range(3)]))


def test_photo_groups_are_disjoint_scenes() -> None:
    assert not set(TRAIN_PHOTOS) & set(VAL_PHOTOS) and len(set(TRAIN_PHOTOS)) == len(TRAIN_PHOTOS)
    assert 2 <= len(VAL_PHOTOS) <= 3 and len(TRAIN_PHOTOS) >= 5


def test_data_set_is_deterministic_with_scaled_aligned_validation_pairs(tmp_path: Path) -> None:
    first = build_demo_data(tmp_path / "a", 4, max_size=MAX_SIZE)
    second = build_demo_data(tmp_path / "b", 4, max_size=MAX_SIZE)
    # One HR half and one real-LR half of every training photo, the other half each time.
    assert [path.stem.rsplit("-", 1)[0] for path in first.hr_paths] == list(TRAIN_PHOTOS)
    assert [path.stem.rsplit("-", 1)[0] for path in first.real_lr_paths] == list(TRAIN_PHOTOS)
    assert all(hr.stem != lr.stem for hr, lr in zip(first.hr_paths, first.real_lr_paths, strict=True))
    for a, b in zip(files(first), files(second), strict=True):
        np.testing.assert_array_equal(pixels(a), pixels(b))
    for path in first.hr_paths:
        assert pixels(path).shape == (MAX_SIZE, MAX_SIZE // 2, 3)
    for path in first.real_lr_paths:
        assert pixels(path).shape == (MAX_SIZE // 4, MAX_SIZE // 8, 3)
    for hr_path, lr_path in first.val_pairs:
        assert hr_path.stem == lr_path.stem and hr_path.parent.name == "val_hr" and lr_path.parent.name == "val_lr"
        hr, lr = pixels(hr_path), pixels(lr_path)
        assert hr.shape == (lr.shape[0] * 4, lr.shape[1] * 4, 3)
        # Aligned: the LR is a degraded copy of the same scene, close to its HR's plain downscale.
        mean_pooled = hr.reshape(lr.shape[0], 4, lr.shape[1], 4, 3).mean(axis=(1, 3))
        assert np.abs(mean_pooled - lr).mean() < 0.05


def test_data_set_is_built_once_and_rebuilt_for_other_settings(tmp_path: Path, monkeypatch) -> None:
    first = build_demo_data(tmp_path, 4, max_size=MAX_SIZE)
    with monkeypatch.context() as patch:
        patch.setattr(dataset_module, "_write", lambda *args: pytest.fail("rebuilt a finished data set"))
        build_demo_data(tmp_path, 4, max_size=MAX_SIZE)
    (tmp_path / "hr" / "left-over.png").write_bytes(first.hr_paths[0].read_bytes())
    data = build_demo_data(tmp_path, 2, max_size=MAX_SIZE)
    assert pixels(data.real_lr_paths[0]).shape == (MAX_SIZE // 2, MAX_SIZE // 4, 3)
    assert sorted((tmp_path / "hr").iterdir()) == sorted(data.hr_paths)  # no file of another set is left


def bicubic_quarter(region: Region) -> np.ndarray:
    """The plain bicubic x1/4 of a photo region (Pillow, from its 8-bit pixels)."""
    clean = Image.fromarray(region.cut(np.asarray(photo_pixels(region.photo) * 255 + 0.5, np.uint8)))
    return np.asarray(clean.resize((clean.width // 4, clean.height // 4), Image.BICUBIC), np.float32) / 255


def test_hr_and_real_lr_never_share_pixels(tmp_path: Path) -> None:
    build_demo_data(tmp_path, 4, max_size=MAX_SIZE)
    found = regions(tmp_path)
    parts = dataset_module.plan({name: photo_pixels(name).shape[:2] for name in (*TRAIN_PHOTOS, *VAL_PHOTOS)}, MAX_SIZE)
    assert not {region.photo for name, region in found.items() if not name.startswith("val_")} & set(VAL_PHOTOS)
    for photo in TRAIN_PHOTOS:
        [(hr_file, hr)] = [(name, region) for name, region in found.items() if name.startswith(f"hr/{photo}-")]
        [(lr_file, lr)] = [(name, region) for name, region in found.items() if name.startswith(f"real_lr/{photo}-")]
        apart = (hr.left + hr.width <= lr.left or lr.left + lr.width <= hr.left
                 or hr.top + hr.height <= lr.top or lr.top + lr.height <= hr.top)
        assert apart and hr.height * hr.width == lr.height * lr.width == MAX_SIZE * MAX_SIZE // 2
        # The files are what the manifest says: the HR is its region, the real LR comes from its own.
        source, hr_pixels, real_lr = photo_pixels(photo), pixels(tmp_path / hr_file), pixels(tmp_path / lr_file)
        np.testing.assert_allclose(hr_pixels, hr.cut(source), atol=1e-6)
        # (Recomputed: a smooth wallpaper crop looks alike in both halves, so no content test tells them apart.)
        index = next(position for position, part in enumerate(parts) if f"real_lr/{part.stem}.png" == lr_file)
        expected = degrade(lr.cut(source), preset_steps(CAMERA), 4, dataset_module.SEED, index)[0]
        np.testing.assert_allclose(real_lr, expected, atol=0.5 / 255 + 1e-6)
        # And no 8x8 block of the HR image is anywhere in the region the real LR was made from.
        windows = np.lib.stride_tricks.sliding_window_view(lr.cut(source), (8, 8, 3)).reshape(-1, 8, 8, 3)
        for top in range(0, hr.height - 7, 8):
            for left in range(0, hr.width - 7, 8):
                block = hr_pixels[top : top + 8, left : left + 8]
                assert (np.abs(windows - block).max(axis=(1, 2, 3)) > 1e-6).all(), (photo, top, left)


def test_real_lr_carries_the_cameras_noise(tmp_path: Path) -> None:
    """Every degraded image has more fine detail than the bicubic downscale of the same region:
    the camera's sensor noise and JPEG blocks outweigh its blur in the finest Haar band. Whole
    photos (about 2 s): the demo's real LR is what is checked, not a test crop of it."""
    build_demo_data(tmp_path, 4)
    camera = json.loads((tmp_path / MANIFEST_NAME).read_text())["camera"]
    assert camera == [step.as_dict() for step in preset_steps(CAMERA)]
    ratios = []
    for name, region in regions(tmp_path).items():
        if name.startswith(("real_lr/", "val_lr/")):
            ratios.append(haar_detail(pixels(tmp_path / name)) / haar_detail(bicubic_quarter(region)))
    assert len(ratios) == len(TRAIN_PHOTOS) + len(VAL_PHOTOS)
    assert min(ratios) > 1.03 and np.mean(ratios) > 1.1, ratios


def test_demo_trains_compares_three_methods_writes_report_and_resumes(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setattr(demo_run, "run_demo", functools.partial(run_demo, max_size=MAX_SIZE))
    command = ["demo", "--out", str(tmp_path), *(arg for item in TINY for arg in ("--set", item))]
    assert main(command) == 0
    printed = capsys.readouterr().out
    for label in ("bicubic upsampling", "ESRGAN (bicubic pairs)", "DASR"):
        assert label in printed
    assert f"report: {tmp_path / 'dasr' / 'report.html'}" in printed
    assert "DASR is ahead of" in printed or "DASR is not ahead of" in printed
    # The stage-1 check: the finished DSN on the validation photos, the demo's camera as the truth.
    check = json.loads((tmp_path / "stage1_check.json").read_text())
    assert 0 < check["p_true"] < 1 and 0 < check["p_bicubic"] < 1 and check["true_hf_ratio"] > check["bicubic_hf_ratio"]
    assert f"hf/real {check['hf_ratio']:.2f}".lower() in printed.lower()

    records = json.loads((tmp_path / "demo_metrics.json").read_text())
    assert [record["variant"] for record in records] == ["bicubic-upsampling", "bicubic", "dasr"]
    assert all(np.isfinite(record["psnr"]) and 0 < record["ssim"] <= 1 for record in records)
    assert (tmp_path / "demo_metrics.csv").read_text().count("\n") == 4
    assert json.loads((tmp_path / "dasr" / "eval" / "metrics.json").read_text())["mean"]["psnr"] == records[2]["psnr"]
    report = (tmp_path / "dasr" / "report.html").read_text()
    assert f"<td>{records[2]['psnr']:.4f}</td>" in report
    # The report compares what the demo compared: each method's SR of each pair, and its figures.
    for stem in VAL_PHOTOS:
        for label in (UPSAMPLING.label, BASELINE.label, DASR.label, "HR"):
            assert f'alt="{stem}: {label}"' in report
    for record in records:
        assert f"<td>{record['psnr']:.4f}</td><td>{record['ssim']:.4f}</td>" in report
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
        ({"psnr": 25.5, "ssim": 0.70, "haarpsi": 0.61}, "DASR is ahead of the same network trained on bicubic pairs (PSNR +0.5000, SSIM +0.0100, HaarPSI +0.0100)"),
        ({"psnr": 25.5, "ssim": 0.70, "haarpsi": 0.59}, "DASR is not ahead of the same network trained on bicubic pairs (PSNR +0.5000, SSIM +0.0100, HaarPSI -0.0100)"),
        ({"psnr": 25.5, "ssim": 0.68, "haarpsi": 0.61}, "DASR is not ahead of the same network trained on bicubic pairs (PSNR +0.5000, SSIM -0.0100, HaarPSI +0.0100)"),
        ({"psnr": 24.8, "ssim": 0.70, "haarpsi": 0.61}, "DASR is not ahead of the same network trained on bicubic pairs (PSNR -0.2000, SSIM +0.0100, HaarPSI +0.0100)"),
        ({"psnr": 25.5, "ssim": 0.70}, "DASR is ahead of the same network trained on bicubic pairs (PSNR +0.5000, SSIM +0.0100)"),
    ],
)
def test_verdict_needs_dasr_ahead_on_psnr_ssim_and_haarpsi(dasr_scores, expected) -> None:
    results = [
        Result(UPSAMPLING, {"psnr": 26.0, "ssim": 0.67, "haarpsi": 0.62}),
        Result(BASELINE, {"psnr": 25.0, "ssim": 0.69, "haarpsi": 0.60}),
        Result(DASR, dasr_scores),
    ]
    assert verdict(results).startswith(expected)
