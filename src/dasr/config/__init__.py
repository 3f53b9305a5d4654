"""Configuration: the schema, the presets, and the loader layering them with files and ``--set``."""

from dasr.config.loader import (
    config_from_dict,
    config_to_dict,
    diff_configs,
    list_presets,
    load_config,
    read_config,
    save_config,
)
from dasr.config.schema import Config

__all__ = [
    "Config",
    "config_from_dict",
    "config_to_dict",
    "diff_configs",
    "list_presets",
    "load_config",
    "read_config",
    "save_config",
]
