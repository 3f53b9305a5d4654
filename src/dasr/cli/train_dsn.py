"""``dasr train-dsn``: stage 1, learn the real degradation from unpaired HR and real-LR folders."""

from __future__ import annotations

import argparse

from dasr.cli.options import (
    add_config_options,
    add_run_options,
    add_scale_option,
    add_skip_bad_option,
    add_unpaired_folder_options,
    add_validation_options,
    config_from_args,
    read_images,
    read_unpaired_folders,
    read_validation_pairs,
    resume_checkpoint,
)
from dasr.errors import DasrError


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train-dsn",
        help="stage 1: train the down-sampling network (DSN)",
        description="Train the down-sampling network that turns HR photos into LR images that look "
        "like your real LR images. Rerunning the same command resumes from the last checkpoint. "
        "Runs on several GPUs under torchrun (docs/distributed.md).",
    )
    add_unpaired_folder_options(parser)
    add_scale_option(parser)
    add_run_options(parser)
    add_config_options(parser)
    add_validation_options(parser)
    parser.add_argument(
        "--val-unpaired", action="store_true",
        help="--val-hr and --val-lr show different scenes: validate by distribution distances and "
        "discriminator scores only (no PSNR/SSIM)",
    )
    add_skip_bad_option(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from dasr.engine.distributed import is_main_process, process_group
    from dasr.stage1_dsn.trainer import DSNData, train_dsn

    config = config_from_args(args)
    hr_paths, lr_paths = read_unpaired_folders(args)
    if args.val_unpaired:
        if args.val_hr is None or args.val_lr is None:
            raise DasrError("--val-unpaired needs --val-hr and --val-lr")
        unpaired = (read_images(args.val_hr, "--val-hr", args.skip_bad),
                    read_images(args.val_lr, "--val-lr", args.skip_bad))
        data = DSNData(hr_paths=hr_paths, lr_paths=lr_paths, val_unpaired=unpaired)
    else:
        data = DSNData(hr_paths=hr_paths, lr_paths=lr_paths, val_pairs=read_validation_pairs(args))
    with process_group(config.device):
        checkpoint = train_dsn(config, data, args.out, resume_from=resume_checkpoint(args))
        if not is_main_process():
            return 0
    print(f"DSN checkpoint: {checkpoint}")
    print(f"next: dasr generate --dsn {args.out} --hr {args.hr} --out PAIRS_DIR")
    return 0
