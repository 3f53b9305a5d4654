"""``dasr eval`` end to end: the table and result files, SR made by a model first, and every
user mistake as one line with exit status 2."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from dasr.archs.rrdbnet import RRDBNet
from dasr.cli.main import main
from dasr.data.folders import list_images
from dasr.evaluation import evaluate_pairs, match_pairs
from dasr.inference.model_file import save_model
from tests.helpers import noisy_pair, save_rgb

pytestmark = pytest.mark.usefixtures("offline")  # no weights, no downloads: LPIPS is a notice


@pytest.fixture
def folders(tmp_path) -> dict[str, Path]:
    """SR images named ``<n>_x4.png``; the second HR is 2 pixels taller than its SR."""
    for index, size in enumerate([(40, 36), (38, 44)]):
        sr, hr = noisy_pair(index, size=size)
        save_rgb(tmp_path / "sr" / f"{index}_x4.png", sr)
        save_rgb(tmp_path / "hr" / f"{index}.png", np.pad(hr, ((0, 2 * index), (0, 0), (0, 0)), mode="edge"))
    return {"sr": tmp_path / "sr", "hr": tmp_path / "hr", "out": tmp_path / "out"}


def run(capsys, *args: object) -> tuple[int, str, str]:
    code = main(["eval", *map(str, args), "--no-progress"])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_eval_prints_the_table_and_writes_the_files(folders, capsys):
    sources = ["--sr", folders["sr"], "--hr", folders["hr"], "--sr-suffix", "_x4"]
    code, out, err = run(capsys, *sources, "--scale", 4, "--out", folders["out"])
    assert code == 0
    lpips_note, ms_ssim_note = err.splitlines()
    assert lpips_note.startswith("dasr: note: LPIPS skipped")
    assert ms_ssim_note.startswith("dasr: note: MS-SSIM skipped: 2 of 2 images are smaller than 161x161")
    lines = out.splitlines()
    assert lines[0].split() == ["image", "PSNR", "SSIM", "PSNR-Y", "SSIM-Y", "HaarPSI", "GMSD", "HF", "HF-HR"]
    assert [line.split()[0] for line in lines[1:3]] == ["0", "1*"]  # 1 was cropped
    data = json.loads((folders["out"] / "metrics.json").read_text())
    mean_row = next(line for line in lines if line.startswith("mean (2)")).split()
    assert float(mean_row[2]) == pytest.approx(data["mean"]["psnr"], abs=5e-4)
    assert [image["cropped"] for image in data["images"]] == [False, True]
    assert (folders["out"] / "metrics.csv").read_text().splitlines()[-1].startswith("mean,")


MATCHED = ["--sr", "{sr}", "--hr", "{hr}", "--sr-suffix", "_x4"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--hr", "{hr}", "--scale", "4"], "give either --sr SR_DIR or --model MODEL"),
        (["--sr", "{sr}", "--model", "m", "--lr", "{sr}", "--hr", "{hr}"], "give either --sr"),
        (["--model", "m", "--hr", "{hr}"], "--model needs --lr"),
        (["--sr", "{sr}", "--lr", "{sr}", "--hr", "{hr}", "--scale", "4"], "--lr is only used with --model"),
        (["--sr", "{sr}", "--hr", "{hr}"], "--sr needs --scale"),
        (["--sr", "{sr}", "--hr", "{hr}", "--scale", "4"], "strip a suffix with --sr-suffix _x4"),
        ([*MATCHED, "--scale", "2"], "sizes may differ by less than --scale 2"),
        ([*MATCHED, "--scale", "4", "--lpips", "on"], "--lpips on: AlexNet"),
        ([*MATCHED, "--scale", "4", "--crop-border", "-1"], "--crop-border must be"),
        (["--sr", "{sr}", "--hr", "{sr}/nothing", "--scale", "4"], "--hr: folder"),
        (["--model", "{sr}/none.safetensors", "--lr", "{sr}", "--hr", "{hr}"], "--model:"),
    ],
)
def test_user_mistakes_are_one_line_and_exit_2(folders, capsys, args, message):
    code, out, err = run(capsys, *(arg.format(**folders) for arg in args))
    assert code == 2 and out == ""
    assert err.startswith("dasr: error: ") and err.count("\n") == 1 and message in err


@pytest.fixture
def model_file(tmp_path) -> Path:
    torch.manual_seed(0)
    network = RRDBNet(scale=2, num_features=8, num_blocks=1, growth_channels=4)
    save_model(tmp_path / "model.safetensors", network, weights="params_ema", preset="test", config={}, training={})
    return tmp_path / "model.safetensors"


def test_model_mode_upscales_lr_then_evaluates(tmp_path, model_file, capsys):
    for index in range(2):
        _, hr = noisy_pair(index, size=(32, 28))
        save_rgb(tmp_path / "hr" / f"{index}_HR.png", hr)
        save_rgb(tmp_path / "lr" / f"{index}.png", np.asarray(Image.fromarray(hr).resize((14, 16), Image.BICUBIC)))
    out = tmp_path / "out"
    common = ["--lr", tmp_path / "lr", "--hr", tmp_path / "hr", "--hr-suffix", "_HR", "--lpips", "off"]
    code, _, err = run(capsys, "--model", model_file, *common, "--out", out)
    assert code == 0 and err.startswith("dasr: note: MS-SSIM skipped") and err.count("\n") == 1  # 28x24 after the crop
    sr_paths = list_images(out / "sr", "--sr")
    assert [path.name for path in sr_paths] == ["0.png", "1.png"]
    assert Image.open(sr_paths[0]).size == (28, 32)
    data = json.loads((out / "metrics.json").read_text())
    assert data["protocol"]["scale"] == data["protocol"]["crop_border"] == 2  # from the model
    # The same numbers as evaluating the written SR folder directly.
    pairs = match_pairs(sr_paths, list_images(tmp_path / "hr", "--hr"), hr_suffix="_HR")
    direct = evaluate_pairs(pairs, scale=2, lpips="off", progress=False)
    assert [image["psnr"] for image in data["images"]] == [image.values["psnr"] for image in direct.images]

    code, _, err = run(capsys, "--model", model_file, *common, "--scale", 4)
    assert code == 2 and err == f"dasr: error: --scale 4 does not match the x2 model '{model_file}'\n"
