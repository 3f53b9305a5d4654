"""``dasr report`` on a tiny real ``dasr fit`` run: one self-contained HTML file with every section."""

from __future__ import annotations

import base64
import io
import json
import re
import shutil
from pathlib import Path

import pytest
from PIL import Image

from dasr.cli.main import main
from dasr.errors import DasrError
from dasr.report import build_report
from dasr.report.curves import nice_ticks, stage_charts
from tests.helpers import assert_self_contained, make_fit_run

DATA_URI = re.compile(r'src="data:image/(png|jpeg);base64,([A-Za-z0-9+/=]+)"')


@pytest.fixture(scope="module")
def fit_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_fit_run(tmp_path_factory.mktemp("report"))


def embedded_images(page: str) -> list[Image.Image]:
    return [Image.open(io.BytesIO(base64.b64decode(data))) for _, data in DATA_URI.findall(page)]


def test_fit_report_has_every_section_and_is_self_contained(fit_run: Path, tmp_path: Path) -> None:
    out = build_report(fit_run, tmp_path / "report.html")
    page = out.read_text(encoding="utf-8")
    assert_self_contained(page)
    # 2 validation images x (LR, SR, HR) + the slider's 2, the stage-1 sample's 2, 3 x (LR, heatmap)
    assert page.count("<img ") == len(DATA_URI.findall(page)) == 6 + 2 + 2 + 6
    assert all(image.width > 0 and image.height > 0 for image in embedded_images(page))
    assert 'type="range"' in page and page.count('class="slider"') == 1
    assert page.count('<svg class="chart"') >= 10  # losses, lr, validation metrics of both stages
    assert "validation psnr, bicubic_psnr" in page and "pre-training" in page
    for text in ("dasr fit", "Table 2: adversarial", "target", "hr0: mean", "Stage 1: down-sampling network",
                 "Stage 2: super-resolution network", "No evaluation results"):
        assert text in page, text
    assert "Not applicable" not in page
    assert [path.name for path in tmp_path.iterdir()] == ["report.html"]  # no temporary file left


def test_eval_metrics_are_found_in_the_run_or_given(fit_run: Path, tmp_path: Path) -> None:
    metrics = {
        "protocol": {"scale": 4, "crop_border": 4, "lpips": None},
        "mean": {"psnr": 25.5, "ssim": 0.75},
        "distances": {"fid": 12.3456, "kid": 0.0123},
        "images": [
            {"name": "v0", "sr": "sr/v0.png", "hr": "hr/v0.png", "cropped": False, "psnr": 25.0, "ssim": 0.7},
            {"name": "v1", "sr": "sr/v1.png", "hr": "hr/v1.png", "cropped": True, "psnr": None, "ssim": 0.8},
        ],
        "notices": ["LPIPS skipped"],
    }
    run = tmp_path / "run"
    shutil.copytree(fit_run, run)
    (run / "eval").mkdir()
    (run / "eval" / "metrics.json").write_text(json.dumps(metrics))
    page = build_report(run).read_text(encoding="utf-8")
    assert build_report(run) == run / "report.html"
    table = page[page.index('<table class="metrics">'):]
    table = table[: table.index("</table>")]
    assert "<th>PSNR</th><th>SSIM</th>" in table
    assert "<th>v0</th><td>25.0000</td><td>0.7000</td>" in table
    assert "<th>v1*</th><td>inf</td><td>0.8000</td>" in table  # null = an infinite PSNR
    assert "<th>mean (2)</th><td>25.5000</td><td>0.7500</td>" in table
    assert "fid 12.346" in page and "LPIPS skipped" in page and "cropped to the common size" in page

    given = tmp_path / "other.json"
    given.write_text(json.dumps({"images": [{"name": "x", "lpips": 0.25}], "mean": {"lpips": 0.25}}))
    page = build_report(run, tmp_path / "r.html", given).read_text(encoding="utf-8")
    assert "<th>x</th><td>0.2500</td>" in page and "<th>LPIPS</th>" in page


def test_single_stage_run_folders(fit_run: Path, tmp_path: Path) -> None:
    dsn = build_report(fit_run / "dsn", tmp_path / "dsn.html").read_text(encoding="utf-8")
    assert "dasr train-dsn" in dsn and "a train-dsn run has no SR network" in dsn
    assert 'type="range"' not in dsn and "Stage 2:" not in dsn and "DSN output" in dsn
    assert len(DATA_URI.findall(dsn)) == 2
    srn = build_report(fit_run / "srn", tmp_path / "srn.html").read_text(encoding="utf-8")
    assert "dasr train-srn" in srn and "a train-srn run has no DSN" in srn and "holds no maps" in srn
    assert 'type="range"' in srn and "Stage 1:" not in srn.split('id="curves"')[1]
    assert "closest; the run did not record its preset" in srn
    assert_self_contained(srn)


