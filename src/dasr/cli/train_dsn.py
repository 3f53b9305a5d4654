"""``dasr train-dsn``: stage 1, learn the real degradation from unpaired HR and real-LR folders."""

from __future__ import annotations

import argparse
from pathlib import Path

from dasr.cli.options import add_config_options, add_scale_option, add_skip_bad_option, config_from_args
from dasr.data.folders import check_images, list_images
from dasr.data.pairs import pair_by_stem
from dasr.errors import DasrError
from dasr.stage1_dsn.trainer import DSNData, train_dsn


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train-dsn",
        help="stage 1: train the down-sampling network (DSN)",
        description="Train the down-sampling network that turns HR photos into LR images that look "
        "like your real LR images. Rerunning the same command resumes from the last checkpoint.",
    )
    parser.add_argument("--hr", type=Path, required=True, help="folder of clean high-resolution photos")
    parser.add_argument("--lr", type=Path, required=True, help="folder of real low-resolution images (other scenes)")
    add_scale_option(parser)
    parser.add_argument("--out", type=Path, required=True, metavar="RUN", help="run folder (created or resumed)")
    add_config_options(parser)
    parser.add_argument("--val-hr", type=Path, help="validation HR images (same scenes as --val-lr)")
    parser.add_argument("--val-lr", type=Path, help="validation real LR images, paired by file name")
    parser.add_argument("--resume", type=Path, metavar="CHECKPOINT", help="resume from this checkpoint file")
    add_skip_bad_option(parser)
    parser.set_defaults(func=run)


def read_validation_pairs(args: argparse.Namespace) -> list[tuple[Path, Path]] | None:
    if (args.val_hr is None) != (args.val_lr is None):
        raise DasrError("--val-hr and --val-lr must be given together")
    if args.val_hr is None:
        return None
    hr = check_images(list_images(args.val_hr, "--val-hr"), "--val-hr", args.skip_bad)
    lr = check_images(list_images(args.val_lr, "--val-lr"), "--val-lr", args.skip_bad)
    return pair_by_stem(hr, lr, first_option="--val-hr", second_option="--val-lr")


def run(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    data = DSNData(
        hr_paths=check_images(list_images(args.hr, "--hr"), "--hr", args.skip_bad),
        lr_paths=check_images(list_images(args.lr, "--lr"), "--lr", args.skip_bad),
        val_pairs=read_validation_pairs(args),
    )
    checkpoint = train_dsn(config, data, args.out, resume_from=args.resume)
    print(f"DSN checkpoint: {checkpoint}")
    print(f"next: dasr generate --dsn {args.out} --hr {args.hr} --out PAIRS_DIR")
    return 0
