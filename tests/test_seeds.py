"""Several seeds of one comparison: the spread (against numpy), paired margins and the rule
that a margin counts only beyond the spread, the files, and ``--seeds`` / ``--variants`` of
``dasr ablate`` and ``dasr demo`` from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from dasr.cli.main import main
from dasr.config.loader import load_config, read_config
from dasr.demo import run as demo_run
from dasr.demo.run import BASELINE, DASR, UPSAMPLING, DemoResult
from dasr.errors import DasrError
from dasr.pipeline.ablate import Result
from dasr.pipeline.ablation_variants import TABLE1_VARIANTS, select_variants
from dasr.pipeline.seeds import paired_margins, seeded_configs, spreads, write_spread
from tests.helpers import ablate_argv


def _seed_results(dasr_psnr: list[float], baseline_psnr: list[float]) -> list[list[Result]]:
    return [
        [Result(BASELINE, {"psnr": b, "ssim": 0.6, "hf": 2.0, "hf_hr": 5.0}),
         Result(DASR, {"psnr": d, "ssim": 0.61 + 0.001 * i, "hf": 2.5, "hf_hr": 5.0})]
        for i, (d, b) in enumerate(zip(dasr_psnr, baseline_psnr))
    ]


def test_spread_is_the_mean_and_sample_sd_of_numpy() -> None:
    per_seed = _seed_results([25.1, 25.4, 25.2], [25.0, 24.9, 25.3])
    spread = spreads(per_seed, "psnr")["dasr"]
    assert spread.mean == pytest.approx(np.mean([25.1, 25.4, 25.2]))
    assert spread.sd == pytest.approx(np.std([25.1, 25.4, 25.2], ddof=1))
    assert spreads(per_seed[:1], "psnr")["dasr"].sd == 0.0


@pytest.mark.parametrize(
    ("dasr", "baseline", "beyond"),
    [
        ([25.5, 25.6, 25.55], [25.0, 25.05, 25.1], True),  # +0.5 every seed, spreads ~0.05
        ([25.5, 25.0, 25.55], [25.0, 25.05, 25.1], False),  # behind in one seed
        ([25.5, 25.1, 25.9], [25.3, 25.0, 25.8], False),  # ahead every seed, by less than the spread
        ([25.5], [25.0], False),  # one seed has no spread to beat
    ],
)
def test_a_margin_counts_only_beyond_the_spread(dasr, baseline, beyond) -> None:
    (margin,) = paired_margins(_seed_results(dasr, baseline), "dasr", "bicubic", ["psnr"])
    assert margin.differences.values == pytest.approx([d - b for d, b in zip(dasr, baseline)])
    assert margin.beyond_spread is beyond


def test_spread_file_round_trips_every_seed(tmp_path: Path) -> None:
    per_seed = _seed_results([25.1, 25.4, 25.2], [25.0, 24.9, 25.3])
    csv_path, json_path = write_spread(per_seed, [3, 5, 7], ["psnr", "ssim", "lpips"], tmp_path / "table2")
    assert csv_path.name == "table2-seeds.csv"
    records = json.loads(json_path.read_text())
    assert [(r["variant"], r["metric"]) for r in records] == [("bicubic", "psnr"), ("bicubic", "ssim"),
                                                              ("dasr", "psnr"), ("dasr", "ssim")]
    dasr_psnr = records[2]
    assert [dasr_psnr[f"seed_{s}"] for s in (3, 5, 7)] == [25.1, 25.4, 25.2]
    assert (dasr_psnr["min"], dasr_psnr["max"]) == (25.1, 25.4)
    assert csv_path.read_text().count("\n") == 5


def test_repeated_seeds_and_unknown_variants_are_refused() -> None:
    with pytest.raises(DasrError, match="--seeds: each seed once"):
        seeded_configs(load_config("paper", (), ()), [1, 2, 1])
    with pytest.raises(DasrError, match="--variants: no variant 'hr-wavlet'.*hr-wavelet"):
        select_variants(TABLE1_VARIANTS, ["hr-wavlet"])


def test_ablate_runs_chosen_variants_per_seed_and_reports_the_spread(photo_folders, tmp_path: Path, capsys) -> None:
    out = tmp_path / "ablation"
    args = ablate_argv(photo_folders, out, "--table", "1", "--val-hr", str(photo_folders["val_hr"]),
                    "--val-lr", str(photo_folders["val_lr"]), "--variants", "hr-wavelet,physical-wavelet")
    assert main([*args, "--seeds", "1"]) == 0  # one seed alone first, as a separate process would
    assert main([*args, "--seeds", "1", "2"]) == 0
    printed = capsys.readouterr().out
    for seed in (1, 2):
        table = json.loads((out / f"seed-{seed}" / "table1.json").read_text())
        assert [r["variant"] for r in table] == ["bicubic-downscale", "hr-wavelet", "physical-wavelet"]
        assert read_config(out / f"seed-{seed}" / "table1" / "hr-wavelet" / "config.yaml").seed == seed
    assert not (out / "seed-1" / "table1" / "hr-rgb").exists()
    records = json.loads((out / "table1-seeds.json").read_text())
    psnr = next(r for r in records if r["variant"] == "hr-wavelet" and r["metric"] == "psnr")
    seeds = [json.loads((out / f"seed-{s}" / "table1.json").read_text())[1]["psnr"] for s in (1, 2)]
    assert [psnr["seed_1"], psnr["seed_2"]] == seeds
    assert psnr["sd"] == pytest.approx(np.std(seeds, ddof=1))
    assert "mean ± sample standard deviation over 2 seeds (1, 2)" in printed and "seed 2:" in printed


def test_demo_seeds_runs_each_seed_in_its_folder_and_judges_beyond_the_spread(tmp_path: Path, monkeypatch,
                                                                                capsys) -> None:
    dasr_psnr = {0: 25.6, 1: 25.7, 2: 25.65}

    def fake_demo(out: Path, config, **kwargs) -> DemoResult:
        results = [Result(UPSAMPLING, {"psnr": 25.5, "ssim": 0.64, "haarpsi": 0.66, "hf": 2.0, "hf_hr": 4.9}),
                   Result(BASELINE, {"psnr": 25.1, "ssim": 0.60, "haarpsi": 0.63, "hf": 2.6, "hf_hr": 4.9}),
                   Result(DASR, {"psnr": dasr_psnr[config.seed], "ssim": 0.62 + 0.001 * config.seed,
                                 "haarpsi": 0.64, "hf": 2.2, "hf_hr": 4.9})]
        assert out == tmp_path / f"seed-{config.seed}"
        return DemoResult(results, f"table of seed {config.seed}", "", "stage 1", out / "m.csv", out / "m.json", out / "r.html")

    monkeypatch.setattr(demo_run, "run_demo", fake_demo)
    assert main(["demo", "--out", str(tmp_path), "--seeds", "0", "1", "2"]) == 0
    printed = capsys.readouterr().out
    assert "seed 2: table of seed 2" in printed
    assert "beyond the seed spread on PSNR, SSIM, HaarPSI" in printed
    assert "stays at or below the HR's in every seed" in printed
    records = json.loads((tmp_path / "demo_metrics-seeds.json").read_text())
    dasr = next(r for r in records if r["variant"] == "dasr" and r["metric"] == "psnr")
    assert dasr["mean"] == pytest.approx(np.mean(list(dasr_psnr.values())))
