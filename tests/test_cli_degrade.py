"""``dasr degrade``: paired output layout, the parameter record, determinism, skip/overwrite, errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from dasr.cli.main import main
from dasr.data.image_io import read_image
from tests.conftest import write_photo


@pytest.fixture
def hr_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "hr_in"
    write_photo(folder / "a.png", (34, 41), seed=0)
    write_photo(folder / "b.png", (24, 32), seed=1)
    return folder


def degrade(*args: str | Path) -> int:
    return main(["degrade", *map(str, args)])


def test_pairs_end_to_end(hr_dir: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "val"
    assert degrade("--input", hr_dir, "--output", out, "--scale", "4", "--pairs", "--seed", "7") == 0
    assert "degraded 2 images x4" in capsys.readouterr().out
    assert sorted(path.name for path in out.iterdir()) == ["degradations.json", "hr", "lr"]
    for stem, (height, width) in {"a": (32, 40), "b": (24, 32)}.items():
        hr = read_image(out / "hr" / f"{stem}.png").pixels
        lr = read_image(out / "lr" / f"{stem}.png").pixels
        assert hr.shape == (height, width, 3) and lr.shape == (height // 4, width // 4, 3)
        np.testing.assert_array_equal(hr, read_image(hr_dir / f"{stem}.png").pixels[:height, :width])
    record = json.loads((out / "degradations.json").read_text())
    assert record["source"] == "phone-camera" and record["seed"] == 7 and record["scale"] == 4
    assert [step["type"] for step in record["images"]["a"]["steps"]] == ["anisotropic_blur", "downscale", "noise", "jpeg"]
    assert 70 <= record["images"]["b"]["steps"][3]["quality"] <= 90
    assert record["images"]["a"]["index"] == 0 and record["images"]["a"]["hr_size"] == [32, 40]


def test_same_seed_same_bytes_and_lr_directly_in_the_output(hr_dir: Path, tmp_path: Path) -> None:
    runs = {}
    for name, seed in (("one", "1"), ("two", "1"), ("three", "2")):
        assert degrade("--input", hr_dir, "--output", tmp_path / name, "--scale", "2", "--seed", seed) == 0
        runs[name] = (tmp_path / name / "a.png").read_bytes()
    assert not (tmp_path / "one" / "lr").exists()
    assert runs["one"] == runs["two"] and runs["one"] != runs["three"]


def test_skips_existing_unless_overwrite(hr_dir: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "lr"
    assert degrade("--input", hr_dir, "--output", out, "--scale", "1", "--preset", "bicubic") == 0
    (out / "a.png").write_bytes(b"marker")
    assert degrade("--input", hr_dir, "--output", out, "--scale", "1", "--preset", "bicubic") == 0
    assert "skipped 2 existing" in capsys.readouterr().out and (out / "a.png").read_bytes() == b"marker"
    assert degrade("--input", hr_dir, "--output", out, "--scale", "1", "--preset", "bicubic", "--overwrite") == 0
    np.testing.assert_array_equal(read_image(out / "a.png").pixels, read_image(hr_dir / "a.png").pixels)
    assert set(json.loads((out / "degradations.json").read_text())["images"]) == {"a", "b"}
    # other settings into the same folder would make the record lie: refused
    assert degrade("--input", hr_dir, "--output", out, "--scale", "1", "--preset", "bicubic", "--seed", "3") == 2
    assert "made with other settings" in capsys.readouterr().err


def test_config_file_sets_order_and_ranges(hr_dir: Path, tmp_path: Path) -> None:
    config = tmp_path / "pipeline.yaml"
    config.write_text("steps:\n  - {type: downscale, method: area}\n  - {type: jpeg, quality: [20, 30], subsampling: '4:4:4'}\n")
    out = tmp_path / "out"
    assert degrade("--input", hr_dir, "--output", out, "--scale", "2", "--config", config) == 0
    record = json.loads((out / "degradations.json").read_text())
    assert record["source"] == str(config)
    assert record["images"]["a"]["steps"][0] == {"type": "downscale", "method": "area"}
    assert 20 <= record["images"]["a"]["steps"][1]["quality"] <= 30


def test_skip_bad_keeps_the_other_images_draws(hr_dir: Path, tmp_path: Path, capsys) -> None:
    """An image's draws depend on its index in the listed folder, not on which files were readable."""
    (hr_dir / "0bad.png").write_bytes(b"not a png")
    assert degrade("--input", hr_dir, "--output", tmp_path / "bad", "--scale", "2") == 2
    assert "0bad.png" in capsys.readouterr().err
    assert degrade("--input", hr_dir, "--output", tmp_path / "skip", "--scale", "2", "--skip-bad") == 0
    write_photo(hr_dir / "0bad.png", (16, 16), seed=3)
    assert degrade("--input", hr_dir, "--output", tmp_path / "full", "--scale", "2") == 0
    skipped = json.loads((tmp_path / "skip" / "degradations.json").read_text())["images"]
    full = json.loads((tmp_path / "full" / "degradations.json").read_text())["images"]
    assert set(skipped) == {"a", "b"} and skipped["a"] == full["a"] and skipped["a"]["index"] == 1
    assert (tmp_path / "skip" / "a.png").read_bytes() == (tmp_path / "full" / "a.png").read_bytes()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--scale", "3"], "--scale must be one of 4, 2, 1, got 3"),
        (["--scale", "4", "--preset", "dslr"], "unknown preset 'dslr' (valid: bicubic, aim2019-like, phone-camera, one-camera)"),
        (["--scale", "4", "--preset", "bicubic", "--config", "x.yaml"], "give --preset or --config, not both"),
        (["--scale", "4", "--config", "missing.yaml"], "--config 'missing.yaml': cannot read"),
    ],
)
def test_user_errors_are_one_line(hr_dir: Path, tmp_path: Path, capsys, extra: list[str], message: str) -> None:
    assert degrade("--input", hr_dir, "--output", tmp_path / "o", *extra) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_empty_folder_is_one_line(tmp_path: Path, capsys) -> None:
    (tmp_path / "empty").mkdir()
    assert degrade("--input", tmp_path / "empty", "--output", tmp_path / "o", "--scale", "4") == 2
    err = capsys.readouterr().err
    assert "--input: folder" in err and "holds no images" in err and err.count("\n") == 1


def test_refuses_to_write_over_its_inputs(hr_dir: Path, capsys) -> None:
    assert degrade("--input", hr_dir, "--output", hr_dir, "--scale", "2") == 2
    assert "is the input folder" in capsys.readouterr().err


def test_clashing_stems_keep_their_extension_and_a_leftover_clash_fails_alone(hr_dir: Path, tmp_path: Path, capsys):
    write_photo(hr_dir / "a.jpg", (34, 41), seed=2)
    write_photo(hr_dir / "a_png.tif", (24, 32), seed=3)  # takes a.png's new name
    out = tmp_path / "val"
    assert degrade("--input", hr_dir, "--output", out, "--scale", "4", "--pairs") == 1
    assert sorted(path.name for path in (out / "lr").iterdir()) == ["a_jpg.png", "b.png"]
    assert sorted(path.name for path in (out / "hr").iterdir()) == ["a_jpg.png", "b.png"]
    record = json.loads((out / "degradations.json").read_text())
    assert sorted(record["images"]) == ["a_jpg", "b"]
    err = capsys.readouterr().err
    assert err.count("dasr: failed: ") == 2 and "a_png.png' would also be written by" in err