def test_a_fit_interrupted_in_stage_one(fit_run: Path, tmp_path: Path) -> None:
    shutil.copytree(fit_run / "dsn", tmp_path / "run" / "dsn")
    page = build_report(tmp_path / "run").read_text(encoding="utf-8")
    assert "dasr fit" in page and "stage 2 has not started yet" in page and "stage 1.5 has not finished" in page
    assert "DSN output" in page and "Stage 1: down-sampling network" in page


def test_without_validation_the_latest_training_sample_is_shown(fit_run: Path, tmp_path: Path) -> None:
    run = tmp_path / "srn"
    shutil.copytree(fit_run / "srn", run)
    for path in (run / "samples").glob("val_*.png"):
        path.unlink()
    page = build_report(run).read_text(encoding="utf-8")
    assert "No validation pairs" in page and "real LR patch" in page and 'type="range"' in page
    # training pair (LR, SR, HR), real LR patch (LR, SR), the slider's 2
    assert len(DATA_URI.findall(page)) == 3 + 2 + 2


def test_large_samples_are_reduced_and_the_slider_shows_a_full_resolution_crop(fit_run: Path, tmp_path: Path) -> None:
    run = tmp_path / "srn"
    shutil.copytree(fit_run / "srn", run)
    big = Image.linear_gradient("L").resize((3 * 1000, 800)).convert("RGB")
    for path in (run / "samples").glob("val_*.png"):
        big.save(path, compress_level=1)
    sizes = [image.size for image in embedded_images(build_report(run).read_text(encoding="utf-8"))]
    assert max(max(size) for size in sizes) == 768
    assert sizes.count((768, 614)) == 6  # 2 images x 3 panels, reduced
    assert sizes.count((768, 768)) == 2  # the slider's crops


def test_cli_report(fit_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "r.html"
    assert main(["report", str(fit_run), "--out", str(out)]) == 0
    assert capsys.readouterr().out.strip() == f"report: {out}"
    assert main(["report", str(tmp_path / "nothing")]) == 2
    error = capsys.readouterr().err
    assert error.startswith("dasr: error: run folder") and error.count("\n") == 1


def test_errors_are_one_line(fit_run: Path, tmp_path: Path) -> None:
    (tmp_path / "photos").mkdir()
    with pytest.raises(DasrError, match="is not a dasr run folder"):
        build_report(tmp_path / "photos")
    started = tmp_path / "started"
    started.mkdir()
    shutil.copy(fit_run / "srn" / "config.yaml", started / "config.yaml")
    with pytest.raises(DasrError, match="has no checkpoint yet"):
        build_report(started)
    with pytest.raises(DasrError, match="does not exist"):
        build_report(fit_run, tmp_path / "missing" / "r.html")
    with pytest.raises(DasrError, match="is a folder"):
        build_report(fit_run, tmp_path)
    bad = tmp_path / "bad.json"
    bad.write_text('{"mean": {}}')
    with pytest.raises(DasrError, match="needs an 'images' list"):
        build_report(fit_run, tmp_path / "r.html", bad)
    bad.write_text("{")
    with pytest.raises(DasrError, match="is not valid JSON"):
        build_report(fit_run, tmp_path / "r.html", bad)
    assert not (tmp_path / "r.html").exists()


def test_nice_ticks_cover_the_data_with_round_steps() -> None:
    assert nice_ticks(0.03, 0.041) == pytest.approx([0.03, 0.035, 0.04, 0.045])
    assert nice_ticks(1, 6) == [0, 2, 4, 6]
    assert nice_ticks(5.0, 5.0) == pytest.approx([4.5, 4.75, 5.0, 5.25, 5.5])


def test_charts_leave_out_non_finite_values_and_thin_long_series() -> None:
    log = [
        {"step": step, "phase": "pretrain" if step <= 100 else "train", "time": 0.0,
         "content": float("nan") if step == 7 else 1 / step, "skipped": 0.0}
        for step in range(1, 5001)
    ]
    charts, notes = stage_charts(log)
    assert notes == ["always 0, not drawn: skipped"] and len(charts) == 1
    coordinates = re.search(r'<polyline points="([^"]*)"', charts[0]).group(1).split()
    assert len(coordinates) <= 600 and "nan" not in charts[0].lower()
    assert "pre-training" in charts[0] and "<circle" not in charts[0]  # no markers on a long series
