"""The configuration loader: layering, type checking, error messages and saving."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from dasr.config import (
    Config,
    config_from_dict,
    config_to_dict,
    diff_configs,
    list_presets,
    load_config,
    read_config,
    save_config,
)
from dasr.errors import DasrError


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_presets_are_listed_and_paper_equals_the_schema_defaults() -> None:
    assert {"paper", "official", "cpu-small"} <= set(list_presets())
    assert load_config() == Config()
    assert load_config("paper") == Config()


@pytest.mark.parametrize("preset", list_presets())
def test_every_preset_round_trips_through_its_saved_file(preset: str, tmp_path: Path) -> None:
    config = load_config(preset)
    save_config(config, tmp_path / "config.yaml")
    assert read_config(tmp_path / "config.yaml") == config
    assert config_from_dict(config_to_dict(config)) == config
    assert list(tmp_path.iterdir()) == [tmp_path / "config.yaml"]  # no temporary file left


def test_official_preset_carries_the_released_code_settings() -> None:
    dsn = load_config("official").dsn
    assert (dsn.arch, dsn.discriminator, dsn.disc_norm, dsn.filter) == (
        "official",
        "official",
        "instance",
        "avgpool",
    )
    assert dsn.betas == (0.5, 0.999) and dsn.lr == 1e-4
    assert (dsn.batch_size, dsn.patch_size, dsn.pretrain_iters) == (8, 256, 0)
    assert (dsn.iters, dsn.lr_schedule, dsn.lr_decay_iters) == (400 * 332, "linear", 150 * 332)
    assert (dsn.content_weight, dsn.perceptual_weight, dsn.adversarial_weight) == (1.0, 0.01, 0.006)


def test_layers_apply_in_order_preset_files_overrides(tmp_path: Path) -> None:
    first = write(tmp_path / "a.yaml", "dsn:\n  iters: 7\n  lr: 3.0e-4\nseed: 5\n")
    second = write(tmp_path / "b.yaml", "dsn:\n  iters: 8\n")
    config = load_config("cpu-small", [first, second], ["dsn.lr=1e-3"])
    assert (config.dsn.iters, config.dsn.lr, config.seed) == (8, 1e-3, 5)
    assert config.dsn.num_blocks == 4  # from the preset, untouched by the files


@pytest.mark.parametrize(
    ("override", "key", "expected"),
    [
        ("dsn.iters=100", "dsn.iters", 100),
        ("dsn.lr=1e-4", "dsn.lr", 1e-4),  # YAML 1.1 reads 1e-4 as a string
        ("dsn.lr=1", "dsn.lr", 1.0),
        ("deterministic=true", "deterministic", True),
        ("device=cuda:0", "device", "cuda:0"),
        ("dsn.vgg_weights=null", "dsn.vgg_weights", None),
        ("dsn.vgg_weights=/w/vgg.pth", "dsn.vgg_weights", "/w/vgg.pth"),
        ("dsn.lr_decay_iters=5", "dsn.lr_decay_iters", 5),
        ("dsn.filter=gaussian", "dsn.filter", "gaussian"),
        ("scale=2", "scale", 2),
        ("dsn.betas=[0.5,0.999]", "dsn.betas", (0.5, 0.999)),
        ("dsn.betas=[0, 1]", "dsn.betas", (0.0, 1.0)),
        ("dsn={iters: 3}", "dsn.iters", 3),
    ],
)
def test_overrides_are_parsed_and_typed(override: str, key: str, expected: object) -> None:
    value = load_config(overrides=[override])
    for name in key.split("."):
        value = getattr(value, name)
    assert value == expected and type(value) is type(expected)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        (
            "dsn.iters=abc",
            "config key 'dsn.iters' must be an int, got 'abc' (from --set dsn.iters=abc)",
        ),
        ("dsn.iters=1.5", "config key 'dsn.iters' must be an int, got 1.5"),
        ("dsn.iters=true", "config key 'dsn.iters' must be an int, got true"),
        ("dsn.lr=fast", "config key 'dsn.lr' must be a number, got 'fast'"),
        ("deterministic=1", "config key 'deterministic' must be true or false, got 1"),
        ("device=3", "config key 'device' must be a string, got 3"),
        (
            "dsn.filter=wavlet",
            "config key 'dsn.filter' must be one of 'wavelet', 'gaussian', 'avgpool', 'rgb', "
            "got 'wavlet'",
        ),
        ("scale=3", "config key 'scale' must be one of 4, 2, 1, got 3"),
        ("scale=true", "config key 'scale' must be one of 4, 2, 1, got true"),
        (
            "dsn.betas=[0.5]",
            "config key 'dsn.betas' must be a list of 2 items (a number, a number), got [0.5]",
        ),
        ("dsn.betas=[0.5, x]", "config key 'dsn.betas' must be a list of 2 items"),
        ("dsn.lr_decay_iters=x", "config key 'dsn.lr_decay_iters' must be an int or null, got 'x'"),
        ("dsn=3", "config key 'dsn' must be a mapping of keys, got 3"),
        ("dsn.iters", "--set expects key=value, got 'dsn.iters'"),
        ("=3", "--set expects key=value, got '=3'"),
        ("dsn.iters=[1", "--set dsn.iters: value '[1' is not valid YAML"),
    ],
)
def test_bad_overrides_name_the_key_and_the_problem(override: str, message: str) -> None:
    with pytest.raises(DasrError) as caught:
        load_config(overrides=[override])
    assert str(caught.value).startswith(message)


def test_unknown_keys_suggest_the_closest_and_list_the_section() -> None:
    with pytest.raises(DasrError) as caught:
        load_config(overrides=["dsn.iter=3"])
    names = ", ".join(field.name for field in dataclasses.fields(Config().dsn))
    assert str(caught.value) == (
        "unknown config key 'dsn.iter' (from --set dsn.iter=3); did you mean 'dsn.iters'? "
        f"valid keys in 'dsn': {names}"
    )
    with pytest.raises(
        DasrError, match=r"unknown config key 'dssn'.*did you mean 'dsn'\? valid keys: scale, seed"
    ):
        load_config(overrides=["dssn.iters=3"])


def test_file_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(DasrError, match=r"config file '.*missing.yaml' does not exist"):
        load_config(files=[tmp_path / "missing.yaml"])
    broken = write(tmp_path / "broken.yaml", "dsn:\n  iters: [1\n")
    with pytest.raises(
        DasrError, match=r"config file '.*broken.yaml' is not valid YAML at line \d+"
    ):
        load_config(files=[broken])
    listed = write(tmp_path / "list.yaml", "- 1\n- 2\n")
    with pytest.raises(
        DasrError, match=r"config file '.*list.yaml' must hold a mapping of config keys"
    ):
        load_config(files=[listed])
    typo = write(tmp_path / "typo.yaml", "train:\n  keep_checkpoint: 3\n")
    with pytest.raises(
        DasrError, match=r"'train.keep_checkpoint' \(from file '.*typo.yaml'\); did you mean"
    ):
        load_config(files=[typo])


def test_empty_files_and_sections_change_nothing(tmp_path: Path) -> None:
    empty = write(tmp_path / "empty.yaml", "# nothing yet\n")
    commented = write(tmp_path / "section.yaml", "dsn:\n  # iters: 5\n")
    assert load_config(files=[empty, commented]) == Config()


def test_unknown_preset_lists_the_presets() -> None:
    with pytest.raises(
        DasrError, match=r"unknown preset 'papr'; available presets: " + ", ".join(list_presets())
    ):
        load_config("papr")


def test_config_from_dict_validates_like_files() -> None:
    assert config_from_dict({"dsn": {"iters": 5}}).dsn.iters == 5
    with pytest.raises(DasrError, match=r"config key 'dsn.batch_size' must be an int, got '8'$"):
        config_from_dict({"dsn": {"batch_size": "8"}})


def test_saved_files_hold_plain_yaml(tmp_path: Path) -> None:
    save_config(load_config("official"), tmp_path / "config.yaml")
    text = (tmp_path / "config.yaml").read_text(encoding="utf-8")
    assert "!!" not in text and "betas: [0.5, 0.999]" in text


def test_diff_configs_lists_dotted_keys_in_schema_order() -> None:
    a = load_config()
    b = load_config(overrides=["seed=1", "dsn.lr=2e-4", "data.augment=false"])
    assert diff_configs(a, b) == ["seed", "data.augment", "dsn.lr"]
    assert diff_configs(a, load_config()) == []
