"""The training benchmarks still run end to end (tiny networks, CPU), report what they promise,
and their stand-in pairs folder is one stage 2 reads like a real one."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import torch
from torch import nn

from dasr.config.loader import load_config
from dasr.data.folders import list_images
from dasr.data.paired import generated_pairs
from tests.conftest import TINY_DSN, TINY_SRN

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import train_dsn_speed
import train_srn_speed
from flops import count_flops
from image_sets import write_generated_pairs
from train_bench import Variant, run


def test_flops_of_a_convolution_forward_and_backward() -> None:
    conv = nn.Conv2d(4, 6, 3, padding=1, bias=False)
    inputs = torch.rand(2, 4, 5, 7, requires_grad=True)
    forward = 2 * (2 * 6 * 5 * 7) * (4 * 3 * 3)  # 2 FLOPs per multiply-add, per output value
    # The backward computes the input's and the weight's gradients: twice the forward.
    assert count_flops(lambda: conv(inputs).sum().backward()) == 3 * forward


@pytest.mark.parametrize("name", ["eager", "channels_last", "compile", "channels_last+compile", "graphs",
                                  "channels_last+graphs"])
def test_variant_names_round_trip_to_config_overrides(name: str) -> None:
    variant = Variant.parse(name)
    assert variant.name == name
    assert variant.overrides() == [
        f"train.channels_last={str('channels_last' in name).lower()}",
        f"train.compile={str('compile' in name or 'graphs' in name).lower()}",
        f"train.compile_mode={'reduce-overhead' if 'graphs' in name else 'default'}",
    ]
    load_config("paper", (), variant.overrides())  # settings the trainers accept


@pytest.mark.parametrize(
    ("stage", "overrides", "batch_size"),
    [(train_dsn_speed.DSNStage(), TINY_DSN, 2), (train_srn_speed.SRNStage(), TINY_SRN, 2)],
    ids=["dsn", "srn"],
)
def test_benchmark_reports_variants_utilisation_and_data_wait(
    stage, overrides, batch_size, photo_folders, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "figures.json"
    argv = ["bench", "--preset", "paper", "--steps", "1", "--data-steps", "2", "--variants", "eager,channels_last"]
    argv += [f"--set={override}" for override in overrides]
    argv += ["--hr", str(photo_folders["hr"]), "--lr", str(photo_folders["lr"]), "--json", str(out)]
    monkeypatch.setattr(sys, "argv", argv)
    figures = run(stage, "test")

    assert json.loads(out.read_text())["variants"] == json.loads(json.dumps(figures["variants"]))
    assert [row["variant"] for row in figures["variants"]] == ["eager", "channels_last"]
    assert figures["flops_per_step"] > 0
    for row in figures["variants"]:
        assert row["ms_per_step"] > 0 and row["utilisation_pct"] > 0
    phases = figures["data"]["phases"]
    assert [phase["phase"] for phase in phases] == ["first", "steady"]
    assert all(0 <= phase["wait_ms_per_step"] <= phase["ms_per_step"] for phase in phases)


def test_stand_in_pairs_folder_reads_as_generated_pairs(photo_folders, tmp_path: Path) -> None:
    hr = list_images(photo_folders["hr"], "--hr")
    pairs = generated_pairs(write_generated_pairs(hr, 4, tmp_path / "pairs"), hr, scale=4)
    assert sorted(pair[1] for pair in pairs) == sorted(hr)
    assert all(lr.is_file() and weight_map.is_file() for lr, _, weight_map in pairs)
