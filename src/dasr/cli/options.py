"""Options shared by several commands, declared once so their names and help never drift apart.

Light at import (no torch, no image libraries): every command's parser is built from these
for ``dasr --help``; what reads images is imported where it is called."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from dasr.config.loader import list_presets, load_config
from dasr.config.schema import Config
from dasr.data.pairs import pair_by_stem
from dasr.errors import DasrError

_Data = TypeVar("_Data")


def add_config_options(parser: argparse.ArgumentParser, default_preset: str = "paper") -> None:
    parser.add_argument(
        "--preset",
        default=default_preset,
        help=f"named settings to start from: {', '.join(list_presets())} (default: {default_preset})",
    )
    parser.add_argument(
        "--config", action="append", default=[], type=Path, metavar="FILE",
        help="YAML file of settings applied after the preset (repeatable)",
    )
    parser.add_argument(
        "--set", action="append", default=[], dest="overrides", metavar="KEY=VALUE",
        help="override one setting, e.g. --set dsn.iters=1000 (repeatable; applied last)",
    )


def add_skip_bad_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--skip-bad", action="store_true", help="skip unreadable images with a warning instead of stopping"
    )


def config_from_args(args: argparse.Namespace) -> Config:
    """The effective configuration: preset, then files, then --scale and --init, then --set
    overrides (``--init W`` is exactly ``--set srn.init=W``, placed before the other ``--set``)."""
    overrides = list(args.overrides)
    if getattr(args, "init", None) is not None:
        overrides.insert(0, f"srn.init={args.init}")
    if getattr(args, "scale", None) is not None:
        overrides.insert(0, f"scale={args.scale}")
    return load_config(args.preset, args.config, overrides)


def add_training_options(parser: argparse.ArgumentParser) -> None:
    """What every training command takes (train-dsn, train-srn, fit, ablate): the scale, the
    settings, the validation pairs and ``--skip-bad``."""
    parser.add_argument("--scale", type=int, choices=(4, 2, 1), required=True, help="down-scaling factor HR -> LR")
    add_config_options(parser)
    parser.add_argument("--val-hr", type=Path, help="validation HR images (same scenes as --val-lr)")
    parser.add_argument("--val-lr", type=Path, help="validation real LR images, paired by file name")
    add_skip_bad_option(parser)


def add_unpaired_training_options(parser: argparse.ArgumentParser) -> None:
    """``--hr`` and ``--lr``, the two unrelated folders the unsupervised method learns from (train-dsn,
    fit, ablate), then :func:`add_training_options`."""
    parser.add_argument("--hr", type=Path, required=True, help="folder of clean high-resolution photos")
    parser.add_argument("--lr", type=Path, required=True, help="folder of real low-resolution images (other scenes)")
    add_training_options(parser)


def read_unpaired_folders(args: argparse.Namespace) -> tuple[list[Path], list[Path]]:
    """The readable images of ``--hr`` and ``--lr``."""
    return read_images(args.hr, "--hr", args.skip_bad), read_images(args.lr, "--lr", args.skip_bad)


def read_unpaired_data(args: argparse.Namespace, data: Callable[..., _Data]) -> _Data:
    """``data(hr_paths, lr_paths, val_pairs=...)`` (``FitData``, ``DSNData``, ...) of ``--hr``,
    ``--lr`` and the ``--val-hr`` / ``--val-lr`` pairs."""
    return data(*read_unpaired_folders(args), val_pairs=read_validation_pairs(args))


_RESUME_LATEST = Path("<the run folder's last checkpoint>")
"""``--resume`` given without a file. Not a ``str``, so argparse does not pass it through ``type``."""


def add_run_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, required=True, metavar="RUN", help="run folder (created or resumed)")
    parser.add_argument(
        "--resume", nargs="?", const=_RESUME_LATEST, type=Path, metavar="CHECKPOINT",
        help="resume from CHECKPOINT; without a file, from RUN's last checkpoint, and fail if it has none "
        "(rerunning the same command without --resume also resumes, or starts afresh)",
    )


def resume_checkpoint(args: argparse.Namespace) -> Path | None:
    """The checkpoint ``--resume`` names: its file, the run folder's latest with no file (a run
    folder without one is an error: the user asked to continue, not to start), or ``None``."""
    if args.resume is not _RESUME_LATEST:
        return args.resume
    from dasr.engine.run_dir import RunDir

    latest = RunDir(args.out, create=False).latest_checkpoint()
    if latest is None:
        raise DasrError(f"--resume: run folder '{args.out}' holds no checkpoint to resume from")
    return latest


def read_images(folder: Path, option: str, skip_bad: bool) -> list[Path]:
    """The readable images of a folder option (see ``dasr.data.folders``)."""
    from dasr.data.folders import check_images, list_images

    return check_images(list_images(folder, option), option, skip_bad)


def read_validation_pairs(args: argparse.Namespace) -> list[tuple[Path, Path]] | None:
    """The ``--val-hr`` / ``--val-lr`` pairs (paired by file name), or ``None`` when neither is given."""
    if (args.val_hr is None) != (args.val_lr is None):
        raise DasrError("--val-hr and --val-lr must be given together")
    if args.val_hr is None:
        return None
    hr = read_images(args.val_hr, "--val-hr", args.skip_bad)
    lr = read_images(args.val_lr, "--val-lr", args.skip_bad)
    return pair_by_stem(hr, lr, first_option="--val-hr", second_option="--val-lr")
