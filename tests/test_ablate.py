"""``dasr ablate`` on tiny networks: the variants of Table 1 and Table 2, their recorded
settings, finite scores, the printed tables and files, resuming, and one-line user errors."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import pytest

from dasr.cli.main import main
from dasr.config.loader import load_config, read_config
from dasr.data.folders import list_images
from dasr.data.pairs import pair_by_stem
from dasr.files.checkpoint import load_checkpoint
from dasr.pipeline import ablate as ablate_module
from dasr.pipeline.ablate import AblationData
from dasr.pipeline.ablation_table import ablate
from dasr.pipeline.ablation_variants import TABLE1_VARIANTS, TABLE2_VARIANTS
from tests.helpers import TINY_ABLATION, ablate_argv

pytestmark = pytest.mark.filterwarnings("ignore:LPIPS skipped:UserWarning")  # no AlexNet weights offline

def ablation_data(folders: dict[str, Path]) -> AblationData:
    val_pairs = pair_by_stem(list_images(folders["val_hr"], "--val-hr"), list_images(folders["val_lr"], "--val-lr"),
                             first_option="--val-hr", second_option="--val-lr")
    return AblationData(list_images(folders["hr"], "--hr"), list_images(folders["lr"], "--lr"), val_pairs)


def test_table2_trains_six_recorded_variants_once(photo_folders, tmp_path: Path, monkeypatch) -> None:
    config, data, out = load_config("paper", (), TINY_ABLATION), ablation_data(photo_folders), tmp_path / "ablation"
    text = ablate(2, config, data, out, show_progress=False)

    for variant in TABLE2_VARIANTS:
        saved = read_config(out / "table2" / variant.name / "config.yaml")
        assert [(key, getattr(saved.srn, key.split(".")[1])) for key, _ in variant.settings] == list(variant.settings)
    assert (out / "table2" / "dsn" / "checkpoints" / "last.pth").is_file()
    assert (out / "table2" / "pairs" / "manifest.json").is_file()
    records = json.loads((out / "table2.json").read_text())
    assert [record["variant"] for record in records] == [variant.name for variant in TABLE2_VARIANTS]
    assert all(math.isfinite(record[m]) for record in records for m in ("psnr", "ssim", "psnr_y", "ssim_y"))
    with open(out / "table2.csv", newline="") as handle:
        assert len(list(csv.DictReader(handle))) == 6
    assert text.splitlines()[1].split() == [variant.name for variant in TABLE2_VARIANTS]
    assert "target-domain GAN" in text and "PSNR" in text

    checkpoints = sorted(out.glob("table2/**/last.pth"))
    mtimes = [path.stat().st_mtime_ns for path in checkpoints]

    def must_not_run(*args, **kwargs):
        raise AssertionError("a finished variant was trained or scored again")

    for name in ("train_srn", "train_dsn", "make_generated_pairs", "evaluate_pairs"):
        monkeypatch.setattr(ablate_module, name, must_not_run)
    assert ablate(2, config, data, out, show_progress=False) == text
    assert [path.stat().st_mtime_ns for path in checkpoints] == mtimes


def test_table1_resumes_an_interrupted_variant_and_prints_its_grid(photo_folders, tmp_path: Path, monkeypatch,
                                                                   capsys) -> None:
    out = tmp_path / "ablation"
    args = ablate_argv(photo_folders, out, "--table", "1", "--val-hr", str(photo_folders["val_hr"]),
                    "--val-lr", str(photo_folders["val_lr"]), "--set", "dsn.val_degradation=phone-camera")
    real_train_dsn = ablate_module.train_dsn

    def killed_after_two_iterations(*positional, **keywords):
        real_train_dsn(*positional, **{**keywords, "stop_after": 2})
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(ablate_module, "train_dsn", killed_after_two_iterations)
        assert main(args) == 130
    first = out / "table1" / TABLE1_VARIANTS[0].name
    assert load_checkpoint(first / "checkpoints" / "last.pth")["iteration"] == 2

    assert main(args) == 0
    printed = capsys.readouterr().out
    assert load_checkpoint(first / "checkpoints" / "last.pth")["iteration"] == 3
    logged = [json.loads(line)["step"] for line in (first / "log.jsonl").read_text().splitlines()]
    assert logged == [1, 2, 3]  # resumed at iteration 3, not started again
    assert "Table 1" in printed and "bicubic LR" in printed and "WFS" in printed and "bicubic downscale" in printed
    assert "reference, true degradation" in printed and "JSD Haar" in printed and "P(real LR)" in printed
    assert "other DSN, physical degradation + WFS" in printed  # outside the paper DSN's grid
    records = json.loads((out / "table1.json").read_text())
    assert [record["variant"] for record in records] == ["bicubic-downscale", "true-degradation",
                                                         *(v.name for v in TABLE1_VARIANTS)]
    assert all(math.isfinite(record["psnr"]) and math.isfinite(record["ssim"]) for record in records)
    assert all(0 < record["jsd_haar"] < math.log(2) and record["hf_ratio"] > 0 for record in records)
    references, trained = records[:2], records[2:]
    assert references[1]["jsd_residual"] != references[0]["jsd_residual"]  # phone-camera noise and JPEG
    assert all(record["p_real"] is None for record in references)
    assert all(0 < record[f"p_{name}"] < 1 for record in trained for name in ("real", "bicubic", "true", "generated"))
    for variant in TABLE1_VARIANTS:
        saved = read_config(out / "table1" / variant.name / "config.yaml")
        assert (saved.dsn.arch, saved.dsn.input, saved.dsn.filter) == tuple(value for _, value in variant.settings)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (("--table", "2"), "ablate needs --val-hr and --val-lr"),
        (("--table", "3", "--val-hr", "VAL_HR", "--val-lr", "VAL_LR"), "--table must be 1"),
    ],
)
def test_bad_arguments_are_one_line_errors(extra, message, photo_folders, tmp_path: Path, capsys) -> None:
    extra = [str(photo_folders["val_hr"]) if item == "VAL_HR" else str(photo_folders["val_lr"])
             if item == "VAL_LR" else item for item in extra]
    assert main(ablate_argv(photo_folders, tmp_path / "out", *extra)) == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1 and message in error
