"""Options shared by several commands, declared once so their names and help never drift apart."""

from __future__ import annotations

import argparse
from pathlib import Path

from dasr.config.loader import list_presets, load_config
from dasr.config.schema import Config


def add_config_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--preset",
        default="paper",
        help=f"named settings to start from: {', '.join(list_presets())} (default: paper)",
    )
    parser.add_argument(
        "--config", action="append", default=[], type=Path, metavar="FILE",
        help="YAML file of settings applied after the preset (repeatable)",
    )
    parser.add_argument(
        "--set", action="append", default=[], dest="overrides", metavar="KEY=VALUE",
        help="override one setting, e.g. --set dsn.iters=1000 (repeatable; applied last)",
    )


def add_scale_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--scale", type=int, choices=(4, 2, 1), required=True, help="down-scaling factor HR -> LR")


def add_skip_bad_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--skip-bad", action="store_true", help="skip unreadable images with a warning instead of stopping"
    )


def config_from_args(args: argparse.Namespace) -> Config:
    """The effective configuration: preset, then files, then --scale, then --set overrides."""
    overrides = list(args.overrides)
    if getattr(args, "scale", None) is not None:
        overrides.insert(0, f"scale={args.scale}")
    return load_config(args.preset, args.config, overrides)
