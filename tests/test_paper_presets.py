"""The per-experiment presets: the paper's settings at each Table 3 scale, the released code's
per-data-set settings, and the ``base:`` key they are built with."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from dasr.config import loader
from dasr.config.loader import diff_configs, list_presets, load_config
from dasr.errors import DasrError

SCALES = {"aim2019-x4": 4, "realsr-x4": 4, "realsr-x2": 2, "camerasr-x1": 1}


@pytest.mark.parametrize(("name", "scale"), SCALES.items())
def test_paper_experiments_are_the_paper_preset_at_their_scale(name: str, scale: int) -> None:
    assert name in list_presets()
    config = load_config(name)
    assert config.scale == scale
    assert config == replace(load_config("paper"), scale=scale)


@pytest.mark.parametrize(("name", "scale"), SCALES.items())
def test_official_variants_load_with_their_scale_and_the_released_architecture(name: str, scale: int) -> None:
    config = load_config(f"official-{name}")
    assert config.scale == scale
    assert (config.dsn.arch, config.dsn.lr_schedule, config.dsn.betas) == ("official", "linear", (0.5, 0.999))


def test_official_aim2019_is_the_official_preset() -> None:
    assert load_config("official-aim2019-x4") == load_config("official")


def test_official_realsr_differs_where_the_realsr_launcher_and_json_differ() -> None:
    aim, realsr = load_config("official"), load_config("official-realsr-x4")
    assert (realsr.dsn.patch_size, realsr.dsn.adversarial_weight) == (128, 0.005)
    assert (realsr.dsn.iters, realsr.dsn.lr_decay_iters) == (400 * 25, 150 * 25)
    srn = realsr.srn
    assert (srn.batch_size, srn.lr, srn.lr_step, srn.iters) == (16, 5e-5, 50000, 100000)
    assert (srn.perceptual, srn.perceptual_weight, srn.adversarial_weight) == ("vgg19", 0.01, 1e-4)
    assert set(diff_configs(aim, realsr)) == {
        "dsn.patch_size", "dsn.adversarial_weight", "dsn.iters", "dsn.lr_decay_iters",
        "srn.batch_size", "srn.lr", "srn.lr_step", "srn.perceptual", "srn.perceptual_weight",
        "srn.adversarial_weight", "srn.iters",
    }


def test_official_realsr_x2_and_camerasr_change_only_what_their_data_changes() -> None:
    assert diff_configs(load_config("official-realsr-x4"), load_config("official-realsr-x2")) == ["scale"]
    assert set(diff_configs(load_config("official"), load_config("official-camerasr-x1"))) == {
        "scale", "dsn.iters", "dsn.lr_decay_iters"
    }
    camerasr = load_config("official-camerasr-x1").dsn
    assert (camerasr.iters, camerasr.lr_decay_iters) == (400 * 10, 150 * 10)


def _presets_in(folder: Path, monkeypatch: pytest.MonkeyPatch, **texts: str) -> None:
    for name, text in texts.items():
        (folder / f"{name}.yaml").write_text(text)
    monkeypatch.setattr(loader, "PRESETS_DIR", folder)


def test_base_chains_apply_the_base_first_and_later_files_win(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _presets_in(tmp_path, monkeypatch, a="seed: 1\nscale: 2\n", b="base: a\nseed: 2\n", c="base: b\n")
    config = load_config("c")
    assert (config.scale, config.seed) == (2, 2)
    assert load_config("c", overrides=["seed=3"]).seed == 3


@pytest.mark.parametrize("text", ["base: nope\n", "base: self\n", "base: other\n"])
def test_bad_bases_are_one_line_errors(text: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _presets_in(tmp_path, monkeypatch, self=text, other="base: self\n")
    with pytest.raises(DasrError, match="preset '(self|other)': base '.*' is not another known preset"):
        load_config("self")


def test_base_is_not_a_key_of_user_files(tmp_path: Path) -> None:
    (tmp_path / "mine.yaml").write_text("base: paper\n")
    with pytest.raises(DasrError, match="unknown config key 'base'"):
        load_config("paper", [tmp_path / "mine.yaml"])
